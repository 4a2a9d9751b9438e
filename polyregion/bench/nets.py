"""The benchmark nets: one generator, :func:`he_net`, and the named cases.

Every benchmark (the quick suite here, the full suite and the other scripts in the
repository's ``benchmarks/``) builds its random ReLU nets with :func:`he_weights`, so a
net's name fixes its weights bit for bit.

Examples
--------
>>> from polyregion.bench.nets import he_net, case_by_name
>>> name, d, widths = case_by_name("2-D [8]")
>>> he_net(widths, d).widths
[8]
"""

from __future__ import annotations

import numpy as np

__all__ = ["SEED", "BIAS_STD", "CASES", "QUICK_CASES", "he_weights", "he_net", "case_by_name"]

SEED = 0
BIAS_STD = 0.01

#: the full suite's nets: (name, input dimension, hidden widths); seed 0, one output unit,
#: domain the box [-1, 1]^d
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

#: the quick suite's nets (a few seconds once the Numba cache is warm)
QUICK_CASES = [
    ("1-D [12,12]", 1, (12, 12)),
    ("2-D [8]", 2, (8,)),
    ("3-D [6,6]", 3, (6, 6)),
    ("4-D [5,5]", 4, (5, 5)),
]


def he_weights(widths, d, seed=SEED, bias_std=BIAS_STD, out=1, *, biases_last=False):
    """Weights ``W_l`` (fan_out, fan_in) ~ N(0, 2/fan_in) and biases ~ N(0, bias_std^2).

    ``seed`` is an int or a ``numpy.random.Generator`` (which is advanced, so the caller
    can keep drawing from it). The draws alternate ``W_0, b_0, W_1, b_1, ...``; with
    ``biases_last=True`` all weights are drawn first, then all biases (the order of the
    784-D net of ``benchmarks/highdim.py``).

    >>> Ws, bs = he_weights((4,), 2)
    >>> [W.shape for W in Ws], [b.shape for b in bs]
    ([(4, 2), (1, 4)], [(4,), (1,)])
    """
    rng = np.random.default_rng(seed)
    dims = [int(d)] + [int(w) for w in widths] + [int(out)]
    pairs = list(zip(dims[:-1], dims[1:]))
    if biases_last:
        Ws = [rng.normal(size=(m, n)) * np.sqrt(2.0 / n) for n, m in pairs]
        bs = [rng.normal(size=m) * bias_std for _, m in pairs]
        return Ws, bs
    Ws, bs = [], []
    for n, m in pairs:
        Ws.append(rng.normal(size=(m, n)) * np.sqrt(2.0 / n))
        bs.append(rng.normal(size=m) * bias_std)
    return Ws, bs


def he_net(widths, d, seed=SEED, bias_std=BIAS_STD, out=1, activation="relu", **kw):
    """The :func:`he_weights` net as a ``polyregion.Network``.

    >>> he_net((3, 3), 2, seed=1).n_neurons
    6
    """
    import polyregion as pr

    return pr.Network.from_arrays(*he_weights(widths, d, seed, bias_std, out, **kw),
                               activation=activation)


def case_by_name(name):
    """``(name, d, widths)`` of a net of :data:`CASES` or :data:`QUICK_CASES`."""
    for c in CASES + QUICK_CASES:
        if c[0] == name:
            return c
    import polyregion as pr

    names = ", ".join(repr(c[0]) for c in CASES + QUICK_CASES)
    raise pr.InvalidInputError(f"no benchmark net named {name!r}; the nets: {names}.")
