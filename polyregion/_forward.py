"""The forward pass of a network, written once: pre-activations, codes and outputs.

What it computes
----------------
:func:`forward` evaluates a network given by its affine layers (BN folded in) and its
hidden activations at the rows of ``X``: each layer's pre-activations
``u_l = z_l W_l^T + b_l``, the code of every neuron (``act.piece``), the next layer's
input ``z_{l+1} = act.apply(u_l, code)`` and, when asked, the output. Every caller uses
it: :meth:`Network.forward <polyregion.Network.forward>` and
:meth:`Network.codes <polyregion.Network.codes>`, :func:`cell_codes` (the codes as the
engines label their cells) and the sampling estimates and verification
(:mod:`polyregion.sampling`).

Codes follow the forward pass's side of the engines' constant-neuron rule
(:class:`_CancelRule`, docs/tolerances.md): a pre-activation of a deeper layer within
its float64 error bound below a breakpoint takes the upper piece. :func:`cell_codes` adds
the engines' constant-row rule, which needs each point's cell.

Method and cost
---------------
One matrix product per layer, ``O(n sum_l w_l w_{l-1})``; codes cost ``m`` comparisons
per neuron (``m`` breakpoints). The rule's exact error bound (:func:`term_sizes`, a
second pass over ``|W|``) is only computed for the rows that a cheap per-row bound leaves
within reach of a breakpoint. :func:`cell_codes` adds, per layer, a sort of the points'
codes and the affine map of every distinct cell among the points.
"""

from __future__ import annotations

import numpy as np

from .layers import MaxPool

__all__ = ["forward", "forward_codes", "cell_codes", "term_sizes"]


def forward(layers, acts, X, codes=True, output=False, refine=None):
    """One forward pass at the rows of ``X``.

    Parameters
    ----------
    layers : list of (W, b)
        The affine layers, BN folded in (``Network.effective_layers()``); the last one is
        the output layer.
    acts : list of Activation or MaxPool
        One per hidden layer.
    X : ndarray (n, input_dim) float64
        Checked by the caller.
    codes : bool
        Return the codes, with the constant-neuron rule of :class:`_CancelRule`;
        without, each code is the plain piece of its pre-activation.
    output : bool
        Return the output layer's values.
    refine : callable, optional
        ``refine(l, u, j) -> j``: may change the codes ``j`` of hidden layer ``l`` (its
        pre-activations ``u``) before they are used (:func:`cell_codes`).

    Returns
    -------
    (codes, out)
        ``codes (n, n_neurons) uint8`` or None, ``out (n, output_dim)`` or None.
    """
    z = X
    blocks = []
    rule = _CancelRule(layers, acts, X) if codes else None
    for l, act in enumerate(acts):
        W, b = layers[l]
        u = z @ W.T
        u += b
        if rule is not None:
            # the piece a cancelling neuron takes changes its value only by rounding: the
            # rule is applied to codes, not to the values passed on
            j = act.piece(rule.adjust(l, u, lambda rows: _stack_codes(blocks, rows)))
        else:
            j = act.piece(u)
        if refine is not None:
            j = refine(l, u, j)
        blocks.append(j)
        z = act.apply(u, j)
    out = None
    if output:
        W, b = layers[-1]
        out = z @ W.T
        out += b
    if not codes:
        return None, out
    if not blocks:
        return np.zeros((X.shape[0], 0), np.uint8), out
    return np.concatenate(blocks, axis=1), out


def forward_codes(layers, acts, X):
    """Activation codes of the rows of ``X`` (:func:`forward`): ``(n, n_neurons) uint8``."""
    return forward(layers, acts, X)[0]


def term_sizes(layers, acts, X, codes, layer):
    """``e (n, w)``: the size of the terms summed into each pre-activation of ``layer`` at
    the rows of ``X``, ``e = |W| (|s| e_prev + |c|) + |b|`` from ``e_0 = |x|`` (``s, c``:
    the slope and intercept of each neuron's piece in ``codes``). Rounding changes a
    pre-activation by at most a small multiple of ``eps * e``."""
    e = np.abs(X)
    off = 0
    for k in range(layer + 1):
        W, b = layers[k]
        e = e @ np.abs(W).T + np.abs(b)
        if k == layer:
            return e
        act = acts[k]
        w = act.n_out if isinstance(act, MaxPool) else W.shape[0]
        j = codes[:, off:off + w]
        off += w
        if isinstance(act, MaxPool):
            e = np.take_along_axis(e, act.winners(j), axis=1)
        else:
            e = np.abs(np.asarray(act.slopes))[j] * e + np.abs(np.asarray(act.intercepts))[j]
    raise AssertionError("unreachable")  # pragma: no cover


