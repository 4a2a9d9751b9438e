"""Layer types of a network: piecewise-linear activations, max layers, convolutions.

What it computes
----------------
:class:`Activation` describes a continuous piecewise-linear scalar activation by one
table: sorted breakpoints ``t_1 < ... < t_m`` and, for each of the ``m + 1`` pieces, a
slope and an intercept. The *code* of a neuron at a point is the index of the piece its
pre-activation is on (the number of breakpoints ``<= u``: ReLU gives 0 off, 1 on). A new
piecewise-linear activation is one entry of ``ACTIVATIONS``. :class:`MaxPool` is a max
layer (max pooling, maxout): its code is the position of the maximum in each window (on
an exact tie, the last maximal position). :func:`conv2d_matrix` writes a 2-D
convolution as the dense matrix of an affine layer.

Method and cost
---------------
``Activation.piece`` costs ``m`` comparisons per value, ``MaxPool.piece`` one pass over
each window; ``conv2d_matrix`` builds a ``(C_out H' W', C_in H W)`` dense matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidNetworkError

__all__ = ["Activation", "MaxPool", "conv2d_matrix", "ACTIVATIONS", "get_activation"]


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

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> hardtanh = pr.Activation("hardtanh", (-1.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 1.0))
    >>> u = np.array([-3.0, 0.5, 2.0])
    >>> hardtanh.n_pieces, hardtanh.piece(u).tolist(), hardtanh(u).tolist()
    (3, [0, 1, 2], [-1.0, 0.5, 1.0])
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
        """Piece index (code) of each pre-activation value: the number of breakpoints
        ``<= u``, as ``searchsorted(breakpoints, u, side="right")`` (NaN takes the last
        piece), by ``m`` comparisons."""
        t = self.breakpoints
        j = np.logical_not(np.less(u, t[0])).view(np.uint8)
        for tk in t[1:]:
            j = j + np.logical_not(np.less(u, tk))
        return j

    def apply(self, u: np.ndarray, j: np.ndarray) -> np.ndarray:
        """``slopes[j] * u + intercepts[j]``: the value of each pre-activation ``u`` on its
        piece ``j``. With one breakpoint it is computed without gathers, in the same
        float operations (ReLU: ``u * j + 0``)."""
        s, c = tuple(self.slopes), tuple(self.intercepts)
        if len(s) == 2:
            if s == (0.0, 1.0) and c == (0.0, 0.0):
                z = np.multiply(u, j, dtype=np.float64)
                z += 0.0
                return z
            return np.where(j == 1, s[1] * u + c[1], s[0] * u + c[0])[()]
        return np.asarray(s)[j] * u + np.asarray(c)[j]

    def __call__(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        return self.apply(u, self.piece(u))


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

    def apply(self, u: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The output of each window for the pre-activations ``u`` and the code ``j``
        (the value at its winner; with ``j = piece(u)``, the maximum)."""
        return np.take_along_axis(u, self.winners(j), axis=-1)

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
