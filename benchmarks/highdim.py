"""High-dimensional benchmarks: exact local partitions around data, 64-D to 784-D.

``python -m benchmarks.highdim [--no-write] [--no-scipy] [--no-cnn]``

Nets (built or trained in the run, seeds fixed):

- ``digits MLP``: scikit-learn ``MLPClassifier((64, 64), random_state=0)`` on
  ``load_digits`` (inputs / 16, 64-D); l-inf windows of radius r around the first image.
- ``784-D MLP``: He-initialised [784, 128, 64, 10] (seed 0), windows around a point of
  [0, 1]^784.
- ``digits CNN`` (needs torch): Conv2d(1,4,3,pad 1) + BatchNorm2d + ReLU + MaxPool2d(2) +
  Linear(64, 10) trained 5 epochs on the digits; windows around the first image.
- the baseline ``3-D [32,32]`` He net on [-1, 1]^3 (the low-dimensional reference of the
  main table), measured in the same process.

Reported per window: regions, seconds (after a JIT warm-up), regions/s, LPs per region,
microseconds per LP (all kernel time over all LPs: an upper bound of the LP cost),
dual simplex iterations per vertex LP, the cost of a region relative to a region of the
3-D [32,32] net (``seconds/region`` ratio), and ``vs scipy`` (``method="scipy"``, the same
subdivision with HiGHS for every LP) in 64-D where that finishes within its time limit
(in 784-D one HiGHS LP from Python takes seconds: not run). Every
count of ``"lp"`` is asserted equal to ``"scipy"``'s where both ran. Results go to
benchmarks/README.md (between the ``highdim`` markers) and, machine-readable with the git
revision, machine and load, to benchmarks/highdim.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
JSON = os.path.join(HERE, "highdim.json")
BEGIN, END = "<!-- highdim:begin -->", "<!-- highdim:end -->"
SCIPY_LIMIT = 120.0  # seconds: the scipy baseline is skipped beyond (nothing extrapolated)


def digits_mlp():
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    import polyregion as pr

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = MLPClassifier((64, 64), random_state=0, max_iter=2000).fit(X, y)
    net = pr.Network.from_arrays([w.T for w in clf.coefs_], list(clf.intercepts_))
    return net, X[0], f"train acc {clf.score(X, y):.3f}"


def mlp784():
    import polyregion as pr

    from polyregion.bench.nets import he_weights

    rng = np.random.default_rng(0)  # the weights, then the window's centre
    Ws, bs = he_weights((128, 64), 784, seed=rng, bias_std=0.01, out=10, biases_last=True)
    return pr.Network.from_arrays(Ws, bs), rng.uniform(0, 1, 784), "He init, seed 0"


def digits_cnn():
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from torch import nn

    import polyregion as pr

    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 1, 8, 8) / 16.0
    torch.manual_seed(0)
    torch.set_num_threads(1)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    m.train()
    for _ in range(5):
        perm = torch.randperm(len(Xt), generator=g)
        for i in range(0, len(Xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(m(Xt[idx]), yt[idx]).backward()
            opt.step()
    m.eval()
    with torch.no_grad():
        acc = float((m(Xt).argmax(1) == yt).float().mean())
    return pr.from_torch(m, input_shape=(1, 8, 8)), X[0].ravel(), f"train acc {acc:.3f}"


def _run(net, dom, method):
    import polyregion as pr

    t = time.perf_counter()
    rs = pr.enumerate_regions(net, dom, method=method)
    sec = time.perf_counter() - t
    ex = rs.stats.extra
    vlps = ex.get("vertex_lps", 0)
    return dict(regions=len(rs), seconds=sec, n_lps=int(rs.stats.n_lps),
                vertex_iters=(ex.get("vertex_pivots", 0) / vlps) if vlps else None,
                codes=rs.codes)


def _scipy(net, dom, expected):
    """The scipy baseline in a subprocess-free way, with a time budget: it runs to the end
    or is reported as not finished (nothing extrapolated)."""
    import polyregion as pr

    t = time.perf_counter()
    try:
        rs = pr.enumerate_regions(net, dom, method="scipy", max_seconds=SCIPY_LIMIT)
    except pr.BudgetExceededError:
        return None
    sec = time.perf_counter() - t
    assert len(rs) == expected, f"scipy counts {len(rs)} regions, lp {expected}"
    return sec


def cases(cnn=True):
    out = [("digits MLP", digits_mlp, (0.01, 0.02, 0.03)),
           ("784-D MLP", mlp784, (0.001, 0.002))]
    if cnn:
        out.append(("digits CNN", digits_cnn, (0.002, 0.004)))
    return out


def baseline():
    """Seconds per region of the 3-D [32,32] He net on [-1, 1]^3 (the main table's net)."""
    import polyregion as pr

    from polyregion.bench.nets import he_net

    net = he_net((32, 32), 3)
    pr.enumerate_regions(net, pr.Box.cube(3), method="lp")  # warm-up
    best = np.inf
    for _ in range(3):
        r = _run(net, pr.Box.cube(3), "lp")
        best = min(best, r["seconds"] / r["regions"])
    return best, r["regions"]


def run(scipy=True, cnn=True, log=print):
    import polyregion as pr

    base, base_n = baseline()
    log(f"3-D [32,32]: {base_n} regions, {1e6 * base:.1f} us/region")
    rows = []
    for name, build, radii in cases(cnn):
        try:
            net, x0, note = build()
        except ImportError as e:  # torch / scikit-learn missing
            log(f"{name}: skipped ({e})")
            continue
        # warm-up (JIT) on a tiny window
        pr.enumerate_regions(net, pr.Box(x0 - 1e-4, x0 + 1e-4))
        for r in radii:
            dom = pr.Box(x0 - r, x0 + r)  # unclipped, as in the measurements
            res = _run(net, dom, "lp")
            n = res["regions"]
            sp = None
            if scipy and n <= 3000 and x0.size <= 64:  # HiGHS from Python: ~7 s/LP in 784-D
                sp = _scipy(net, dom, n)
            row = dict(net=name, note=note, dim=int(x0.size), r=r, regions=n,
                       seconds=res["seconds"], regions_per_s=n / res["seconds"],
                       lps_per_region=res["n_lps"] / n,
                       us_per_lp=1e6 * res["seconds"] / max(res["n_lps"], 1),
                       iters_per_vertex_lp=res["vertex_iters"],
                       cost_vs_3d=(res["seconds"] / n) / base,
                       scipy_seconds=sp,
                       vs_scipy=(sp / res["seconds"]) if sp else None)
            rows.append(row)
            log(f"{name} r={r}: {n} regions {res['seconds']:.2f} s "
                f"({row['regions_per_s']:.0f}/s, {row['cost_vs_3d']:.1f}x a 3-D region)"
                + (f", scipy {sp:.1f} s" if sp else ""))
    return base, base_n, rows


def table(base, base_n, rows):
    out = [f"Baseline: a region of the 3-D [32,32] He net on [-1, 1]^3 ({base_n} regions) "
           f"costs {1e6 * base:.1f} us in this run.", "",
           "| net | dim | window r | regions | seconds | regions/s | LPs/region | us/LP "
           "| iters/vertex LP | cost/region vs 3-D [32,32] | vs scipy |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        it = f"{r['iters_per_vertex_lp']:.1f}" if r["iters_per_vertex_lp"] else "—"
        vs = f"{r['vs_scipy']:.0f}x" if r["vs_scipy"] else "not run / > 120 s"
        out.append(f"| {r['net']} | {r['dim']} | {r['r']:g} | {r['regions']:,} | "
                   f"{r['seconds']:.3g} | {r['regions_per_s']:,.0f} | {r['lps_per_region']:.2f} | "
                   f"{r['us_per_lp']:.0f} | {it} | {r['cost_vs_3d']:.1f}x | {vs} |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.highdim")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-scipy", action="store_true")
    ap.add_argument("--no-cnn", action="store_true")
    args = ap.parse_args(argv)
    from polyregion.bench.results import RunInfo, write_json

    from .suite import ROOT, run_line, write_readme

    info = RunInfo("highdim", git_path=ROOT)
    base, base_n, rows = run(scipy=not args.no_scipy, cnn=not args.no_cnn)
    text = run_line(info) + ".\n\n" + table(base, base_n, rows)
    print(text)
    if args.no_write:
        return 0
    write_json(JSON, info, rows, baseline_s_per_region=base, baseline_regions=base_n,
               scipy_limit_s=SCIPY_LIMIT)
    write_readme(text, BEGIN, END)
    print(f"wrote benchmarks/README.md and {JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
