"""Numba kernels of the graph: one region's irredundant facets and the check of its neighbours.

Facets of a region ``P = {x : a_j . x <= b_j}`` (unit rows, all neuron hyperplanes of the
region plus the domain). Row ``j`` carries a facet when ``F_j = P ∩ {a_j . x = b_j}`` holds
a ``(d-1)``-ball of radius ``> tol`` inside the hyperplane. That radius and a centre are
found by the Chebyshev LP inside the hyperplane (:func:`._kernels_poly.cheb_in_plane`),
solved over a small working set ``S`` of rows and completed by constraint generation:
rows that the centre's ball violates join ``S`` and the LP is solved again, so the answer
is exact for all rows. Rows are visited in order of their distance from the region's
interior point; a row whose hyperplane misses an outer box of
``P_S = {a_j . x <= b_j, j in S}`` (interval propagation, or ``2 d`` small LPs by the
engine's LP core :func:`polyregion.enumerate._kernels_simplex.bd_max`, each bound
certified by weak duality) is dropped without an LP. Rows of the same hyperplane
(duplicate neurons) form one facet with several labels. In 2-D and 3-D the region's
polygon/polytope is clipped instead and only doubtful rows get an LP.

:func:`verify_neighbours` checks each facet's match against the neighbour's own facets
(same hyperplane, holding the facet's centre, covering the facet) and flags the rest for
the Python layer (:func:`polyregion.graph.split_facet`).

Cost: per region ``2 d`` box LPs and one small LP per candidate facet (2-D/3-D: one
clip per row), then one binary search per facet.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import (
    BALL_CERT_ATOL, BALL_CERT_RTOL, CERT_REACH_ATOL, DOMAIN_CUBE_HALF, IN_PLANE_ZERO_SQ, OPPOSITE_PLANE_COS, SAME_PLANE_COS,
)
from ..enumerate._kernels_engine import VERTEX_PTOL, _box_max, _tighten
from ..enumerate._kernels_simplex import BD_OPTIMAL, bd_max
from ._kernels_codes import (
    _across, _dot, _flip_code, _grow1, _grow2, _layer_maps, _map_cache, _on_domain,
    _rows_from_maps, find_code,
)
from ._kernels_poly import (
    CLIP_EPS, _cert_in_plane, _clip2, _edge_centre, _face_cheb, _sphere, cheb_in_plane, clip3,
    cube_polytope, domain_polygon_rows, domain_polytope,
)

# verify_neighbours status codes
NB_OK = 0


NB_DOMAIN = 1  # domain facet: no neighbour


NB_NOT_FOUND = 2  # the code across is not a region


NB_NO_MATCH = 3  # the neighbour has no facet on the same hyperplane holding the centre


NB_SPLIT = 4  # the neighbour's facet does not cover the whole facet


@njit(cache=True)
def _facet_lp(A, b, j, S, nS, in_S, tol, piv_tol, opt_tol, max_iter, counter):
    """Chebyshev ball of the facet ``P ∩ {a_j.x = b_j}`` by constraint generation.

    Rows violated by the current ball join ``S`` (in place). Returns ``(r, c, nS)``.
    """
    m, k = A.shape
    a = A[j]
    rows = np.empty(m, np.int64)
    while True:
        counter[0] += 1
        n_rows = 0
        for i in range(nS):
            if S[i] != j:
                rows[n_rows] = S[i]
                n_rows += 1
        r, c = cheb_in_plane(A, b, rows, n_rows, a, b[j], tol, piv_tol, opt_tol, max_iter)
        if not (r > tol):
            return r, c, nS
        # check the other rows against the ball
        added = 0
        for i in range(m):
            if in_S[i] or i == j:
                continue
            cos = _dot(A[i], a)
            nu2 = 1.0 - cos * cos
            sl = b[i] - _dot(A[i], c)
            if nu2 <= IN_PLANE_ZERO_SQ:
                if sl < -tol:
                    return -1.0, c, nS
                continue
            if sl < r * np.sqrt(nu2) * (1.0 - BALL_CERT_RTOL) - BALL_CERT_ATOL:
                S[nS] = i
                in_S[i] = True
                nS += 1
                added += 1
        if added == 0:
            return r, c, nS


@njit(cache=True)
def _same_plane(A, b, r, i, dup_tol):
    """Rows ``r`` and ``i`` are the same hyperplane (same side)."""
    return abs(b[r] - b[i]) <= dup_tol and _dot(A[r], A[i]) >= 1.0 - SAME_PLANE_COS


@njit(cache=True)
def _is_dup(A, b, rows, n_rows, j, dup_tol):
    """Row ``j`` is the same hyperplane as one of ``rows[:n_rows]``."""
    for f in range(n_rows):
        if _same_plane(A, b, rows[f], j, dup_tol):
            return True
    return False


@njit(cache=True)
def _decide_rest(A, b, order, is_face, doubt, dcen, rad, VV, nv, S, nS, in_S, nfo, frow_out,
                 fc_out, fr_out, tol, dup_tol, piv_tol, opt_tol, max_iter, stats):
    """The clipping screen's last steps (2-D and 3-D): a row that is not a face is
    redundant when the polytope (vertices ``VV[:nv, :k]``, bounding ball ``rad`` with row
    slacks ``dcen`` at its centre) stays farther than ``dup_tol`` from its plane, else
    doubtful; doubtful rows (and faces whose check failed) that do not duplicate a facet
    get the exact in-plane LP, nearest first. Returns the number of facets."""
    m, k = A.shape
    for t in range(m):
        j = order[t]
        if is_face[j]:
            continue
        if rad - dcen[j] < -dup_tol:
            stats[3] += 1
            continue
        smax = -np.inf
        for v in range(nv):
            sv = 0.0
            for e in range(k):
                sv += A[j, e] * VV[v, e]
            sv -= b[j]
            if sv > smax:
                smax = sv
        if smax < -dup_tol:
            stats[3] += 1
        else:
            doubt[j] = True
    # doubtful rows: exact in-plane LP (after the duplicate test), nearest first
    for t in range(m):
        j = order[t]
        if not doubt[j]:
            continue
        if _is_dup(A, b, frow_out, nfo, j, dup_tol):
            continue
        stats[0] += 1
        r, c, nS = _facet_lp(A, b, j, S, nS, in_S, tol, piv_tol, opt_tol, max_iter,
                             stats[6:7])
        if r > tol:
            frow_out[nfo] = j
            fc_out[nfo] = c
            fr_out[nfo] = r
            nfo += 1
    return nfo


@njit(cache=True)
def _facets_clip(A, b, lab, p, order, DV, Dnv, Dfv, Dfs, Dfrow, Dnf, tol, dup_tol, piv_tol,
                 opt_tol, max_iter, eps, frow_out, fc_out, fr_out, stats):
    """Facets of one 3-D region by clipping the domain polytope with its rows (see
    :func:`region_facets`, ``box_mode = 2``). Returns the number of facets, or -1 when the
    clipping degenerates (the caller then uses LPs)."""
    m = A.shape[0]
    V, nv, fv, fs, frow, nfc = DV, Dnv, Dfv, Dfs, Dfrow, Dnf
    cen = np.empty(3)
    rad = _sphere(V, nv, cen)
    for t in range(m):
        j = order[t]
        if lab[j, 0] < 0:
            continue  # domain rows: already faces of the domain polytope
        # a plane beyond the polytope's bounding sphere cannot cut it
        if A[j, 0] * cen[0] + A[j, 1] * cen[1] + A[j, 2] * cen[2] - b[j] + rad <= eps:
            continue
        st, V, nv, fv, fs, frow, nfc = clip3(V, nv, fv, fs, frow, nfc, A[j], b[j], j, eps)
        if st == 2:
            return -1
        if st == 1:
            stats[8] += 1
            rad = _sphere(V, nv, cen)
    # every row: is it a face, clearly off the polytope, or doubtful?
    dcen = np.empty(m)
    for i in range(m):
        dcen[i] = b[i] - A[i, 0] * cen[0] - A[i, 1] * cen[1] - A[i, 2] * cen[2]
    lim = 2.0 * rad + CERT_REACH_ATOL
    is_face = np.zeros(m, np.bool_)
    for f in range(nfc):
        is_face[frow[f]] = True
    S = np.empty(m, np.int64)
    in_S = np.zeros(m, np.bool_)
    nS = 0
    for f in range(nfc):
        S[nS] = frow[f]
        in_S[frow[f]] = True
        nS += 1
    doubt = np.zeros(m, np.bool_)
    nfo = 0
    for f in range(nfc):
        j = frow[f]
        r, c = _face_cheb(A, b, j, frow, nfc, tol)
        rho = _cert_in_plane(A, b, j, c, tol, dcen, lim)
        if r > tol and rho >= r * (1.0 - BALL_CERT_RTOL) - BALL_CERT_ATOL:
            frow_out[nfo] = j
            fc_out[nfo] = c
            fr_out[nfo] = min(r, rho, 1.0)
            nfo += 1
        else:
            doubt[j] = True
    return _decide_rest(A, b, order, is_face, doubt, dcen, rad, V, nv, S, nS, in_S, nfo,
                        frow_out, fc_out, fr_out, tol, dup_tol, piv_tol, opt_tol, max_iter,
                        stats)


@njit(cache=True)
def _facets_clip2(A, b, lab, order, P0, tol, dup_tol, piv_tol, opt_tol, max_iter, eps,
                  frow_out, fc_out, fr_out, stats):
    """Facets of one 2-D region by clipping the domain polygon (as :func:`_facets_clip`);
    -1 when the clipping degenerates."""
    m = A.shape[0]
    P = P0
    cen = np.empty(2)
    rad = _sphere(P, P.shape[0], cen)
    for t in range(m):
        j = order[t]
        if lab[j, 0] < 0:
            continue
        if A[j, 0] * cen[0] + A[j, 1] * cen[1] - b[j] + rad <= eps:
            continue
        st, P = _clip2(P, A[j], b[j], j, eps)
        if st == 2:
            return -1
        if st == 1:
            stats[8] += 1
            rad = _sphere(P, P.shape[0], cen)
    nv = P.shape[0]
    dcen = np.empty(m)
    for i in range(m):
        dcen[i] = b[i] - A[i, 0] * cen[0] - A[i, 1] * cen[1]
    lim = 2.0 * rad + CERT_REACH_ATOL
    is_face = np.zeros(m, np.bool_)
    S = np.empty(m, np.int64)
    in_S = np.zeros(m, np.bool_)
    nS = 0
    for e in range(nv):
        j = int(P[e, 2])
        if not in_S[j]:
            S[nS] = j
            in_S[j] = True
            nS += 1
    doubt = np.zeros(m, np.bool_)
    c = np.empty(2)
    nfo = 0
    for e in range(nv):
        j = int(P[e, 2])
        if is_face[j]:  # two edges on one row: not a clean polygon
            doubt[j] = True
            continue
        is_face[j] = True
        r = _edge_centre(P, e, A[j], b[j], c)  # the exact centre lies on the row's line
        rho = _cert_in_plane(A, b, j, c, tol, dcen, lim)
        if r > tol and rho >= r * (1.0 - BALL_CERT_RTOL) - BALL_CERT_ATOL:
            frow_out[nfo] = j
            fc_out[nfo, 0] = c[0]
            fc_out[nfo, 1] = c[1]
            fr_out[nfo] = min(r, rho, 1.0)
            nfo += 1
        else:
            doubt[j] = True
    g = 0
    for f in range(nfo):  # drop faces found twice: the LP decides them
        if not doubt[frow_out[f]]:
            frow_out[g] = frow_out[f]
            fc_out[g] = fc_out[f]
            fr_out[g] = fr_out[f]
            g += 1
    nfo = g
    return _decide_rest(A, b, order, is_face, doubt, dcen, rad, P, nv, S, nS, in_S, nfo,
                        frow_out, fc_out, fr_out, tol, dup_tol, piv_tol, opt_tol, max_iter,
                        stats)


@njit(cache=True)
def _facets_lp(A, b, lab, p, order, lo0, hi0, tol, dup_tol, piv_tol, opt_tol, max_iter,
               box_mode, frow_out, fc_out, fr_out, stats):
    """Facets of one region by in-hyperplane LPs (see :func:`region_facets`). Returns the
    number of facets, written to ``frow_out, fc_out, fr_out``."""
    m, k = A.shape
    lo = np.empty(k)
    hi = np.empty(k)
    cv = np.zeros(k)
    S = np.empty(m, np.int64)
    in_S = np.zeros(m, np.bool_)
    nS = 0
    for i in range(m):
        if lab[i, 0] == -1:
            S[nS] = i
            in_S[i] = True
            nS += 1
    box_ok = False
    box_nS = -1
    if box_mode == 0:
        lo[:] = lo0
        hi[:] = hi0
        box_ok = True
        box_nS = nS
    free_lo = np.full(k, -np.inf)
    free_hi = np.full(k, np.inf)
    nf = 0
    n_tested = 0
    for t in range(m):
        j = order[t]
        if box_ok and _box_max(A[j], lo, hi) < b[j] - tol:
            stats[3] += 1
            continue
        if _is_dup(A, b, frow_out, nf, j, dup_tol):
            continue  # same hyperplane as a facet: its label is collected later
        stats[0] += 1
        r, c, nS = _facet_lp(A, b, j, S, nS, in_S, tol, piv_tol, opt_tol, max_iter,
                             stats[6:7])
        n_tested += 1
        if r > tol:
            frow_out[nf] = j
            fc_out[nf] = c
            fr_out[nf] = r
            nf += 1
            if not in_S[j]:
                S[nS] = j
                in_S[j] = True
                nS += 1
        if box_mode == 0 and nS != box_nS:
            for _ in range(2):
                for i in range(nS):
                    _tighten(lo, hi, A[S[i]], b[S[i]] + tol)
            box_nS = nS
        if box_mode == 1 and nS != box_nS and n_tested >= k + 1:
            box_nS = nS
            box_ok = True
            for e in range(k):
                for sg in range(2):
                    cv[:] = 0.0
                    cv[e] = 1.0 if sg == 0 else -1.0
                    stats[1] += 1
                    st, val, bound, xv, n_it = bd_max(A, b, S[:nS], free_lo, free_hi, cv,
                                                      VERTEX_PTOL, piv_tol, max_iter, -np.inf)
                    stats[5] += n_it
                    if st == BD_OPTIMAL and bound < np.inf:
                        # the certified bound, not the vertex's value: valid whatever
                        # rounding did to the iterations
                        if sg == 0:
                            hi[e] = bound + tol
                        else:
                            lo[e] = -bound - tol
                    else:
                        box_ok = False
                if not box_ok:
                    break
    return nf


# --------------------------------------------------------------------------- driver
N_FACET_STATS = 10


@njit(cache=True)
def region_facets(net, A0, b0, codes, points, regs, tol, zero_tol, dup_tol, on_tol, piv_tol,
                  opt_tol, max_iter, box_mode, stats):
    """Facets of the regions ``regs`` and the region across each facet.

    Returns CSR arrays: ``ptr`` (len(regs)+1) into facets; per facet the unit row ``fa``,
    ``fb``, a centre ``fc`` in its relative interior, its radius ``fr``, the neighbour
    ``nbr`` (-1: domain facet or not a region), and ``lptr`` into the labels ``labs``.

    ``box_mode``: how rows are screened before their facet LP. 0: an outer box of the
    working set by interval propagation; 1: by ``2 d`` LPs; 2 (``d = 2`` or ``3``, bounded
    domain inside the unit ball): no screening LPs at all -- the domain polygon/polytope is
    clipped by the region's rows (nearest first, :func:`clip3`), each face's Chebyshev
    ball inside its plane is found (2-D: the edge's midpoint; 3-D: the vertex candidates
    of the 2-D LP over the face rows) and verified against every row; rows whose plane stays farther than ``dup_tol`` from the
    clipped polytope are redundant; the rest (faces whose check fails, rows touching the
    polytope) get the exact LP, and a region whose clipping degenerates falls back to
    mode 1. ``stats`` (length :data:`N_FACET_STATS`): [facet LPs, box LPs, rows, rows
    dropped, tangent forward passes, box simplex iterations, facet LP rounds, layer maps
    recomputed, polytope cuts, regions that fell back to LPs].
    """
    W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts = net
    k = dims[0]
    nreg = regs.shape[0]
    ptr = np.zeros(nreg + 1, np.int64)
    fa = np.empty((16, k))
    fb = np.empty(16)
    fc = np.empty((16, k))
    fr = np.empty(16)
    nbr = np.empty(16, np.int64)
    lptr = np.zeros(17, np.int64)
    labs = np.empty((16, 3), np.int64)
    nf = 0
    nl = 0
    nn = codes.shape[1]
    dims_off = np.zeros(dims.shape[0], np.int64)
    for l in range(1, dims.shape[0]):
        dims_off[l] = dims_off[l - 1] + dims[l]
    lo0 = np.full(k, -np.inf)
    hi0 = np.full(k, np.inf)
    for _ in range(3):
        for i in range(A0.shape[0]):
            _tighten(lo0, hi0, A0[i], b0[i])
    eps = CLIP_EPS
    clip = box_mode == 2 and (k == 2 or k == 3)
    DV, Dnv, Dfv, Dfs, Dfrow, Dnf = cube_polytope(DOMAIN_CUBE_HALF)
    P0 = np.zeros((0, 5))
    if clip and k == 3:
        ok, DV, Dnv, Dfv, Dfs, Dfrow, Dnf = domain_polytope(A0, b0, eps)
        clip = ok
    elif clip:
        ok, P0 = domain_polygon_rows(A0, b0, eps)
        clip = ok
    Gc, gc, zc = _map_cache(dims, k)
    prev = np.zeros(nn, np.uint8)
    n_hidden = dims.shape[0] - 2
    for ri in range(nreg):
        reg = regs[ri]
        code = codes[reg]
        start = 0
        if ri > 0:
            start = n_hidden
            for l in range(n_hidden - 1):
                same = True
                for t in range(dims_off[l], dims_off[l + 1]):
                    if code[t] != prev[t]:
                        same = False
                        break
                if not same:
                    start = l + 1
                    break
        prev[:] = code
        stats[7] += n_hidden - start
        _layer_maps(W_flat, W_off, b_flat, b_off, dims, slopes, intercepts, code, Gc, gc, zc,
                    start)
        A, b, lab = _rows_from_maps(dims, n_bp, bps, A0, b0, code, Gc, gc, zc, zero_tol)
        m = A.shape[0]
        stats[2] += m
        p = points[reg]
        slack = np.empty(m)
        for i in range(m):
            slack[i] = b[i] - _dot(A[i], p)
        order = np.argsort(slack)
        frow = np.empty(m, np.int64)  # row of each facet of this region
        fcen = np.empty((m, k))
        frad = np.empty(m)
        nloc = -1
        if clip and k == 3:
            nloc = _facets_clip(A, b, lab, p, order, DV, Dnv, Dfv, Dfs, Dfrow, Dnf, tol,
                                dup_tol, piv_tol, opt_tol, max_iter, eps, frow, fcen, frad,
                                stats)
        elif clip:
            nloc = _facets_clip2(A, b, lab, order, P0, tol, dup_tol, piv_tol, opt_tol,
                                 max_iter, eps, frow, fcen, frad, stats)
            if nloc < 0:
                stats[9] += 1
        if nloc < 0:
            nloc = _facets_lp(A, b, lab, p, order, lo0, hi0, tol, dup_tol, piv_tol, opt_tol,
                              max_iter, 1 if box_mode == 2 else box_mode, frow, fcen, frad,
                              stats)
        f0 = nf
        for t in range(nloc):
            fa = _grow2(fa, nf)
            fb = _grow1(fb, nf)
            fc = _grow2(fc, nf)
            fr = _grow1(fr, nf)
            nbr = _grow1(nbr, nf)
            fa[nf] = A[frow[t]]
            fb[nf] = b[frow[t]]
            fc[nf] = fcen[t]
            fr[nf] = frad[t]
            nbr[nf] = -1
            nf += 1
        # labels: every row of the same hyperplane as a facet (duplicates included)
        for f in range(f0, nf):
            rr = frow[f - f0]
            for i in range(m):
                if i == rr or _same_plane(A, b, rr, i, dup_tol):
                    labs = _grow2(labs, nl)
                    labs[nl] = lab[i]
                    nl += 1
            lptr = _grow1(lptr, f + 2)
            lptr[f + 1] = nl
        # neighbours
        q = np.empty(nn, np.uint8)
        for f in range(f0, nf):
            if not _flip_code(code, labs, lptr[f], lptr[f + 1], dims_off, q):
                continue
            nb_i = find_code(codes, q)
            if nb_i < 0:
                nb_i = _across(net, fc[f], fa[f], on_tol, zero_tol, codes, stats)
            nbr[f] = nb_i
        ptr[ri + 1] = nf
    return (ptr, fa[:nf].copy(), fb[:nf].copy(), fc[:nf].copy(), fr[:nf].copy(),
            nbr[:nf].copy(), lptr[:nf + 1].copy(), labs[:nl].copy())


@njit(cache=True)
def verify_neighbours(ptr_of, ptr, fa, fb, fc, fr, nbr, lptr, labs, codes, dims, regs, tol,
                      dup_tol, piv_tol, opt_tol, max_iter):
    """Check, for each facet of the regions ``regs``, that the neighbour found has a facet
    on the same hyperplane that holds the centre and covers the whole facet.

    ``ptr_of[region]`` is the index of the region's facet block in ``ptr`` (-1: not
    computed). Returns a status per facet of ``regs`` (``NB_*``) in block order.
    """
    k = fa.shape[1]
    nf_tot = 0
    for ri in range(regs.shape[0]):
        blk = ptr_of[regs[ri]]
        nf_tot += ptr[blk + 1] - ptr[blk]
    status = np.empty(nf_tot, np.int64)
    dims_off = np.zeros(dims.shape[0], np.int64)
    for l in range(1, dims.shape[0]):
        dims_off[l] = dims_off[l - 1] + dims[l]
    pos = 0
    for ri in range(regs.shape[0]):
        P = regs[ri]
        blk = ptr_of[P]
        for f in range(ptr[blk], ptr[blk + 1]):
            Q = nbr[f]
            # on a domain face (alone or with neurons whose hyperplane is that face's):
            # the other side is outside the domain
            if _on_domain(labs, lptr[f], lptr[f + 1]):
                status[pos] = NB_DOMAIN
                pos += 1
                continue
            if Q < 0 or ptr_of[Q] < 0:
                status[pos] = NB_NOT_FOUND
                pos += 1
                continue
            qb = ptr_of[Q]
            K = -1
            for g in range(ptr[qb], ptr[qb + 1]):
                if _dot(fa[g], fa[f]) <= -1.0 + OPPOSITE_PLANE_COS and abs(fb[g] + fb[f]) <= dup_tol:
                    K = g
                    break
            if K < 0:
                status[pos] = NB_NO_MATCH
                pos += 1
                continue
            st = NB_OK
            for g in range(ptr[qb], ptr[qb + 1]):
                if g == K:
                    continue
                if _dot(fa[g], fc[f]) > fb[g] + tol:
                    st = NB_NO_MATCH
                    break
                # rows of neurons whose code is the same on both sides agree with P's on
                # the hyperplane, so the facet satisfies them
                same = False
                for s in range(lptr[g], lptr[g + 1]):
                    l = labs[s, 0]
                    if l < 0:
                        same = True
                        break
                    idx = dims_off[l] + labs[s, 1]
                    if codes[P, idx] == codes[Q, idx]:
                        same = True
                        break
                if same:
                    continue
                # exact check: does the facet reach beyond row g?
                nrow = ptr[blk + 1] - ptr[blk]
                Af = np.empty((nrow, k))
                bf = np.empty(nrow)
                rows = np.empty(nrow, np.int64)
                nr = 0
                for h in range(ptr[blk], ptr[blk + 1]):
                    if h == f:
                        continue
                    Af[nr] = fa[h]
                    bf[nr] = fb[h]
                    rows[nr] = nr
                    nr += 1
                Af[nr] = -fa[g]
                bf[nr] = -fb[g]
                rows[nr] = nr
                nr += 1
                r, c = cheb_in_plane(Af, bf, rows, nr, fa[f], fb[f], tol, piv_tol, opt_tol,
                                        max_iter)
                if r > tol:
                    st = NB_SPLIT
                    break
            status[pos] = st
            pos += 1
    return status


@njit(cache=True)
def plane_pieces(ptr, fa, fb, Ha, Hb, tol, piv_tol, opt_tol, max_iter):
    """For each region block ``i``: the Chebyshev ball of its cell (given by its facets)
    inside the hyperplane ``{Ha[i] . x = Hb[i]}``. Returns ``(r, centre)`` arrays."""
    n = ptr.shape[0] - 1
    k = fa.shape[1]
    R = np.empty(n)
    C = np.empty((n, k))
    for i in range(n):
        nr = ptr[i + 1] - ptr[i]
        rows = np.empty(nr, np.int64)
        for t in range(nr):
            rows[t] = ptr[i] + t
        r, c = cheb_in_plane(fa, fb, rows, nr, Ha[i], Hb[i], tol, piv_tol, opt_tol,
                                max_iter)
        R[i] = r
        C[i] = c
    return R, C

