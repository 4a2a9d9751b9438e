"""Networks: affine layers, optional batch normalisation, piecewise-linear activations.

A :class:`Network` is the continuous piecewise-affine (CPA) map

    z_0 = x,   u_l = BN_l(W_l z_l + b_l),   z_{l+1} = act_l(u_l)   (l < L-1),
    f(x) = W_{L-1} z_{L-1} + b_{L-1}.

Every activation is described by one table (:class:`Activation`): sorted breakpoints
``t_1 < ... < t_m`` and, for each of the ``m + 1`` pieces, a slope and an intercept. The
*code* of a neuron at a point is the index of the piece its pre-activation is on
(``searchsorted(breakpoints, u, side="right")``: ReLU gives 0 off, 1 on). A new
piecewise-linear activation is one entry of ``ACTIVATIONS``.

A hidden layer may instead be a *max layer* (:class:`MaxPool`): its output ``z_{l+1}`` has
one entry per window, the maximum of the pre-activations ``u_l`` in that window (max
pooling, maxout). Its code is the position of the maximum inside each window (on an exact
tie, the last maximal position), so a code entry of a max layer is a window, not a neuron.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import FileFormatError, InvalidInputError, InvalidNetworkError

__all__ = ["Activation", "MaxPool", "Network", "conv2d_matrix", "load", "ACTIVATIONS",
           "FORMAT_VERSION"]

FORMAT_VERSION = 1

NETWORK_MEMBER = re.compile(
    r"(W|b)(0|[1-9][0-9]*)|bn(0|[1-9][0-9]*)_(gamma|beta|mean|var|eps)|activation"
    r"|pool(0|[1-9][0-9]*)_windows")
"""Names of the arrays of a network in the npz format (:func:`load`), without prefix;
other members of a file are never read."""


@dataclass(frozen=True)
class Activation:
    """A continuous piecewise-linear scalar activation.

    Parameters
    ----------
    name : str
        Canonical name, e.g. ``"relu"`` or ``"leaky_relu:0.01"``.
    breakpoints : tuple of float
        Sorted, distinct breakpoints ``t_1 < ... < t_m`` (m >= 1).
    slopes, intercepts : tuple of float
        ``m + 1`` values each: on piece ``j`` the activation is
        ``slopes[j] * u + intercepts[j]``.
    """

    name: str
    breakpoints: tuple
    slopes: tuple
    intercepts: tuple

    def __post_init__(self):
        t = np.asarray(self.breakpoints, float)
        s = np.asarray(self.slopes, float)
        c = np.asarray(self.intercepts, float)
        if t.ndim != 1 or len(t) < 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise InvalidNetworkError(
                f"Activation {self.name!r}: breakpoints must be finite, sorted and distinct; "
                f"got {t}."
            )
        if len(t) + 1 > 255:
            raise InvalidNetworkError(
                f"Activation {self.name!r}: at most 254 breakpoints (codes are uint8); got "
                f"{len(t)}."
            )
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(c))):
            raise InvalidNetworkError(
                f"Activation {self.name!r}: slopes and intercepts must be finite."
            )
        if len(s) != len(t) + 1 or len(c) != len(t) + 1:
            raise InvalidNetworkError(
                f"Activation {self.name!r}: need {len(t) + 1} slopes and intercepts."
            )
        left = s[:-1] * t + c[:-1]
        right = s[1:] * t + c[1:]
        if not np.allclose(left, right, rtol=0, atol=1e-12):
            raise InvalidNetworkError(f"Activation {self.name!r} is not continuous.")

    @property
    def n_pieces(self) -> int:
        return len(self.breakpoints) + 1

    def piece(self, u: np.ndarray) -> np.ndarray:
        """Piece index (code) of each pre-activation value."""
        return np.searchsorted(np.asarray(self.breakpoints), u, side="right").astype(np.uint8)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        j = self.piece(u)
        return np.asarray(self.slopes)[j] * u + np.asarray(self.intercepts)[j]


class MaxPool:
    """A max layer: ``z_w = max_{i in window w} u_i`` for every window ``w``.

    Max pooling (windows over the positions of a feature map, possibly overlapping) and
    maxout (disjoint groups of units) are max layers. The code of a window is the position
    of its maximum inside the window (``0 <= code < len(window)``); on an exact tie the
    last maximal position wins, the convention the enumeration engine also uses, so codes
    of interior points never depend on it.

    Parameters
    ----------
    windows : sequence of sequences of int
        For each output unit, the indices of the layer's pre-activations it takes the max
        of (1 to 255 distinct indices each).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> pool = pr.MaxPool([[0, 1], [2, 3, 4]])
    >>> pool(np.array([[1.0, 3.0, 0.0, 5.0, -1.0]]))
    array([[3., 5.]])
    >>> pool.piece(np.array([[1.0, 3.0, 0.0, 5.0, -1.0]]))
    array([[1, 1]], dtype=uint8)
    >>> pr.MaxPool.groups(6, 3).windows      # maxout: 6 units in groups of 3
    ((0, 1, 2), (3, 4, 5))
    """

    name = "maxpool"

    def __init__(self, windows):
        try:
            wins = tuple(tuple(int(i) for i in np.asarray(w).ravel()) for w in windows)
        except (TypeError, ValueError):
            raise InvalidNetworkError(
                "MaxPool `windows` must be a sequence of sequences of non-negative ints; "
                f"got {windows!r}.") from None
        if not wins:
            raise InvalidNetworkError("MaxPool needs at least one window; got none.")
        for w, win in enumerate(wins):
            if not 1 <= len(win) <= 255:
                raise InvalidNetworkError(
                    f"MaxPool window {w} must hold 1 to 255 indices; got {len(win)}.")
            if min(win) < 0 or len(set(win)) != len(win):
                raise InvalidNetworkError(
                    f"MaxPool window {w} must hold distinct non-negative indices; got "
                    f"{list(win)}.")
        self.windows = wins
        k = max(len(w) for w in wins)
        self.index = np.full((len(wins), k), -1, np.int64)
        for w, win in enumerate(wins):
            self.index[w, :len(win)] = win
        self.sizes = np.array([len(w) for w in wins], np.int64)

    @classmethod
    def groups(cls, n, k):
        """Maxout: ``n`` units in consecutive groups of ``k``."""
        if n % k:
            raise InvalidNetworkError(f"MaxPool.groups: {n} units do not split into groups of {k}.")
        return cls([range(i, i + k) for i in range(0, n, k)])

    @classmethod
    def pool2d(cls, shape, kernel, stride=None):
        """Max pooling of a (C, H, W) feature map flattened row-major (as ``torch.flatten``):
        ``kernel x kernel`` windows with ``stride`` (default ``kernel``), no padding,
        floor mode; outputs in (C, H', W') order.

        >>> import polyregion as pr
        >>> pr.MaxPool.pool2d((1, 4, 4), 2).windows[:2]
        ((0, 1, 4, 5), (2, 3, 6, 7))
        """
        C, H, W = (int(v) for v in shape)
        k = int(kernel)
        s = k if stride is None else int(stride)
        if k < 1 or s < 1 or k > H or k > W:
            raise InvalidNetworkError(
                f"MaxPool.pool2d: need 1 <= kernel <= H, W and stride >= 1; got kernel={kernel}, "
                f"stride={stride} for shape {tuple(shape)}.")
        return cls([[c * H * W + (i + a) * W + j + b for a in range(k) for b in range(k)]
                    for c in range(C) for i in range(0, H - k + 1, s)
                    for j in range(0, W - k + 1, s)])

    @property
    def n_pieces(self) -> int:
        return int(self.sizes.max())

    @property
    def n_in(self) -> int:
        """The smallest pre-activation width the windows fit."""
        return int(self.index.max()) + 1

    @property
    def n_out(self) -> int:
        return len(self.windows)

    def _values(self, u):
        u = np.asarray(u, dtype=np.float64)
        V = u[..., np.maximum(self.index, 0)]
        return np.where(self.index >= 0, V, -np.inf)

    def piece(self, u: np.ndarray) -> np.ndarray:
        """Position of the maximum in each window (the last one on a tie), uint8."""
        V = self._values(u)[..., ::-1]
        return (self.index.shape[1] - 1 - np.argmax(V, axis=-1)).astype(np.uint8)

    def winners(self, code) -> np.ndarray:
        """Pre-activation index of each window's maximum for a code of this layer."""
        code = np.asarray(code).astype(np.int64)
        return np.take_along_axis(np.broadcast_to(self.index, code.shape + self.index.shape[1:]),
                                  code[..., None], axis=-1)[..., 0]

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return self._values(u).max(axis=-1)

    def __eq__(self, other):
        return isinstance(other, MaxPool) and self.windows == other.windows

    def __hash__(self):
        return hash(self.windows)

    def __repr__(self):
        return f"MaxPool({self.n_out} windows of {self.n_in}+ inputs, max size {self.n_pieces})"


