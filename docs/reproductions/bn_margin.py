"""Claim 3b: mini-batch BN statistics push the decision boundary away from the data (margin).

Usage: python docs/reproductions/bn_margin.py [--quick] [--no-fig]

Small 2-D classifiers trained with numpy only (no torch): ReLU MLP 2 -> 16 -> 16 -> 1,
logistic loss, SGD with momentum 0.9, on the two-moons data (N = 256, standardised, noise
0.15). A 2 x 2 design with the same initial weights and the same number of steps:

- net: "no BN" (plain affine layers) or "BN" (training-mode BN after both hidden affine
  maps, gamma and beta trained, eps 1e-5; the backward pass goes through the batch
  statistics, as in every BN implementation);
- batch: "full" (every step uses all N points: BN statistics without mini-batch noise) or
  mini-batches of B points drawn without replacement each epoch (statistics that vary
  from batch to batch).

After training, the BN nets are evaluated with the statistics of the whole training set
(pr.bn.fold(net, X): the population statistics that running averages estimate) and the
exact Euclidean distance of every training point to the decision boundary {f = 0} inside
the box around the data (bounding box + 1 on each side) is computed with
pr.distance_to_decision_boundary (exact region enumeration + projections). Reported per
configuration: training accuracy, mean and median distance of the correctly classified
training points, their 10 % quantile, and the final training loss; per seed, whether the
mini-batch BN net has a larger median margin than the full-batch BN net, and than the
mini-batch net without BN. Control for the fit: a full-batch BN net stopped at the first
step where its whole-data loss reaches the final loss of the mini-batch BN net ("BN, full,
loss of B=..."): a less fitted net may simply have a smoother boundary.
"""

from __future__ import annotations

import os
import time

import numpy as np

import polyregion as pr
from bn_common import FIG_DIR, moons, no_fig_flag, quick_flag, table

QUICK = quick_flag()
N = 256
WIDTHS = [16, 16]
EPS = 1e-5


# ---------------------------------------------------------------------------- model
def init(seed, d=2):
    rng = np.random.default_rng(seed)
    P, n = {}, d
    for l, w in enumerate(WIDTHS + [1]):
        P[f"W{l}"] = rng.normal(size=(w, n)) * np.sqrt(2.0 / n)
        P[f"b{l}"] = rng.uniform(-1, 1, size=w) / np.sqrt(n)
        if l < len(WIDTHS):
            P[f"g{l}"] = np.ones(w)
            P[f"be{l}"] = np.zeros(w)
        n = w
    return P


def forward(P, X, bn, stats=None):
    """Forward pass; ``bn``: BN after the hidden affine maps with the statistics of X
    (training mode) or of ``stats`` (list of (mean, var) per hidden layer). Returns the
    output and a cache for the backward pass."""
    z, cache = X, []
    L = len(WIDTHS)
    for l in range(L + 1):
        W, b = P[f"W{l}"], P[f"b{l}"]
        u = z @ W.T + b
        if l == L:
            return u[:, 0], cache
        if bn:
            if stats is None:
                mu, var = u.mean(0), u.var(0)
            else:
                mu, var = stats[l]
            sd = np.sqrt(var + EPS)
            xh = (u - mu) / sd
            y = P[f"g{l}"] * xh + P[f"be{l}"]
        else:
            xh = sd = None
            y = u
        a = np.maximum(y, 0.0)
        cache.append((z, xh, sd, y))
        z = a


def loss_grad(P, X, s, bn):
    """Mean logistic loss of labels s in {-1, +1} and its gradient (BN in training mode
    on this batch: the gradient goes through the batch mean and variance)."""
    f, cache = forward(P, X, bn)
    m = -s * f
    loss = float(np.mean(np.logaddexp(0.0, m)))
    df = -s / (1.0 + np.exp(-m)) / len(s)        # d loss / d f
    G = {}
    L = len(WIDTHS)
    zL = cache[-1][3].clip(min=0) if cache else X
    G[f"W{L}"] = df[None, :] @ zL
    G[f"b{L}"] = np.array([df.sum()])
    dz = df[:, None] * P[f"W{L}"]
    for l in range(L - 1, -1, -1):
        z, xh, sd, y = cache[l]
        dy = dz * (y > 0)
        if bn:
            G[f"g{l}"] = (dy * xh).sum(0)
            G[f"be{l}"] = dy.sum(0)
            dxh = dy * P[f"g{l}"]
            B = dxh.shape[0]
            du = (B * dxh - dxh.sum(0) - xh * (dxh * xh).sum(0)) / (B * sd)
        else:
            G[f"g{l}"] = np.zeros_like(P[f"g{l}"])
            G[f"be{l}"] = np.zeros_like(P[f"be{l}"])
            du = dy
        G[f"W{l}"] = du.T @ z
        G[f"b{l}"] = du.sum(0) if not bn else np.zeros_like(P[f"b{l}"])
        dz = du @ P[f"W{l}"]
    return loss, G


