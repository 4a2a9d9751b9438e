"""The region adjacency complex: facets, neighbours, graph, linear regions, decision boundary.

What it computes
----------------
For every region ``P`` of a :class:`~polyregion.RegionSet`, its irredundant facets: the
rows ``a . x <= b`` of ``P`` whose hyperplane meets ``P`` in a ``(d-1)``-dimensional face
(a ball of radius ``> tol`` inside the hyperplane), each labelled by the neuron(s)
``(layer, unit, breakpoint)`` carrying it or by the domain facet (``layer = -1``), with a
point in its relative interior (the Chebyshev centre of the facet inside its hyperplane)
and the region across it. From these, :func:`adjacency` builds a :class:`networkx.Graph`
with one node per region and one edge per pair of regions sharing a ``(d-1)``-face;
regions that touch only in a lower-dimensional face are not adjacent.

Method
------
Facets come from Numba kernels (:mod:`polyregion.enumerate._kernels_facets`). On bounded
2-D and 3-D domains one walk down the trie of the sorted codes
(:func:`~polyregion.enumerate._kernels_facets.walk_facets`) carries the domain
polygon/polytope, cut by each neuron's row where the codes below it take both sides, with
the pre-activation maps shared by every region below a trie node (as in the planar
enumeration); a leaf is one region and its polytope, whose faces are its facets (2-D: the
edge's midpoint and half-length; 3-D: the face's inscribed circle). A row that comes
within ``dup_tol`` of a cell without cutting it cleanly, a thin face, or a code range the
geometry contradicts sends the regions concerned to the per-region kernel
(:func:`~polyregion.enumerate._kernels_facets.region_facets`), which decides by the same
rule: the domain polygon/polytope is clipped by the region's rows (nearest first), each
face's Chebyshev ball inside its plane is verified against every row, rows whose plane
stays farther than ``dup_tol`` from the clipped polytope are redundant, and only doubtful
rows (faces failing the check, rows touching the polytope) get an LP. In other dimensions
rows are visited nearest first; a row whose hyperplane misses an outer box of the working
set is dropped; the others get a Chebyshev LP inside their hyperplane, completed by
constraint generation so that it is exact for all rows. The region across a facet is
found without any all-pairs comparison: in a continuous piecewise-linear network, every
pre-activation on the far side differs from its expression on ``P`` by a multiple of the
facet's hyperplane function, so the far region shares the whole facet with ``P`` and its
code is ``P``'s code with the neurons carrying the facet moved to their adjacent piece;
the code is found by binary search in the sorted codes (the walk: by a Zobrist hash of
the codes). Each match is then checked against the neighbour's own facets (same
hyperplane, holding the facet's centre, covering the facet). Facets that fail a check
(codes that are not regions, e.g. thin slivers dropped by the enumeration tolerance, or
pieces covered by several neighbours) go to :func:`split_facet`: locate the region across
the facet's centre, take the piece it shares, split the rest of the facet by that
neighbour's constraints and repeat on each remaining piece.

Cost: 2-D and 3-D, about one polygon/polytope cut per region and a cheap test per (trie
node, neuron) -- the planar enumeration's own work -- then one hash look-up per facet;
other dimensions, per region ``2 d`` small LPs for the box and one small LP per candidate
facet, then one binary search per facet: near-linear in regions x facets. The networkx
graph is filled in bulk; :func:`edge_list` gives the same graph as arrays.

Coordinates are the RegionSet's enumeration coordinates (``t`` for a Slice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .config import DEFAULT_TOLERANCES
from .errors import FileFormatError, InvalidInputError
from .enumerate.engine import Prepared
from .network import cell_codes, domain_frame

__all__ = [
    "Complex", "Facets", "LinearRegions", "DecisionBoundary", "EdgeList", "complex_of",
    "adjacency", "edge_list",
    "facets", "vertices", "linear_regions", "decision_regions", "split_facet",
    "write_graphml", "read_graphml", "save_edges", "load_edges",
]

#: A neuron whose hyperplane passes within ``ON_PLANE * feasibility`` of a facet's centre
#: is treated as passing through it when the code across is computed by a forward pass.
ON_PLANE = 1e-3
#: Two rows are the same hyperplane when their unit normals agree to ``1 - 1e-12`` in
#: cosine and their offsets to ``DUPLICATE * feasibility``.
DUPLICATE = 100.0


# --------------------------------------------------------------------------- flat network
class _Flat(Prepared):
    """The network in unit-scale coordinates ``x = (t - center) / scale``, flattened: the
    engine's own preparation (:class:`polyregion.enumerate.engine.Prepared`) without its
    power-of-two layer rescaling, since the graph also evaluates true outputs."""

    def __init__(self, rs):
        # no layer rescaling: the graph also evaluates the network's true outputs
        net = rs.net
        if net.has_max:  # the same function; only its scaling and outputs are used
            from .enumerate._maxpool import expansion_for

            net = expansion_for(net, rs.domain).net
        super().__init__(net, rs.domain, normalise=False)
        self.A0 = self.A0.reshape(-1, rs.domain.dim)
        self.net_args = (self.W_flat, self.W_off, self.b_flat, self.b_off, self.dims,
                         self.n_bp, self.bps, self.slopes, self.intercepts)

    def to_unit(self, t):
        return (np.asarray(t, float) - self.center) / self.scale

    def to_enum(self, x):
        return self.center + self.scale * np.asarray(x, float)

    def row_to_enum(self, a, b):
        """Row ``a.x <= b`` in unit coordinates -> ``a.t <= b'`` in enumeration coords."""
        return a, self.scale * b + a @ self.center


def _sorted_codes(rs):
    from .enumerate._kernels_facets import codes_sorted

    codes = np.ascontiguousarray(rs.codes)
    if len(codes) > 1 and codes.shape[1] and not codes_sorted(codes):
        order = np.lexsort(codes.T[::-1])
        if np.any(order != np.arange(len(codes))):
            return np.ascontiguousarray(codes[order]), order
    return codes, None