class _CancelRule:
    """The forward pass's side of the constant-neuron rule of the engines.

    A deeper neuron whose row cancels on a cell (``relu(p) + relu(q) - relu(p + q)``
    where all three are on) has a pre-activation that is zero up to rounding on the
    whole cell; the engines call it constant and give it the upper piece at its
    breakpoint (docs/tolerances.md). Here a pre-activation of layer ``l >= 1`` within
    the float64 error bound ``2 G_l e`` below a breakpoint counts as on it, so that the
    rounding sign at each point does not pick the piece: ``e`` is the size of its terms
    (:func:`term_sizes`) and ``G_l = eps * sum_{k <= l} (n_k + 2)`` (``n_k`` the input
    width of layer ``k``) bounds the relative error that the forward pass accumulates
    up to layer ``l``. A value that close to a breakpoint is one float64 cannot tell
    from it; for a genuine hyperplane the rule only moves the breakpoint by that bound.
    (First-layer values are not rounded sums of cancelling rows: a first-layer neuron is
    only constant when its row is, exactly, or on a Slice, which ``Network.restrict``
    makes exact.)

    ``e`` costs a second forward pass, so it is only computed for the rows where the
    cheap per-row bound ``E >= max_i e_i`` (``E_l = ||W_l||_inf (s_max E_{l-1} +
    c_max) + max |b_l|``) leaves a value within reach of a breakpoint.
    """

    def __init__(self, layers, acts, X):
        self.layers, self.acts, self.X = layers, acts, X
        self.E = np.abs(X).max(axis=1, initial=0.0)
        self.G = 0.0

    def adjust(self, l, u, codes_before):
        """``u`` with the margin added where it can matter (layers ``l >= 1``, not max
        layers), and the bounds advanced past layer ``l``. ``codes_before``: callable
        giving the codes of layers ``< l`` at given rows."""
        W, b = self.layers[l]
        act = self.acts[l]
        winf = float(np.abs(W).sum(axis=1).max(initial=0.0))
        self.E = winf * self.E + float(np.abs(b).max(initial=0.0))
        self.G += np.finfo(np.float64).eps * (W.shape[1] + 2)
        u_cmp = u
        if l > 0 and not isinstance(act, MaxPool) and u.size:
            from .enumerate._kernels_const import near_rows

            rel = 2.0 * self.G
            rows = near_rows(np.ascontiguousarray(u, dtype=np.float64),
                             np.asarray(act.breakpoints, dtype=np.float64), rel * self.E)
            if rows.size:
                e = term_sizes(self.layers, self.acts, self.X[rows], codes_before(rows), l)
                u_cmp = u.copy()
                u_cmp[rows] += rel * e
        if not isinstance(act, MaxPool):
            s = np.abs(np.asarray(act.slopes)).max()
            c = np.abs(np.asarray(act.intercepts)).max()
            self.E = s * self.E + c
        return u_cmp


def _stack_codes(codes, rows):
    """The codes of the layers done so far (a list of blocks) at ``rows``."""
    if not codes:
        return np.zeros((len(rows), 0), np.uint8)
    return np.concatenate([c[rows] for c in codes], axis=1)


