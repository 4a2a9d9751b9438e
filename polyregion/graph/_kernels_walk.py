"""Numba kernels of the graph: all facets at once by one walk down the trie of the sorted codes.

A cell is the range of regions below a code prefix with the domain polygon/polytope cut
by the rows decided so far, sharing its pre-activation maps with every region below it
(as in the planar enumeration); a leaf's polytope faces are the region's facets (2-D: the
edge's midpoint and half-length; 3-D: the face's inscribed circle). The region across a
facet is found by a Zobrist hash of the codes. Regions the walk cannot decide with a
``dup_tol`` margin are left to :func:`._kernels_region.region_facets`.

Cost: about one polygon/polytope cut per region and a cheap test per (trie node,
neuron), then one hash look-up per facet.
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from ..config import BALL_CERT_ATOL, BALL_CERT_RTOL, DOMAIN_CUBE_HALF, WALK_RADIUS_MARGIN
from ..enumerate._highs import TICK_EVERY, tick
from ..enumerate._kernels_const import layer_norms
from ..enumerate._kernels_planar import transposed_weights
from ._kernels_codes import (
    _across, _code_index, _find_flipped, _grow1, _grow2, _map_norms_k, _next_map,
)
from ._kernels_poly import (
    CLIP_EPS, _bbox_k, _clip2, _edge_centre, _face_cheb, _face_row, _plane_slack,
    _poly_vertices, _sphere, _vertex_max, clip3, cube_polytope, domain_polygon_rows,
    domain_polytope,
)

# --------------------------------------------------------------------------- tree walk
#: ``walk_facets`` status of a region: its facets come from the walk, or it must be
#: recomputed by :func:`region_facets` (a row within ``dup_tol`` of its polytope, a thin
#: face, an inconsistent code range: whatever the walk cannot decide exactly).
WALK_OK = 0


WALK_REDO = 1


@njit(cache=True)
def _walk_cut(k, P, V, nv, fv, fs, frow, nfc, cen, rad, tabA, tabB, row, dup_tol, eps):
    """Restrict a cell to the row ``tabA[row] . x <= tabB[row]``.

    Returns ``(status, P, V, nv, fv, fs, frow, nfc)``; status 0: the row stays farther
    than ``dup_tol`` from the cell (redundant there), 1: cut, 2: undecided (a vertex
    within ``dup_tol`` of the plane, an empty side, a degenerate cut, or a removed face
    whose plane stays within ``dup_tol`` of the cut cell).
    """
    a = tabA[row]
    beta = tabB[row]
    d = -beta
    for t in range(k):
        d += a[t] * cen[t]
    if d + rad < -dup_tol:
        return 0, P, V, nv, fv, fs, frow, nfc
    if d - rad > dup_tol:
        return 2, P, V, nv, fv, fs, frow, nfc
    VV, n_v = _poly_vertices(k, P, V, nv)
    s = np.empty(n_v)
    smax = -np.inf
    smin = np.inf
    amin = np.inf
    for v in range(n_v):
        sv = -beta
        for t in range(k):
            sv += a[t] * VV[v, t]
        s[v] = sv
        smax = max(smax, sv)
        smin = min(smin, sv)
        amin = min(amin, abs(sv))
    if smax < -dup_tol:
        return 0, P, V, nv, fv, fs, frow, nfc
    if amin <= dup_tol or smin > 0.0:
        return 2, P, V, nv, fv, fs, frow, nfc
    # faces entirely beyond the plane disappear: their planes must stay clear of the cut
    n_f = n_v if k == 2 else nfc
    gone = np.empty(n_f, np.int64)
    ng = 0
    for f in range(n_f):
        out = True
        if k == 2:
            out = s[f] > 0.0 and s[f + 1 if f + 1 < n_v else 0] > 0.0
        else:
            for t in range(fs[f], fs[f + 1]):
                if s[fv[t]] <= 0.0:
                    out = False
                    break
        if out:
            gone[ng] = _face_row(k, P, frow, f)
            ng += 1
    if k == 2:
        st, P = _clip2(P, a, beta, row, eps)
    else:
        st, V, nv, fv, fs, frow, nfc = clip3(V, nv, fv, fs, frow, nfc, a, beta, row, eps)
    if st != 1:
        return 2, P, V, nv, fv, fs, frow, nfc
    VV, n_v = _poly_vertices(k, P, V, nv)
    for g in range(ng):
        r = gone[g]
        for v in range(n_v):
            sv = -tabB[r]
            for t in range(k):
                sv += tabA[r, t] * VV[v, t]
            if sv >= -dup_tol:
                return 2, P, V, nv, fv, fs, frow, nfc
    return 1, P, V, nv, fv, fs, frow, nfc


@njit(cache=True)
def walk_facets(net, A0, b0, codes, Z, tol, zero_tol, dup_tol, on_tol, stats):
    """Facets of all regions of a bounded 2-D or 3-D domain by one walk down the trie of
    their sorted codes.

    A cell of the walk holds the regions whose codes share a prefix (a contiguous range
    of the sorted ``codes``) and the domain polygon/polytope cut by the rows of the
    neurons decided so far; the next neuron's row(s) are computed from the cell's
    pre-activation map (shared by the whole range, as in the planar enumeration) and cut
    the cell for each piece present in the range. A leaf is one region and its polytope:
    every face (2-D: the edge's midpoint and half-length; 3-D: the face's inscribed
    circle, :func:`_face_cheb`) is a facet, labelled by its row. Whatever the walk cannot
    decide with a margin of ``dup_tol`` (see :func:`_walk_cut`; thin faces) marks the
    regions :data:`WALK_REDO`: the caller recomputes them by :func:`region_facets`, which
    decides by the same rule, so both give the same facets. Neighbours as in
    :func:`region_facets`, looked up by Zobrist hash (``Z[neuron, piece]``).

    Returns ``(ok, status, ptr, fa, fb, fc, fr, nbr, labs)``: ``ok = False`` when the
    domain is not a clean polygon/polytope (nothing computed); per region its status and
    facet block ``ptr`` (empty for ``WALK_REDO``); one label per facet. ``stats`` (as for
    :func:`region_facets`): [2] rows tested, [3] rows decided without a cut, [4] tangent
    forward passes, [5] trie cells, [7] layer maps, [8] cuts.
    """
    W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts = net
    k = dims[0]
    n = codes.shape[0]
    nn = codes.shape[1]
    n_hidden = dims.shape[0] - 2
    eps = CLIP_EPS
    status = np.zeros(n, np.int64)
    cnt = np.zeros(n, np.int64)
    dims_off = np.zeros(dims.shape[0], np.int64)
    for l in range(1, dims.shape[0]):
        dims_off[l] = dims_off[l - 1] + dims[l]
    # the domain as a labelled polygon (2-D) or polytope (3-D); rows 0.. are its rows
    P = np.zeros((0, 5))
    V, nv, fv, fs, frow, nfc = cube_polytope(DOMAIN_CUBE_HALF)
    if k == 2:
        ok, P = domain_polygon_rows(A0, b0, eps)
    else:
        ok, V, nv, fv, fs, frow, nfc = domain_polytope(A0, b0, eps)
    out = _facet_buffers(k, 16)
    if not ok or n == 0:
        return _facet_output(False, status, cnt, out, 0)
    nA = A0.shape[0]
    tabA = np.empty((max(2 * n + nA, 16), k))
    tabB = np.empty(tabA.shape[0])
    tabL = np.empty((tabA.shape[0], 3), np.int64)
    for i in range(nA):
        tabA[i] = A0[i]
        tabB[i] = b0[i]
        tabL[i, 0] = -1
        tabL[i, 1] = i
        tabL[i, 2] = 0
    ntab = nA
    # a domain row that is not a face must stay clear of the domain
    VV, n_v = _poly_vertices(k, P, V, nv)
    nf0 = P.shape[0] if k == 2 else nfc
    for i in range(nA):
        face = False
        for f in range(nf0):
            if _face_row(k, P, frow, f) == i:
                face = True
        if face:
            continue
        for v in range(n_v):
            sv = -b0[i]
            for t in range(k):
                sv += A0[i, t] * VV[v, t]
            if sv >= -dup_tol:
                ok = False
    if not ok:
        return _facet_output(False, status, cnt, out, 0)
    # transposed weights of layers >= 1 (contiguous updates), first-layer map
    L = dims.shape[0] - 1
    WT = transposed_weights(W_flat, W_off, dims)
    n1 = dims[1] if n_hidden > 0 else 0
    Gt0 = np.empty((k + 1, n1))
    for i in range(n1):
        for t in range(k):
            Gt0[t, i] = W_flat[W_off[0] + k * i + t]
        Gt0[k, i] = b_flat[b_off[0] + i]
    cen = np.empty(k)
    bc = np.empty(k)
    bh = np.empty(k)
    fcen = np.empty(k)
    nf = 0
    winf, _ = layer_norms(W_flat, W_off, b_flat, b_off, dims)
    stack = [(P, V, nv, fv, fs, frow, nfc, Gt0, zero_tol * _map_norms_k(Gt0, k)[1], 0, 0,
              0, n)]
    n_pop = 0
    while len(stack) > 0:
        n_pop += 1
        if n_pop % TICK_EVERY == 0:  # let Python deliver a pending Ctrl-C
            with objmode():
                tick()
        # zthr: rows of the layer map Gt with norm <= zthr are constant (_kernels_const)
        P, V, nv, fv, fs, frow, nfc, Gt, zthr, l, j, lo, hi = stack.pop()
        stats[5] += 1
        VV, n_v = _poly_vertices(k, P, V, nv)
        rad = _sphere(VV, n_v, cen)
        _bbox_k(VV, n_v, bc, bh)
        redo = False
        while l < n_hidden:
            if j == dims[l + 1]:
                if l + 1 < n_hidden:
                    stats[7] += 1
                    Gt, zthr = _next_map(WT, W_flat, W_off, b_flat, b_off, dims, slopes,
                                       intercepts, winf, codes, lo, dims_off[l], l, Gt,
                                       zero_tol)
                l += 1
                j = 0
                continue
            # neurons decided without touching the cell: skip them in one tight loop
            j = _walk_scan(Gt, zthr, codes, lo, hi, dims_off[l], j, dims[l + 1], n_bp[l],
                           bps, l, bc, bh, dup_tol, stats)
            if j == dims[l + 1]:
                continue
            idx = dims_off[l] + j
            v = codes[lo, idx]
            s2 = 0.0
            for t in range(k):
                s2 += Gt[t, j] * Gt[t, j]
            nrm = np.sqrt(s2)
            j += 1
            if nrm <= zthr or nrm == 0.0:
                # constant on the cell: no row (several pieces here would be inconsistent)
                if codes[hi - 1, idx] != v:
                    redo = True
                    break
                continue
            if codes[hi - 1, idx] != v:
                # the range holds several pieces: keep the lowest, push the others
                # (highest first, so that regions come out in index order)
                bounds = np.empty(n_bp[l] + 2, np.int64)
                nb_ = 0
                g = lo
                while g < hi:
                    bounds[nb_] = g
                    nb_ += 1
                    g = _piece_end(codes, g, hi, idx)
                bounds[nb_] = hi
                for t in range(nb_ - 1, 0, -1):
                    stack.append((P, V, nv, fv, fs, frow, nfc, Gt, zthr, l, j - 1,
                                  bounds[t], bounds[t + 1]))
                hi = bounds[1]
            for side in range(2):
                if side == 0 and v == 0:
                    continue
                if side == 1 and v >= n_bp[l]:
                    continue
                bq = v - 1 if side == 0 else v
                sg = -1.0 if side == 0 else 1.0
                beta = sg * (bps[l, bq] - Gt[k, j - 1]) / nrm
                dc = 0.0
                for t in range(k):
                    dc += Gt[t, j - 1] * cen[t]
                dc = sg * dc / nrm - beta
                stats[2] += 1
                if dc + rad < -dup_tol:  # the cell's bounding ball is inside: redundant
                    stats[3] += 1
                    continue
                if ntab == tabA.shape[0]:
                    tabA = _grow2(tabA, ntab)
                    tabB = _grow1(tabB, ntab)
                    tabL = _grow2(tabL, ntab)
                for t in range(k):
                    tabA[ntab, t] = sg * Gt[t, j - 1] / nrm
                tabB[ntab] = beta
                tabL[ntab, 0] = l
                tabL[ntab, 1] = j - 1
                tabL[ntab, 2] = bq
                if _vertex_max(VV, n_v, tabA[ntab], beta) < -dup_tol:
                    stats[3] += 1
                    continue
                st, P, V, nv, fv, fs, frow, nfc = _walk_cut(k, P, V, nv, fv, fs, frow, nfc,
                                                            cen, rad, tabA, tabB, ntab,
                                                            dup_tol, eps)
                if st == 0:
                    stats[3] += 1
                if st == 2:
                    redo = True
                    break
                if st == 1:
                    ntab += 1
                    stats[8] += 1
                    VV, n_v = _poly_vertices(k, P, V, nv)
                    rad = _sphere(VV, n_v, cen)
                    _bbox_k(VV, n_v, bc, bh)
            if redo:
                break
        if redo or hi - lo != 1:
            for r in range(lo, hi):
                status[r] = WALK_REDO
            continue
        # a leaf: one region and its polytope
        reg = lo
        n_f = P.shape[0] if k == 2 else nfc
        frows = np.empty(n_f, np.int64)
        for f in range(n_f):
            frows[f] = int(P[f, 2]) if k == 2 else frow[f]
        nf, out = _leaf_facets(k, P, frow, nfc, frows, tabA, tabB, tabL, reg, tol, fcen, out,
                               nf, status, cnt)
    _facet_neighbours(cnt, out, nf, codes, Z, dims_off, net, on_tol, zero_tol, stats)
    return _facet_output(True, status, cnt, out, nf)


@njit(cache=True)
def _facet_buffers(k, m):
    """Empty facet output arrays ``(fa, fb, fc, fr, nbr, labs)`` for ``m`` facets."""
    return (np.empty((m, k)), np.empty(m), np.empty((m, k)), np.empty(m),
            np.empty(m, np.int64), np.empty((m, 3), np.int64))


@njit(cache=True)
def _facet_room(out, need):
    """The facet buffers ``out`` with room for ``need`` facets (doubled until they have)."""
    fa, fb, fc, fr, nbr, labs = out
    while fa.shape[0] < need:
        m = fa.shape[0]
        fa, fb, fc = _grow2(fa, m), _grow1(fb, m), _grow2(fc, m)
        fr, nbr, labs = _grow1(fr, m), _grow1(nbr, m), _grow2(labs, m)
    return fa, fb, fc, fr, nbr, labs


@njit(cache=True)
def _facet_output(ok, status, cnt, out, nf):
    """``(ok, status, ptr, fa, fb, fc, fr, nbr, labs)`` from per-region facet counts and
    the first ``nf`` facets of the buffers ``out``."""
    n = cnt.shape[0]
    ptr = np.zeros(n + 1, np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + cnt[i]
    fa, fb, fc, fr, nbr, labs = out
    return (ok, status, ptr, fa[:nf].copy(), fb[:nf].copy(), fc[:nf].copy(),
            fr[:nf].copy(), nbr[:nf].copy(), labs[:nf].copy())


@njit(cache=True)
def _leaf_facets(k, P, frow, nfc, frows, tabA, tabB, tabL, reg, tol, fcen, out, nf, status,
                 cnt):
    """Append the facets of region ``reg`` whose cell is the polygon/polytope ``P`` with
    face rows ``frows`` (indices into the tables ``tabA``, ``tabB``, ``tabL``) to the
    buffers ``out`` from position ``nf``: every face is a facet (2-D: the edge's midpoint
    and half-length; 3-D: the face's inscribed circle, :func:`_face_cheb`), labelled by
    its row; neighbours come after, for all facets at once (:func:`_facet_neighbours`).

    Sets ``cnt[reg]`` and returns ``(nf, out)`` (the buffers grown when short). When a
    face is too thin to be a facet with a margin, its certificate falls short of its
    radius, or two faces carry the same row, nothing is appended and ``status[reg] =
    WALK_REDO``: the region is left to :func:`region_facets`. (This runs once per region:
    its arguments are few on purpose, a call's cost grows with its array arguments.)
    """
    n_f = frows.shape[0]
    if nf + n_f > out[0].shape[0]:
        out = _facet_room(out, nf + n_f)
    fa, fb, fc, fr, nbr, labs = out
    for f in range(n_f):
        row = frows[f]
        ok = True
        for g in range(n_f):
            if g != f and frows[g] == row:
                ok = False
        if ok:
            if k == 2:
                r = _edge_centre(P, f, tabA[row], tabB[row], fcen)
            else:
                r, c3 = _face_cheb(tabA, tabB, row, frow, nfc, tol)
                fcen[:] = c3
            rho = _cert_faces(tabA, tabB, frows, row, fcen, tol)
            ok = (r > tol * (1.0 + WALK_RADIUS_MARGIN)
                  and rho >= r * (1.0 - BALL_CERT_RTOL) - BALL_CERT_ATOL)
        if not ok:
            status[reg] = WALK_REDO
            return nf, out
        for t in range(k):
            fa[nf + f, t] = tabA[row, t]
            fc[nf + f, t] = fcen[t]
        fb[nf + f] = tabB[row]
        fr[nf + f] = min(r, rho, 1.0)
        for t in range(3):
            labs[nf + f, t] = tabL[row, t]
    cnt[reg] = n_f
    return nf + n_f, out


@njit(cache=True)
def _facet_neighbours(cnt, out, nf, codes, Z, dims_off, net, on_tol, zero_tol, stats):
    """Neighbour of each of the first ``nf`` facets of the buffers ``out`` (``cnt[reg]``
    facets per region, in region order, one label each): for a neuron's facet the region
    whose code is this one's with that neuron moved to the other piece, looked up by
    Zobrist hash (:func:`_find_flipped`), else :func:`_across`; -1 for a domain facet."""
    fa, fb, fc, fr, nbr, labs = out
    H, cw, htab = _code_index(codes, Z)
    f = 0
    for reg in range(cnt.shape[0]):
        code = codes[reg]
        for _ in range(cnt[reg]):
            nbr[f] = -1
            l0 = labs[f, 0]
            if l0 >= 0:
                i0 = dims_off[l0] + labs[f, 1]
                qq = labs[f, 2]
                new = qq if code[i0] == qq + 1 else qq + 1
                h = H[reg] ^ Z[i0, code[i0]] ^ Z[i0, new]
                nb_i = _find_flipped(cw, H, reg, i0, new, h, htab)
                if nb_i < 0:
                    nb_i = _across(net, fc[f], fa[f], on_tol, zero_tol, codes, stats)
                nbr[f] = nb_i
            f += 1


@njit(cache=True)
def polygon_facets(net, n_dom, polys, pptr, doubt, codes, Z, tol, zero_tol, on_tol, stats):
    """Facets of all regions of a bounded 2-D domain from the polygons of the planar
    enumeration (:func:`._kernels_planar.enumerate_planar_polygons`, same regions in the
    same order as ``codes``; ``n_dom`` domain rows).

    A region's polygon is its cell cut by exactly the rows the walk (:func:`walk_facets`)
    would cut it by, unless the enumeration marked it in doubt; each edge is a facet as
    in the walk (:func:`_leaf_facets`), labelled by the neuron and breakpoint (or domain
    row) the edge lies on. Regions in doubt, with an edge of no domain row, or that the
    leaf test refuses are :data:`WALK_REDO`, for :func:`region_facets`. Returns as
    :func:`walk_facets`.
    """
    _, _, _, _, dims, n_bp, _, _, _ = net
    n = codes.shape[0]
    k = 2
    status = np.zeros(n, np.int64)
    cnt = np.zeros(n, np.int64)
    n_layers = dims.shape[0]
    dims_off = np.zeros(n_layers, np.int64)
    for l in range(1, n_layers):
        dims_off[l] = dims_off[l - 1] + dims[l]
    out = _facet_buffers(k, max(16, pptr[n]))
    nb_max = max(1, n_bp.max())
    m_max = 0
    for i in range(n):
        m_max = max(m_max, pptr[i + 1] - pptr[i])
    tabA = np.empty((m_max, k))
    tabB = np.empty(m_max)
    tabL = np.empty((m_max, 3), np.int64)
    frows_all = np.arange(m_max)
    fcen = np.empty(k)
    frow = np.zeros(1, np.int64)
    nf = 0
    for reg in range(n):
        if doubt[reg]:
            status[reg] = WALK_REDO
            continue
        p0 = pptr[reg]
        m = pptr[reg + 1] - p0
        P = polys[p0:p0 + m]
        clean = True
        for e in range(m):
            tabA[e, 0] = P[e, 2]
            tabA[e, 1] = P[e, 3]
            tabB[e] = P[e, 4]
            lid = P[e, 5]
            if lid >= 0.0:
                g = int(lid) // nb_max
                l = 0
                while dims_off[l + 1] <= g:
                    l += 1
                tabL[e, 0] = l
                tabL[e, 1] = g - dims_off[l]
                tabL[e, 2] = int(lid) - g * nb_max
            else:
                i = -1.0 - lid
                if not i < n_dom:  # an edge of no domain row
                    clean = False
                    break
                tabL[e, 0] = -1
                tabL[e, 1] = int(i)
                tabL[e, 2] = 0
        if not clean:
            status[reg] = WALK_REDO
            continue
        nf, out = _leaf_facets(k, P, frow, 0, frows_all[:m], tabA, tabB, tabL, reg, tol, fcen,
                               out, nf, status, cnt)
    _facet_neighbours(cnt, out, nf, codes, Z, dims_off, net, on_tol, zero_tol, stats)
    return _facet_output(True, status, cnt, out, nf)


@njit(cache=True)
def _walk_scan(Gt, zthr, codes, lo, hi, off, j, n_l, nb, bps, l, bc, bh, dup_tol,
               stats):
    """First neuron ``>= j`` of layer ``l`` that the walk must look at: one with several
    pieces in ``codes[lo:hi]``, or whose row(s) may come within ``dup_tol`` of the cell's
    bounding box (centre ``bc``, half-widths ``bh``); ``n_l`` when there is none."""
    k = bc.shape[0]
    while j < n_l:
        idx = off + j
        v = codes[lo, idx]
        if codes[hi - 1, idx] != v:
            return j
        s2 = 0.0
        u = Gt[k, j]
        spread = 0.0
        for t in range(k):
            s2 += Gt[t, j] * Gt[t, j]
            u += Gt[t, j] * bc[t]
            spread += abs(Gt[t, j]) * bh[t]
        nrm = np.sqrt(s2)
        if not (nrm <= zthr or nrm == 0.0):
            # below the breakpoint needs u <= bp, above needs u >= bp, on the whole box
            margin = dup_tol * nrm
            if v > 0:
                stats[2] += 1
                if bps[l, v - 1] - u + spread < -margin:
                    stats[3] += 1
                else:
                    return j
            if v < nb:
                stats[2] += 1
                if u + spread - bps[l, v] < -margin:
                    stats[3] += 1
                else:
                    return j
        j += 1
    return j


@njit(cache=True)
def _piece_end(codes, lo, hi, idx):
    """First row in ``codes[lo:hi]`` whose piece at neuron ``idx`` exceeds that of row
    ``lo`` (the column is sorted within the range)."""
    v = codes[lo, idx]
    a = lo + 1
    b = hi
    while a < b:
        mid = (a + b) // 2
        if codes[mid, idx] > v:
            b = mid
        else:
            a = mid + 1
    return a


@njit(cache=True)
def _cert_faces(tabA, tabB, frows, j, c, tol):
    """Radius of the largest ball around ``c`` inside row ``j``'s plane that satisfies
    the other face rows ``frows`` of the cell (as :func:`_cert_in_plane`)."""
    rho = np.inf
    for f in range(frows.shape[0]):
        i = frows[f]
        if i == j:
            continue
        q = _plane_slack(tabA, tabB, i, j, c, tol)
        if q == -np.inf:
            return -1.0
        rho = min(rho, q)
    return rho

