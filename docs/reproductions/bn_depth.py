"""Claim 4 (Batch Normalization Decomposed): at initialisation, through depth, a batch's
representation collapses to one cluster plus one odd point far away in an orthogonal
direction, when recentering and the non-linearity act together.

Usage: python docs/reproductions/bn_depth.py [--quick] [--no-fig]

Random ReLU nets (input 16, widths 32 and 128, depth 1000 (quick: width 64, depth 300);
weights N(0, 2/fan_in), biases 0), three versions with the SAME weights:
- "RC + ReLU": training-mode BN that only recentres (pr.bn.depth_geometry(rescale=False));
- "BN + ReLU": full training-mode BN (recentre and divide by the batch std per neuron);
- "ReLU": no BN (He initialisation).
A batch of n = 8 standard Gaussian inputs is pushed through (pr.bn.depth_geometry) and,
layer by layer, we report (mean [min, max] over seeds):
- the mean cosine between two cluster points (cluster = all but the odd point);
- the cosine between the odd point and the cluster mean (orthogonal: 0);
- the cluster diameter over the odd point's distance to the cluster mean (-> 0);
- the odd point's norm over the cluster points' mean norm.
Fixed point (docs/bn.md): n - 1 equal points and one odd point are mapped by recentering
+ ReLU to n - 1 equal points and one odd point orthogonal to them, with norm ratio n - 1 = 7
(with per-neuron rescaling as well).
Saves docs/figures/bn_depth_cosines.png.
"""

from __future__ import annotations

import os
import time

import numpy as np

import polyregion as pr
from bn_common import FIG_DIR, no_fig_flag, quick_flag, table

QUICK = quick_flag()
D_IN, N = 16, 8
WIDTHS = [64] if QUICK else [32, 128]   # 1000 layers of 128 x 128 weights: 131 MB
DEPTH = 300 if QUICK else 1000
SHOW = [l for l in (1, 10, 30, 100, 300, 1000) if l <= DEPTH]


def base_net(seed, width):
    rng = np.random.default_rng(seed)
    Ws, n = [], D_IN
    for _ in range(DEPTH):
        Ws.append(rng.normal(size=(width, n)) * np.sqrt(2.0 / n))
        n = width
    Ws.append(rng.normal(size=(1, n)) / np.sqrt(n))
    return pr.Network.from_arrays(Ws, [np.zeros(W.shape[0]) for W in Ws])


def fmt(a, p=3):
    a = np.asarray(a)
    return f"{a.mean():.{p}f} [{a.min():.{p}f}, {a.max():.{p}f}]"


def main():
    seeds = [0, 1, 2] if QUICK else list(range(8))
    geo = {}
    for width in WIDTHS:
        for name in ("RC + ReLU", "BN + ReLU", "ReLU"):
            geo[width, name] = []
        for seed in seeds:
            net = base_net(seed, width)
            bn_net = pr.bn.with_bn(net)
            batch = np.random.default_rng(1000 + seed).normal(size=(N, D_IN))
            geo[width, "RC + ReLU"].append(pr.bn.depth_geometry(bn_net, batch, rescale=False))
            geo[width, "BN + ReLU"].append(pr.bn.depth_geometry(bn_net, batch))
            geo[width, "ReLU"].append(pr.bn.depth_geometry(net, batch))
    for (width, name), gs in geo.items():
        rows = []
        for L in SHOW:
            i = L - 1
            rows.append([L, fmt([g.cluster_mean_cosine[i] for g in gs]),
                         fmt([g.odd_cosine[i] for g in gs]),
                         fmt([g.spread_ratio[i] for g in gs]),
                         fmt([g.norm_ratio[i] for g in gs], 2)])
        print(f"## {name}, width {width} (n = {N}, {len(gs)} seeds)\n")
        print(table(rows, ["layer", "mean cosine in cluster", "cosine odd vs cluster mean",
                           "cluster diameter / odd distance", "odd norm / cluster norm"]))
        print()
        stable = [int(np.sum(g.odd[-100:] == g.odd[-1])) for g in gs]
        print(f"same odd point over the last 100 layers (per seed): {stable}\n")
    return geo


def figure(geo):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = [l for l in (1, 10, 100, DEPTH) if l <= DEPTH]
    names = ("RC + ReLU", "BN + ReLU", "ReLU")
    width = WIDTHS[-1]
    fig, axes = plt.subplots(len(names), len(layers), figsize=(3 * len(layers), 9))
    for row, name in enumerate(names):
        g = geo[width, name][0]
        for ax, L in zip(axes[row], layers):
            im = ax.imshow(g.cosines[L - 1], vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_title(f"{name}, layer {L}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6, label="cosine")
    os.makedirs(FIG_DIR, exist_ok=True)
    path = os.path.join(FIG_DIR, "bn_depth_cosines.png")
    fig.savefig(path, dpi=80)
    print(f"saved {os.path.relpath(path)}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    geo = main()
    if not no_fig_flag():
        figure(geo)
    print(f"\n({'quick' if QUICK else 'full'} run, {time.perf_counter() - t0:.1f} s)")
