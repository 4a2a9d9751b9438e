"""polyregion.bench: the benchmark nets are fixed bit for bit; the results writer."""

import hashlib
import json

import numpy as np
import pytest

import polyregion as pr
from polyregion.bench import nets, quick, results


def _digest(arrays):
    m = hashlib.sha256()
    for a in arrays:
        m.update(np.ascontiguousarray(a, "<f8").tobytes())
    return m.hexdigest()


def test_benchmark_nets_are_bit_identical_to_the_published_ones():
    """Digests of the weights the suites had before the generator moved into the package
    (benchmarks/nets.py of cd28ad6): the region counts of benchmarks/README.md belong to
    exactly these nets."""
    arrays = []
    for _, d, widths in nets.CASES + nets.QUICK_CASES:
        Ws, bs = nets.he_weights(widths, d)
        arrays += Ws + bs
    assert _digest(arrays) == "e918fe44640c4577917799bfaffb7d05f0c87526c27e362b8e0bb17a3a8ad73e"
    # the 784-D net of benchmarks/highdim.py: all weights, then all biases, then the
    # window's centre from the same generator
    rng = np.random.default_rng(0)
    Ws, bs = nets.he_weights((128, 64), 784, seed=rng, out=10, biases_last=True)
    assert _digest(Ws + bs) == "ca52fde7f424e6a84ccb4f51f36593ce02b3459f16cbf36c051886dea76b619b"
    assert hashlib.sha256(rng.uniform(0, 1, 784).tobytes()).hexdigest()[:16] == \
        "47aa5b594b66420c"


def test_he_net_is_the_tests_oracle_family():
    from oracles import he_net

    for widths, d, seed in [((16, 16), 2, 0), ((3,), 2, 1), ((6, 6), 3, 0)]:
        a, b = nets.he_net(widths, d, seed=seed), he_net(widths, d, seed=seed)
        for x, y in zip(a.weights + a.biases, b.weights + b.biases):
            assert np.array_equal(x, y)


def test_case_names_are_checked():
    assert nets.case_by_name("2-D [8]") == ("2-D [8]", 2, (8,))
    with pytest.raises(pr.InvalidInputError, match="'3-D \\[16,16\\]'"):
        nets.case_by_name("3-D [16]")
    with pytest.raises(pr.InvalidInputError, match="'4-D \\[5,5\\]'"):
        quick.select(["4-D [16,16]"])  # a full-suite net is not in the quick suite
    assert quick.select(["4-D [5,5]", "2-D [8]"]) == [("2-D [8]", 2, (8,)),
                                                      ("4-D [5,5]", 4, (5, 5))]


def test_results_file_is_strict_json(tmp_path):
    info = results.RunInfo("test", git_path=str(tmp_path))  # not a checkout
    rows = [dict(net="n", count=np.int64(3), seconds=np.float64(0.5), ratio=float("nan"),
                 widths=np.array([2, 2]))]
    path = tmp_path / "sub" / "r.json"
    doc = results.write_json(str(path), info, rows, extra_key=np.float32(1.5))
    back = json.loads(path.read_text())  # allow_nan=False: no NaN in the file
    assert back == doc and back["git"] is None and back["extra_key"] == 1.5
    assert back["rows"] == [dict(net="n", count=3, seconds=0.5, ratio=None, widths=[2, 2])]
    assert {"python", "numpy", "numba", "cores", "platform"} <= set(back["machine"])
    assert set(back["load_average"]) == {"start", "end"}
    assert back["suite"] == "test" and back["timestamp"].endswith("+00:00")


def test_quick_suite_counts_agree():
    rows = quick.run(quick.select(["2-D [8]"]), scipy=False, log=lambda *a: None)
    assert [(r["method"], r["count"]) for r in rows] == [("lp", 37), ("planar", 37)]
    assert quick.check_counts(rows) == []
    assert quick.check_counts(rows + [dict(rows[0], method="x", count=36)]) != []
