"""The `polyregion` command: exit codes, JSON summaries, files."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import polyregion as pr
from oracles import he_net, zaslavsky
from polyregion.cli import main

ENUMERATE_KEYS = {"command", "n_regions", "dim", "input_dim", "n_neurons", "widths", "method",
                  "seconds", "n_lps", "domain", "out"}


@pytest.fixture
def lines_net(tmp_path):
    rng = np.random.default_rng(0)
    net = pr.Network.from_arrays([rng.normal(size=(5, 2)), rng.normal(size=(1, 5))],
                                 [rng.normal(size=5) * 0.2, np.zeros(1)])
    path = tmp_path / "net.npz"
    net.save(path)
    return str(path)


def _run(argv, capsys):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_enumerate_json_schema_and_count(lines_net, tmp_path, capsys):
    out_file = str(tmp_path / "rs.npz")
    rc, out, err = _run(["enumerate", lines_net, "--box", "-100", "100", "--json", "--out",
                         out_file], capsys)
    assert rc == 0, err
    data = json.loads(out)
    assert ENUMERATE_KEYS <= set(data)
    assert data["n_regions"] == zaslavsky(5, 2)  # one layer of 5 generic lines, all inside
    assert data["domain"] == {"kind": "box", "lo": [-100.0, -100.0], "hi": [100.0, 100.0]}
    assert len(pr.RegionSet.load(out_file)) == data["n_regions"]


def test_box_comma_lists_and_negative_bounds(lines_net, capsys):
    rc, out, _ = _run(["enumerate", lines_net, "--box", "-1,-0.5", "1,-0.25", "--json"], capsys)
    assert rc == 0
    assert json.loads(out)["domain"]["lo"] == [-1.0, -0.5]
    net = pr.load(lines_net)
    assert json.loads(out)["n_regions"] == len(
        pr.enumerate_regions(net, pr.Box([-1, -0.5], [1, -0.25])))


def test_bad_input_exits_2(lines_net, tmp_path, capsys):
    rc, _, err = _run(["enumerate", str(tmp_path / "missing.npz"), "--box", "-1", "1"], capsys)
    assert rc == 2 and "No network file" in err
    rc, _, err = _run(["enumerate", lines_net, "--box", "1", "-1"], capsys)
    assert rc == 2 and "greater than" in err
    rc, _, err = _run(["enumerate", lines_net, "--box", "0,0,0", "1,1,1"], capsys)
    assert rc == 2 and "--box" in err
    rc, _, err = _run(["enumerate", lines_net], capsys)
    assert rc == 2 and "--box" in err
    rc, _, err = _run(["enumerate", lines_net, "--box", "a", "1"], capsys)
    assert rc == 2 and "number" in err
    rc, _, err = _run(["enumerate", lines_net, "--box", "-1", "1", "--method", "magic"], capsys)
    assert rc == 2 and "method" in err
    rc, _, _ = _run(["frobnicate"], capsys)
    assert rc == 2


def test_slice_option(tmp_path, capsys):
    net = he_net([6], 5, seed=1)
    net.save(tmp_path / "n5.npz")
    X = np.random.default_rng(2).normal(size=(3, 5))
    np.save(tmp_path / "pts.npy", X)
    rc, out, err = _run(["enumerate", str(tmp_path / "n5.npz"), "--slice",
                         str(tmp_path / "pts.npy"), "--json"], capsys)
    assert rc == 0, err
    data = json.loads(out)
    assert data["domain"]["kind"] == "slice" and data["dim"] == 2
    assert data["n_regions"] == len(pr.enumerate_regions(net, pr.Slice.through(*X)))
    np.save(tmp_path / "bad.npy", X[:2])
    rc, _, err = _run(["enumerate", str(tmp_path / "n5.npz"), "--slice",
                       str(tmp_path / "bad.npy")], capsys)
    assert rc == 2 and "3 points" in err


def test_plot_from_net_and_from_regionset(lines_net, tmp_path, capsys):
    png = tmp_path / "a.png"
    rc, out, err = _run(["plot", lines_net, "--box", "-1", "1", "--out", str(png),
                         "--decision-boundary", "--json"], capsys)
    assert rc == 0, err
    assert png.stat().st_size > 0
    rs_file = str(tmp_path / "rs.npz")
    assert _run(["enumerate", lines_net, "--box", "-1", "1", "--out", rs_file], capsys)[0] == 0
    png2 = tmp_path / "b.png"
    rc, out, err = _run(["plot", rs_file, "--out", str(png2), "--color-by", "density"], capsys)
    assert rc == 0, err
    assert png2.stat().st_size > 0


def test_verify_and_estimate(lines_net, capsys):
    rc, out, err = _run(["verify", lines_net, "--box", "-1", "1", "-n", "2000", "--json"], capsys)
    assert rc == 0, err
    data = json.loads(out)
    assert data["passed"] is True and data["n_samples"] == 2000
    rc, out, err = _run(["estimate", lines_net, "--box", "-1", "1", "-n", "2000", "--json"],
                        capsys)
    assert rc == 0, err
    est = json.loads(out)["estimate"]
    n_exact = len(pr.enumerate_regions(pr.load(lines_net), pr.Box.cube(2)))
    assert est["distinct"] <= n_exact  # sampling sees a subset of the regions


def test_demo_writes_png_and_counts(tmp_path, capsys):
    png = tmp_path / "demo.png"
    rc, out, err = _run(["demo", "--out", str(png), "--widths", "8,8", "--json"], capsys)
    assert rc == 0, err
    data = json.loads(out)
    from polyregion.cli import demo_network

    assert data["n_regions"] == len(pr.enumerate_regions(demo_network(0, (8, 8)),
                                                         pr.Box.cube(2)))
    assert png.stat().st_size > 5000


def test_bench_without_suite_is_a_clear_error(monkeypatch, capsys):
    import polyregion.bench as bench

    monkeypatch.setattr(bench, "source_root", lambda: None)  # an installed package
    rc, _, err = _run(["bench", "--no-compile"], capsys)
    assert rc == 1 and "SuiteNotFoundError" in err and "source checkout" in err
    assert "bench --quick" in err  # what works instead


def test_bench_options_are_checked_before_running(capsys):
    rc, _, err = _run(["bench", "--quick", "--only", "no such net"], capsys)
    assert rc == 2 and "'no such net'" in err and "'2-D [8]'" in err  # the names it knows
    rc, _, err = _run(["bench", "--quick", "--no-peers"], capsys)
    assert rc == 2 and "--no-peers" in err and "full suite" in err
    rc, _, err = _run(["bench", "--json"], capsys)  # the full suite writes files only
    assert rc == 2 and "--json PATH" in err
    rc, _, err = _run(["bench", "--", "--quick"], capsys)  # options are the command's own
    assert rc == 2


def _root_env():
    root = os.path.dirname(os.path.dirname(os.path.abspath(pr.__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, PYTHONWARNINGS="ignore")


def test_bench_quick_from_another_directory(tmp_path):
    """`polyregion bench --quick` runs the suite shipped in the package, from any
    directory; options reach it without `--`; it writes nothing unless asked."""
    cmd = [sys.executable, "-m", "polyregion", "bench", "--quick", "--only", "2-D [8]",
           "--no-scipy"]
    p = subprocess.run(cmd + ["--json"], cwd=tmp_path, env=_root_env(), capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "ok: counts agree" in p.stderr and list(tmp_path.iterdir()) == []
    doc = json.loads(p.stdout)
    assert doc["suite"] == "quick" and doc["count_mismatches"] == []
    assert {"platform", "cores", "python", "numpy", "numba"} <= set(doc["machine"])
    assert set(doc["load_average"]) == {"start", "end"} and "git" in doc
    rows = {r["method"]: r for r in doc["rows"]}
    assert set(rows) == {"lp", "planar"}
    assert {r["net"] for r in doc["rows"]} == {"2-D [8]"}
    assert rows["lp"]["count"] == rows["planar"]["count"] == 37  # He [8], seed 0
    assert {"seconds", "n_lps", "lps_per_region", "regions_per_s"} <= set(rows["lp"])


def test_bench_installed_without_checkout(tmp_path):
    """A copy of the package alone (as a non-editable install has it): the quick suite
    imports, the full suite is a clear error naming the source checkout."""
    import shutil

    src = os.path.dirname(os.path.abspath(pr.__file__))
    site = tmp_path / "site"
    shutil.copytree(src, site / "polyregion", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONWARNINGS="ignore")
    run = tmp_path / "run"
    run.mkdir()
    p = subprocess.run([sys.executable, "-m", "polyregion", "bench", "--help"], cwd=run,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "--quick" in p.stdout
    p = subprocess.run([sys.executable, "-c", "import polyregion.bench.quick as q, "
                        "polyregion.bench as b; print(q.__file__, b.source_root())"],
                       cwd=run, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.split() == [
        str(site / "polyregion" / "bench" / "quick.py"), "None"], p.stderr
    p = subprocess.run([sys.executable, "-m", "polyregion", "bench", "--no-compile"], cwd=run,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "SuiteNotFoundError" in p.stderr, p.stderr
    assert "source checkout" in p.stderr and "benchmarks/" in p.stderr


def test_entry_point_subprocess_exit_codes_and_json(lines_net, tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    ok = subprocess.run([sys.executable, "-m", "polyregion", "enumerate", lines_net, "--box",
                         "-1", "1", "--json", "--quiet"], capture_output=True, text=True,
                        env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["command"] == "enumerate"
    assert ok.stderr == ""  # no progress output when not a terminal
    bad = subprocess.run([sys.executable, "-m", "polyregion", "enumerate",
                          str(tmp_path / "nope.npz"), "--box", "-1", "1"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "error" in bad.stderr and bad.stdout == ""


def test_max_regions_zero_is_refused_like_the_api(lines_net, capsys):
    rc, _, err = _run(["enumerate", lines_net, "--box", "-1", "1", "--max-regions", "0"], capsys)
    assert rc == 2 and "--max-regions must be a positive integer; got 0" in err
    rc, _, err = _run(["enumerate", lines_net, "--box", "-1", "1", "--max-regions", "-3"], capsys)
    assert rc == 2 and "got -3" in err
    rc, _, err = _run(["enumerate", lines_net, "--box", "-100", "100", "--max-regions", "3"],
                      capsys)
    assert rc == 2 and "max_regions" in err  # a real limit still applies


def test_out_into_a_missing_directory_fails_before_enumerating(lines_net, tmp_path, capsys,
                                                               monkeypatch):
    import polyregion.enumerate as enum

    calls = []
    monkeypatch.setattr(enum, "enumerate_regions", lambda *a, **k: calls.append(a))
    missing = tmp_path / "no" / "such" / "dir" / "rs.npz"
    rc, _, err = _run(["enumerate", lines_net, "--box", "-1", "1", "--out", str(missing)], capsys)
    assert rc == 2 and "does not exist" in err and str(missing.parent) in err
    assert calls == []  # refused before the enumeration
    rc, _, err = _run(["plot", lines_net, "--box", "-1", "1", "--out", str(missing)], capsys)
    assert rc == 2 and "does not exist" in err and calls == []


def test_out_reports_the_file_it_writes(lines_net, tmp_path, capsys):
    stem = tmp_path / "regions"  # np.savez appends .npz
    rc, out, err = _run(["enumerate", lines_net, "--box", "-1", "1", "--out", str(stem),
                         "--json"], capsys)
    assert rc == 0, err
    written = json.loads(out)["out"]
    assert written == str(stem) + ".npz" and os.path.exists(written)
    assert not os.path.exists(stem)
    rc, out, err = _run(["enumerate", lines_net, "--box", "-1", "1", "--out", str(stem)], capsys)
    assert rc == 0, err
    assert out.strip().endswith(f"saved to {stem}.npz")


def test_text_or_torch_file_named_as_a_network(tmp_path, capsys):
    import pickle
    import zipfile

    text = tmp_path / "net.npz"
    text.write_text("not an archive\n")
    rc, _, err = _run(["enumerate", str(text), "--box", "-1", "1"], capsys)
    assert rc == 2 and "not an npz (zip) archive" in err and "pickle" not in err
    pt = tmp_path / "model.pt"  # what torch.save writes: a zip holding data.pkl
    with zipfile.ZipFile(pt, "w") as z:
        z.writestr("model/data.pkl", pickle.dumps({"weight": 1.0}))
    rc, _, err = _run(["enumerate", str(pt), "--box", "-1", "1"], capsys)
    assert rc == 2 and 'pr.from_torch(model).save("net.npz")' in err


def test_compile_note_only_when_the_kernels_are_cold(lines_net, capsys, monkeypatch):
    import polyregion.cli as cli

    argv = ["enumerate", lines_net, "--box", "-1", "1"]
    monkeypatch.setattr(cli, "_kernels_cold", lambda method, dom: True)
    rc, _, err = _run(argv, capsys)
    assert rc == 0 and err.count(cli.COMPILE_NOTE) == 1
    rc, _, err = _run(argv + ["--quiet"], capsys)
    assert rc == 0 and cli.COMPILE_NOTE not in err
    monkeypatch.setattr(cli, "_kernels_cold", lambda method, dom: False)
    rc, _, err = _run(argv, capsys)
    assert rc == 0 and cli.COMPILE_NOTE not in err


def test_kernels_cold_reads_the_numba_cache(lines_net, tmp_path, monkeypatch):
    from polyregion.cli import _kernels_cold
    from polyregion.enumerate._kernels_planar import enumerate_planar

    box = pr.Box.cube(2)
    pr.enumerate_regions(pr.load(lines_net), box)  # compiled, and cached on disk
    assert _kernels_cold("auto", box) is False
    assert _kernels_cold("scipy", box) is False  # no kernel to compile
    # an empty cache directory: nothing compiled yet
    monkeypatch.setattr(enumerate_planar._cache._cache_file, "_index_path",
                        str(tmp_path / "missing.nbi"))
    assert _kernels_cold("auto", box) is True
    assert _kernels_cold("planar", box) is True



def test_topology_subcommand_closed_form(tmp_path, capsys):
    """f = 1 - |x| - |y|: {f >= 0} is a diamond (one component, no hole), {f <= 0} in the
    box [-2, 2]^2 an annulus (one component, one hole), {f = 0} a circle."""
    W0 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    net = pr.Network.from_arrays([W0, -np.ones((1, 4))], [np.zeros(4), np.ones(1)])
    path = str(tmp_path / "diamond.npz")
    net.save(path)
    for which, betti in (("above", [1, 0]), ("below", [1, 1]), ("boundary", [1, 1])):
        rc, out, err = _run(["topology", path, "--box", "-2", "2", "--which", which, "--json"],
                            capsys)
        assert rc == 0, err
        data = json.loads(out)
        assert data["command"] == "topology" and data["betti"] == betti, (which, data)
    rc, out, err = _run(["topology", str(tmp_path / "missing.npz"), "--box", "0", "1"], capsys)
    assert rc == 2 and "error" in err