def conv2d_matrix(kernels, shape, stride=1) -> np.ndarray:
    """A 2-D convolution (cross-correlation, as PyTorch; no padding) as a dense matrix.

    Parameters
    ----------
    kernels : array_like, shape (C_out, C_in, kh, kw) or (C_out, kh, kw) for C_in = 1
    shape : (C_in, H, W)
        The input feature map, flattened row-major (as ``torch.flatten``).
    stride : int

    Returns
    -------
    ndarray, shape (C_out * H' * W', C_in * H * W)
        Rows in (C_out, H', W') order. Add the bias per output channel with
        ``np.repeat(bias, H' * W')``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> pr.conv2d_matrix(np.ones((1, 2, 2)), (1, 3, 3)).shape
    (4, 9)
    """
    K = np.asarray(kernels, dtype=np.float64)
    if K.ndim == 3:
        K = K[:, None]
    C, H, W = (int(v) for v in shape)
    if K.ndim != 4 or K.shape[1] != C or K.shape[2] > H or K.shape[3] > W or int(stride) < 1:
        raise InvalidNetworkError(
            f"conv2d_matrix: kernels of shape {np.shape(kernels)} do not fit an input of shape "
            f"{tuple(shape)} with stride {stride}.")
    s = int(stride)
    kh, kw = K.shape[2:]
    oh, ow = (H - kh) // s + 1, (W - kw) // s + 1
    M = np.zeros((K.shape[0], oh, ow, C, H, W))
    for i in range(oh):
        for j in range(ow):
            M[:, i, j, :, i * s:i * s + kh, j * s:j * s + kw] = K
    return M.reshape(K.shape[0] * oh * ow, C * H * W)