# --------------------------------------------------------------------------- results
@dataclass
class Facets:
    """The irredundant facets of one region (enumeration coordinates).

    Attributes
    ----------
    A, b : ndarray, shapes (n_facets, dim) and (n_facets,)
        The region is ``{x : A x <= b}``; rows are unit vectors.
    labels : list of list of (layer, unit, breakpoint)
        The neurons carrying each facet (several for coincident neurons); ``layer = -1``
        marks a domain facet (``unit`` = its index in ``domain.halfspaces()``).
    points : ndarray, shape (n_facets, dim)
        A point in the relative interior of each facet (its Chebyshev centre inside the
        hyperplane).
    radii : ndarray, shape (n_facets,)
        A ``(d-1)``-ball of this radius around ``points[f]`` lies in the facet (capped at
        the domain scale).
    neighbours : ndarray of int, shape (n_facets,)
        The region across the facet's centre; -1 for domain facets.
    """

    A: np.ndarray
    b: np.ndarray
    labels: list
    points: np.ndarray
    radii: np.ndarray
    neighbours: np.ndarray

    def __len__(self):
        return self.A.shape[0]


@dataclass
class Complex:
    """Facets of all regions and the matched facet pieces (enumeration coordinates).

    Attributes
    ----------
    ptr : ndarray, shape (n_regions + 1,)
        Facets of region ``i`` are ``ptr[i]:ptr[i+1]``.
    A, b, points, radii : facet rows, offsets, relative-interior points, radii.
    label_ptr, labels : facet ``f`` has labels ``labels[label_ptr[f]:label_ptr[f+1]]``.
    status : ndarray of int
        0 matched by the fast path, 1 domain facet, 2-4 resolved by :func:`split_facet`.
    pieces : dict of arrays
        ``region, facet, neighbour, point, radius``: every shared facet piece; a piece
        with ``neighbour = -1`` could not be matched to a region.
    stats : dict
    """

    ptr: np.ndarray
    A: np.ndarray
    b: np.ndarray
    points: np.ndarray
    radii: np.ndarray
    label_ptr: np.ndarray
    labels: np.ndarray
    status: np.ndarray
    pieces: dict
    stats: dict = field(default_factory=dict)

    def facet_labels(self, f):
        return [tuple(int(v) for v in row) for row in self.labels[self.label_ptr[f]:self.label_ptr[f + 1]]]


@dataclass
class LinearRegions:
    """Connected components of adjacent regions with equal affine maps.

    Attributes
    ----------
    labels : ndarray of int, shape (n_regions,)
        Component of each activation region, numbered by first appearance.
    n_linear : int
        Number of linear regions (components).
    n_activation : int
        Number of activation regions.
    """

    labels: np.ndarray
    n_linear: int
    n_activation: int

    def __repr__(self):
        return f"LinearRegions(n_linear={self.n_linear}, n_activation={self.n_activation})"


@dataclass
class DecisionBoundary:
    """The pieces of ``{f = 0}`` of a one-output network inside each region it crosses.

    Attributes
    ----------
    regions : ndarray of int
        Regions whose interior the zero set crosses.
    A, b : ndarray
        In region ``regions[i]`` the boundary piece lies on ``{x : A[i] . x = b[i]}``
        (unit ``A[i]``, pointing to ``f > 0``).
    points, radii : ndarray
        A point in the relative interior of each piece and a radius of a ball inside it.
    zero_regions : ndarray of int
        Regions on which ``f`` vanishes identically.
    graph : networkx.Graph
        The adjacency graph restricted to ``regions``.
    """

    regions: np.ndarray
    A: np.ndarray
    b: np.ndarray
    points: np.ndarray
    radii: np.ndarray
    zero_regions: np.ndarray
    graph: object

    def __len__(self):
        return len(self.regions)


# --------------------------------------------------------------------------- kernels glue
def _tols(rs):
    tol = rs.tolerances
    return dict(tol=tol.feasibility, zero_tol=tol.zero_row, dup_tol=DUPLICATE * tol.feasibility,
                on_tol=ON_PLANE * tol.feasibility, piv_tol=tol.pivot, opt_tol=tol.pivot * 1e-2,
                max_iter=tol.max_simplex_iter)


def _box_mode(rs):
    """Row screening of the facet kernel: polygon/polytope clipping (2) on bounded 2-D
    and 3-D domains, else ``2 d`` box LPs (1)."""
    return 2 if rs.dim in (2, 3) and rs.domain.bounded else 1


def _run_facets(rs, flat, codes, pts_unit, regs, box_mode=None):
    from .enumerate._kernels_facets import N_FACET_STATS, region_facets

    t = _tols(rs)
    stats = np.zeros(N_FACET_STATS, np.int64)
    mode = _box_mode(rs) if box_mode is None else box_mode
    out = region_facets(*flat.net_args, flat.A0, flat.b0, codes, pts_unit,
                        np.ascontiguousarray(regs, dtype=np.int64), t["tol"], t["zero_tol"],
                        t["dup_tol"], t["on_tol"], t["piv_tol"], t["opt_tol"], t["max_iter"],
                        mode, stats)
    return out, stats


def _context(rs):
    ctx = rs._cache.get("graph_ctx")
    if ctx is None:
        flat = _Flat(rs)
        codes, order = _sorted_codes(rs)
        pts = rs.points if order is None else rs.points[order]
        ctx = dict(flat=flat, codes=codes, order=order,
                   pts=np.ascontiguousarray(flat.to_unit(pts)))
        rs._cache["graph_ctx"] = ctx
    return ctx


def _zobrist(n_neurons, n_pieces):
    """Random 64-bit keys ``Z[neuron, piece]`` for hashing codes (fixed seed)."""
    rng = np.random.default_rng(0x5EED)
    return rng.integers(0, np.iinfo(np.uint64).max, size=(n_neurons, n_pieces),
                        dtype=np.uint64, endpoint=True)


def _csr_take(ptr, order):
    """Indices of the items of blocks ``order`` (blocks ``ptr[i]:ptr[i+1]``), in that
    order, and the new block pointer."""
    cnt = (ptr[1:] - ptr[:-1])[order]
    new_ptr = np.zeros(len(order) + 1, np.int64)
    np.cumsum(cnt, out=new_ptr[1:])
    idx = np.repeat(ptr[:-1][order] - new_ptr[:-1], cnt) + np.arange(new_ptr[-1])
    return idx, new_ptr


