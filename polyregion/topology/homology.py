"""Betti numbers over GF(2) of what a network decides: super/sublevel sets, level sets and
class regions, exactly.

What it computes
----------------
For one output ``f`` and a threshold ``t``, the closed sets ``{f >= t}`` ("above"),
``{f <= t}`` ("below") and the level set ``{f = t}`` ("boundary") inside the domain;
for a multi-output net the closed class region ``{f_k >= f_j for all j}`` ("class",
``output = k``: where ``k`` attains the argmax, ties included). Returns the Betti
numbers ``beta_0 .. beta_{d-1}`` over GF(2) (``beta_d`` of a subset of a compact
``d``-dimensional convex domain is 0).

Method
------
Each region ``P`` is cut by its own affine piece (``f = t`` or ``f_k = f_j``), so that the
set is a union of closed cells and faces of the refined complex
(:func:`polyregion.topology.lattice.build_lattice`): since every refined cell lies on
one side of each cut and ``f`` is affine on it, a face belongs to the closed set exactly
when all its vertices do (a face with a vertex outside the set meets it at most in a
proper face). The set is therefore the sub-complex spanned by the vertices in it (vertex
values from the network's forward pass, compared within ``VALUE_RTOL`` relative to
``max(1, |value|, |t|)``), and ``beta_k = n_k - rank ∂_k - rank ∂_{k+1}`` (``n_k``
the number of its ``k``-faces), the ranks of the restricted boundary matrices over GF(2)
by sparse column reduction (:func:`gf2_rank`; the pivot of a column is its largest row;
columns are Python sets, additions are symmetric differences).

An unbounded domain (:class:`polyregion.Space`) is compactified by a box ``[-R, R]^d``
holding every vertex of the refined complex and every region's interior point, with
``R`` twice the largest such coordinate plus one: beyond it every face is a cone, so the
set and its intersection with the box have the same homotopy type. (relucent's
"one-point" compactification would instead add the point at infinity; the box keeps the
homotopy type of the set itself.)

Cost: the lattice (see its module), then the reduction: for complexes of a polygonal
partition, near-linear in the number of faces in practice (columns have few entries).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInputError
from .lattice import FaceLattice, build_lattice

__all__ = ["betti_numbers", "decision_topology", "DecisionTopology", "gf2_rank",
           "subcomplex_betti", "VALUE_RTOL", "WHICH"]

#: A vertex value ``v`` satisfies ``v >= t`` when ``v >= t - VALUE_RTOL * max(1, |v|, |t|)``
#: (class regions: ``f_k >= f_j - VALUE_RTOL * max(1, max_j |f_j|)``).
VALUE_RTOL = 1e-9
WHICH = ("above", "below", "boundary", "class")
#: Other names accepted for ``which``.
ALIASES = {"superlevel": "above", "sublevel": "below", "level": "boundary",
           "level_set": "boundary", "argmax": "class", "decision": "class"}


def gf2_reduce(columns):
    """Column reduction over GF(2).

    Parameters
    ----------
    columns : list of iterables of int
        Column ``j`` holds the row indices of its non-zero entries.

    Returns
    -------
    pivots : dict
        ``row -> column`` for every column that reduces to a non-zero column with that
        lowest (largest) row.

    Examples
    --------
    >>> sorted(gf2_reduce([[0, 1], [1, 2], [0, 2]]).items())   # a triangle's edges
    [(1, 0), (2, 1)]
    """
    pivots = {}
    reduced = []
    for j, col in enumerate(columns):
        s = set(col)
        reduce_column(s, j, pivots, reduced)
        reduced.append(s)
    return pivots


def reduce_column(s, j, pivots, reduced):
    """Reduce column ``j`` (the set ``s`` of its rows, changed in place) by the columns
    already reduced: while its lowest (largest) row is another column's pivot, add that
    column. Records and returns its pivot row (``-1`` when it reduces to zero).

    ``pivots`` maps a pivot row to its column, ``reduced[q]`` is column ``q`` reduced;
    :func:`gf2_reduce` and the persistence reduction (with clearing) share this step.
    """
    while s:
        p = max(s)
        q = pivots.get(p)
        if q is None:
            pivots[p] = j
            return p
        s ^= reduced[q]
    return -1


def gf2_rank(columns):
    """Rank over GF(2) of the sparse matrix with these columns (see :func:`gf2_reduce`).

    Examples
    --------
    >>> gf2_rank([[0, 1], [1, 2], [0, 2]])
    2
    """
    return len(gf2_reduce(columns))


def subcomplex_betti(L: FaceLattice, masks):
    """Betti numbers ``beta_0 .. beta_{d-1}`` over GF(2) of the sub-complex given by
    ``masks`` (one boolean array per dimension, closed under taking faces)."""
    d = L.dim
    n = [int(np.sum(m)) for m in masks]
    ranks = [0] * (d + 2)
    for k in range(1, d + 1):
        sel = np.flatnonzero(masks[k])
        if len(sel) == 0:
            continue
        ptr, idx = L.boundary_ptr[k], L.boundary_idx[k]
        ranks[k] = gf2_rank(idx[ptr[j]:ptr[j + 1]].tolist() for j in sel)
    return tuple(n[k] - ranks[k] - ranks[k + 1] for k in range(d))


@dataclass
class DecisionTopology:
    """A closed set decided by a network, as a sub-complex, with its Betti numbers.

    Attributes
    ----------
    which, output, threshold : the set (see :func:`betti_numbers`).
    betti : tuple of int
        ``beta_0 .. beta_{d-1}`` over GF(2).
    lattice : FaceLattice
        The refined complex (each region cut by the set's hyperplanes).
    masks : list of ndarray of bool
        Per dimension, the faces of ``lattice`` in the set.
    values : ndarray, shape (n_vertices, n_outputs)
        Network outputs at the lattice's vertices.
    euler_characteristic : int
        Of the set: ``sum (-1)^k (faces of dimension k in the set)``.
    compactification : float or None
        ``R`` of the box ``[-R, R]^d`` replacing an unbounded domain.
    """

    which: str
    output: int
    threshold: float
    betti: tuple
    lattice: FaceLattice
    masks: list
    values: np.ndarray
    euler_characteristic: int
    compactification: float | None = None
    stats: dict = field(default_factory=dict)

    def components(self):
        """Component label of every cell (``d``-face) in the set, -1 for cells outside;
        and the number of components of the set (lower-dimensional components, such as
        an isolated point, count but label no cell)."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        L = self.lattice
        nv = len(L.vertices)
        inv = np.flatnonzero(self.masks[0])
        rows, cols = [], []
        if L.dim >= 1:
            ptr, idx = L.boundary_ptr[1], L.boundary_idx[1]
            for j in np.flatnonzero(self.masks[1]):
                a, b = idx[ptr[j]:ptr[j + 1]]
                rows.append(a)
                cols.append(b)
        G = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(nv, nv))
        _, lab = connected_components(G, directed=False)
        keep = np.unique(lab[inv])
        remap = np.full(lab.max() + 1, -1)
        remap[keep] = np.arange(len(keep))
        cell_lab = np.full(len(L.faces[L.dim]), -1, np.int64)
        for c in np.flatnonzero(self.masks[L.dim]):
            cell_lab[c] = remap[lab[L.faces[L.dim][c][0]]]
        return cell_lab, len(keep)

    def holes(self):
        """Bounded components of the domain minus the set, each as the list of cells
        (``d``-faces outside the set) that make it up; in 2-D there are ``beta_1`` of
        them. A component touching the domain's boundary is not a hole."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        L = self.lattice
        d = L.dim
        out_cells = np.flatnonzero(~self.masks[d])
        if len(out_cells) == 0:
            return []
        # cells outside the set connect through faces outside the set (their shared
        # points are then outside it); any face not in the set will do: use every face
        # of dimension d-1 and the vertices
        nc = len(L.faces[d])
        rows, cols = [], []
        cof = {}
        ptr, idx = L.boundary_ptr[d], L.boundary_idx[d]
        for c in out_cells:
            for f in idx[ptr[c]:ptr[c + 1]]:
                if not self.masks[d - 1][f]:
                    cof.setdefault(int(f), []).append(int(c))
            for v in L.faces[d][c]:
                if not self.masks[0][v]:
                    cof.setdefault(("v", int(v)), []).append(int(c))
        for cs in cof.values():
            for c in cs[1:]:
                rows.append(cs[0])
                cols.append(c)
        G = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(nc, nc))
        _, lab = connected_components(G, directed=False)
        # boundary (d-1)-faces: one coface
        ncof = np.bincount(idx, minlength=len(L.faces[d - 1]))
        touching = set()
        for c in out_cells:
            for f in idx[ptr[c]:ptr[c + 1]]:
                if ncof[f] == 1:
                    touching.add(lab[c])
        comps = {}
        for c in out_cells:
            if lab[c] not in touching:
                comps.setdefault(lab[c], []).append(int(c))
        return list(comps.values())


def _check_args(rs, which, output, threshold):
    if isinstance(which, str):
        which = ALIASES.get(which, which)
    if which not in WHICH:
        raise InvalidInputError(f"`which` must be one of {WHICH}; got {which!r}.")
    n_out = rs.net.output_dim
    if not isinstance(output, (int, np.integer)) or isinstance(output, bool) or \
            not 0 <= output < n_out:
        raise InvalidInputError(f"`output` must be an int in [0, {n_out}) (the network has "
                                f"{n_out} outputs); got {output!r}.")
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise InvalidInputError(f"`threshold` must be a real number; got {threshold!r}.") \
            from None
    if not np.isfinite(t):
        raise InvalidInputError(f"`threshold` must be finite; got {threshold!r}.")
    if which == "class" and n_out < 2:
        raise InvalidInputError("`which='class'` needs a network with at least 2 outputs "
                                f"(class regions of argmax); this one has {n_out}.")
    return which, int(output), t


def _cuts(rs, which, output, t):
    k = output

    def cuts(i):
        M, c = rs.affine_map(i)
        if which == "class":
            return [(M[k] - M[j], c[k] - c[j]) for j in range(M.shape[0]) if j != k]
        return [(M[k], c[k] - t)]

    return cuts


def decision_topology(rs, which="above", output=0, threshold=0.0):
    """The set of :func:`betti_numbers` as a sub-complex, with its Betti numbers,
    components and holes (see :class:`DecisionTopology`).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> top = pr.decision_topology(pr.enumerate_regions(net, pr.Box.cube(2)), "above",
    ...                            threshold=0.5)
    >>> top.betti, top.euler_characteristic
    ((1, 0), 1)
    """
    which, output, t = _check_args(rs, which, output, threshold)
    L = build_lattice(rs, _cuts(rs, which, output, t))
    values = rs.enum_net.forward(L.vertices) if len(L.vertices) else \
        np.zeros((0, rs.net.output_dim))
    if which == "class":
        diff = values[:, [output]] - values
        tol = VALUE_RTOL * np.maximum(1.0, np.max(np.abs(values), axis=1))
        vm = np.all(diff >= -tol[:, None], axis=1)
    else:
        g = values[:, output] - t
        tol = VALUE_RTOL * np.maximum(np.maximum(1.0, np.abs(values[:, output])), abs(t))
        vm = g >= -tol if which == "above" else g <= tol if which == "below" else \
            np.abs(g) <= tol
    masks = L.face_mask(vm)
    betti = subcomplex_betti(L, masks)
    chi = int(sum((-1) ** k * int(np.sum(m)) for k, m in enumerate(masks)))
    if chi != sum((-1) ** k * b for k, b in enumerate(betti)):  # pragma: no cover
        from .lattice import TopologyError

        raise TopologyError("Euler characteristic and Betti numbers disagree.")
    return DecisionTopology(which=which, output=output, threshold=t, betti=betti, lattice=L,
                            masks=masks, values=values, euler_characteristic=chi,
                            compactification=L.compactification, stats=dict(L.stats))


def betti_numbers(rs, which="above", output=0, threshold=0.0):
    """Betti numbers over GF(2) of a set the network decides, exactly.

    Parameters
    ----------
    rs : RegionSet
        The regions of the network in its domain (dimension at most 4).
    which : {"above", "below", "boundary", "class"}
        ``{f >= t}``, ``{f <= t}``, ``{f = t}`` for ``f`` = output ``output``, or the
        closed class region ``{f_output >= f_j for all j}`` (argmax = ``output``, ties
        included; ``threshold`` is not used). Also accepted: "superlevel", "sublevel",
        "level" / "level_set", "argmax" / "decision".
    output : int
        Which output.
    threshold : float
        ``t``.

    Returns
    -------
    tuple of int
        ``(beta_0, ..., beta_{d-1})``: components, independent loops, enclosed cavities...
        An unbounded domain is compactified by a large box (module docstring).

    Raises
    ------
    InvalidInputError
        Bad ``which``, ``output`` or ``threshold``; a dimension above 4.
    TopologyError
        The refined complex fails its consistency checks.

    Notes
    -----
    Cost: the face lattice of the refined complex (:mod:`polyregion.topology.lattice`)
    and a GF(2) column reduction of its boundary matrices.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> W = [np.array([[1., 0], [-1, 0], [0, 1], [0, -1]]), -np.ones((1, 4))]
    >>> net = pr.Network.from_arrays(W, [np.zeros(4), np.ones(1)])   # 1 - |x|_1
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2, radius=2.0))
    >>> pr.betti_numbers(rs, "above"), pr.betti_numbers(rs, "boundary")
    ((1, 0), (1, 1))
    """
    return decision_topology(rs, which, output, threshold).betti