def _leaky(slope: float) -> Activation:
    return Activation(f"leaky_relu:{slope:g}", (0.0,), (float(slope), 1.0), (0.0, 0.0))


ACTIVATIONS = {
    "relu": Activation("relu", (0.0,), (0.0, 1.0), (0.0, 0.0)),
    "abs": Activation("abs", (0.0,), (-1.0, 1.0), (0.0, 0.0)),
    "hardtanh": Activation("hardtanh", (-1.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 1.0)),
    "relu6": Activation("relu6", (0.0, 6.0), (0.0, 1.0, 0.0), (0.0, 0.0, 6.0)),
}


def get_activation(spec) -> Activation:
    """Return the :class:`Activation` for a name such as ``"relu"`` or ``"leaky_relu:0.1"``."""
    if isinstance(spec, (Activation, MaxPool)):
        return spec
    if not isinstance(spec, str):
        raise InvalidNetworkError(
            f"`activation` must be a string such as 'relu' or an Activation; got {spec!r}."
        )
    name = spec.strip().lower()
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    if name == "leaky_relu":
        return _leaky(0.01)
    if name.startswith("leaky_relu:"):
        try:
            slope = float(name.split(":", 1)[1])
        except ValueError:
            slope = float("nan")
        if not np.isfinite(slope) or slope == 1.0:
            raise InvalidNetworkError(
                f"`activation` {spec!r}: the leaky_relu slope must be a finite number other "
                "than 1."
            )
        return _leaky(slope)
    known = ", ".join(sorted(ACTIVATIONS) + ["leaky_relu:<slope>"])
    raise InvalidNetworkError(f"Unknown `activation` {spec!r}; known: {known}.")


def _as_float_array(x, name: str, ndim, err=InvalidNetworkError) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise err(f"`{name}` could not be read as an array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == bool
    ):
        raise err(f"`{name}` must be a numeric array; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise err(f"`{name}` must be {ndim}-D; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise err(f"`{name}` must be finite; it holds NaN or inf.")
    return arr


def as_points(X, dim: int, name: str = "X", min_rows: int = 0, note: str = "") -> np.ndarray:
    """``X`` as a finite float array of shape (n, dim) (one point may be given as a 1-D
    array), else InvalidInputError naming ``name`` (``note`` is added to the shape rule)."""
    arr = _as_float_array(X, name, None, err=InvalidInputError)
    if arr.ndim == 1 and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InvalidInputError(f"`{name}` must have shape (n, {dim}){note}; got {arr.shape}.")
    if arr.shape[0] < min_rows:
        raise InvalidInputError(
            f"`{name}` must hold at least {min_rows} row(s); got {arr.shape[0]}.")
    return arr


@dataclass(frozen=True)
class BatchNorm:
    """Eval-mode batch normalisation parameters of one layer (per neuron arrays)."""

    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float = 1e-5

    def scale_shift(self):
        """Return (s, t) with BN(u) = s * u + t."""
        sigma = np.sqrt(self.var + self.eps)
        s = self.gamma / sigma
        return s, self.beta - s * self.mean


def _check_bn(bn, width: int, layer: int) -> BatchNorm:
    if isinstance(bn, BatchNorm):
        bn = dict(gamma=bn.gamma, beta=bn.beta, mean=bn.mean, var=bn.var, eps=bn.eps)
    if not isinstance(bn, dict):
        raise InvalidNetworkError(f"`bn[{layer}]` must be a dict or None; got {type(bn)}.")
    unknown = set(bn) - {"gamma", "beta", "mean", "var", "eps"}
    if unknown:
        raise InvalidNetworkError(f"`bn[{layer}]` has unknown keys {sorted(unknown)}.")
    out = {}
    defaults = dict(gamma=1.0, beta=0.0, mean=0.0, var=1.0)
    for key, dflt in defaults.items():
        v = bn.get(key, dflt)
        arr = _as_float_array(v, f"bn[{layer}]['{key}']", np.ndim(v))
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != width):
            raise InvalidNetworkError(
                f"`bn[{layer}]['{key}']` must be a number or have shape ({width},) (the "
                f"width of layer {layer}); got shape {arr.shape}."
            )
        out[key] = np.array(np.broadcast_to(arr, (width,)), dtype=np.float64)
    eps = bn.get("eps", 1e-5)
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise InvalidNetworkError(f"`bn[{layer}]['eps']` must be a number; got {eps!r}.") from None
    if not np.isfinite(eps) or eps < 0:
        raise InvalidNetworkError(f"`bn[{layer}]['eps']` must be finite and >= 0; got {eps}.")
    if np.any(out["var"] < 0):
        raise InvalidNetworkError(f"`bn[{layer}]['var']` must be >= 0; got {out['var']}.")
    if np.any(out["var"] + eps <= 0):
        raise InvalidNetworkError(
            f"`bn[{layer}]`: var + eps must be > 0 for every neuron (variance 0 needs eps > 0)."
        )
    return BatchNorm(out["gamma"], out["beta"], out["mean"], out["var"], eps)


