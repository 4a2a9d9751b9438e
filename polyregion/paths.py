"""The exact regions crossed by a segment or a polyline (:func:`regions_along`), with the parameters where the activation code changes.

Method: the network is restricted to the line through each segment
(:meth:`~polyregion.Network.restrict`, so the input dimension drops to 1) and walked
layer by layer: on each piece of the segment every pre-activation is affine in the
parameter ``t``, the points where one reaches a breakpoint (or, in a max layer, where two
entries of a window tie) split the piece, and the piece's code at its midpoint gives the
next layer's affine map. No LP is solved.

Cost: ``O(d * w_0)`` to restrict the first layer, then ``O(P_l * w_l * w_{l-1})`` per
layer for the ``P_l`` pieces found up to layer ``l``, and one forward pass per final
piece; thousands of pieces of a 3072-D net take well under a second.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInputError
from .network import MaxPool, as_points
from .windows import _check_net, _check_tolerances

__all__ = ["regions_along", "PathRegions"]


#: rows per forward pass when :func:`regions_along` labels its pieces (bounds the memory
#: of a pass at ``CODE_CHUNK * d`` floats)
CODE_CHUNK = 4096


# ---------------------------------------------------------------------------- paths
@dataclass(frozen=True, repr=False)
class PathRegions:
    """The regions crossed by a path (a segment or a polyline), in order.

    The path has vertices ``v_0, ..., v_m`` and parameter ``s`` in ``[0, m]``: segment
    ``k`` is ``v_k + (s - k) (v_{k+1} - v_k)`` for ``s`` in ``[k, k + 1]``. It is cut into
    *pieces*: maximal sub-paths of positive length on which the activation code is
    constant.

    Attributes
    ----------
    vertices : ndarray (m + 1, d) float64
        The path's vertices.
    breakpoints : ndarray (n_pieces - 1,) float64
        Parameters ``s`` where the code changes, increasing, in ``(0, m)``.
    codes : ndarray (n_pieces, n_neurons) uint8
        The code of each piece (``net.codes`` at its midpoint); consecutive codes differ.
    seconds : float
        Wall time.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> p = pr.regions_along(net, [-1.0, -0.5], [1.0, 0.5])    # through the origin
    >>> p.n_pieces, p.breakpoints.tolist(), p.codes.tolist()
    (2, [0.5], [[0, 0], [1, 1]])
    """

    vertices: np.ndarray
    breakpoints: np.ndarray
    codes: np.ndarray
    seconds: float = 0.0

    def __len__(self):
        return self.n_pieces

    @property
    def n_segments(self) -> int:
        return int(self.vertices.shape[0] - 1)

    @property
    def n_pieces(self) -> int:
        """Number of pieces (maximal sub-paths with a constant code)."""
        return int(self.codes.shape[0])

    @property
    def edges(self) -> np.ndarray:
        """``(n_pieces + 1,)``: ``[0, *breakpoints, m]``; piece ``i`` is
        ``[edges[i], edges[i + 1]]``."""
        return np.concatenate([[0.0], self.breakpoints, [float(self.n_segments)]])

    @property
    def midpoints(self) -> np.ndarray:
        """``(n_pieces,)``: the parameter of each piece's midpoint."""
        e = self.edges
        return 0.5 * (e[:-1] + e[1:])

    @property
    def region_index(self) -> np.ndarray:
        """``(n_pieces,)`` int64: the index of each piece's code among the distinct codes,
        in order of first appearance along the path."""
        if self.n_pieces == 0:
            return np.zeros(0, np.int64)
        _, first, inv = np.unique(self.codes, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))
        return order[np.asarray(inv).ravel()].astype(np.int64)

    @property
    def n_regions(self) -> int:
        """Number of distinct codes (regions) crossed; equal to ``n_pieces`` on a single
        segment (regions are convex), at most it on a polyline."""
        return int(np.unique(self.codes, axis=0).shape[0]) if self.n_pieces else 0

    def points(self, s) -> np.ndarray:
        """Input-space points at parameters ``s`` (array_like, in ``[0, m]``) -> (..., d)."""
        s = np.asarray(s, dtype=np.float64)
        m = self.n_segments
        if np.any(~np.isfinite(s)) or np.any(s < 0) or np.any(s > m):
            raise InvalidInputError(f"`s` must lie in [0, {m}]; got values outside.")
        k = np.minimum(np.floor(s).astype(np.int64), m - 1)
        v0, v1 = self.vertices[k], self.vertices[k + 1]
        return v0 + (s - k)[..., None] * (v1 - v0)

    def lengths(self) -> np.ndarray:
        """``(n_pieces,)``: Euclidean length of each piece in the input space."""
        e = self.edges
        seg = np.linalg.norm(np.diff(self.vertices, axis=0), axis=1)
        cuts = np.unique(np.concatenate([e, np.arange(self.n_segments + 1.0)]))
        k = np.minimum(np.floor(cuts[:-1]).astype(np.int64), self.n_segments - 1)
        part = np.diff(cuts) * seg[k]
        owner = np.searchsorted(e, cuts[:-1], side="right") - 1
        return np.bincount(owner, weights=part, minlength=self.n_pieces)

    def __repr__(self):
        return (f"PathRegions(n_pieces={self.n_pieces}, n_regions={self.n_regions}, "
                f"n_segments={self.n_segments}, d={self.vertices.shape[1]}, "
                f"seconds={self.seconds:.3g})")


