"""Constraint rows of many cells at once, from their activation codes.

What it computes
----------------
For ``N`` cells given by their codes (``(N, n_neurons)``), :func:`walk` pushes the affine
map of each cell through the network: at every layer the pre-activations are
``u = G x + g`` on the cell (``G (N, w, d)``, ``g (N, w)``), composed through scalar
activations (slope and intercept of each neuron's piece) and max layers (the rows of each
window's winner). :func:`layer_rows` turns one hidden layer's map into the cell's
constraint rows, :func:`cell_rows` does it for the whole net (and the domain's facets)
and also returns the output map.

The rows are those of :func:`polyregion.regions.cell_constraints`, in a fixed layout
whose labels do not depend on the cell, so one ``(R, 3)`` label array serves all ``N``
cells:

- a scalar layer has one slot per (breakpoint ``k``, neuron ``j``), breakpoint-major,
  label ``(layer, j, k)``: ``u_j >= t_k`` (``-G_j x <= g_j - t_k``) when the neuron's
  piece is above ``t_k``, ``u_j <= t_k`` otherwise. A slot is valid when ``t_k`` is
  adjacent to the piece (``k = q - 1`` or ``k = q``);
- a max layer has one slot per (position ``p``, window ``w``), position-major, label
  ``(layer, w, p)``: ``u_j <= u_i`` (``(G_j - G_i) x <= g_i - g_j``) for the entry ``j``
  at position ``p`` and the window's winner ``i``. The winner's own slot, and the padding
  of windows shorter than the longest, are invalid;
- the domain's facets come last, label ``(-1, facet, 0)``, always valid.

Rows are unit vectors. A row whose norm is at most ``Tolerances.zero_row`` times the
layer's row scale on the cell (:func:`row_scale`: a neuron or comparison constant on the
cell) is invalid, as in :func:`~polyregion.regions.cell_constraints`. Invalid rows are ``0`` with
right-hand side ``pad`` (``inf`` by default: ``0 . x <= inf`` holds everywhere).

Cost
----
``O(N * sum_l w_l * w_{l-1} * d)`` for the maps and ``O(N * R * d)`` memory for the rows.
Callers chunk ``N`` (see :func:`row_count`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DEFAULT_TOLERANCES
from .network import MaxPool

__all__ = ["LayerMap", "Rows", "row_scale", "walk", "layer_rows", "domain_rows", "cell_rows", "row_count"]


@dataclass(frozen=True)
class LayerMap:
    """The pre-activations of one layer on ``N`` cells.

    Attributes
    ----------
    layer : int
    act : Activation, MaxPool or None
        ``None`` for the output layer.
    G : ndarray (N, w, d)
    g : ndarray (N, w)
        ``u = G x + g`` on each cell (``w = W_l.shape[0]``).
    q : ndarray (N, widths[layer]) int64, or None
        The layer's code block (``None`` for the output layer).
    u : ndarray (N, w) or None
        ``u`` at the points ``X`` given to :func:`walk`.
    terms : ndarray (N,) or None
        ``max_i sum_j |W_ij| ||M_j||`` on each cell, the size of the terms summed into
        the rows (``M``: the previous layer's output map; ``None`` for the first layer).
        With the largest row norm it is the scale of the constant-row test (see
        :func:`row_scale`).
    """

    layer: int
    act: object
    G: np.ndarray
    g: np.ndarray
    q: np.ndarray | None
    u: np.ndarray | None
    terms: np.ndarray | None = None


def row_scale(lm):
    """``(N,)`` scale of the constant-row test of a layer on each cell: a row of norm at
    most ``Tolerances.zero_row`` times it is zero up to rounding (the rule of every
    engine, :mod:`polyregion.enumerate._kernels_const`): the larger of the layer's
    largest row norm and :attr:`LayerMap.terms`."""
    nrm = np.linalg.norm(lm.G, axis=2)
    gmax = nrm.max(axis=1) if nrm.shape[1] else np.zeros(nrm.shape[0])
    return gmax if lm.terms is None else np.maximum(gmax, lm.terms)


def walk(net, codes, X=None):
    """Yield the :class:`LayerMap` of every layer of ``net`` on the cells of ``codes``.

    Parameters
    ----------
    net : Network
        In the coordinates of the cells (BN is folded here if present).
    codes : array_like (N, n_neurons)
    X : array_like (N, d), optional
        One point per cell; each map then carries ``u`` at its point.

    Yields
    ------
    LayerMap
        The hidden layers in order, then the output layer (``act is None``; its ``G, g``
        are the network's affine map ``f(x) = G x + g`` on each cell).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> from polyregion._rows import walk
    >>> net = pr.Network.from_arrays([np.eye(3), np.ones((1, 2))], [np.zeros(3), [0.0]],
    ...                              activation=[pr.MaxPool([[0, 1], [2]])])
    >>> X = np.array([[1.0, 2.0, -1.0]])
    >>> maps = list(walk(net, net.codes(X), X))
    >>> maps[0].u, maps[-1].G, maps[-1].u, net.forward(X)
    (array([[ 1.,  2., -1.]]), array([[[0., 1., 1.]]]), array([[1.]]), array([[1.]]))
    """
    codes = np.asarray(codes)
    N, d = codes.shape[0], net.input_dim
    M = np.broadcast_to(np.eye(d), (N, d, d))
    c = np.zeros((N, d))
    layers = net.effective_layers()
    off = 0
    for l, (W, bias) in enumerate(layers):
        G = np.einsum("ij,njk->nik", W, M)
        g = c @ W.T + bias
        u = None if X is None else np.einsum("nid,nd->ni", G, X) + g
        terms = None
        if l > 0 and W.size:
            terms = (np.linalg.norm(M, axis=2) @ np.abs(W).T).max(axis=1)
        if l == len(layers) - 1:
            yield LayerMap(l, None, G, g, None, u, terms)
            return
        act = net.activations[l]
        w = act.n_out if isinstance(act, MaxPool) else W.shape[0]
        q = codes[:, off:off + w].astype(np.int64)
        off += w
        yield LayerMap(l, act, G, g, q, u, terms)
        if isinstance(act, MaxPool):
            win = act.winners(q)
            M = np.take_along_axis(G, win[..., None], axis=1)
            c = np.take_along_axis(g, win, axis=1)
        else:
            s = np.asarray(act.slopes)[q]
            M = s[..., None] * G
            c = s * g + np.asarray(act.intercepts)[q]


def _unit(D, rhs, nrm, valid, pad):
    """Rows ``D x <= rhs`` (``D (N, m, d)``, row norms ``nrm``) made unit, the invalid
    ones ``0 . x <= pad``."""
    A = np.divide(D, np.where(valid, nrm, np.inf)[..., None], out=D)   # D is a fresh array
    with np.errstate(invalid="ignore", divide="ignore"):
        return A, np.where(valid, rhs / nrm, pad)


def layer_rows(lm, pad=np.inf, tolerances=None):
    """Constraint rows of one hidden layer on every cell (layout: module docstring).

    Parameters
    ----------
    lm : LayerMap
        A hidden layer's map from :func:`walk`.
    pad : float
        Right-hand side of invalid rows.
    tolerances : Tolerances, optional
        Its ``zero_row`` decides the constant rows (default
        :data:`~polyregion.config.DEFAULT_TOLERANCES`).

    Returns
    -------
    A : ndarray (N, R, d)
        Unit rows (zero where invalid).
    b : ndarray (N, R)
    valid : ndarray (N, R) bool
    labels : ndarray (R, 3) int64
        ``(layer, unit, breakpoint)`` for a scalar layer, ``(layer, window, position)``
        for a max layer; the same for every cell.
    """
    G, g, q, act = lm.G, lm.g, lm.q, lm.act
    N, w = g.shape
    nrm = np.linalg.norm(G, axis=2)
    tol = DEFAULT_TOLERANCES if tolerances is None else tolerances
    tiny = tol.zero_row * row_scale(lm)[:, None]
    if isinstance(act, MaxPool):
        k, n_win = act.index.shape[1], act.n_out
        win = act.winners(q)                                        # (N, n_win)
        idx = np.maximum(act.index.T, 0)                            # (k, n_win)
        Gw = np.take_along_axis(G, win[..., None], axis=1)          # (N, n_win, d)
        gw = np.take_along_axis(g, win, axis=1)
        D = G[:, idx, :] - Gw[:, None]                              # (N, k, n_win, d)
        rhs = gw[:, None] - g[:, idx]
        dn = np.linalg.norm(D, axis=3)
        valid = ((act.index.T >= 0) & (idx != win[:, None])
                 & (dn > tiny[..., None]) & (dn > 0))
        D, rhs, dn, valid = (D.reshape(N, k * n_win, -1), rhs.reshape(N, -1),
                             dn.reshape(N, -1), valid.reshape(N, -1))
        units = np.arange(n_win)
    else:
        t = np.asarray(act.breakpoints, float)
        m = len(t)
        live = (nrm > tiny) & (nrm > 0)
        kk = np.arange(m)[None, :, None]                            # (1, m, 1)
        qq = q[:, None, :]                                          # (N, 1, w)
        sgn = np.where(kk < qq, -1.0, 1.0)                          # u >= t_k below the piece
        D = (sgn[..., None] * G[:, None]).reshape(N, m * w, -1)     # (N, m * w, d)
        rhs = (sgn * (t[None, :, None] - g[:, None, :])).reshape(N, -1)
        valid = (((kk == qq - 1) | (kk == qq)) & live[:, None, :]).reshape(N, -1)
        dn = np.broadcast_to(nrm[:, None], (N, m, w)).reshape(N, -1)
        k, units = m, np.arange(w)
    labels = np.stack([np.full(k * len(units), lm.layer), np.tile(units, k),
                       np.repeat(np.arange(k), len(units))], axis=1).astype(np.int64)
    A, b = _unit(D, rhs, dn, valid, pad)
    return A, b, valid, labels


def domain_rows(domain, N):
    """The domain's facets as unit rows for ``N`` cells: ``A (N, m, d)``, ``b (N, m)``,
    labels ``(-1, facet, 0)``."""
    A0, b0 = domain.halfspaces()
    n0 = np.linalg.norm(A0, axis=1)
    m = A0.shape[0]
    labels = np.stack([np.full(m, -1), np.arange(m), np.zeros(m, int)], axis=1)
    return (np.broadcast_to(A0 / n0[:, None], (N,) + A0.shape),
            np.broadcast_to(b0 / n0, (N, m)), labels.astype(np.int64).reshape(-1, 3))


@dataclass(frozen=True)
class Rows:
    """All constraint rows of ``N`` cells and their output maps (see :func:`cell_rows`)."""

    A: np.ndarray
    b: np.ndarray
    valid: np.ndarray
    labels: np.ndarray
    Mo: np.ndarray
    co: np.ndarray


def cell_rows(net, codes, domain=None, pad=np.inf, tolerances=None):
    """Constraint rows of the cells of ``codes`` and the network's map on each.

    Parameters
    ----------
    net : Network
        In the cells' coordinates (``RegionSet.enum_net``).
    codes : array_like (N, n_neurons)
    domain : Domain, optional
        Its facets are appended (always valid).
    pad : float
        Right-hand side of invalid rows (their left-hand side is 0).
    tolerances : Tolerances, optional
        Its ``zero_row`` decides which rows are constant (``RegionSet.tolerances`` for
        the cells of a RegionSet; default :data:`~polyregion.config.DEFAULT_TOLERANCES`).

    Returns
    -------
    Rows
        ``A (N, R, d)`` unit rows, ``b (N, R)``, ``valid (N, R)``, ``labels (R, 3)``,
        output map ``Mo (N, K, d)``, ``co (N, K)``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> from polyregion._rows import cell_rows
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> r = cell_rows(net, [[1, 0]])          # x >= 0, y <= 0
    >>> r.A[0], r.b[0], r.labels.tolist()
    (array([[-1., -0.],
           [ 0.,  1.]]), array([-0.,  0.]), [[0, 0, 0], [0, 1, 0]])
    >>> r.Mo[0], r.co[0]
    (array([[1., 0.]]), array([0.]))
    """
    codes = np.asarray(codes)
    N, d = codes.shape[0], net.input_dim
    As, bs, oks, labs = [], [], [], []
    for lm in walk(net, codes):
        if lm.act is None:
            Mo, co = lm.G, lm.g
            break
        A, b, ok, lab = layer_rows(lm, pad, tolerances)
        As.append(A), bs.append(b), oks.append(ok), labs.append(lab)
    if domain is not None:
        A, b, lab = domain_rows(domain, N)
        As.append(A), bs.append(b), oks.append(np.ones(b.shape, bool)), labs.append(lab)
    if not As:
        return Rows(np.zeros((N, 0, d)), np.zeros((N, 0)), np.zeros((N, 0), bool),
                    np.zeros((0, 3), np.int64), Mo, co)
    return Rows(np.concatenate(As, axis=1), np.concatenate(bs, axis=1),
                np.concatenate(oks, axis=1), np.concatenate(labs, axis=0), Mo, co)


def row_count(net):
    """``R``: rows per cell of :func:`cell_rows` without the domain (for chunking)."""
    R = 0
    for W, act in zip(net.weights[:-1], net.activations):
        if isinstance(act, MaxPool):
            R += act.index.size
        else:
            R += len(act.breakpoints) * W.shape[0]
    return R
