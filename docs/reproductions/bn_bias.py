"""Claim 2: under training-mode BN the raw bias cancels; the offsets are (t - beta)/gamma.

Usage: python docs/reproductions/bn_bias.py [--quick]

For a random 2-D ReLU net with BN on every hidden layer, changes the raw biases of the
BN layers (scale 0, 1, 100) and prints the largest change of: the folded network's
weights and biases, the switching hyperplanes (first layer and a deeper layer inside a
parent region), the outputs on test points, and the exact region count in a box. The
same is done in eval mode (running statistics), where the bias does not cancel.
It also checks the offsets (t - beta) / gamma (standardised units) against the measured
position of the switching hyperplanes relative to the batch centroid.
"""

from __future__ import annotations

import time

import numpy as np

import polyregion as pr
from bn_common import moons, quick_flag, random_net, table, train_forward

QUICK = quick_flag()


def main():
    seeds = [0, 1] if QUICK else [0, 1, 2, 3, 4]
    rows = []
    for seed in seeds:
        base = random_net(2, [8, 8, 8], seed, activation="relu")
        rng = np.random.default_rng(seed)
        gamma = [rng.uniform(0.5, 2, 8) * rng.choice([-1, 1], 8) for _ in range(3)]
        beta = [rng.normal(size=8) * 0.5 for _ in range(3)]
        X = moons(128, seed, shift=(1.0, -2.0))
        T = rng.normal(size=(500, 2)) * 2
        box = pr.Box.cube(2, radius=3.0, center=X.mean(0))

        def build(bias_scale):
            bs = [b * bias_scale + (rng.normal(size=b.shape) * bias_scale if bias_scale else 0)
                  for b in base.biases[:-1]] + [base.biases[-1]]
            bn = [dict(gamma=g, beta=be, mean=rng.normal(size=8), var=rng.uniform(0.5, 2, 8))
                  for g, be in zip(gamma, beta)] + [None]
            return pr.Network.from_arrays(base.weights, bs, activation="relu", bn=bn)

        ref = build(1.0)
        ref_plain = pr.bn.fold(ref, X)
        code = ref_plain.codes(X[:1])[0]
        ref_h0 = pr.bn.hyperplanes(ref, X, 0)
        ref_h2 = pr.bn.hyperplanes(ref, X, 2, region=code)
        ref_count = len(pr.enumerate_regions(ref_plain, box))
        # standardised offsets check: position of the switching hyperplane relative to the
        # centroid along the normal, divided by the batch std of w.x
        u = X @ ref.weights[0].T
        meas = (ref_h0.rhs[:, 0] - ref_h0.normal @ X.mean(0)) / np.sqrt(u.var(0) + 1e-5)
        off_err = np.max(np.abs(meas - (-beta[0] / gamma[0])))
        for scale in (0.0, 100.0):
            net = build(scale)
            plain = pr.bn.fold(net, X)
            dW = max(np.max(np.abs(a - b)) for a, b in zip(plain.weights, ref_plain.weights))
            db = max(np.max(np.abs(a - b)) for a, b in zip(plain.biases, ref_plain.biases))
            h0 = pr.bn.hyperplanes(net, X, 0)
            h2 = pr.bn.hyperplanes(net, X, 2, region=code)
            dh = max(np.nanmax(np.abs(h0.rhs - ref_h0.rhs)), np.nanmax(np.abs(h2.rhs - ref_h2.rhs)))
            dout = np.max(np.abs(plain.forward(T) - ref_plain.forward(T)))
            dorc = np.max(np.abs(train_forward(net, X, T) - ref_plain.forward(T)))
            count = len(pr.enumerate_regions(plain, box))
            ev = np.max(np.abs(pr.bn.fold(net).forward(T) - pr.bn.fold(ref).forward(T)))
            rows.append([seed, scale, dW, db, dh, dout, dorc, f"{count} vs {ref_count}",
                         off_err, ev])
    print("Training mode: change when the raw biases of the BN layers are replaced "
          "(scale 0: zero biases; 100: biases x100 plus N(0, 100^2) noise), vs scale 1.\n")
    print(table(rows, ["seed", "bias scale", "max change W'", "max change b'",
                       "max change rhs (layers 0, 2)", "max change out",
                       "oracle forward (biases in) vs ref", "regions in box",
                       "max error offset vs -beta/gamma", "eval mode: max change out"]))
    worst = max(max(r[2], r[3], r[4], r[5]) for r in rows)
    print(f"\nLargest training-mode change of the folded net over all seeds: {worst:.3g}; "
          f"definitional forward pass vs folded net: {max(r[6] for r in rows):.3g}; "
          f"eval mode changes: min {min(r[9] for r in rows):.3g}.")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({'quick' if QUICK else 'full'} run, {time.perf_counter() - t0:.1f} s)")