def _max_pairs(act):
    """Index pairs ``(I, J)`` of the entries of each window of a max layer."""
    I, J = [], []
    for win in act.windows:
        for a, b in itertools.combinations(win, 2):
            I.append(a)
            J.append(b)
    return np.array(I, np.int64), np.array(J, np.int64)


def _segment_cuts(layers, acts, zero_row):
    """Candidate cut parameters in (0, 1) of a network restricted to a segment.

    ``layers``: (W, b) of the restricted net (input dimension 1, parameter ``t`` in
    [0, 1]). Returns the sorted starts of the pieces after the last hidden layer (the
    first one, 0, excluded): every point where some neuron's code can change.
    """
    lo, hi = np.zeros(1), np.ones(1)
    A, B = np.zeros((1, 1)), np.ones((1, 1))  # the layer's input is A + B t on each piece
    for l, (W, b) in enumerate(layers[:-1]):
        act = acts[l]
        U0 = A @ W.T + b
        U1 = B @ W.T
        with np.errstate(divide="ignore", invalid="ignore"):
            if isinstance(act, MaxPool):
                I, J = _max_pairs(act)
                dU1 = U1[:, I] - U1[:, J]
                size = np.abs(B) @ np.abs(W).T
                const = np.abs(dU1) <= zero_row * (size[:, I] + size[:, J])
                t = -(U0[:, I] - U0[:, J]) / dU1
            else:
                bp = np.asarray(act.breakpoints, dtype=np.float64)
                const = U1 == 0.0
                if l > 0:  # a row cancelling to rounding on the piece: constant there
                    const |= np.abs(U1) <= zero_row * (np.abs(B) @ np.abs(W).T)
                t = (bp - U0[..., None]) / U1[..., None]
                const = np.broadcast_to(const[..., None], t.shape)
            t = t.reshape(t.shape[0], -1)
            const = const.reshape(t.shape)
        mask = ~const & (t > lo[:, None]) & (t < hi[:, None])
        p_idx = np.nonzero(mask)[0]
        P = lo.shape[0]
        allp = np.concatenate([np.arange(P), p_idx])
        allt = np.concatenate([lo, t[mask]])
        order = np.lexsort((allt, allp))
        starts, parent = allt[order], allp[order]
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        last = np.ones(starts.shape[0], bool)
        last[:-1] = parent[1:] != parent[:-1]
        ends[last] = hi[parent[last]]
        keep = ends > starts
        lo, hi, parent = starts[keep], ends[keep], parent[keep]
        mid = 0.5 * (lo + hi)
        u0, u1 = U0[parent], U1[parent]
        j = act.piece(u0 + u1 * mid[:, None])
        if isinstance(act, MaxPool):
            win = act.winners(j)
            A = np.take_along_axis(u0, win, axis=1)
            B = np.take_along_axis(u1, win, axis=1)
        else:
            s = np.asarray(act.slopes)[j]
            A = s * u0 + np.asarray(act.intercepts)[j]
            B = s * u1
    return lo[1:]


def _cluster(cuts, tol):
    """Merge cuts closer than ``tol`` (and drop those within ``tol`` of 0 or 1): each run
    of cuts with gaps <= tol becomes the midpoint of its span. Pieces between the
    remaining cuts are longer than ``tol``."""
    cuts = cuts[(cuts > tol) & (cuts < 1.0 - tol)]
    if cuts.size == 0:
        return cuts
    new = np.concatenate([[True], np.diff(cuts) > tol])
    first = np.flatnonzero(new)
    lastk = np.concatenate([first[1:] - 1, [cuts.size - 1]])
    return 0.5 * (cuts[first] + cuts[lastk])


def _segment(net, layers_net, x0, x1, tol):
    """``(edges (k+1,), codes (k, n))`` of the segment, t in [0, 1]."""
    plain = layers_net.restrict(x0, (x1 - x0)[None, :])
    cuts = _segment_cuts(list(zip(plain.weights, plain.biases)), plain.activations,
                         tol.zero_row)
    # a piece is a region when it holds a ball of radius feasibility * scale in the
    # segment's coordinates t in [0, 1] (scale 1/2): when it is longer than feasibility
    cuts = _cluster(cuts, tol.feasibility)
    edges = np.concatenate([[0.0], cuts, [1.0]])
    mid = 0.5 * (edges[:-1] + edges[1:])
    codes = np.concatenate([net.codes(x0 + mid[s:s + CODE_CHUNK, None] * (x1 - x0))
                            for s in range(0, mid.size, CODE_CHUNK)], axis=0)
    return edges, codes