def full_loss_of(P, X, s, bn):
    """Whole-data logistic loss (BN with the whole-data statistics)."""
    return float(np.mean(np.logaddexp(0.0, -s * forward(P, X, bn)[0])))


def train(P0, X, s, bn, batch, steps, lr, seed, stop_at_loss=None):
    """SGD with momentum; with ``stop_at_loss``, stop at the first step (checked every
    10) where the whole-data loss is at most that value."""
    P = {k: v.copy() for k, v in P0.items()}
    V = {k: np.zeros_like(v) for k, v in P.items()}
    rng = np.random.default_rng(1000 + seed)
    n = len(s)
    perm, pos = rng.permutation(n), 0
    for step in range(steps):
        if stop_at_loss is not None and step % 10 == 0 and \
                full_loss_of(P, X, s, bn) <= stop_at_loss:
            break
        if batch >= n:
            idx = np.arange(n)
        else:
            if pos + batch > n:
                perm, pos = rng.permutation(n), 0
            idx = perm[pos:pos + batch]
            pos += batch
        _, G = loss_grad(P, X[idx], s[idx], bn)
        for k in P:
            V[k] = 0.9 * V[k] - lr * G[k]
            P[k] += V[k]
    return P, full_loss_of(P, X, s, bn)


def to_network(P, bn, X):
    """A polyregion Network (BN folded with the whole-data statistics when ``bn``)."""
    L = len(WIDTHS)
    Ws = [P[f"W{l}"] for l in range(L + 1)]
    bs = [P[f"b{l}"] for l in range(L + 1)]
    if not bn:
        return pr.Network.from_arrays(Ws, bs, activation="relu")
    bns = [dict(gamma=P[f"g{l}"], beta=P[f"be{l}"], mean=0.0, var=1.0, eps=EPS)
           for l in range(L)] + [None]
    return pr.bn.fold(pr.Network.from_arrays(Ws, bs, activation="relu", bn=bns), X)


