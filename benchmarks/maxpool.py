"""Benchmark of networks with max layers: maxout MLPs and small CNNs with max pooling.

Run: ``python -m benchmarks.maxpool [--quick] [--no-scipy] [--no-oracle] [--only NAME ...]``.
Prints a Markdown table. Per net: the region count, the expanded cells the engine
enumerated for it (``rs.stats.extra["expanded_cells"]`` and its ratio to the count), the
seconds of ``method="lp"`` (and ``"planar"`` on 2-D domains; best of up to 3 runs after
a JIT warm-up), regions/s, and the speed ratio against ``method="scipy"`` measured in the
same run (scipy's seconds / polyregion's seconds). The baseline runs in a child process
with a 60 s budget and is reported only where it finishes (nothing is extrapolated); it is
skipped a priori beyond :data:`SCIPY_MAX_CELLS` expanded cells.

Checks, asserted: every method gives the same codes; no sampled point of the domain has
an activation pattern outside the set (``pr.verify(rs, gof=False)``, a lower bound); and,
on the nets flagged ``oracle`` (small enough), the codes equal those of the independent
depth-first oracle ``tests/oracles.py::brute_force_max`` (one HiGHS LP per candidate
argmax, written from the definition, no tournament). ``--quick`` runs the three smallest
nets with the oracle and without the scipy baseline (5-30 s per net here), in well under a
minute once the Numba cache is warm.

Nets (seed 0; biases N(0, 0.01^2)):

- maxout MLPs on the box [-1, 1]^d: each hidden layer has ``width * k`` affine units
  (weights N(0, 2/fan_in)) grouped into ``width`` maxout units of ``k`` pieces
  (``pr.MaxPool.groups``); one output;
- CNNs ``conv 3x3 (c channels) -> ReLU -> max pool 2x2 -> linear (1 output)`` on a 1xHxW
  image, He-initialised, on the plane through three random N(0, 1) images
  (``pr.Slice.through``, margin 0.2). They are built from numpy arrays (the convolution
  unrolled to a dense matrix, the pooling windows computed in numpy); when PyTorch is
  installed, the same model built in torch and imported with ``pr.from_torch`` must give
  the same windows and outputs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from polyregion.bench.nets import BIAS_STD, SEED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCIPY_TIMEOUT = 60.0  # the baseline is reported only where it finishes within this
SCIPY_MAX_CELLS = 500  # beyond this, scipy (~10 LPs per cell, 1-9 ms each here) cannot
# finish in 60 s


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "maxout" or "cnn"
    d: int = 2  # maxout: input dimension
    widths: tuple = ()  # maxout: maxout units per hidden layer
    k: int = 2  # maxout: pieces per unit
    hw: int = 6  # cnn: image side
    channels: int = 2  # cnn: conv channels
    oracle: bool = False  # small enough for brute_force_max


#: small nets the oracle handles in a few seconds (``--quick``; also the first full cases)
QUICK_CASES = [
    Case("2-D maxout [4,4] k=3", "maxout", d=2, widths=(4, 4), k=3, oracle=True),
    Case("3-D maxout [4] k=4", "maxout", d=3, widths=(4,), k=4, oracle=True),
    Case("CNN 1x4x4 c2 (slice)", "cnn", hw=4, channels=2, oracle=True),
]

CASES = QUICK_CASES + [
    Case("2-D maxout [8,8] k=2", "maxout", d=2, widths=(8, 8), k=2, oracle=True),
    Case("2-D maxout [8,8] k=3", "maxout", d=2, widths=(8, 8), k=3, oracle=True),
    Case("2-D maxout [16,16] k=2", "maxout", d=2, widths=(16, 16), k=2),
    Case("2-D maxout [12,12] k=4", "maxout", d=2, widths=(12, 12), k=4),
    Case("3-D maxout [8,8] k=3", "maxout", d=3, widths=(8, 8), k=3),
    Case("3-D maxout [16,16] k=2", "maxout", d=3, widths=(16, 16), k=2),
    Case("3-D maxout [12] k=4", "maxout", d=3, widths=(12,), k=4),
    Case("CNN 1x6x6 c2 (slice)", "cnn", hw=6, channels=2),  # oracle agrees: 250 s here
    Case("CNN 1x8x8 c2 (slice)", "cnn", hw=8, channels=2),
    Case("CNN 1x8x8 c4 (slice)", "cnn", hw=8, channels=4),
]


def case_by_name(name):
    for c in CASES:
        if c.name == name:
            return c
    raise KeyError(name)


# ----------------------------------------------------------------------------- nets
def maxout_arrays(d, widths, k, seed=SEED, bias_std=BIAS_STD):
    """Weights, biases and max layers of a maxout MLP (He-like: N(0, 2/fan_in))."""
    import polyregion as pr

    rng = np.random.default_rng(seed)
    Ws, bs, acts, n = [], [], [], d
    for w in widths:
        Ws.append(rng.normal(size=(w * k, n)) * np.sqrt(2.0 / n))
        bs.append(rng.normal(size=w * k) * bias_std)
        acts.append(pr.MaxPool.groups(w * k, k))
        n = w
    Ws.append(rng.normal(size=(1, n)) * np.sqrt(2.0 / n))
    bs.append(rng.normal(size=1) * bias_std)
    return Ws, bs, acts


def cnn_arrays(hw, channels, seed=SEED, bias_std=BIAS_STD):
    """Arrays of ``conv 3x3 -> ReLU -> max pool 2x2 -> linear`` (He-like init)."""
    import polyregion as pr

    rng = np.random.default_rng(seed)
    kernels = rng.normal(size=(channels, 3, 3)) * np.sqrt(2.0 / 9)
    cb = rng.normal(size=channels) * bias_std
    oh = hw - 2
    n_pool = channels * (oh // 2) ** 2
    lin = rng.normal(size=(1, n_pool)) * np.sqrt(2.0 / n_pool)
    lb = rng.normal(size=1) * bias_std
    n_conv = channels * oh * oh
    Ws = [pr.conv2d_matrix(kernels, (1, hw, hw)), np.eye(n_conv), lin]
    bs = [np.repeat(cb, oh * oh), np.zeros(n_conv), lb]
    acts = ["relu", pr.MaxPool.pool2d((channels, oh, oh), 2)]
    return Ws, bs, acts, (kernels, cb, lin, lb)


def torch_cnn_check(net, hw, channels, params):
    """With torch installed: the torch model of the same CNN, imported by ``pr.from_torch``,
    has the same max windows and outputs as ``net``. Returns True, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    import polyregion as pr

    kernels, cb, lin, lb = params
    oh = hw - 2
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, channels, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(channels * (oh // 2) ** 2, 1)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.as_tensor(kernels[:, None]))
        model[0].bias.copy_(torch.as_tensor(cb))
        model[4].weight.copy_(torch.as_tensor(lin))
        model[4].bias.copy_(torch.as_tensor(lb))
    tnet = pr.from_torch(model, input_shape=(1, hw, hw))
    pools = [a for a in tnet.activations if isinstance(a, pr.MaxPool)]
    ours = [a for a in net.activations if isinstance(a, pr.MaxPool)]
    assert [sorted(map(sorted, p.windows)) for p in pools] == \
        [sorted(map(sorted, p.windows)) for p in ours], "from_torch windows differ"
    X = np.random.default_rng(5).normal(size=(64, hw * hw))
    assert np.allclose(tnet.forward(X), net.forward(X), rtol=1e-9, atol=1e-9)
    return True


def build(case):
    """``(net, domain, info)`` for a case."""
    import polyregion as pr

    info = {}
    if case.kind == "maxout":
        Ws, bs, acts = maxout_arrays(case.d, case.widths, case.k)
        return pr.Network.from_arrays(Ws, bs, activation=acts), pr.Box.cube(case.d), info
    Ws, bs, acts, params = cnn_arrays(case.hw, case.channels)
    net = pr.Network.from_arrays(Ws, bs, activation=acts)
    X = np.random.default_rng(SEED + 1).normal(size=(3, case.hw * case.hw))
    info["torch_check"] = torch_cnn_check(net, case.hw, case.channels, params)
    return net, pr.Slice.through(*X, margin=0.2), info


# ----------------------------------------------------------------------------- oracle
def load_oracles():
    path = os.path.join(ROOT, "tests", "oracles.py")
    spec = importlib.util.spec_from_file_location("polyregion_test_oracles", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------- measuring
def timed(f, max_repeat=3, budget=1.0):
    """Best wall time of up to ``max_repeat`` calls (fewer once ``budget`` s are spent)."""
    best, out, spent = np.inf, None, 0.0
    for _ in range(max_repeat):
        t = time.perf_counter()
        out = f()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
        if spent > budget:
            break
    return best, out


def warm_up():
    """JIT-compile (or load from the cache) both kernels; returns the seconds per method."""
    import polyregion as pr

    Ws, bs, acts = maxout_arrays(2, (2,), 3, seed=1)
    net = pr.Network.from_arrays(Ws, bs, activation=acts)
    out = {}
    for m in ("lp", "planar"):
        t = time.perf_counter()
        pr.enumerate_regions(net, pr.Box.cube(2), method=m)
        out[m] = time.perf_counter() - t
    return out


def run_scipy_child(name, timeout=SCIPY_TIMEOUT):
    """``method="scipy"`` on one net in a child process; dict with seconds and count."""
    cmd = [sys.executable, "-m", "benchmarks.maxpool", "--scipy-worker", name]
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=timeout + 30, env=dict(os.environ, PYTHONPATH=ROOT))
    except subprocess.TimeoutExpired:
        return dict(ok=False, error=f"not finished in {timeout:.0f} s")
    line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    if p.returncode or not line:
        return dict(ok=False, error=f"failed: {p.stderr.strip()[-300:]}")
    r = json.loads(line[0][7:])
    if r["seconds"] > timeout:
        return dict(ok=False, error=f"not finished in {timeout:.0f} s")
    r["ok"] = True
    return r


def scipy_worker(name):
    import polyregion as pr

    net, dom, _ = build(case_by_name(name))
    t = time.perf_counter()
    rs = pr.enumerate_regions(net, dom, method="scipy")
    sec = time.perf_counter() - t
    print("RESULT " + json.dumps(dict(seconds=sec, count=len(rs),
                                      codes_hash=_codes_hash(rs.codes))))


def _codes_hash(codes):
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(codes, np.uint8).tobytes()).hexdigest()


def measure(case, scipy=True, oracle=True, n_verify=20000, log=print):
    """All measurements of one net (see the module docstring); raises AssertionError when
    a check fails."""
    import polyregion as pr

    net, dom, info = build(case)
    row = dict(name=case.name, n_neurons=net.n_neurons, torch_check=info.get("torch_check"))
    methods = ["lp"] + (["planar"] if dom.dim == 2 else [])
    ref = None
    for m in methods:
        sec, rs = timed(lambda: pr.enumerate_regions(net, dom, method=m))
        if ref is None:
            ref = rs
            row.update(regions=len(rs), expanded=rs.stats.extra["expanded_cells"],
                       expanded_neurons=rs.stats.extra["expanded_neurons"])
        else:
            assert np.array_equal(rs.codes, ref.codes), f"{case.name}: {m} codes differ from lp"
        row[m] = dict(seconds=sec, n_lps=rs.stats.n_lps)
        log(f"  {case.name:24s} {m:7s} {len(rs):7d} regions "
            f"({row['expanded']} expanded cells) {sec:8.4f} s")
    rep = pr.verify(ref, n=n_verify, seed=0, gof=False)
    assert rep.n_missing == 0, f"{case.name}: sampled patterns missing from the set\n{rep}"
    row["sampled_hit"] = int(np.count_nonzero(rep.hits))
    if scipy:
        if row["expanded"] > SCIPY_MAX_CELLS:
            row["scipy"] = dict(ok=False, error=f"skipped: > {SCIPY_MAX_CELLS} expanded cells")
        else:
            r = run_scipy_child(case.name)
            if r.get("ok"):
                assert r["count"] == row["regions"] and \
                    r["codes_hash"] == _codes_hash(ref.codes), \
                    f"{case.name}: scipy gives {r['count']} regions, lp {row['regions']}"
            row["scipy"] = r
        log(f"  {case.name:24s} scipy   " + (f"{row['scipy']['seconds']:.3f} s"
                                             if row["scipy"].get("ok")
                                             else row["scipy"]["error"]))
    if oracle and case.oracle:
        orc = load_oracles()
        t = time.perf_counter()
        codes = orc.brute_force_max(net, dom)
        row["oracle"] = dict(seconds=time.perf_counter() - t, count=len(set(codes)),
                             agree=set(codes) == set(map(tuple, ref.codes.tolist())))
        assert row["oracle"]["agree"], \
            f"{case.name}: oracle finds {row['oracle']['count']} regions, lp {row['regions']}"
        log(f"  {case.name:24s} oracle  {row['oracle']['count']:7d} regions "
            f"{row['oracle']['seconds']:8.2f} s (agree)")
    return row


# ----------------------------------------------------------------------------- report
def _fmt_s(s):
    return f"{s:.3g}" if s < 100 else f"{s:.0f}"


def table(rows):
    out = ["| net | neurons (expanded) | regions | expanded cells (ratio) | method | seconds "
           "| regions/s | vs scipy | oracle |",
           "|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for r in rows:
        sc = r.get("scipy")
        orc = r.get("oracle")
        orc_s = (f"= ({orc['seconds']:.1f} s)" if orc and orc["agree"] else
                 ("≠" if orc else "—"))
        first = True
        for m in ("lp", "planar"):
            if m not in r:
                continue
            sec = r[m]["seconds"]
            if sc is None:
                vs = ""
            elif sc.get("ok"):
                vs = f"{sc['seconds'] / sec:,.0f}x"
            else:
                vs = f"n/a ({sc['error']})"
            head = (f"| {r['name']} | {r['n_neurons']} ({r['expanded_neurons']}) | "
                    f"{r['regions']:,} | {r['expanded']:,} ({r['expanded'] / r['regions']:.2f}) "
                    if first else "| | | | ")
            out.append(f"{head}| {m} | {_fmt_s(sec)} | {r['regions'] / sec:,.0f} | {vs} | "
                       f"{orc_s if first else ''} |")
            first = False
        if sc and sc.get("ok"):
            out.append(f"| | | | | scipy | {_fmt_s(sc['seconds'])} | "
                       f"{r['regions'] / sc['seconds']:,.0f} | | |")
    return "\n".join(out)


def machine_line():
    from .suite import machine_info

    m = machine_info()
    return (f"{m['date']} on {m['cpu']}, {m['cores']} cores, load average {m['load']:.1f}; "
            f"Python {m['python']}, NumPy {m['numpy']}, SciPy {m['scipy']}, Numba {m['numba']}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.maxpool",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="small nets, oracle asserted, no scipy (well under a minute)")
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy baseline")
    ap.add_argument("--no-oracle", action="store_true", help="skip brute_force_max")
    ap.add_argument("--only", nargs="*", default=None, help="run only these net names")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--scipy-worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.scipy_worker:
        scipy_worker(args.scipy_worker)
        return 0
    cases = QUICK_CASES if args.quick else CASES
    if args.only:
        cases = [case_by_name(n) for n in args.only]
    print(f"polyregion max-layer benchmark{' --quick' if args.quick else ''}: "
          f"{machine_line()}", flush=True)
    jit = warm_up()
    print("  first calls (JIT compile or cache load): " +
          ", ".join(f"{m} {s:.2f} s" for m, s in jit.items()), flush=True)
    rows = []
    for case in cases:
        rows.append(measure(case, scipy=not (args.no_scipy or args.quick),
                            oracle=not args.no_oracle,
                            n_verify=5000 if args.quick else 20000,
                            log=lambda s: print(s, flush=True)))
    print()
    print(table(rows))
    torch_rows = [r for r in rows if r.get("torch_check") is not None]
    if torch_rows:
        print(f"\nCNNs: `pr.from_torch` of the same torch model gives the same max windows "
              f"and outputs ({len(torch_rows)} net{'s' if len(torch_rows) > 1 else ''}).")
    print(f"\nEvery check passed (methods agree, sampled patterns are regions"
          f"{', oracle agrees' if any('oracle' in r for r in rows) else ''}); load average at "
          f"the end {os.getloadavg()[0]:.1f}.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