def regions_along(net, x0, x1=None, tolerances=None):
    """The exact regions crossed by the segment ``[x0, x1]`` or by a polyline.

    Parameters
    ----------
    net : Network
        May hold eval-mode BN and max layers.
    x0 : array_like (d,) or (m + 1, d)
        The segment's start, or (with ``x1=None``) the vertices of a polyline, ``m >= 1``.
    x1 : array_like (d,), optional
        The segment's end.
    tolerances : Tolerances, optional
        ``feasibility``: a piece counts when it is longer than ``feasibility`` times its
        segment (the rule of :func:`~polyregion.enumerate_regions` on the 1-D slice of
        the segment, whose scale is half its length); shorter slivers are merged into
        their neighbours. ``zero_row``: a neuron whose pre-activation has a slope along
        the segment below ``zero_row`` times its terms is constant on the piece.

    Returns
    -------
    PathRegions
        ``breakpoints`` (parameters ``s`` in ``(0, m)`` where the code changes; segment
        ``k`` is ``s`` in ``[k, k + 1]``), ``codes`` of the pieces, ``n_pieces``,
        ``n_regions``.

    Raises
    ------
    InvalidInputError
        Points of the wrong shape or not finite, or two consecutive vertices equal.

    Notes
    -----
    What "regions crossed" means: the path is cut into *pieces*, the maximal sub-paths of
    positive length on which the activation code is constant (the code of a piece is
    ``net.codes`` at its midpoint). A region is convex, so a segment meets it in one
    interval: on a segment, pieces and distinct regions are the same. A polyline may
    leave a region and come back to it: ``n_pieces`` counts every visit and
    ``n_regions`` the distinct codes; a vertex of the polyline is a breakpoint only when
    the code changes there. Regions the path only touches (at a point) are not crossed.

    The method is exact up to the tolerances: the network is restricted to the line of
    each segment (:meth:`~polyregion.Network.restrict`) and walked layer by layer; on
    each piece every pre-activation is affine in ``t``, and its crossings of the
    breakpoints (ties in a max layer) cut the piece. No sampling, no LP.

    Cost: ``O(d w_0)`` per segment to restrict the first layer, ``O(P_l w_l w_{l-1})`` for
    layer ``l`` with ``P_l`` pieces so far, and one forward pass per piece (to label it).

    Examples
    --------
    Two ReLU lines ``x = 0`` and ``y = 0``: the segment from (-1, -0.5) to (1, 1) crosses
    ``y = 0`` at ``t = 1/3`` and ``x = 0`` at ``t = 1/2``:

    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> p = pr.regions_along(net, [-1.0, -0.5], [1.0, 1.0])
    >>> p  # doctest: +ELLIPSIS
    PathRegions(n_pieces=3, n_regions=3, n_segments=1, d=2, seconds=...)
    >>> np.round(p.breakpoints, 12).tolist(), p.codes.tolist()
    ([0.333333333333, 0.5], [[0, 0], [0, 1], [1, 1]])

    A polyline that leaves the positive quadrant and comes back: 3 pieces, 2 regions.

    >>> q = pr.regions_along(net, [[1.0, 1.0], [1.0, -1.0], [2.0, 1.0]])
    >>> q.n_pieces, q.n_regions, q.region_index.tolist()
    (3, 2, [0, 1, 0])
    >>> q.edges.tolist()
    [0.0, 0.5, 1.5, 2.0]
    """
    t_start = time.perf_counter()
    net = _check_net(net)
    tol = _check_tolerances(tolerances)
    d = net.input_dim
    if x1 is None:
        try:
            V = np.asarray(x0)
        except Exception:  # pragma: no cover
            V = None
        if V is not None and V.dtype != object and V.ndim == 1:
            raise InvalidInputError(
                f"`x0` alone must be a polyline of shape (m + 1, {d}) with m >= 1; got one "
                f"point of shape {V.shape}. Pass `x1` for a segment.")
        V = as_points(x0, d, "x0", min_rows=2, note=" (a polyline of at least 2 points)")
    else:
        V = np.vstack([as_points(x0, d, "x0"), as_points(x1, d, "x1")])
        if V.shape[0] != 2:
            raise InvalidInputError(
                f"`x0` and `x1` must be single points of shape ({d},); got {V.shape[0]} "
                "points in all.")
    steps = np.diff(V, axis=0)
    same = np.flatnonzero(~np.any(steps != 0, axis=1))
    if same.size:
        k = int(same[0])
        raise InvalidInputError(
            f"Consecutive points of the path must differ (each segment needs a positive "
            f"length); points {k} and {k + 1} are equal.")
    folded = net.fold_bn()
    all_edges, all_codes = [], []
    for k in range(V.shape[0] - 1):
        edges, codes = _segment(net, folded, V[k], V[k + 1], tol)
        all_edges.append(edges[:-1] + k)
        all_codes.append(codes)
    starts = np.concatenate(all_edges)
    codes = np.concatenate(all_codes, axis=0)
    if codes.shape[0]:
        change = np.ones(codes.shape[0], bool)
        change[1:] = np.any(codes[1:] != codes[:-1], axis=1)
        starts, codes = starts[change], codes[change]
    return PathRegions(vertices=V, breakpoints=starts[1:], codes=codes,
                       seconds=time.perf_counter() - t_start)

