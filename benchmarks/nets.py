"""The benchmark nets (a copy of ``tests/oracles.he_net``, so the suite stands alone)."""

from __future__ import annotations

import numpy as np

#: (name, input dimension, hidden widths); seed 0, one output unit.
CASES = [
    ("1-D [32,32]", 1, (32, 32)),
    ("2-D [8]", 2, (8,)),
    ("2-D [16,16]", 2, (16, 16)),
    ("2-D [32,32,32]", 2, (32, 32, 32)),
    ("2-D [64,64,64]", 2, (64, 64, 64)),
    ("3-D [16,16]", 3, (16, 16)),
    ("3-D [32,32]", 3, (32, 32)),
    ("4-D [16,16]", 4, (16, 16)),
    ("5-D [12,12]", 5, (12, 12)),
    ("6-D [10,10]", 6, (10, 10)),
]

#: a few-seconds smoke subset (``--quick``)
QUICK_CASES = [
    ("1-D [12,12]", 1, (12, 12)),
    ("2-D [8]", 2, (8,)),
    ("3-D [6,6]", 3, (6, 6)),
    ("4-D [5,5]", 4, (5, 5)),
]

SEED = 0
BIAS_STD = 0.01


def he_weights(widths, d, seed=SEED, bias_std=BIAS_STD, out=1):
    """Weights ``W_l`` (out, in) ~ N(0, 2/in) and biases ~ N(0, bias_std^2)."""
    rng = np.random.default_rng(seed)
    Ws, bs, n = [], [], d
    for w in list(widths) + [out]:
        Ws.append(rng.normal(size=(w, n)) * np.sqrt(2.0 / n))
        bs.append(rng.normal(size=w) * bias_std)
        n = w
    return Ws, bs


def he_net(widths, d, seed=SEED, bias_std=BIAS_STD):
    import polyregion as pr

    Ws, bs = he_weights(widths, d, seed, bias_std)
    return pr.Network.from_arrays(Ws, bs, activation="relu")


def case_by_name(name):
    for c in CASES + QUICK_CASES:
        if c[0] == name:
            return c
    raise KeyError(name)