def constant_row_scale(G, W=None, M=None):
    """Scale of the constant-row test of one layer on one cell: a row of ``G`` whose norm
    is at most ``Tolerances.zero_row`` times it is zero up to rounding (docs/tolerances.md,
    rule 4; the Numba engines' copy is :mod:`polyregion.enumerate._kernels_const`). The
    larger of the largest row norm of ``G`` and, when the layer's weights ``W`` and its
    input map ``M`` (rows: the previous layer's outputs) are given, the size of the terms
    summed into the rows, ``max_i sum_j |W_ij| ||M_j||``."""
    gmax = float(np.linalg.norm(G, axis=1).max()) if G.size else 0.0
    if W is None or not G.size:
        return gmax
    return max(gmax, float((np.abs(W) @ np.linalg.norm(M, axis=1)).max()))


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


def domain_frame(domain):
    """``(center, scale)`` of the engines' unit coordinates ``x = (t - center) / scale``
    on ``domain`` (enumeration coordinates ``t``): the centre and half-diagonal of its
    bounding box, or ``0`` and ``1`` when it is unbounded (docs/tolerances.md, rule 1)."""
    if domain.bounded:
        lo, hi = domain.bounds()
        return 0.5 * (lo + hi), float(0.5 * np.linalg.norm(hi - lo))
    return np.zeros(domain.dim), 1.0


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
    ``center`` and ``scale`` (:func:`domain_frame`); they differ from
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
    zr = tol.zero_row
    X = net._check_X(X)
    n, d = X.shape
    center = np.zeros(d) if center is None else np.asarray(center, dtype=np.float64)
    layers = net.effective_layers()
    acts = net.activations
    rule = _CancelRule(layers, acts, X)
    grp = np.zeros(n, np.int64)        # the cell of each point in the layers done so far
    M, c = np.eye(d)[None], np.zeros((1, d))   # each cell's input map z = M t + c
    codes, z = [], X
    for l, (W, b) in enumerate(layers[:-1]):
        act = acts[l]
        u = z @ W.T + b
        u_cmp = rule.adjust(l, u, lambda rows: _stack_codes(codes, rows))
        G = np.einsum("ij,gjd->gid", W, M)
        g = c @ W.T + b
        if isinstance(act, MaxPool):
            j = act.piece(u)
        else:
            j = act.piece(u_cmp)
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
        codes.append(j)
        # the cells of the layers done so far: (previous cell, this layer's code)
        key = np.ascontiguousarray(np.hstack([grp[:, None].view(np.uint8), j]))
        _, first, inv = np.unique(key.view(np.dtype((np.void, key.shape[1]))).ravel(),
                                  return_index=True, return_inverse=True)
        parent, jj, grp = grp[first], j[first], inv.ravel()
        if isinstance(act, MaxPool):
            win = act.winners(jj)
            M = np.take_along_axis(G[parent], win[..., None], axis=1)
            c = np.take_along_axis(g[parent], win, axis=1)
            z = np.take_along_axis(u, act.winners(j), axis=1)
        else:
            s, t0 = np.asarray(act.slopes)[jj], np.asarray(act.intercepts)[jj]
            M = s[..., None] * G[parent]
            c = s * g[parent] + t0
            z = np.asarray(act.slopes)[j] * u + np.asarray(act.intercepts)[j]
    if not codes:
        return np.zeros((n, 0), np.uint8)
    return np.concatenate(codes, axis=1)