def _merge_blocks(n, redo, walk, lp):
    """Facet blocks of all ``n`` regions: the walk's, with the regions ``redo`` taken
    from ``lp`` (:func:`_run_facets` on ``redo``)."""
    ptrA, faA, fbA, fcA, frA, nbrA, lptrA, labsA = walk
    ptrB, faB, fbB, fcB, frB, nbrB, lptrB, labsB = lp
    nA = len(faA)
    # one block pointer over the concatenation [walk blocks (n), redo blocks]
    ptr_all = np.concatenate([ptrA, nA + ptrB[1:]])
    order = np.arange(n)
    order[redo] = n + np.arange(len(redo))
    # the walk's blocks of the redo regions are empty: block n + t replaces block redo[t]
    fidx, ptr = _csr_take(ptr_all, order)
    lptr_all = np.concatenate([lptrA, len(labsA) + lptrB[1:]])
    lidx, lptr = _csr_take(lptr_all, fidx)
    cat = np.concatenate
    return (ptr, cat([faA, faB])[fidx], cat([fbA, fbB])[fidx], cat([fcA, fcB])[fidx],
            cat([frA, frB])[fidx], cat([nbrA, nbrB])[fidx], lptr, cat([labsA, labsB])[lidx])


def _walk_applies(rs):
    """The trie walk needs a bounded 2-D/3-D domain (the clipping mode of
    :func:`_box_mode`) and one row per neuron and breakpoint (no max layers)."""
    return _box_mode(rs) == 2 and not getattr(rs.net, "has_max", False)


def _facet_blocks(rs, ctx):
    """Facet blocks ``(ptr, fa, fb, fc, fr, nbr, lptr, labs)`` of all regions (sorted
    code order, unit coordinates) and the kernel counters: on bounded 2-D/3-D domains
    from the planar enumeration's polygons when the RegionSet kept them, else by the trie
    walk (regions either cannot decide recomputed by :func:`_run_facets`); else by
    :func:`_run_facets`."""
    from .enumerate._kernels_facets import N_FACET_STATS, polygon_facets, walk_facets

    flat, codes = ctx["flat"], ctx["codes"]
    n = len(codes)
    if _walk_applies(rs) and n and codes.shape[1]:
        t = _tols(rs)
        stats = np.zeros(N_FACET_STATS, np.int64)
        Z = _zobrist(codes.shape[1], int(flat.n_bp.max()) + 1)
        polygons = rs._cache.get("planar_polygons")
        if (polygons is not None and ctx["order"] is None and len(polygons["doubt"]) == n
                and polygons["dup_tol"] == t["dup_tol"]):
            # the planar enumeration's polygons are the cells the walk would cut
            _, status, *blocks = polygon_facets(
                *flat.net_args, len(flat.b0), polygons["polys"], polygons["pptr"],
                polygons["doubt"], codes, Z, t["tol"], t["zero_tol"], t["on_tol"], stats)
            return _with_redo(rs, ctx, blocks, status, stats)
        ok, status, *walk = walk_facets(*flat.net_args, flat.A0, flat.b0, codes, Z, t["tol"],
                                        t["zero_tol"], t["dup_tol"], t["on_tol"], stats)
        if ok:
            return _with_redo(rs, ctx, walk, status, stats)
    blocks, stats = _run_facets(rs, flat, codes, ctx["pts"], np.arange(n))
    return blocks, stats, n


def _with_redo(rs, ctx, walk, status, stats):
    """The facet blocks (and counters, number redone) of a walk's output ``(ptr, fa, fb,
    fc, fr, nbr, labs)`` (one label per facet), its :data:`WALK_REDO` regions recomputed
    by :func:`_run_facets`."""
    from .enumerate._kernels_facets import WALK_REDO

    ptr, fa, fb, fc, fr, nbr, labs = walk
    blocks = (ptr, fa, fb, fc, fr, nbr, np.arange(len(fa) + 1, dtype=np.int64), labs)
    redo = np.flatnonzero(status == WALK_REDO)
    if len(redo):
        lp, st2 = _run_facets(rs, ctx["flat"], ctx["codes"], ctx["pts"], redo)
        blocks = _merge_blocks(len(ctx["codes"]), redo, blocks, lp)
        stats += st2
    return blocks, stats, len(redo)


