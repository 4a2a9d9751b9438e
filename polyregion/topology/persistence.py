"""Persistent homology of the sublevel filtration of a network output, exactly.

What it computes
----------------
For one output ``f`` of the network, the persistence pairs and diagram (over GF(2)) of
the filtration of the domain by the closed sublevel sets ``{f <= t}``, and its Betti
curve ``t -> (beta_0, ..., beta_{d-1})`` of ``{f <= t}``.

Method
------
Lower-star filtration of the face lattice of the partition
(:func:`polyregion.topology.face_lattice`): ``f`` is affine on every region, so each face
enters at the largest value of ``f`` at its vertices, and the sub-complex of faces with
value ``<= t`` is a deformation retract of ``{f <= t}`` (in each convex cell, the cell's
part below ``t`` retracts onto its faces that lie below ``t``, compatibly across shared
faces). Faces are ordered by (value, dimension), so every face comes after its own
faces; the boundary matrix in that order is reduced by the standard column algorithm
over GF(2) with clearing (dimensions from the top down: a column whose face was already
the pivot of a higher column is a creator and is skipped). A column ``j`` that reduces
to pivot ``i`` pairs the class born at ``value(i)`` with its death at ``value(j)``; a
creator never paired is essential (death ``inf``). Pairs of zero length (birth = death)
are kept in :attr:`Persistence.pairs` and left out of :meth:`Persistence.diagram`.
The Betti curve at ``t`` counts the pairs with ``birth <= t < death``; it equals
:func:`polyregion.topology.betti_numbers` ``(rs, "below", output, t)`` at every ``t``
(tested at every critical value and between them).

Vertex values equal up to rounding (``VALUE_RTOL * max(1, |f|)``, the tolerance of the
Betti numbers) are snapped to the smallest of them (:func:`snap_values`), so that
a level computed in two regions is one critical value.

An unbounded domain (:class:`polyregion.Space`) is compactified by a box, chosen so that
it holds every vertex of the partition and of the level sets ``{f = t}`` for ``t`` in a
window ``[t1, t2]`` reaching half the range of the finite critical values (plus one)
beyond them; in that window the truncated sublevel sets have the homotopy type of those
of ``R^d``, and outside it those of ``R^d`` do not change (``f`` is linear along the rays
of the unbounded cells). Pairs are mapped accordingly: a birth before ``t1`` is ``-inf``
(the class exists for every ``t``), a death after ``t2`` is ``inf``, and pairs wholly
outside the window (made by the box's corners) are dropped; ``stats["window"]`` holds
``(t1, t2)``.

Cost: the face lattice, then the reduction: at worst cubic in the number of faces, in
practice near-linear (few entries per column, clearing removes the creator columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInputError
from .homology import VALUE_RTOL, reduce_column
from .lattice import FaceLattice, face_lattice

__all__ = ["Persistence", "persistence", "lower_star", "snap_values"]


@dataclass
class Persistence:
    """Persistence pairs of the sublevel filtration of one output.

    Attributes
    ----------
    dim : int
    output : int
    pairs : list of ndarray, one per homology dimension ``k = 0 .. dim-1``
        Shape ``(n_k, 2)``: ``(birth, death)`` of every class, zero-length pairs
        included; ``death = inf`` for essential classes.
    critical_values : ndarray
        Sorted distinct values of ``f`` at the vertices of the complex (the filtration
        changes only there).
    lattice : FaceLattice
    stats : dict
        Faces, columns reduced, columns cleared, seconds.
    """

    dim: int
    output: int
    pairs: list
    critical_values: np.ndarray
    lattice: FaceLattice
    stats: dict = field(default_factory=dict)

    def diagram(self, k=None):
        """The persistence diagram: pairs with ``death > birth`` (all dimensions as a list,
        or dimension ``k``)."""
        D = [p[p[:, 1] > p[:, 0]] for p in self.pairs]
        return D if k is None else D[k]

    def betti_curve(self, t):
        """Betti numbers of ``{f <= t}`` at each ``t``: an int array of shape
        ``(len(t), dim)`` (``t`` a scalar: a tuple)."""
        ts = np.atleast_1d(np.asarray(t, float))
        out = np.zeros((len(ts), self.dim), np.int64)
        for k, p in enumerate(self.pairs):
            if len(p):
                out[:, k] = np.sum((p[None, :, 0] <= ts[:, None]) &
                                   (ts[:, None] < p[None, :, 1]), axis=1)
        return tuple(int(v) for v in out[0]) if np.ndim(t) == 0 else out

    def __repr__(self):
        n = [len(D) for D in self.diagram()]
        return f"Persistence(dim={self.dim}, output={self.output}, n_pairs={n})"


def snap_values(v):
    """Values within ``VALUE_RTOL * max(1, |v|)`` of the next smaller one (in a chain of
    sorted values) replaced by the smallest of the chain: the same vertex value computed in two regions, or
    a level reached at a vertex of a cut, differ only by rounding.

    Examples
    --------
    >>> snap_values([0.5, 0.49999999999999994, 0.0]).tolist()
    [0.49999999999999994, 0.49999999999999994, 0.0]
    """
    v = np.asarray(v, float).copy()
    if len(v) == 0:
        return v
    o = np.argsort(v, kind="stable")
    s = v[o]
    tol = VALUE_RTOL * np.maximum(1.0, np.abs(s[1:]))
    start = np.concatenate([[True], np.diff(s) > tol])
    first = np.maximum.accumulate(np.where(start, np.arange(len(s)), 0))
    v[o] = s[first]
    return v


def lower_star(L: FaceLattice, vertex_values):
    """Filtration value of every face: the largest value at its vertices (a list of
    arrays, one per dimension)."""
    v = np.asarray(vertex_values, float)
    return [np.array([v[F].max() for F in fk]) if len(fk) else np.zeros(0) for fk in L.faces]


def _reduce_filtration(L, fvals):
    """Pairs of the lower-star filtration (standard algorithm with clearing)."""
    d = L.dim
    n = [len(f) for f in L.faces]
    # global order: by (value, dimension, index)
    keys_v = np.concatenate(fvals)
    keys_d = np.concatenate([np.full(n[k], k) for k in range(d + 1)])
    keys_i = np.concatenate([np.arange(n[k]) for k in range(d + 1)])
    order = np.lexsort((keys_i, keys_d, keys_v))
    pos = np.empty(len(order), np.int64)
    pos[order] = np.arange(len(order))
    offset = np.concatenate([[0], np.cumsum(n)])
    posk = [pos[offset[k]:offset[k + 1]] for k in range(d + 1)]
    paired = [np.zeros(n[k], bool) for k in range(d + 1)]   # creator already paired
    killer = [np.zeros(n[k], bool) for k in range(d + 1)]   # column reduced to non-zero
    pairs = [[] for _ in range(d + 1)]
    n_cleared = n_cols = 0
    for k in range(d, 0, -1):
        ptr, idx = L.boundary_ptr[k], L.boundary_idx[k]
        cols = np.argsort(posk[k])
        # row ids are filtration positions of (k-1)-faces; map back by a dict
        back = {}
        pivots = {}
        reduced = {}
        for j in cols:
            if paired[k][j]:
                n_cleared += 1
                continue
            n_cols += 1
            rows_j = idx[ptr[j]:ptr[j + 1]]
            s = set(int(posk[k - 1][r]) for r in rows_j)
            for r in rows_j:
                back[int(posk[k - 1][r])] = int(r)
            p = reduce_column(s, j, pivots, reduced)
            reduced[j] = s
            if p >= 0:
                i = back[p]
                paired[k - 1][i] = True
                killer[k][j] = True
                pairs[k - 1].append((fvals[k - 1][i], fvals[k][j]))
    for k in range(d + 1):
        ess = np.flatnonzero(~paired[k] & ~killer[k])
        pairs[k] += [(fvals[k][i], np.inf) for i in ess]
    out = [np.array(p, float).reshape(-1, 2) for p in pairs[:d]]
    for p in out:
        p[:] = p[np.lexsort((p[:, 1], p[:, 0]))]
    return out, dict(n_columns=n_cols, n_cleared=n_cleared,
                     n_essential_top=int(np.sum(~paired[d] & ~killer[d])))


def persistence(rs, output=0):
    """Persistent homology of the sublevel filtration ``{f <= t}`` of one output.

    Parameters
    ----------
    rs : RegionSet
        Dimension at most 4.
    output : int
        Which output ``f``.

    Returns
    -------
    Persistence
        ``pairs``, ``diagram()``, ``betti_curve(t)``, ``critical_values``.

    Raises
    ------
    InvalidInputError
        Bad ``output``; a dimension above 4.
    TopologyError
        The face lattice fails its consistency checks.

    Notes
    -----
    Cost: the face lattice (cached on ``rs``), one forward pass at its vertices and a
    GF(2) reduction with clearing of its boundary matrix (module docstring).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> W = [np.array([[1., 0], [-1, 0], [0, 1], [0, -1]]), np.ones((1, 4))]
    >>> net = pr.Network.from_arrays(W, [np.zeros(4), np.zeros(1)])   # |x|_1
    >>> P = pr.persistence(pr.enumerate_regions(net, pr.Box.cube(2, radius=2.0)))
    >>> P.diagram(0).tolist()            # one component, born at the minimum 0
    [[0.0, inf]]
    >>> P.betti_curve(1.0)
    (1, 0)
    """
    import time

    n_out = rs.net.output_dim
    if not isinstance(output, (int, np.integer)) or isinstance(output, bool) or \
            not 0 <= output < n_out:
        raise InvalidInputError(f"`output` must be an int in [0, {n_out}) (the network has "
                                f"{n_out} outputs); got {output!r}.")
    t0 = time.perf_counter()
    L = face_lattice(rs)
    window = None
    if L.compactification is not None:
        L, window = _unbounded_lattice(rs, L, int(output))
    vals = snap_values(rs.enum_net.forward(L.vertices)[:, int(output)])
    fvals = lower_star(L, vals)
    pairs, st = _reduce_filtration(L, fvals)
    crit = np.unique(vals)
    if window is not None:
        pairs = [_to_window(p, *window) for p in pairs]
        crit = np.unique(vals[_finite_mask(L)])
        st["window"] = window
    st.update(n_faces=int(sum(L.f_vector)), seconds=time.perf_counter() - t0)
    return Persistence(dim=L.dim, output=int(output), pairs=pairs,
                       critical_values=crit, lattice=L, stats=st)


def _finite_mask(L):
    """Vertices not on the compactification box (vertices of the partition itself)."""
    R = L.compactification
    return np.max(np.abs(L.vertices), axis=1) < R * (1 - 1e-9)


def _unbounded_lattice(rs, L0, output):
    """For an unbounded domain: the lattice in a box holding every vertex of the level
    sets ``{f = t}`` for ``t`` in the window ``[t1, t2]`` around the finite critical
    values, so that the truncated filtration is the one of ``R^d`` there."""
    from .lattice import build_lattice

    fin = _finite_mask(L0)
    v = rs.enum_net.forward(L0.vertices[fin])[:, output] if fin.any() else \
        rs.enum_net.forward(rs.points)[:, output]
    lo, hi = float(np.min(v)), float(np.max(v))
    pad = 0.5 * (hi - lo) + 1.0
    t1, t2 = lo - pad, hi + pad

    def size_cuts(i):
        M, c = rs.affine_map(i)
        return [(M[output], c[output] - t1), (M[output], c[output] - t2)]

    return build_lattice(rs, size_cuts=size_cuts), (t1, t2)


def _to_window(p, t1, t2):
    """Pairs of the truncated filtration as pairs of ``R^d``: outside ``[t1, t2]`` the
    sublevel sets of ``R^d`` do not change, so births before ``t1`` are ``-inf``, deaths
    after ``t2`` are ``inf``, and pairs wholly outside the window (made by the box's
    corners) are dropped."""
    p = p.copy()
    keep = (p[:, 1] >= t1) & (p[:, 0] <= t2)
    p = p[keep]
    p[p[:, 0] < t1, 0] = -np.inf
    p[p[:, 1] > t2, 1] = np.inf
    return p[np.lexsort((p[:, 1], p[:, 0]))]
