"""Claim 1: with random weights, BN draws the partition toward the data.

Usage: python docs/reproductions/bn_density.py [--quick] [--no-fig]

For random leaky-ReLU nets (2-D input, 4 hidden layers of 6 units; and an 8-D input with
3 hidden layers of 16 units, measured in 2-D slices), with and without training-mode BN
conditioned on the data set, prints:
- the share of first-layer hyperplanes that cut the data's bounding box;
- the mean exact l2 distance from a data point to the boundary of its region;
- the mean exact number of regions meeting the l-inf window of radius r around a data
  point (pr.bn.local_density: exact enumeration in every window).
Saves docs/figures/bn_partition.png (seed 0, 2-D, off-centre data).
"""

from __future__ import annotations

import os
import time

import numpy as np

import polyregion as pr
from bn_common import (FIG_DIR, blobs, boundary_distance, moons, no_fig_flag, quick_flag,
                       random_net, table)

QUICK = quick_flag()
SEEDS = [0, 1] if QUICK else [0, 1, 2, 3, 4]
N_DATA = 200
N_WIN = 6 if QUICK else 40
RADII = [0.05, 0.2] if QUICK else [0.05, 0.1, 0.2, 0.4]


def first_layer_cut_share(plain, X):
    """Share of first-layer hyperplanes {w.x + b = 0} that cut the data's bounding box."""
    lo, hi = X.min(0), X.max(0)
    W, b = plain.weights[0], plain.biases[0]
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    return float(np.mean(np.abs(W @ mid + b) < np.abs(W) @ half))


def measure(net, X, seed, directions=None):
    rng = np.random.default_rng(100 + seed)
    idx = rng.choice(X.shape[0], size=N_WIN, replace=False)
    out = {}
    for mode, plain in (("no BN", net), ("BN", pr.bn.fold(pr.bn.with_bn(net), X))):
        row = {"cut": first_layer_cut_share(plain, X) if directions is None else np.nan,
               "dist": float(np.mean(boundary_distance(plain, X)))}
        for r in RADII:
            row[r] = float(np.mean(pr.bn.local_density(plain, X[idx], r, directions=directions)))
        out[mode] = row
    return out


def run_2d():
    print("## 2-D: leaky-ReLU(0.1) net 2 -> 6 -> 6 -> 6 -> 6 -> 1, moons data (N = 200)\n")
    results = []
    for shift_name, shift in (("centred", (0.0, 0.0)), ("off-centre (+3, +3)", (3.0, 3.0))):
        rows = []
        for seed in SEEDS:
            net = random_net(2, [6, 6, 6, 6], seed)
            X = moons(N_DATA, seed, shift=shift)
            m = measure(net, X, seed)
            for mode in ("no BN", "BN"):
                rows.append([shift_name, seed, mode, m[mode]["cut"], m[mode]["dist"]]
                            + [m[mode][r] for r in RADII])
            results.append((shift_name, seed, m))
        print(table(rows, ["data", "seed", "net", "1st-layer cut share", "mean dist to boundary"]
                    + [f"density r={r}" for r in RADII]))
        print()
        summarise(results, shift_name)
    return results


def summarise(results, name):
    sel = [m for s, _, m in results if s == name]
    for key in ["dist"] + RADII:
        a = np.array([m["no BN"][key] for m in sel])
        b = np.array([m["BN"][key] for m in sel])
        better = np.sum(b < a) if key == "dist" else np.sum(b > a)
        lab = "mean dist" if key == "dist" else f"density r={key}"
        print(f"- {name}: {lab}: no BN {a.mean():.4g}, BN {b.mean():.4g} "
              f"(BN {'closer' if key == 'dist' else 'denser'} in {better}/{len(sel)} seeds)")
    print()


def run_slice():
    d = 8
    print(f"## {d}-D: leaky-ReLU(0.1) net {d} -> 16 -> 16 -> 16 -> 1, 3 Gaussian blobs "
          "(N = 200), counts in a random 2-D slice through each point\n")
    rows, res = [], []
    for seed in SEEDS:
        net = random_net(d, [16, 16, 16], seed)
        rng = np.random.default_rng(200 + seed)
        D = np.linalg.qr(rng.normal(size=(d, 2)))[0].T   # same slice directions for both
        for shift_name, shift in (("centred", 0.0), ("off-centre (+2)", 2.0)):
            X = blobs(N_DATA, d, seed, shift=shift)
            m = measure(net, X, seed, directions=D)
            for mode in ("no BN", "BN"):
                rows.append([shift_name, seed, mode, m[mode]["dist"]]
                            + [m[mode][r] for r in RADII])
            res.append((shift_name, seed, m))
    print(table(rows, ["data", "seed", "net", "mean dist to boundary"]
                + [f"slice density r={r}" for r in RADII]))
    print()
    for name in ("centred", "off-centre (+2)"):
        summarise(res, name)


def figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net = random_net(2, [6, 6, 6, 6], 0)
    X = moons(N_DATA, 0, shift=(3.0, 3.0))
    g = np.linspace(-1.5, 6.0, 500)
    G = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    for ax, (name, plain) in zip(axes, (("random net, no BN", net),
                                        ("same weights, BN on the data",
                                         pr.bn.fold(pr.bn.with_bn(net), X)))):
        codes = plain.codes(G)
        _, ids = np.unique(codes, axis=0, return_inverse=True)
        ids = ids.reshape(len(g), len(g))
        perm = np.random.default_rng(0).permutation(ids.max() + 1)
        ax.imshow(perm[ids], origin="lower", extent=(g[0], g[-1], g[0], g[-1]),
                  cmap="tab20", interpolation="nearest", alpha=0.6)
        ax.scatter(X[:, 0], X[:, 1], s=4, c="k")
        exact = len(pr.enumerate_regions(plain, pr.Box([g[0], g[0]], [g[-1], g[-1]])))
        ax.set_title(f"{name}: {exact} regions in view (exact)", fontsize=10)
        print(f"figure, {name}: {exact} regions in [{g[0]}, {g[-1]}]^2 (exact), "
              f"{ids.max() + 1} codes seen on the {len(g)}x{len(g)} grid")
    fig.tight_layout()
    os.makedirs(FIG_DIR, exist_ok=True)
    path = os.path.join(FIG_DIR, "bn_partition.png")
    fig.savefig(path, dpi=80)
    print(f"saved {os.path.relpath(path)}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    run_2d()
    run_slice()
    if not no_fig_flag():
        figure()
    print(f"\n({'quick' if QUICK else 'full'} run, {time.perf_counter() - t0:.1f} s)")