def complex_of(rs):
    """The :class:`Complex` of a RegionSet (built once, then cached on it).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> cx = pr.graph.complex_of(pr.enumerate_regions(net, pr.Box.cube(2)))
    >>> np.diff(cx.ptr).tolist()       # four squares, four facets each
    [4, 4, 4, 4]
    >>> sorted(set(cx.pieces["neighbour"].tolist()))
    [0, 1, 2, 3]
    """
    if "complex" in rs._cache:
        return rs._cache["complex"]
    if rs.net.has_max:  # contract the complex of the tournament expansion
        from ._graph_max import max_complex

        rs._cache["complex"] = max_complex(rs)
        return rs._cache["complex"]
    import time

    from .enumerate._kernels_facets import NB_OK, verify_neighbours

    t0 = time.perf_counter()
    ctx = _context(rs)
    flat, codes, order = ctx["flat"], ctx["codes"], ctx["order"]
    n = len(codes)
    t = _tols(rs)
    (ptr, fa, fb, fc, fr, nbr, lptr, labs), kst, n_redo = _facet_blocks(rs, ctx)
    # the planar enumeration's polygons (48 bytes a vertex) served only this
    rs._cache.pop("planar_polygons", None)
    status = verify_neighbours(np.arange(n, dtype=np.int64), ptr, fa, fb, fc, fr, nbr, lptr,
                               labs, codes, flat.dims, np.arange(n, dtype=np.int64), t["tol"],
                               t["dup_tol"], t["piv_tol"], t["opt_tol"], t["max_iter"])
    fac_region = np.repeat(np.arange(n), np.diff(ptr))
    ok = status == NB_OK
    p_reg = [fac_region[ok]]
    p_fac = [np.flatnonzero(ok)]
    p_nbr = [nbr[ok]]
    p_pt = [fc[ok]]
    p_r = [fr[ok]]
    hard = np.flatnonzero(status >= 2)
    for f in hard:
        P = int(fac_region[f])
        for Q, c, r in _resolve(rs, ctx, ptr, fa, fb, fc, fr, nbr, P, int(f)):
            p_reg.append(np.array([P]))
            p_fac.append(np.array([f]))
            p_nbr.append(np.array([Q]))
            p_pt.append(np.asarray(c)[None, :])
            p_r.append(np.array([r]))
    # back to the RegionSet's order and enumeration coordinates
    inv = None
    if order is not None:
        # sorted position s holds region order[s]
        inv = order
    pieces = dict(region=np.concatenate(p_reg).astype(np.int64),
                  facet=np.concatenate(p_fac).astype(np.int64),
                  neighbour=np.concatenate(p_nbr).astype(np.int64),
                  point=flat.to_enum(np.concatenate(p_pt).reshape(-1, rs.dim)),
                  radius=np.concatenate(p_r) * flat.scale)
    A_t, b_t = fa, flat.scale * fb + fa @ flat.center
    if inv is not None:
        # reorder the facet blocks to the RegionSet's region order
        pos = np.empty(n, np.int64)
        pos[order] = np.arange(n)  # region i sits at sorted position pos[i]
        counts = np.diff(ptr)[pos]
        new_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        fidx = np.concatenate([np.arange(ptr[s], ptr[s + 1]) for s in pos]) if n else \
            np.zeros(0, np.int64)
        fmap = np.empty_like(fidx)
        fmap[fidx] = np.arange(len(fidx))
        lcounts = np.diff(lptr)[fidx]
        new_lptr = np.concatenate([[0], np.cumsum(lcounts)]).astype(np.int64)
        lidx = np.concatenate([np.arange(lptr[f], lptr[f + 1]) for f in fidx]) if len(fidx) \
            else np.zeros(0, np.int64)
        ptr, lptr, labs = new_ptr, new_lptr, labs[lidx]
        A_t, b_t, fc, fr, status = A_t[fidx], b_t[fidx], fc[fidx], fr[fidx], status[fidx]
        pieces["region"] = inv[pieces["region"]]
        pieces["neighbour"] = np.where(pieces["neighbour"] >= 0,
                                       inv[np.maximum(pieces["neighbour"], 0)], -1)
        pieces["facet"] = fmap[pieces["facet"]]
    cx = Complex(ptr=ptr, A=A_t, b=b_t, points=flat.to_enum(fc), radii=fr * flat.scale,
                 label_ptr=lptr, labels=labs, status=status, pieces=pieces)
    names = ("facet_lps", "box_lps", "rows", "rows_dropped_by_box", "forward_passes",
             "box_iterations", "facet_lp_rounds", "layer_maps", "polytope_cuts",
             "lp_fallback_regions")
    cx.stats = {k: int(v) for k, v in zip(names, kst)}
    cx.stats.update(n_facets=int(len(cx.A)), n_split=int(len(hard)), regions_redone=int(n_redo),
                    n_unmatched=int(np.sum(pieces["neighbour"] < 0)),
                    seconds=time.perf_counter() - t0)
    rs._cache["complex"] = cx
    return cx


def _find_across(rs, ctx, ptr, fa, fb, point, normal, radius):
    """The region across ``point`` (unit coords) in direction ``normal`` and its facet
    rows except the one on the hyperplane: ``(Q, A_Q, b_Q)`` or None."""
    from .enumerate._kernels_facets import code_across, find_code

    flat, codes = ctx["flat"], ctx["codes"]
    t = _tols(rs)
    beta = float(normal @ point)
    cands = []
    q = code_across(*flat.net_args, np.ascontiguousarray(point), np.ascontiguousarray(normal),
                    t["on_tol"], t["zero_tol"])
    cands.append(find_code(codes, q))
    for eps in (1e-3, 1e-6):
        x = point + eps * max(radius, t["tol"]) * normal
        c = cell_codes(rs.enum_net, flat.to_enum(x)[None, :], rs.tolerances,
                       *domain_frame(rs.domain))[0]
        cands.append(find_code(codes, np.ascontiguousarray(c.astype(np.uint8))))
    for Q in cands:
        if Q < 0:
            continue
        rows = slice(ptr[Q], ptr[Q + 1])
        AQ, bQ = fa[rows], fb[rows]
        match = np.flatnonzero((AQ @ normal <= -1 + 1e-9) & (np.abs(bQ + beta) <= t["dup_tol"]))
        if len(match) == 0:
            continue
        keep = np.ones(len(AQ), bool)
        keep[match] = False
        if np.all(AQ[keep] @ point <= bQ[keep] + t["tol"]):
            return int(Q), AQ[keep], bQ[keep]
    return None


def _resolve(rs, ctx, ptr, fa, fb, fc, fr, nbr, P, f):
    rows = np.r_[ptr[P]:f, f + 1:ptr[P + 1]]

    def find(point, radius):
        return _find_across(rs, ctx, ptr, fa, fb, point, fa[f], radius)

    return split_facet(fa[rows], fb[rows], fa[f], fb[f], find, rs.tolerances.feasibility,
                       tolerances=rs.tolerances)


