"""Claim 3: mini-batch statistics jitter the boundaries (an effect like dropout).

Usage: python docs/reproductions/bn_jitter.py [--quick]

Random leaky-ReLU net 2 -> 6 -> 6 -> 6 -> 6 -> 1 with BN (gamma 1) on every hidden layer,
moons data set (N = 512). For mini-batch sizes B, draws mini-batches (without
replacement), conditions training-mode BN on each (pr.bn.offset_jitter) and prints:
- the std across mini-batches of each first-layer switching hyperplane's position along
  its unit normal, in units of the data's std along that normal (median over neurons),
  next to the sampling theory for beta = 0, sqrt((N - B) / (B (N - 1))) (std of a
  mini-batch mean, without replacement);
- the same with beta = 0.5 (the offset -beta/gamma = -0.5 batch std also jitters with the
  batch std);
- the mean share of data points whose region (full activation code) differs from their
  region under whole-data statistics.
Next to it, dropout with rate p on the hidden outputs of the BN net conditioned on the
whole data set (inverted scaling, no change of statistics): the mean share of data points
whose code changes.
"""

from __future__ import annotations

import time

import numpy as np

import polyregion as pr
from bn_common import moons, quick_flag, random_net, table

QUICK = quick_flag()
N = 512


def dropout_code_changes(plain, X, p, n_draws, rng):
    """Share of points whose full code changes when hidden outputs are dropped at rate p."""
    ref = plain.codes(X)
    shares = []
    for _ in range(n_draws):
        z, codes = X, []
        for l, (W, b) in enumerate(zip(plain.weights[:-1], plain.biases[:-1])):
            u = z @ W.T + b
            act = plain.activations[l]
            codes.append(act.piece(u))
            mask = rng.random(u.shape) >= p
            z = act(u) * mask / (1 - p)
        shares.append(np.mean(np.any(np.hstack(codes) != ref, axis=1)))
    return float(np.mean(shares))


def main():
    seeds = [0, 1] if QUICK else [0, 1, 2, 3, 4]
    sizes = [8, 32, 128] if QUICK else [8, 16, 32, 64, 128, 256]
    n_batches = 50 if QUICK else 200
    rows = []
    for seed in seeds:
        base = random_net(2, [6, 6, 6, 6], seed)
        X = moons(N, seed)
        nets = {0.0: pr.bn.with_bn(base), 0.5: pr.bn.with_bn(base, beta=0.5)}
        for B in sizes:
            res = {b: pr.bn.offset_jitter(n_, X, B, n_batches=n_batches, seed=seed)
                   for b, n_ in nets.items()}
            rel = {b: float(np.median(r.jitter[:, 0] / r.spread)) for b, r in res.items()}
            theory = np.sqrt((N - B) / (B * (N - 1)))
            rows.append([seed, B, rel[0.0], theory, rel[0.5],
                         float(res[0.0].code_changes.mean()), float(res[0.5].code_changes.mean())])
    print("Mini-batch jitter of the first-layer switching hyperplanes and of the data's "
          f"regions ({n_batches} mini-batches per size)\n")
    print(table(rows, ["seed", "B", "jitter / data std (beta 0)", "theory sqrt((N-B)/(B(N-1)))",
                       "jitter / data std (beta 0.5)", "share of points changing region (beta 0)",
                       "(beta 0.5)"]))
    print()
    for B in sizes:
        sel = [r for r in rows if r[1] == B]
        print(f"- B = {B}: jitter/std {np.mean([r[2] for r in sel]):.4f} (theory {sel[0][3]:.4f}), "
              f"points changing region {np.mean([r[5] for r in sel]):.3f}")
    drows = []
    for seed in seeds:
        base = random_net(2, [6, 6, 6, 6], seed)
        X = moons(N, seed)
        plain = pr.bn.fold(pr.bn.with_bn(base), X)
        rng = np.random.default_rng(seed)
        for p in (0.05, 0.1, 0.2):
            drows.append([seed, p, dropout_code_changes(plain, X, p, n_batches, rng)])
    print("\nDropout on the hidden outputs (BN with whole-data statistics)\n")
    print(table(drows, ["seed", "p", "share of points changing region"]))
    print()
    for p in (0.05, 0.1, 0.2):
        print(f"- p = {p}: points changing region "
              f"{np.mean([r[2] for r in drows if r[1] == p]):.3f}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n({'quick' if QUICK else 'full'} run, {time.perf_counter() - t0:.1f} s)")