def cell_codes(net, X, tolerances=None, center=None, scale=1.0):
    """Activation codes of the rows of ``X`` as the engines label their cells.

    :meth:`Network.codes` plus the constant-neuron rule of the engines with
    ``tolerances.zero_row`` (docs/tolerances.md, rule 4): on the cell of a point (its
    code in the layers before), a neuron whose row ``G_i`` has norm at most ``zero_row``
    times ``max(max_i ||G_i||, max_i sum_j |W_ij| ||M_j||)`` is constant there. It then
    takes the piece of its value at ``center`` (the origin of the engines' unit
    coordinates, where they evaluate it), a value within the engines' margin below a
    breakpoint taking the upper piece. These are the codes of the regions that
    ``enumerate_regions(..., tolerances=tolerances)`` reports on a domain with this
    ``center`` and ``scale`` (:func:`~polyregion.network.domain_frame`); they differ from
    :meth:`Network.codes` only at neurons whose hyperplane is negligible on the cell
    (below ``zero_row``) and yet crosses it. Max layers keep the forward pass's code.

    Parameters
    ----------
    net : Network
        In the coordinates of ``X`` (``RegionSet.enum_net``).
    X : array_like (n, input_dim)
    tolerances : Tolerances, optional
        Default :data:`polyregion.config.DEFAULT_TOLERANCES`.
    center : array_like (input_dim,), optional
        Default the origin.
    scale : float

    Returns
    -------
    ndarray (n, n_neurons) uint8

    Notes
    -----
    Cost: one forward pass plus, per layer, a sort of the points' codes and the affine
    map of every distinct cell among the points, ``O(cells * w_l * w_{l-1} * d)``.

    Examples
    --------
    A neuron of slope 1e-8 next to slope-1 neurons is constant with ``zero_row=1e-6``:
    its value at the centre, 0, is on the breakpoint, so it takes the upper piece.

    >>> import numpy as np, polyregion as pr
    >>> from polyregion.network import cell_codes
    >>> net = pr.Network.from_arrays([np.array([[1.0, 0.0], [0.0, 1.0], [1e-8, 0.0]]),
    ...                               np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
    >>> X = np.array([[-0.5, 0.5]])
    >>> net.codes(X), cell_codes(net, X, pr.Tolerances(zero_row=1e-6))
    (array([[0, 1, 0]], dtype=uint8), array([[0, 1, 1]], dtype=uint8))
    """
    from .config import DEFAULT_TOLERANCES

    tol = DEFAULT_TOLERANCES if tolerances is None else tolerances
    X = net._check_X(X)
    center = (np.zeros(X.shape[1]) if center is None
              else np.asarray(center, dtype=np.float64))
    layers = net.effective_layers()
    cells = _Cells(layers, net.activations, X, tol.zero_row, center, scale)
    return forward(layers, net.activations, X, refine=cells.refine)[0]


class _Cells:
    """The cells of the points in the layers done so far, for :func:`cell_codes`: the
    cell of each point (``grp``) and each cell's input map ``z = M t + c``. Its
    :meth:`refine` gives the neurons that are constant on a point's cell the piece of
    their value at ``center``, then advances the cells past the layer."""

    def __init__(self, layers, acts, X, zero_row, center, scale):
        n, d = X.shape
        self.layers, self.acts, self.zr = layers, acts, zero_row
        self.center, self.scale = center, scale
        self.grp = np.zeros(n, np.int64)
        self.M, self.c = np.eye(d)[None], np.zeros((1, d))

    def refine(self, l, u, j):
        W, b = self.layers[l]
        act = self.acts[l]
        M, c, grp = self.M, self.c, self.grp
        zr, center, scale = self.zr, self.center, self.scale
        G = np.einsum("ij,gjd->gid", W, M)
        g = c @ W.T + b
        if not isinstance(act, MaxPool):
            nrm = np.linalg.norm(G, axis=2)
            gmax = nrm.max(axis=1)
            if l == 0:
                zs, ub, vb = gmax, 0.0, 0.0
            else:
                mn = np.linalg.norm(M, axis=2)
                winf = float(np.abs(W).sum(axis=1).max())
                zs = np.maximum(gmax, (mn @ np.abs(W).T).max(axis=1))
                ub = winf * scale * mn.max(axis=1)
                vb = winf * np.abs(M @ center + c).max(axis=1) + float(np.abs(b).max())
            const = (nrm <= zr * zs[:, None]) | (nrm == 0)
            if const.any():
                gu = G @ center + g                            # value at the centre
                cm = zr * (np.maximum(scale * gmax, ub) + np.maximum(np.abs(gu).max(axis=1), vb))
                pc = (gu[..., None] >= np.asarray(act.breakpoints) - cm[:, None, None])
                pc = pc.sum(axis=2).astype(np.uint8)
                on = const[grp]
                j = np.where(on, pc[grp], j)
        # the cells of the layers done so far: (previous cell, this layer's code)
        key = np.ascontiguousarray(np.hstack([grp[:, None].view(np.uint8), j]))
        _, first, inv = np.unique(key.view(np.dtype((np.void, key.shape[1]))).ravel(),
                                  return_index=True, return_inverse=True)
        parent, jj, self.grp = grp[first], j[first], inv.ravel()
        if isinstance(act, MaxPool):
            win = act.winners(jj)
            self.M = np.take_along_axis(G[parent], win[..., None], axis=1)
            self.c = np.take_along_axis(g[parent], win, axis=1)
        else:
            s, t0 = np.asarray(act.slopes)[jj], np.asarray(act.intercepts)[jj]
            self.M = s[..., None] * G[parent]
            self.c = s * g[parent] + t0
        return j