def split_facet(A, b, a, beta, find, tol, max_pieces=10_000, tolerances=None):
    """Cover the facet ``F = {x : a.x = beta, A x <= b}`` by the regions across it.

    The general case of neighbour finding: locate the region ``Q`` across the centre of
    (a remaining piece of) ``F``, record the piece ``F ∩ Q`` it shares, split the rest of
    the piece by ``Q``'s constraints into convex pieces and repeat on each.

    Parameters
    ----------
    A, b : ndarray
        The other facets of the region (``a`` a unit vector, ``F`` lies in ``a.x = beta``).
    find : callable
        ``find(point, radius)`` -> ``(Q, AQ, bQ)`` -- the region across ``point`` and its
        constraints other than the one on the hyperplane -- or ``None``.
    tol : float
        Pieces whose ``(d-1)``-dimensional inscribed radius is ``<= tol`` are dropped.
    tolerances : Tolerances, optional
        The pivot and iteration limits of the in-plane Chebyshev LPs (``rs.tolerances``;
        default :data:`~polyregion.config.DEFAULT_TOLERANCES`).

    Returns
    -------
    list of (Q, point, radius)
        One entry per shared piece (``Q = -1``: a piece no region was found across).

    Examples
    --------
    A unit square's right edge ``x = 1`` seen by two bricks ``y < 0.3`` and ``y > 0.3``:

    >>> import numpy as np
    >>> from polyregion.graph import split_facet
    >>> A = np.array([[0.0, 1.0], [0.0, -1.0]]); b = np.array([1.0, 0.0])
    >>> def find(p, r):
    ...     if p[1] < 0.3:
    ...         return 1, np.array([[0.0, 1.0]]), np.array([0.3])
    ...     return 2, np.array([[0.0, -1.0]]), np.array([-0.3])
    >>> sorted((q, round(float(p[1]), 3)) for q, p, r in split_facet(A, b, np.array([1.0, 0.0]), 1.0, find, 1e-9))
    [(1, 0.15), (2, 0.65)]
    """
    from .enumerate._kernels_facets import cheb_in_plane

    a = np.ascontiguousarray(a, dtype=np.float64)
    out = []
    stack = [(np.asarray(A, float).reshape(-1, len(a)), np.asarray(b, float))]
    lpt = DEFAULT_TOLERANCES if tolerances is None else tolerances
    lp = dict(piv_tol=lpt.pivot, opt_tol=lpt.pivot * 1e-2, max_iter=lpt.max_simplex_iter)

    def cheb(Ar, br):
        Ar = np.ascontiguousarray(Ar, dtype=np.float64).reshape(-1, len(a))
        nr = np.linalg.norm(Ar, axis=1)
        nz = nr > 0
        if np.any(~nz & (np.asarray(br) < -tol)):
            return -1.0, None
        Ar, br = Ar[nz] / nr[nz, None], np.asarray(br, float)[nz] / nr[nz]
        r, c = cheb_in_plane(Ar, np.ascontiguousarray(br), np.arange(len(Ar), dtype=np.int64),
                             len(Ar), a, float(beta), tol, lp["piv_tol"], lp["opt_tol"],
                             lp["max_iter"])
        return r, c

    while stack and len(out) < max_pieces:
        Ap, bp = stack.pop()
        r, c = cheb(Ap, bp)
        if not r > tol:
            continue
        got = find(c, r)
        if got is None:
            out.append((-1, c, r))
            continue
        Q, AQ, bQ = got
        AQ = np.asarray(AQ, float).reshape(-1, len(a))
        bQ = np.asarray(bQ, float)
        r2, c2 = cheb(np.vstack([Ap, AQ]), np.concatenate([bp, bQ]))
        if r2 > tol:
            out.append((Q, c2, r2))
        else:  # the centre's neighbour shares nothing of positive size: stop here
            out.append((-1, c, r))
            continue
        # the rest: piece ∩ {AQ[0..t-1] satisfied} ∩ {AQ[t] violated}
        for t in range(len(AQ)):
            stack.append((np.vstack([Ap, AQ[:t], -AQ[t:t + 1]]),
                          np.concatenate([bp, bQ[:t], -bQ[t:t + 1]])))
    return out


# --------------------------------------------------------------------------- public API
def facets(rs, i):
    """The irredundant facets of region ``i`` (see :class:`Facets`).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> F = rs.facets(3)                 # the square [0, 1]^2
    >>> len(F), sorted(F.neighbours.tolist())
    (4, [-1, -1, 1, 2])
    """
    i = rs._check_i(i)
    cx = rs._cache.get("complex")
    if cx is None and rs.net.has_max:
        cx = complex_of(rs)
    if cx is not None:
        sl = slice(cx.ptr[i], cx.ptr[i + 1])
        nb = np.full(cx.ptr[i + 1] - cx.ptr[i], -1, np.int64)
        sel = cx.pieces["region"] == i
        for f, q in zip(cx.pieces["facet"][sel], cx.pieces["neighbour"][sel]):
            if nb[f - cx.ptr[i]] < 0:
                nb[f - cx.ptr[i]] = q
        return Facets(cx.A[sl].copy(), cx.b[sl].copy(),
                      [cx.facet_labels(f) for f in range(cx.ptr[i], cx.ptr[i + 1])],
                      cx.points[sl].copy(), cx.radii[sl].copy(), nb)
    ctx = _context(rs)
    flat, codes, order = ctx["flat"], ctx["codes"], ctx["order"]
    s = i
    if order is not None:
        s = int(np.flatnonzero(order == i)[0])
    (ptr, fa, fb, fc, fr, nbr, lptr, labs), _ = _run_facets(rs, flat, codes, ctx["pts"],
                                                            np.array([s]))
    if order is not None:
        nbr = np.where(nbr >= 0, order[np.maximum(nbr, 0)], -1)
    labels = [[tuple(int(v) for v in row) for row in labs[lptr[f]:lptr[f + 1]]]
              for f in range(len(fa))]
    return Facets(fa.copy(), flat.scale * fb + fa @ flat.center, labels, flat.to_enum(fc),
                  fr * flat.scale, nbr.astype(np.int64))


