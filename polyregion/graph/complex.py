"""The facet complex of a RegionSet: every region's irredundant facets and the region across each.

:func:`complex_of` runs the facet kernels (:mod:`._kernels_walk` on bounded 2-D/3-D
domains, :mod:`._kernels_region` elsewhere and for the regions the walk leaves), checks
every neighbour match (:func:`._kernels_region.verify_neighbours`) and repairs the rest by
:func:`split_facet`. The result, a :class:`Complex`, is cached on the RegionSet; every
other graph function reads it. See :mod:`polyregion.graph` for the method and its cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


from ..config import DEFAULT_TOLERANCES
from ..enumerate.engine import Prepared
from ..network import cell_codes, domain_frame
from ..config import DUPLICATE, ON_PLANE

# --------------------------------------------------------------------------- flat network
class _Flat(Prepared):
    """The network in unit-scale coordinates ``x = (t - center) / scale``, flattened: the
    engine's own preparation (:class:`polyregion.enumerate.engine.Prepared`) without its
    power-of-two layer rescaling, since the graph also evaluates true outputs."""

    def __init__(self, rs):
        # no layer rescaling: the graph also evaluates the network's true outputs
        net = rs.net
        if net.has_max:  # the same function; only its scaling and outputs are used
            from ..enumerate._maxpool import expansion_for

            net = expansion_for(net, rs.domain).net
        super().__init__(net, rs.domain, normalise=False)
        self.A0 = self.A0.reshape(-1, rs.domain.dim)

    def to_unit(self, t):
        return (np.asarray(t, float) - self.center) / self.scale

    def to_enum(self, x):
        return self.center + self.scale * np.asarray(x, float)

    def row_to_enum(self, a, b):
        """Row ``a.x <= b`` in unit coordinates -> ``a.t <= b'`` in enumeration coords."""
        return a, self.scale * b + a @ self.center


def _sorted_codes(rs):
    from ._kernels_codes import codes_sorted

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

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> F = pr.graph.facets(rs, 3)           # the square [0, 1]^2
    >>> len(F), F.A.shape, F.labels[2], F.neighbours.tolist()
    (4, (4, 2), [(0, 0, 0)], [-1, -1, 1, 2])
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

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> cx = pr.graph.complex_of(rs)
    >>> cx.ptr.tolist(), cx.A.shape, cx.facet_labels(cx.ptr[3])
    ([0, 4, 8, 12, 16], (16, 2), [(-1, 0, 0)])
    >>> sorted(cx.pieces)
    ['facet', 'neighbour', 'point', 'radius', 'region']
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
    from ._kernels_region import N_FACET_STATS, region_facets

    t = _tols(rs)
    stats = np.zeros(N_FACET_STATS, np.int64)
    mode = _box_mode(rs) if box_mode is None else box_mode
    out = region_facets(flat.flat, flat.A0, flat.b0, codes, pts_unit,
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
    from ._kernels_region import N_FACET_STATS
    from ._kernels_walk import polygon_facets, walk_facets

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
                flat.flat, len(flat.b0), polygons["polys"], polygons["pptr"],
                polygons["doubt"], codes, Z, t["tol"], t["zero_tol"], t["on_tol"], stats)
            return _with_redo(rs, ctx, blocks, status, stats)
        ok, status, *walk = walk_facets(flat.flat, flat.A0, flat.b0, codes, Z, t["tol"],
                                        t["zero_tol"], t["dup_tol"], t["on_tol"], stats)
        if ok:
            return _with_redo(rs, ctx, walk, status, stats)
    blocks, stats = _run_facets(rs, flat, codes, ctx["pts"], np.arange(n))
    return blocks, stats, n


def _with_redo(rs, ctx, walk, status, stats):
    """The facet blocks (and counters, number redone) of a walk's output ``(ptr, fa, fb,
    fc, fr, nbr, labs)`` (one label per facet), its :data:`WALK_REDO` regions recomputed
    by :func:`_run_facets`."""
    from ._kernels_walk import WALK_REDO

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
        from ._max import max_complex

        rs._cache["complex"] = max_complex(rs)
        return rs._cache["complex"]
    import time

    from ._kernels_region import NB_OK, verify_neighbours

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
    from ._kernels_codes import code_across, find_code

    flat, codes = ctx["flat"], ctx["codes"]
    t = _tols(rs)
    beta = float(normal @ point)
    cands = []
    q = code_across(flat.flat, np.ascontiguousarray(point), np.ascontiguousarray(normal),
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
    from ._kernels_poly import cheb_in_plane

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

