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

Layout: the layer types are in :mod:`polyregion.layers`, the forward pass (outputs,
codes, :func:`cell_codes`) in :mod:`polyregion._forward`, the npz file format
(:func:`load`) in :mod:`polyregion.io.network_file`; this module re-exports their names.
Cost: a forward pass is one matrix product per layer, ``O(n sum_l w_l w_{l-1})``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._forward import _CancelRule, _stack_codes, cell_codes, forward, term_sizes  # noqa: F401
from .errors import InvalidInputError, InvalidNetworkError
from .io.network_file import (  # noqa: F401
    FORMAT_VERSION, NETWORK_MEMBER, _scalar, load, network_from_arrays, network_to_arrays)
from .layers import (  # noqa: F401
    ACTIVATIONS, Activation, MaxPool, _leaky, conv2d_matrix, get_activation)

__all__ = ["Activation", "MaxPool", "Network", "conv2d_matrix", "load", "ACTIVATIONS",
           "FORMAT_VERSION"]


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


def domain_frame(domain):
    """``(center, scale)`` of the engines' unit coordinates ``x = (t - center) / scale``
    on ``domain`` (enumeration coordinates ``t``): the centre and half-diagonal of its
    bounding box, or ``0`` and ``1`` when it is unbounded (docs/tolerances.md, rule 1)."""
    if domain.bounded:
        lo, hi = domain.bounds()
        return 0.5 * (lo + hi), float(0.5 * np.linalg.norm(hi - lo))
    return np.zeros(domain.dim), 1.0


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

    def forward(self, X) -> np.ndarray:
        """Network output at each row of ``X`` (shape (n, input_dim)) -> (n, output_dim)
        (:func:`polyregion._forward.forward`)."""
        return forward(self.effective_layers(), self.activations, self._check_X(X),
                       codes=False, output=True)[1]

    __call__ = forward

    def codes(self, X) -> np.ndarray:
        """Activation codes (piece indices) of all hidden neurons: (n, n_neurons) uint8
        (:func:`polyregion._forward.forward`, with the constant-neuron rule)."""
        return forward(self.effective_layers(), self.activations, self._check_X(X))[0]

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