class Network:
    """A feed-forward CPA network.

    Build it with :meth:`from_arrays` or :func:`load`. Layer ``l`` maps ``z`` to
    ``act_l(BN_l(W_l z + b_l))``; the last layer is affine (its BN, if any, is applied
    but no activation).

    Attributes
    ----------
    weights : list of ndarray, shapes (out_l, in_l)
    biases : list of ndarray, shapes (out_l,)
    activations : list of Activation, one per hidden layer
    bn : list of BatchNorm or None, one per layer

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> net.input_dim, net.widths, net.n_neurons
    (2, [2], 2)
    >>> net.forward(np.array([[1.0, -2.0]]))
    array([[1.]])
    >>> net.codes(np.array([[1.0, -2.0]]))
    array([[1, 0]], dtype=uint8)
    """

    def __init__(self, weights, biases, activations, bn=None):
        self.weights = weights
        self.biases = biases
        self.activations = activations
        self.bn = bn if bn is not None else [None] * len(weights)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, weights: Sequence, biases: Sequence, activation="relu", bn=None):
        """Build a network from lists of weight matrices and bias vectors.

        Parameters
        ----------
        weights : sequence of array_like, shapes (out_l, in_l)
        biases : sequence of array_like, shapes (out_l,)
        activation : str or Activation or sequence of them
            One activation for every hidden layer, or one per hidden layer. Names:
            ``relu``, ``leaky_relu:<slope>``, ``abs``, ``hardtanh``, ``relu6``; a
            :class:`MaxPool` makes a max layer (its output has one entry per window).
        bn : sequence of (dict or None), optional
            Eval-mode batch normalisation after layer ``l``'s affine map: dicts with keys
            ``gamma, beta, mean, var, eps`` (missing keys: 1, 0, 0, 1, 1e-5).

        Raises
        ------
        InvalidNetworkError
            Empty network, NaN/inf, wrong dimensions, shape mismatch between layers,
            unknown activation.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> rng = np.random.default_rng(0)
        >>> net = pr.Network.from_arrays([rng.normal(size=(8, 2)), rng.normal(size=(1, 8))],
        ...                              [np.zeros(8), np.zeros(1)], activation="abs")
        >>> net.widths
        [8]
        """
        if isinstance(weights, np.ndarray) or isinstance(biases, np.ndarray):
            raise InvalidNetworkError(
                "`weights` and `biases` must be lists of arrays (one per layer), not a single array."
            )
        try:
            weights, biases = list(weights), list(biases)
        except TypeError:
            raise InvalidNetworkError("`weights` and `biases` must be sequences of arrays.") from None
        if len(weights) == 0:
            raise InvalidNetworkError("`weights` must hold at least one layer; got none.")
        if len(weights) != len(biases):
            raise InvalidNetworkError(
                f"`weights` and `biases` must have the same length; got {len(weights)} and "
                f"{len(biases)}."
            )
        Ws, bs = [], []
        for l, (W, b) in enumerate(zip(weights, biases)):
            W = _as_float_array(W, f"weights[{l}]", 2)
            b = _as_float_array(b, f"biases[{l}]", 1)
            if W.shape[0] == 0 or W.shape[1] == 0:
                raise InvalidNetworkError(f"`weights[{l}]` has a zero dimension: shape {W.shape}.")
            if b.shape[0] != W.shape[0]:
                raise InvalidNetworkError(
                    f"`biases[{l}]` must have shape ({W.shape[0]},) to match weights[{l}] of "
                    f"shape {W.shape}; got {b.shape}."
                )
            Ws.append(W)
            bs.append(b)
        n_hidden = len(Ws) - 1
        if isinstance(activation, (str, Activation)):
            acts = [get_activation(activation)] * n_hidden
        else:
            try:
                acts = [get_activation(a) for a in activation]
            except TypeError:
                raise InvalidNetworkError(
                    f"`activation` must be a name or a list of names; got {activation!r}."
                ) from None
            if len(acts) == 1 and n_hidden != 1:
                acts = acts * n_hidden
            if len(acts) != n_hidden:
                raise InvalidNetworkError(
                    f"`activation` lists {len(acts)} activations for {n_hidden} hidden layers."
                )
        for l in range(1, len(Ws)):
            act = acts[l - 1]
            out = act.n_out if isinstance(act, MaxPool) else Ws[l - 1].shape[0]
            if isinstance(act, MaxPool) and act.n_in > Ws[l - 1].shape[0]:
                raise InvalidNetworkError(
                    f"The MaxPool of layer {l - 1} takes indices up to {act.n_in - 1} but the "
                    f"layer has {Ws[l - 1].shape[0]} pre-activations."
                )
            if Ws[l].shape[1] != out:
                raise InvalidNetworkError(
                    f"Shape mismatch between layers: weights[{l}] has {Ws[l].shape[1]} inputs "
                    f"but layer {l - 1} has {out} outputs."
                )
        if bn is None:
            bns = [None] * len(Ws)
        else:
            bns = list(bn)
            if len(bns) != len(Ws):
                raise InvalidNetworkError(
                    f"`bn` must have one entry (dict or None) per layer: {len(Ws)}; got {len(bns)}."
                )
            bns = [None if x is None else _check_bn(x, Ws[l].shape[0], l) for l, x in enumerate(bns)]
        return cls(Ws, bs, acts, bns)

    # ------------------------------------------------------------------ properties
    @property
    def input_dim(self) -> int:
        """Dimension of the input space."""
        return self.weights[0].shape[1]

    @property
    def output_dim(self) -> int:
        return self.weights[-1].shape[0]

    @property
    def widths(self) -> list:
        """Widths of the hidden layers' outputs: neurons, or windows of a max layer. A
        code has ``widths[l]`` entries for layer ``l``."""
        return [a.n_out if isinstance(a, MaxPool) else W.shape[0]
                for W, a in zip(self.weights[:-1], self.activations)]

    @property
    def has_max(self) -> bool:
        """True when a hidden layer is a :class:`MaxPool`."""
        return any(isinstance(a, MaxPool) for a in self.activations)

    @property
    def n_layers(self) -> int:
        """Number of affine layers (hidden layers + output layer)."""
        return len(self.weights)

    @property
    def n_neurons(self) -> int:
        """Number of hidden neurons (the length of a code)."""
        return int(sum(self.widths))

    @property
    def has_bn(self) -> bool:
        return any(b is not None for b in self.bn)

    def __repr__(self):
        acts = sorted({a.name for a in self.activations}) or ["-"]
        bn = ", bn" if self.has_bn else ""
        return (f"Network(input_dim={self.input_dim}, widths={self.widths}, "
                f"output_dim={self.output_dim}, activation={'/'.join(acts)}{bn})")

    # ------------------------------------------------------------------ evaluation
    def effective_layers(self):
        """Affine layers with eval-mode BN folded in: list of (W, b)."""
        out = []
        for W, b, bn in zip(self.weights, self.biases, self.bn):
            if bn is None:
                out.append((W, b))
            else:
                s, t = bn.scale_shift()
                out.append((W * s[:, None], s * b + t))
        return out

    def fold_bn(self) -> "Network":
        """Return the equivalent network with eval-mode BN folded into the affine maps."""
        layers = self.effective_layers()
        return Network([W for W, _ in layers], [b for _, b in layers], list(self.activations))

    def _check_X(self, X) -> np.ndarray:
        return as_points(X, self.input_dim)

    def _run(self, X, want_codes: bool):
        X = self._check_X(X)
        z = X
        codes = []
        layers = self.effective_layers()
        # the piece a cancelling neuron takes changes its value only by rounding: the
        # rule is applied to codes, not to the forward pass
        rule = _CancelRule(layers, self.activations, X) if want_codes else None
        for l, (W, b) in enumerate(layers):
            u = z @ W.T + b
            if l == len(layers) - 1:
                z = u
                break
            act = self.activations[l]
            if rule is not None:
                j = act.piece(rule.adjust(l, u, lambda rows: _stack_codes(codes, rows)))
            else:
                j = act.piece(u)
            codes.append(j)
            if isinstance(act, MaxPool):
                z = np.take_along_axis(u, act.winners(j), axis=1)
            else:
                z = np.asarray(act.slopes)[j] * u + np.asarray(act.intercepts)[j]
        if want_codes:
            if not codes:
                return np.zeros((X.shape[0], 0), np.uint8)
            return np.concatenate(codes, axis=1)
        return z

    def forward(self, X) -> np.ndarray:
        """Network output at each row of ``X`` (shape (n, input_dim)) -> (n, output_dim)."""
        return self._run(X, False)

    __call__ = forward

    def codes(self, X) -> np.ndarray:
        """Activation codes (piece indices) of all hidden neurons: (n, n_neurons) uint8."""
        return self._run(X, True)

    def affine_map(self, code) -> tuple:
        """Affine map ``(M, c)`` of the network on the region with activation ``code``.

        On that region ``f(x) = M @ x + c``.
        """
        code = np.asarray(code).ravel()
        if code.shape[0] != self.n_neurons:
            raise InvalidInputError(
                f"`code` must have {self.n_neurons} entries; got {code.shape[0]}."
            )
        if code.size and (code.dtype.kind not in "iub" or np.any(code < 0)):
            raise InvalidInputError(
                f"`code` must hold non-negative integer piece indices; got dtype {code.dtype} "
                f"with values {np.unique(code)[:5].tolist()}."
            )
        M = np.eye(self.input_dim)
        c = np.zeros(self.input_dim)
        off = 0
        layers = self.effective_layers()
        for l, (W, b) in enumerate(layers):
            M, c = W @ M, W @ c + b
            if l == len(layers) - 1:
                break
            act = self.activations[l]
            w = self.widths[l]
            j = code[off:off + w].astype(int)
            off += w
            if isinstance(act, MaxPool):
                if np.any(j >= act.sizes):
                    raise InvalidInputError(
                        f"`code` has a position outside its window in max layer {l}.")
                win = act.winners(j)
                M, c = M[win], c[win]
                continue
            if np.any(j >= act.n_pieces):
                raise InvalidInputError(f"`code` has a piece index >= {act.n_pieces} in layer {l}.")
            s = np.asarray(act.slopes)[j]
            M = s[:, None] * M
            c = s * c + np.asarray(act.intercepts)[j]
        return M, c

    def for_domain(self, domain) -> "Network":
        """The BN-folded network in ``domain``'s enumeration coordinates (a Slice's ``t``)."""
        folded = self.fold_bn()
        if getattr(domain, "origin", None) is not None:
            folded = folded.restrict(domain.origin, domain.directions)
        return folded

    def restrict(self, origin, directions) -> "Network":
        """The network ``t -> f(origin + t @ directions)`` on a k-D affine slice.

        A first-layer row that cancels to rounding on the slice (the slice lies in that
        neuron's hyperplane, or is parallel to it) is set to exactly zero: its norm is
        at most ``Tolerances.zero_row`` times the size of the terms summed into it,
        ``sum_j |W_ij| ||directions[:, j]||`` (the constant-row rule of every engine,
        docs/tolerances.md). Its offset, when it lies within ``zero_row`` times its
        terms (``|W_i| . |origin| + |b_i|``) below a breakpoint, is set to that
        breakpoint (the upper piece, as for any constant at a breakpoint). Without this,
        a one-neuron first layer lying in the slice had a residual row of ~1e-17 taken
        for a hyperplane of random direction.
        """
        from .config import DEFAULT_TOLERANCES

        layers = [(W.copy(), b.copy()) for W, b in zip(self.weights, self.biases)]
        W0, b0 = layers[0]
        directions = np.asarray(directions, dtype=np.float64)
        origin = np.asarray(origin, dtype=np.float64)
        W1, b1 = W0 @ directions.T, b0 + W0 @ origin
        act = self.activations[0]
        if W1.size and not isinstance(act, MaxPool):
            zr = DEFAULT_TOLERANCES.zero_row
            cancel = (np.linalg.norm(W1, axis=1)
                      <= zr * constant_row_scale(W1, W0, directions.T))
            W1[cancel] = 0.0
            if self.bn[0] is None:
                size = np.abs(W0) @ np.abs(origin) + np.abs(b0)
                for t in act.breakpoints:
                    snap = cancel & (b1 < t) & (b1 >= t - zr * size)
                    b1[snap] = t
        return Network([W1] + [W for W, _ in layers[1:]], [b1] + [b for _, b in layers[1:]],
                       list(self.activations), list(self.bn))

    def __eq__(self, other):
        if not isinstance(other, Network) or self.n_layers != other.n_layers:
            return False
        same = all(np.array_equal(a, b) for a, b in zip(self.weights, other.weights))
        same &= all(np.array_equal(a, b) for a, b in zip(self.biases, other.biases))
        same &= [a.name for a in self.activations] == [a.name for a in other.activations]
        same &= all(a == b for a, b in zip(self.activations, other.activations)
                    if isinstance(a, MaxPool))
        for x, y in zip(self.bn, other.bn):
            if (x is None) != (y is None):
                return False
            if x is not None:
                same &= all(np.array_equal(getattr(x, k), getattr(y, k))
                            for k in ("gamma", "beta", "mean", "var")) and x.eps == y.eps
        return bool(same)

    __hash__ = None

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write the network to ``path`` in the npz format (see :func:`load`)."""
        np.savez(path, format_version=np.array(FORMAT_VERSION), **network_to_arrays(self))


def network_to_arrays(net, prefix="") -> dict:
    """The arrays of the npz format of :func:`load`, keys prefixed by ``prefix``."""
    arrays = {}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"{prefix}W{l}"] = W
        arrays[f"{prefix}b{l}"] = b
        bn = net.bn[l]
        if bn is not None:
            for k in ("gamma", "beta", "mean", "var"):
                arrays[f"{prefix}bn{l}_{k}"] = getattr(bn, k)
            arrays[f"{prefix}bn{l}_eps"] = np.array(bn.eps)
    arrays[f"{prefix}activation"] = np.array([a.name for a in net.activations] or ["relu"])
    for l, a in enumerate(net.activations):
        if isinstance(a, MaxPool):
            arrays[f"{prefix}pool{l}_windows"] = a.index
    return arrays


def _scalar(arr, kind, path, name):
    """One number stored in an npz array, or FileFormatError."""
    a = np.asarray(arr)
    if a.size != 1 or a.dtype.kind not in ("iuf" if kind is float else "iu"):
        raise FileFormatError(
            f"{path!r}: `{name}` must hold one {'number' if kind is float else 'integer'}; "
            f"got dtype {a.dtype}, shape {a.shape}.")
    return kind(a.ravel()[0])


def load(path) -> Network:
    """Read a network from an npz file.

    The file holds ``W0, b0, W1, b1, ...`` (``W_l`` of shape (out, in)), an optional string
    array ``activation`` (one name, or one per hidden layer), optional eval-mode BN arrays
    ``bn{l}_gamma, bn{l}_beta, bn{l}_mean, bn{l}_var, bn{l}_eps``, for each max layer
    (activation name ``maxpool``) its windows ``pool{l}_windows`` (int, padded with -1),
    and an optional ``format_version``. Layers are numbered ``0 .. L-1`` without gaps.
    Only these arrays are read (other members are never decompressed), at most
    :data:`polyregion.io.formats.MAX_NPZ_BYTES` in total. Pickled objects are refused.

    Raises
    ------
    FileFormatError
        Missing, corrupt or truncated file, pickled content, a PyTorch file (convert it
        with ``pr.from_torch(model).save("net.npz")``), a gap in the layer numbers,
        arrays over the size limit, a newer format version.

    Examples
    --------
    >>> import numpy as np, polyregion as pr, tempfile, os
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> net.save(path)
    >>> pr.load(path) == net
    True
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise InvalidInputError(
            f"`path` must be a str or os.PathLike; got {type(path).__name__}.") from None
    if not os.path.exists(path):
        raise FileFormatError(f"No network file at {path!r}.")
    from .io.formats import read_npz

    data = read_npz(path, names=lambda k: k == "format_version" or NETWORK_MEMBER.fullmatch(k))
    if "format_version" in data:
        v = _scalar(data["format_version"], int, path, "format_version")
        if v > FORMAT_VERSION:
            raise FileFormatError(
                f"{path!r} has format_version {v}, newer than this polyregion understands "
                f"({FORMAT_VERSION}); upgrade polyregion."
            )
    return network_from_arrays(data, path)