# ---------------------------------------------------------------------------- experiment
def run_one(seed, configs, steps, lr):
    X = moons(N, seed, noise=0.15)
    y = np.r_[np.zeros(N // 2), np.ones(N - N // 2)]
    s = 2 * y - 1
    lo, hi = X.min(0) - 1.0, X.max(0) + 1.0
    dom = pr.Box(lo, hi)
    P0 = init(seed)
    out = {}
    for name, bn, batch in configs:
        stop = None
        if name.startswith("BN, full, loss of"):  # loss-matched control
            stop = out["BN, B=" + name.split("B=")[1]]["loss"]
        P, loss = train(P0, X, s, bn, batch, steps, lr, seed, stop_at_loss=stop)
        net = to_network(P, bn, X)
        # the folded net reproduces the numpy model with whole-data statistics
        f_np = forward(P, X, bn)[0] if bn else forward(P, X, False)[0]
        assert np.max(np.abs(net.forward(X)[:, 0] - f_np)) < 1e-8
        pred = (net.forward(X)[:, 0] > 0).astype(int)
        ok = pred == y
        res = pr.distance_to_decision_boundary(net, X, dom, details=True)
        d = res.distance[ok]
        signed = np.where(ok, res.distance, -res.distance)
        out[name] = dict(acc=float(ok.mean()), mean=float(d.mean()), median=float(np.median(d)),
                         signed=float(signed.mean()),
                         q10=float(np.quantile(d, 0.1)), loss=loss,
                         regions=int(res.n_regions.max()), n_proj=res.n_projections,
                         n_fallback=res.n_fallback, net=net, X=X, y=y, dom=dom,
                         dist=res.distance)
    return out


def main():
    seeds = [0, 1] if QUICK else list(range(8))
    steps = 600 if QUICK else 3000
    lr = 0.02
    Bs = [16] if QUICK else [8, 32]
    configs = [("no BN, full", False, N), ("BN, full", True, N)]
    for B in Bs:
        configs += [(f"no BN, B={B}", False, B), (f"BN, B={B}", True, B),
                    (f"BN, full, loss of B={B}", True, N)]
    names = [c[0] for c in configs]
    t0 = time.perf_counter()
    per_seed = []
    for seed in seeds:
        r = run_one(seed, configs, steps, lr)
        per_seed.append(r)
        print(f"seed {seed}: " + ", ".join(
            f"{k}: acc {v['acc']:.3f} median {v['median']:.4f}" for k, v in r.items()),
            flush=True)
    rows = []
    for k in names:
        vals = {m: np.array([r[k][m] for r in per_seed]) for m in
                ("acc", "mean", "median", "q10", "signed", "loss", "regions")}
        rows.append([k, vals["acc"].mean(), vals["mean"].mean(), vals["median"].mean(),
                     vals["q10"].mean(), vals["signed"].mean(), vals["loss"].mean(),
                     int(vals["regions"].mean())])
    print()
    print(f"Exact distance of correctly classified training points to the decision boundary "
          f"(means over {len(seeds)} seeds, {steps} steps, lr {lr}):")
    print(table(rows, ["config", "train acc", "mean dist", "median dist", "10% quantile",
                       "signed mean (all points)", "final loss", "regions in box"]))
    print()
    for B in Bs:
        a = [r[f"BN, B={B}"]["median"] > r["BN, full"]["median"] for r in per_seed]
        b = [r[f"BN, B={B}"]["median"] > r[f"no BN, B={B}"]["median"] for r in per_seed]
        c = [r[f"no BN, B={B}"]["median"] > r["no BN, full"]["median"] for r in per_seed]
        ratio_bn = np.array([r[f"BN, B={B}"]["median"] / r["BN, full"]["median"]
                             for r in per_seed])
        ratio_nobn = np.array([r[f"no BN, B={B}"]["median"] / r["no BN, full"]["median"]
                               for r in per_seed])
        print(f"B={B}: median margin larger with mini-batch than full-batch statistics (BN): "
              f"{sum(a)}/{len(a)} seeds, ratio {ratio_bn.mean():.3f} "
              f"[{ratio_bn.min():.3f}, {ratio_bn.max():.3f}]; same contrast without BN "
              f"(SGD noise only): {sum(c)}/{len(c)}, ratio {ratio_nobn.mean():.3f} "
              f"[{ratio_nobn.min():.3f}, {ratio_nobn.max():.3f}]; "
              f"BN vs no BN at B={B}: {sum(b)}/{len(b)}")
        e = np.array([r[f"BN, B={B}"]["median"] / r[f"BN, full, loss of B={B}"]["median"]
                      for r in per_seed])
        print(f"      vs full-batch BN stopped at the same whole-data loss: larger in "
              f"{int(np.sum(e > 1))}/{len(e)} seeds, ratio {e.mean():.3f} "
              f"[{e.min():.3f}, {e.max():.3f}]")
    proj = np.concatenate([v["n_proj"] for r in per_seed for v in r.values()])
    fb = sum(v["n_fallback"] for r in per_seed for v in r.values())
    print(f"\nprojections per point: median {np.median(proj):.0f}, 99% quantile "
          f"{np.quantile(proj, 0.99):.0f}, max {proj.max()}; cvxpy fallbacks: {fb}")
    print(f"{time.perf_counter() - t0:.1f} s")
    if not no_fig_flag():
        figure(per_seed[0], Bs[0])


def figure(r, B):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["BN, full", f"BN, B={B}", f"BN, full, loss of B={B}", f"no BN, B={B}"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
    for ax, k in zip(axes, keys):
        v = r[k]
        lo, hi = v["dom"].bounds()
        g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
        F = v["net"].forward(np.c_[g0.ravel(), g1.ravel()])[:, 0].reshape(g0.shape)
        ax.contourf(g0, g1, F > 0, levels=[-0.5, 0.5, 1.5], colors=["#f3d9d9", "#d9e3f3"])
        ax.contour(g0, g1, F, levels=[0.0], colors="k", linewidths=1)
        sc = ax.scatter(v["X"][:, 0], v["X"][:, 1], c=v["dist"], s=10, cmap="viridis",
                        vmin=0, vmax=0.8)
        ax.set_title(f"{k}: median {v['median']:.3f}", fontsize=9)
        ax.set_aspect("equal")
    fig.colorbar(sc, ax=axes, shrink=0.8, label="exact distance to decision boundary")
    os.makedirs(FIG_DIR, exist_ok=True)
    path = os.path.join(FIG_DIR, "bn_margin.png")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"figure: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