def vertices(rs, i):
    """Vertices of region ``i``: for ``dim == 2`` the polygon counter-clockwise.

    In other dimensions the vertices in lexicographic order (enumerated from the facets;
    meant for small regions in low dimension).

    Raises
    ------
    InvalidInputError
        The region is unbounded.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> (rs.vertices(3).round(6) + 0.0).tolist()     # the square [0, 1]^2
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    F = facets(rs, i)
    A, b = F.A, F.b
    d = rs.dim
    tol = rs.tolerances.feasibility * max(rs.domain.scale, 1.0)
    if d == 1:
        up, down = A[:, 0] > 0, A[:, 0] < 0
        if not up.any() or not down.any():
            raise InvalidInputError(f"Region {i} is unbounded: it has no finite vertices list.")
        return np.array([[np.max(b[down] / A[down, 0])], [np.min(b[up] / A[up, 0])]])
    if d == 2:
        ang = np.arctan2(A[:, 1], A[:, 0])
        o = np.argsort(ang)
        A, b, ang = A[o], b[o], ang[o]
        gaps = np.diff(np.concatenate([ang, ang[:1] + 2 * np.pi]))
        if len(A) < 3 or np.any(gaps >= np.pi - 1e-12):
            raise InvalidInputError(f"Region {i} is unbounded: its polygon has no closed "
                                    "vertex cycle.")
        V = []
        for f in range(len(A)):
            g = (f + 1) % len(A)
            V.append(np.linalg.solve(np.vstack([A[f], A[g]]), np.array([b[f], b[g]])))
        return np.array(V)
    from itertools import combinations

    V = []
    for idx in combinations(range(len(A)), d):
        M = A[list(idx)]
        if abs(np.linalg.det(M)) < 1e-12:
            continue
        v = np.linalg.solve(M, b[list(idx)])
        if np.all(A @ v <= b + 1e3 * tol) and not any(np.linalg.norm(v - w) <= 1e3 * tol for w in V):
            V.append(v)
    if not V:
        raise InvalidInputError(f"Region {i} has no vertices (it is unbounded).")
    V = np.array(V)
    return V[np.lexsort(V.T[::-1])]


@dataclass
class EdgeList:
    """The region adjacency graph as arrays (``adjacency(rs, as_networkx=False)``).

    Attributes
    ----------
    n_nodes : int
        Number of regions (nodes ``0 .. n_nodes-1``).
    u, v : ndarray of int, shape (n_edges,)
        The two regions of each edge, ``u < v``.
    a, b : ndarray, shapes (n_edges, dim) and (n_edges,)
        The facet's hyperplane: unit ``a``, region ``u`` in ``a . x <= b``.
    point, radius : ndarray, shapes (n_edges, dim) and (n_edges,)
        A point in the shared facet's relative interior and a ``(d-1)``-ball radius.
    neuron_ptr, neurons : ndarray of int
        Edge ``e`` is carried by the neurons ``neurons[neuron_ptr[e]:neuron_ptr[e+1]]``,
        rows ``(layer, unit, breakpoint)``.
    stats : dict
        As ``G.graph["stats"]`` of :func:`adjacency`.
    """

    n_nodes: int
    u: np.ndarray
    v: np.ndarray
    a: np.ndarray
    b: np.ndarray
    point: np.ndarray
    radius: np.ndarray
    neuron_ptr: np.ndarray
    neurons: np.ndarray
    stats: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.u)


def edge_list(rs):
    """The adjacency graph of a RegionSet as an :class:`EdgeList` (no networkx).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> el = pr.graph.edge_list(pr.enumerate_regions(net, pr.Box.cube(2)))
    >>> len(el), el.u.tolist(), el.v.tolist()
    (4, [0, 0, 1, 2], [1, 2, 3, 3])
    >>> el.neurons[el.neuron_ptr[2]:el.neuron_ptr[3]].tolist()     # edge (1, 3)
    [[0, 0, 0]]
    """
    cx = complex_of(rs)
    pc = cx.pieces
    reg, nbr, fac = pc["region"], pc["neighbour"], pc["facet"]
    ok = (nbr >= 0) & (nbr != reg)
    reg, nbr, fac = reg[ok], nbr[ok], fac[ok]
    lo, hi = np.minimum(reg, nbr), np.maximum(reg, nbr)
    key = lo * max(len(rs), 1) + hi
    fwd = reg < nbr
    # one piece per pair: prefer the one seen from the smaller region
    order = np.lexsort((~fwd, key))
    key_s = key[order]
    first = np.ones(len(order), bool)
    first[1:] = key_s[1:] != key_s[:-1]
    grp = np.cumsum(first) - 1
    n_pairs = int(first.sum())
    has_fwd = np.zeros(n_pairs, bool)
    has_bwd = np.zeros(n_pairs, bool)
    has_fwd[grp[fwd[order]]] = True
    has_bwd[grp[~fwd[order]]] = True
    uniq = order[first]
    sign = np.where(fwd[uniq], 1.0, -1.0)
    f = fac[uniq]
    # neuron labels of each edge's facet (domain labels left out)
    lidx, _ = _csr_take(cx.label_ptr, f)
    labs = cx.labels[lidx]
    edge_of = np.repeat(np.arange(len(f)), np.diff(cx.label_ptr)[f])
    keep = labs[:, 0] >= 0
    nptr = np.zeros(len(f) + 1, np.int64)
    np.cumsum(np.bincount(edge_of[keep], minlength=len(f)), out=nptr[1:])
    stats = dict(cx.stats, n_one_sided=int(np.sum(~(has_fwd & has_bwd))))
    return EdgeList(n_nodes=len(rs), u=lo[uniq], v=hi[uniq], a=cx.A[f] * sign[:, None],
                    b=cx.b[f] * sign, point=pc["point"][ok][uniq],
                    radius=pc["radius"][ok][uniq], neuron_ptr=nptr, neurons=labs[keep],
                    stats=stats)


def adjacency(rs, as_networkx=True):
    """The region adjacency graph.

    Nodes ``0 .. len(rs)-1`` with attributes ``index``, ``code`` (uint8 array) and
    ``point`` (interior point). An edge joins two regions sharing a ``(d-1)``-dimensional
    facet, with attributes ``neurons`` (tuple of ``(layer, unit, breakpoint)`` carrying
    the facet), ``hyperplane`` ``(a, b)`` (unit ``a``; the smaller-index region lies in
    ``a . x <= b``), ``point`` (in the facet's relative interior) and ``radius`` (a
    ``(d-1)``-ball of this radius around ``point`` lies in the shared facet). Graph
    attribute ``stats`` holds counters, including ``n_one_sided`` (edges seen from one
    region only; 0 for a consistent complex).

    Parameters
    ----------
    as_networkx : bool, default True
        ``False``: return the same graph as an :class:`EdgeList` of arrays, without
        building the networkx object (about half the cost on large 2-D complexes).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> G = pr.enumerate_regions(net, pr.Box.cube(2)).adjacency()
    >>> G.number_of_nodes(), sorted(G.edges())
    (4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    >>> G.edges[1, 3]["neurons"]
    ((0, 0, 0),)
    """
    import networkx as nx

    el = edge_list(rs)
    if not as_networkx:
        return el
    G = nx.Graph()
    with _gc_paused():
        data = [{"neurons": nu, "hyperplane": (a, b), "point": p, "radius": r}
                for nu, a, b, p, r in zip(_neuron_tuples(el), list(el.a), el.b.tolist(),
                                          list(el.point), el.radius.tolist())]
        _fill(G, len(rs), rs.codes, rs.points, el.u, el.v, data)
    G.graph["stats"] = el.stats
    G.graph["dim"] = rs.dim
    return G


def _neuron_tuples(el):
    """``neurons`` attribute of each edge: a tuple of ``(layer, unit, breakpoint)``."""
    nb = el.neurons
    if len(nb) == 0:
        return [()] * len(el)
    # one tuple object per distinct label
    base = nb.max(axis=0) + 2
    code = ((nb[:, 0] + 1) * base[1] + nb[:, 1]) * base[2] + nb[:, 2]
    ucode, first, inv = np.unique(code, return_index=True, return_inverse=True)
    single = [(tuple(int(x) for x in nb[i]),) for i in first.tolist()]
    cnt = np.diff(el.neuron_ptr)
    out = [()] * len(el)
    one = np.flatnonzero(cnt == 1)
    for e, k in zip(one.tolist(), inv[el.neuron_ptr[one]].tolist()):
        out[e] = single[k]
    for e in np.flatnonzero(cnt > 1).tolist():
        out[e] = tuple(single[k][0] for k in inv[el.neuron_ptr[e]:el.neuron_ptr[e + 1]])
    return out


class _gc_paused:
    """Pause the cyclic garbage collector while many small containers are built (its
    passes over the growing graph otherwise dominate the cost)."""

    def __enter__(self):
        import gc

        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        import gc

        if self.enabled:
            gc.enable()


def _fill(G, n, codes, points, us, vs, data):
    """Fill the empty graph ``G`` with nodes ``0..n-1`` and the edges ``(us[e], vs[e])``
    (arrays, no repeated pairs) with attribute dicts ``data[e]``.

    Equivalent to ``add_nodes_from`` + ``add_edges_from`` but writes networkx's
    dict-of-dicts (``G._node``, ``G._adj``, the documented data structure of
    :class:`networkx.Graph`) directly, without add_edges_from's per-edge checks and
    attribute merging, and with the same neighbour order: about 3.5x faster on 10^5
    edges.
    """
    import networkx as nx

    if type(G) is not nx.Graph or len(G):
        G.add_nodes_from((i, {"index": i, "code": c, "point": p})
                         for i, c, p in zip(range(n), codes, points))
        G.add_edges_from(zip(us.tolist(), vs.tolist(), data))
        return
    G._node.update({i: {"index": i, "code": c, "point": p}
                    for i, c, p in zip(range(n), list(codes), list(points))})
    # neighbours in the order add_edges_from gives them
    adj = [{} for _ in range(n)]
    for u, v, d in zip(us.tolist(), vs.tolist(), data):
        adj[u][v] = d
        adj[v][u] = d
    G._adj.update(zip(range(n), adj))
    clear = getattr(nx, "_clear_cache", None)
    if clear is not None:
        clear(G)


def _jacobians(rs):
    from .enumerate._kernels_facets import jacobians

    if rs.net.has_max:  # per region, from the network's affine maps
        return np.array([rs.affine_map(i)[0] for i in range(len(rs))]).reshape(
            len(rs), rs.net.output_dim, rs.dim)
    ctx = _context(rs)
    flat = ctx["flat"]
    J = jacobians(flat.W_flat, flat.W_off, flat.dims, flat.slopes, np.ascontiguousarray(rs.codes))
    return J / flat.scale  # d f / d t


def linear_regions(rs, rtol=1e-9):
    """Merge adjacent activation regions whose affine maps are equal.

    Two adjacent regions agree on their shared facet, so their maps are equal exactly
    when their Jacobians are: ``|J_P - J_Q| <= rtol * max(|J_P|, |J_Q|)`` (Frobenius).

    Returns
    -------
    LinearRegions

    Examples
    --------
    A neuron with zero outgoing weight splits the plane but not the function:

    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, 0.0]])],
    ...                              [np.zeros(2), np.zeros(1)])
    >>> lr = pr.enumerate_regions(net, pr.Box.cube(2)).linear_regions()
    >>> lr.n_activation, lr.n_linear
    (4, 2)
    """
    n = len(rs)
    J = _jacobians(rs).reshape(n, -1)
    pc = complex_of(rs).pieces
    P, Q = pc["region"], pc["neighbour"]
    m = Q >= 0
    P, Q = P[m], Q[m]
    nJ = np.linalg.norm(J, axis=1)
    diff = np.linalg.norm(J[P] - J[Q], axis=1)
    same = diff <= rtol * np.maximum(np.maximum(nJ[P], nJ[Q]), 1e-300)
    same |= (nJ[P] == 0) & (nJ[Q] == 0)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(int(same.sum())), (P[same], Q[same])), shape=(n, n))
    k, lab = connected_components(g, directed=False)
    # renumber by first appearance
    _, first = np.unique(lab, return_index=True)
    rank = np.empty(k, np.int64)
    rank[np.argsort(first)] = np.arange(k)
    return LinearRegions(labels=rank[lab], n_linear=int(k), n_activation=n)


def decision_regions(rs):
    """The decision boundary ``{f = 0}`` of a one-output network, region by region.

    Returns
    -------
    DecisionBoundary

    Raises
    ------
    InvalidInputError
        The network has more than one output.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, -1.0]])],
    ...                              [np.zeros(2), np.array([-0.5])])
    >>> db = pr.enumerate_regions(net, pr.Box.cube(2)).decision_regions()
    >>> db.regions.tolist()              # f = relu(x) - relu(y) - 0.5
    [2, 3]
    """
    from .enumerate._kernels_facets import plane_pieces

    if rs.net.output_dim != 1:
        raise InvalidInputError(
            f"`decision_regions` needs a network with one output; this one has "
            f"{rs.net.output_dim}.")
    n = len(rs)
    cx = complex_of(rs)
    J = _jacobians(rs)[:, 0, :]  # (n, dim) in enumeration coordinates
    f_pts = rs.enum_net.forward(rs.points)[:, 0]
    c0 = f_pts - np.einsum("ij,ij->i", J, rs.points)
    nrm = np.linalg.norm(J, axis=1)
    flat_f = nrm <= 1e-12 * max(float(nrm.max(initial=0.0)), 1e-300)
    zero = flat_f & (np.abs(c0) <= 1e-12 * max(float(np.abs(f_pts).max(initial=0.0)), 1e-300))
    Ha = np.where(flat_f[:, None], 0.0, -J / np.where(flat_f, 1.0, nrm)[:, None])
    Hb = np.where(flat_f, 0.0, c0 / np.where(flat_f, 1.0, nrm))
    # in unit coordinates: -J.t <= c0  <=> f >= 0 ; plane {J.t + c0 = 0} = {Ha.t = Hb}
    flat = _context(rs)["flat"]
    Hb_u = (Hb - Ha @ flat.center) / flat.scale if n else Hb
    fa_u, fb_u = cx.A, (cx.b - np.einsum("ij,j->i", cx.A, flat.center)) / flat.scale
    R, C = plane_pieces(cx.ptr, np.ascontiguousarray(fa_u), np.ascontiguousarray(fb_u),
                        np.ascontiguousarray(Ha), np.ascontiguousarray(Hb_u),
                        rs.tolerances.feasibility, rs.tolerances.pivot,
                        rs.tolerances.pivot * 1e-2, rs.tolerances.max_simplex_iter)
    cross = (R > rs.tolerances.feasibility) & ~flat_f
    idx = np.flatnonzero(cross)
    G = adjacency(rs).subgraph(idx.tolist()).copy()
    return DecisionBoundary(regions=idx, A=-Ha[idx], b=-Hb[idx], points=flat.to_enum(C[idx]),
                            radii=R[idx] * flat.scale, zero_regions=np.flatnonzero(zero),
                            graph=G)


# --------------------------------------------------------------------------- export
_NODE_JSON = ("code", "point")
_EDGE_JSON = ("neurons", "hyperplane", "point")


def _jsonable(key, v):
    if key == "hyperplane":
        a, b = v
        return json.dumps([np.asarray(a, float).tolist(), float(b)])
    if key == "neurons":
        return json.dumps([list(map(int, t)) for t in v])
    return json.dumps(np.asarray(v).tolist())


def write_graphml(G, path):
    """Write an adjacency graph to GraphML; arrays and tuples become JSON strings.

    Examples
    --------
    >>> import numpy as np, polyregion as pr, tempfile, os
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> G = pr.enumerate_regions(net, pr.Box.cube(2)).adjacency()
    >>> p = os.path.join(tempfile.mkdtemp(), "g.graphml")
    >>> pr.graph.write_graphml(G, p)
    >>> H = pr.graph.read_graphml(p)
    >>> sorted(H.edges()) == sorted(G.edges()), H.edges[1, 3]["neurons"]
    (True, ((0, 0, 0),))
    """
    import networkx as nx

    H = nx.Graph()
    H.graph["dim"] = int(G.graph.get("dim", 0))
    H.graph["stats"] = json.dumps(G.graph.get("stats", {}))
    for n, d in G.nodes(data=True):
        H.add_node(n, **{k: (_jsonable(k, v) if k in _NODE_JSON else v) for k, v in d.items()})
    for u, v, d in G.edges(data=True):
        H.add_edge(u, v, **{k: (_jsonable(k, x) if k in _EDGE_JSON else x) for k, x in d.items()})
    nx.write_graphml(H, path)


def read_graphml(path):
    """Read a graph written by :func:`write_graphml`, restoring arrays and tuples."""
    import networkx as nx

    try:
        H = nx.read_graphml(path, node_type=int)
    except Exception as exc:
        raise FileFormatError(f"{path!r} is not a readable GraphML file: {exc}") from None
    G = nx.Graph()
    G.graph["dim"] = int(H.graph.get("dim", 0))
    G.graph["stats"] = json.loads(H.graph.get("stats", "{}"))
    for n, d in H.nodes(data=True):
        G.add_node(n, index=int(d.get("index", n)),
                   code=np.array(json.loads(d["code"]), np.uint8),
                   point=np.array(json.loads(d["point"]), float))
    for u, v, d in H.edges(data=True):
        a, b = json.loads(d["hyperplane"])
        G.add_edge(u, v, neurons=tuple(tuple(t) for t in json.loads(d["neurons"])),
                   hyperplane=(np.array(a, float), float(b)),
                   point=np.array(json.loads(d["point"]), float), radius=float(d["radius"]))
    return G


def save_edges(G, path):
    """Save an adjacency graph as an npz edge list (no pickles).

    Arrays: ``codes``, ``points`` (nodes); ``u``, ``v``, ``a``, ``b``, ``point``,
    ``radius``, ``neuron_ptr``, ``neurons`` (edges).
    """
    nodes = sorted(G.nodes())
    if nodes != list(range(len(nodes))):
        raise InvalidInputError("`G` must have nodes 0..n-1 (an adjacency graph).")
    d = int(G.graph.get("dim", 0))
    E = sorted((min(u, v), max(u, v)) for u, v in G.edges())
    att = [G.edges[e] for e in E]
    nptr = np.concatenate([[0], np.cumsum([len(x["neurons"]) for x in att])]).astype(np.int64)
    neurons = np.array([t for x in att for t in x["neurons"]], np.int64).reshape(-1, 3)
    np.savez_compressed(
        path, format=np.array("polyregion-edges-1"), dim=np.array(d),
        codes=np.array([G.nodes[i]["code"] for i in nodes], np.uint8).reshape(len(nodes), -1),
        points=np.array([G.nodes[i]["point"] for i in nodes], float).reshape(len(nodes), -1),
        u=np.array([e[0] for e in E], np.int64), v=np.array([e[1] for e in E], np.int64),
        a=np.array([x["hyperplane"][0] for x in att], float).reshape(len(E), -1),
        b=np.array([x["hyperplane"][1] for x in att], float),
        point=np.array([x["point"] for x in att], float).reshape(len(E), -1),
        radius=np.array([x["radius"] for x in att], float), neuron_ptr=nptr, neurons=neurons,
        stats=np.array(json.dumps(G.graph.get("stats", {}))))


def load_edges(path):
    """Read an npz edge list written by :func:`save_edges` back into a graph."""
    import networkx as nx

    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:
        raise FileFormatError(f"{path!r} is not a readable npz file: {exc}") from None
    if str(data.get("format", "")) != "polyregion-edges-1":
        raise FileFormatError(f"{path!r} is not a polyregion edge list (format "
                              f"'polyregion-edges-1').")
    G = nx.Graph()
    G.graph["dim"] = int(data["dim"])
    G.graph["stats"] = json.loads(str(data["stats"]))
    for i in range(len(data["codes"])):
        G.add_node(i, index=i, code=data["codes"][i], point=data["points"][i])
    p = data["neuron_ptr"]
    for e in range(len(data["u"])):
        G.add_edge(int(data["u"][e]), int(data["v"][e]),
                   neurons=tuple(tuple(int(x) for x in t) for t in data["neurons"][p[e]:p[e + 1]]),
                   hyperplane=(data["a"][e], float(data["b"][e])), point=data["point"][e],
                   radius=float(data["radius"][e]))
    return G