def network_from_arrays(data, path, prefix="") -> Network:
    """The :class:`Network` stored in ``data`` (arrays of :func:`network_to_arrays`)."""
    layer = {k: NETWORK_MEMBER.fullmatch(k[len(prefix):]) for k in data if k.startswith(prefix)}
    found = sorted({int(m.group(2)) for m in layer.values() if m and m.group(1) == "W"})
    n = len(found)
    if n == 0:
        raise FileFormatError(f"{path!r} holds no layer: expected arrays W0, b0, ...")
    if found != list(range(n)):
        missing = min(set(range(found[-1] + 1)) - set(found))
        raise FileFormatError(
            f"{path!r}: layers must be numbered 0 .. L-1 without gaps; found arrays of layers "
            f"{found}, layer {missing} (W{missing}, b{missing}) is missing.")
    for k, m in layer.items():
        if m and m.group(1) == "b" and int(m.group(2)) >= n:
            raise FileFormatError(f"{path!r}: array {k[len(prefix):]} has no matching "
                                  f"W{m.group(2)}.")
        if m and (m.group(3) and int(m.group(3)) >= n or m.group(5) and int(m.group(5)) >= n - 1):
            raise FileFormatError(
                f"{path!r}: array {k[len(prefix):]} names a layer the file does not have "
                f"(layers 0 .. {n - 1}, hidden layers 0 .. {n - 2}).")
    weights, biases, bns = [], [], []
    for l in range(n):
        if f"{prefix}b{l}" not in data:
            raise FileFormatError(f"{path!r}: array W{l} has no matching b{l}.")
        weights.append(data[f"{prefix}W{l}"])
        biases.append(data[f"{prefix}b{l}"])
        if f"{prefix}bn{l}_gamma" in data:
            try:
                bns.append({k: data[f"{prefix}bn{l}_{k}"] for k in ("gamma", "beta", "mean", "var")}
                           | {"eps": _scalar(data[f"{prefix}bn{l}_eps"], float, path, f"bn{l}_eps")})
            except KeyError as exc:
                raise FileFormatError(f"{path!r}: incomplete BN arrays of layer {l}: {exc}") from None
        else:
            bns.append(None)
    activation = "relu"
    if f"{prefix}activation" in data:
        a = data[f"{prefix}activation"]
        if a.dtype.kind not in "US":
            raise FileFormatError(f"{path!r}: `activation` must be a string array.")
        names = [str(x) for x in np.atleast_1d(a)]
        activation = names[0] if len(names) == 1 else names
        if "maxpool" in names:
            if len(names) != n - 1:
                raise FileFormatError(f"{path!r}: a net with max layers needs one `activation` "
                                      "name per hidden layer.")
            activation = list(names)
            for l, name in enumerate(names):
                if name != "maxpool":
                    continue
                idx = data.get(f"{prefix}pool{l}_windows")
                if idx is None or idx.ndim != 2 or idx.dtype.kind not in "iu":
                    raise FileFormatError(f"{path!r}: max layer {l} needs an integer 2-D array "
                                          f"pool{l}_windows.")
                try:
                    activation[l] = MaxPool([row[row >= 0] for row in idx])
                except InvalidNetworkError as exc:
                    raise FileFormatError(f"{path!r}: pool{l}_windows: {exc}") from None
    return Network.from_arrays(weights, biases, activation=activation,
                               bn=bns if any(b is not None for b in bns) else None)
