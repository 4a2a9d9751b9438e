"""A chain of elementary operations -> :class:`~polyregion.Network` (shared by importers).

Importers translate a model into a list of operations on a flat vector:

- ``("affine", W, b)``: ``z -> W z + b``;
- ``("bn", gamma, beta, mean, var, eps)``: per-feature eval-mode batch normalisation;
- ``("scale", s, t)``: ``z -> s z + t`` elementwise, with scalars ``s, t`` (used to rescale
  clipping) or vectors of one entry per feature (a per-channel batch normalisation);
- ``("act", name)``: a piecewise-linear activation known to
  :func:`polyregion.network.get_activation` (``relu``, ``leaky_relu:<slope>``, ``hardtanh``,
  ``relu6``, ``abs``).

:func:`assemble` composes consecutive affine maps, keeps a BN that sits between an affine
map and an activation (or the end) as the layer's BN (so :mod:`polyregion.bn` sees it),
folds any other BN into the neighbouring affine map, and inserts identity layers where
two activations follow each other or the chain starts or ends with an activation.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidNetworkError

#: tolerance of the import self-check, relative to the size of the outputs
CHECK_RTOL = 1e-6


def clip_ops(lo: float, hi: float) -> list:
    """Operations computing ``clip(u, lo, hi)`` with the library's activations, exactly.

    ``clip(u, 0, 6)`` is ``relu6``, ``clip(u, -1, 1)`` is ``hardtanh``, ``clip(u, 0, inf)``
    is ``relu``; any other finite interval is an affine rescaling of ``hardtanh``:
    ``clip(u, lo, hi) = h * hardtanh((u - m) / h) + m`` with ``m = (lo + hi) / 2``,
    ``h = (hi - lo) / 2``, and a half-line is a shifted ReLU: ``clip(u, lo, inf) =
    relu(u - lo) + lo``, ``clip(u, -inf, hi) = hi - relu(hi - u)``. The rescalings are
    affine maps that compose with the neighbouring layers; each neuron's switching set is
    unchanged.

    Examples
    --------
    >>> from polyregion.io._chain import clip_ops
    >>> clip_ops(0, 6), clip_ops(-1, 1)
    ([('act', 'relu6')], [('act', 'hardtanh')])
    >>> clip_ops(0, 2)
    [('scale', 1.0, -1.0), ('act', 'hardtanh'), ('scale', 1.0, 1.0)]
    """
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        raise InvalidNetworkError(f"A clipping activation needs lo < hi; got lo={lo}, hi={hi}.")
    if lo == -np.inf and hi == np.inf:
        return []
    if lo == 0.0 and hi == np.inf:
        return [("act", "relu")]
    if lo == 0.0 and hi == 6.0:
        return [("act", "relu6")]
    if lo == -1.0 and hi == 1.0:
        return [("act", "hardtanh")]
    if hi == np.inf:
        return [("scale", 1.0, -lo), ("act", "relu"), ("scale", 1.0, lo)]
    if lo == -np.inf:
        return [("scale", -1.0, hi), ("act", "relu"), ("scale", -1.0, hi)]
    m, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
    return [("scale", 1.0 / h, -m / h), ("act", "hardtanh"), ("scale", h, m)]


def assemble(ops: list, input_dim: int):
    """Build a Network from a chain of operations (see the module docstring)."""
    from ..network import Network

    Ws, bs, acts, bns = [], [], [], []
    W, b = np.eye(input_dim), np.zeros(input_dim)
    bn = None  # pending BN after the pending affine map

    def fold_pending():
        nonlocal W, b, bn
        if bn is not None:
            gamma, beta, mean, var, eps = bn
            s = gamma / np.sqrt(var + eps)
            W, b = s[:, None] * W, s * (b - mean) + beta
            bn = None

    for op in ops:
        kind = op[0]
        if kind == "affine":
            fold_pending()
            W2, b2 = np.asarray(op[1], float), np.asarray(op[2], float)
            if W2.shape[1] != W.shape[0]:
                raise InvalidNetworkError(
                    f"Layer shapes do not chain: an affine map with {W2.shape[1]} inputs "
                    f"follows {W.shape[0]} features."
                )
            W, b = W2 @ W, W2 @ b + b2
        elif kind == "scale":  # z -> s z + t, elementwise (scalars or one per feature)
            fold_pending()
            s, t = np.asarray(op[1], float), np.asarray(op[2], float)
            if s.ndim or t.ndim:
                n = W.shape[0]
                if s.size not in (1, n) or t.size not in (1, n):
                    raise InvalidNetworkError(
                        f"An elementwise affine map over {max(s.size, t.size)} features "
                        f"follows {n} features.")
                s, t = np.broadcast_to(s.ravel(), (n,)), np.broadcast_to(t.ravel(), (n,))
                W, b = s[:, None] * W, s * b + t
            else:
                W, b = s * W, s * b + t
        elif kind == "bn":
            fold_pending()
            gamma, beta, mean, var = (np.asarray(x, float).ravel() for x in op[1:5])
            eps = float(op[5])
            n = W.shape[0]
            if any(x.shape != (n,) for x in (gamma, beta, mean, var)):
                raise InvalidNetworkError(
                    f"A batch normalisation over {gamma.shape} features follows {n} features."
                )
            bn = (gamma, beta, mean, var, eps)
        elif kind == "act":
            Ws.append(W)
            bs.append(b)
            acts.append(op[1])
            bns.append(None if bn is None else dict(zip(("gamma", "beta", "mean", "var", "eps"),
                                                        bn)))
            W, b, bn = np.eye(W.shape[0]), np.zeros(W.shape[0]), None
        elif kind == "max":
            from ..network import MaxPool

            pool = MaxPool(op[1])
            Ws.append(W)
            bs.append(b)
            acts.append(pool)
            bns.append(None if bn is None else dict(zip(("gamma", "beta", "mean", "var", "eps"),
                                                        bn)))
            W, b, bn = np.eye(pool.n_out), np.zeros(pool.n_out), None
        else:  # pragma: no cover - importers only emit the kinds above
            raise ValueError(kind)
    Ws.append(W)
    bs.append(b)
    bns.append(None if bn is None else dict(zip(("gamma", "beta", "mean", "var", "eps"), bn)))
    return Network.from_arrays(Ws, bs, activation=acts if acts else "relu",
                               bn=bns if any(x is not None for x in bns) else None)


def check_close(y_net, y_ref, what: str, rtol: float = CHECK_RTOL):
    """Raise InvalidNetworkError unless ``|y_net - y_ref| <= rtol * (1 + max|y_ref|)``."""
    y_net = np.asarray(y_net, float).reshape(len(y_net), -1)
    y_ref = np.asarray(y_ref, float).reshape(len(y_ref), -1)
    if y_net.shape != y_ref.shape:
        raise InvalidNetworkError(
            f"Import self-check failed for {what}: the converted network gives outputs of "
            f"shape {y_net.shape}, the original {y_ref.shape}."
        )
    err = float(np.max(np.abs(y_net - y_ref))) if y_ref.size else 0.0
    bound = rtol * (1.0 + float(np.max(np.abs(y_ref))) if y_ref.size else 1.0)
    if not err <= bound:
        raise InvalidNetworkError(
            f"Import self-check failed for {what}: the converted network differs from the "
            f"original by {err:.3g} (> tolerance {bound:.3g}) on random inputs."
        )
    return err
