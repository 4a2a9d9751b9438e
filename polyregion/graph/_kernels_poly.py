"""Numba kernels of the graph: 2-D/3-D polygons and polytopes, Chebyshev balls in a hyperplane.

- :func:`cheb_in_plane`: the Chebyshev LP of a row set restricted to one hyperplane, in
  the ``d - 1`` coordinates of a Householder basis of the hyperplane, solved by the
  engine's dense Chebyshev simplex (:func:`polyregion.enumerate._kernels_lp.cheb_solve`).
- :func:`clip3` / :func:`_clip2`: a 3-D polytope (vertices, faces, face rows) or a 2-D
  polygon cut by one halfspace; :func:`domain_polytope` / :func:`domain_polygon_rows` the
  domain's; :func:`_face_cheb`, :func:`_cert_in_plane`: a face's inscribed ball and its
  certificate against every row.

Cost: a cut is linear in the polytope's size; :func:`cheb_in_plane` one small LP.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import DOMAIN_CUBE_HALF, IN_PLANE_ZERO, IN_PLANE_ZERO_SQ, SPHERE_ATOL, SPHERE_RTOL
from ..enumerate._kernels_lp import LP_OPTIMAL, cheb_solve, cold_basis
from ..enumerate._kernels_planar import _clip, inradius
from ._kernels_codes import _dot

#: Polytope clipping (``box_mode = 2``): a vertex within this distance of a cutting plane
#: (unit-scale coordinates) counts as on it. Rounding in vertex coordinates is ~1e-16;
#: rows decided from the clipped polytope keep a margin of ``dup_tol`` (>= 100 * tol)
#: from it, so this only has to sit between the two.
CLIP_EPS = 1e-13


# --------------------------------------------------------------------------- in-hyperplane LP
@njit(cache=True)
def _householder(a):
    """``(v, p, vv)``: the reflection ``I - 2 v v^T / vv`` maps unit ``a`` to ``-sign(a_p) e_p``."""
    k = a.shape[0]
    p = 0
    for t in range(1, k):
        if abs(a[t]) > abs(a[p]):
            p = t
    v = a.copy()
    sg = 1.0 if a[p] >= 0.0 else -1.0
    v[p] += sg
    return v, p, _dot(v, v)


@njit(cache=True)
def _to_plane(v, p, vv, w, out):
    """In-plane coordinates of vector ``w`` (its reflection without coordinate ``p``)."""
    k = v.shape[0]
    s = 2.0 * _dot(v, w) / vv
    i = 0
    for t in range(k):
        if t != p:
            out[i] = w[t] - s * v[t]
            i += 1


@njit(cache=True)
def _from_plane(v, p, vv, y, x0, out):
    """``x0 + N y`` where ``N`` spans the hyperplane's direction space."""
    k = v.shape[0]
    z = np.zeros(k)
    i = 0
    for t in range(k):
        if t != p:
            z[t] = y[i]
            i += 1
    s = 2.0 * _dot(v, z) / vv
    for t in range(k):
        out[t] = x0[t] + z[t] - s * v[t]


@njit(cache=True)
def cheb_in_plane(A, b, rows, n_rows, a, beta, tol, piv_tol, opt_tol, max_iter):
    """Chebyshev ball of ``{x : a.x = beta, A[rows[i]] x <= b[rows[i]]}`` inside the
    hyperplane (``a`` a unit vector).

    Returns ``(r, centre)``: ``r <= tol`` means empty or thinner than ``tol``
    (``r = -1`` when a row parallel to the plane excludes it); ``r`` is capped at 1.
    """
    k = a.shape[0]
    centre = np.empty(k)
    x0 = np.empty(k)
    for t in range(k):
        x0[t] = beta * a[t]
    if k == 1:
        for i in range(n_rows):
            r = rows[i]
            if b[r] - A[r, 0] * x0[0] < -tol:
                return -1.0, x0
        return 1.0, x0
    v, p, vv = _householder(a)
    if k == 2:
        # the plane is a line: an interval, no LP
        tmp1 = np.empty(1)
        ylo = -np.inf
        yhi = np.inf
        for i in range(n_rows):
            r = rows[i]
            _to_plane(v, p, vv, A[r], tmp1)
            al = tmp1[0]
            rhs = b[r] - _dot(A[r], x0)
            if abs(al) <= IN_PLANE_ZERO:
                if rhs < -tol:
                    return -1.0, x0
                continue
            if al > 0.0:
                if rhs / al < yhi:
                    yhi = rhs / al
            elif rhs / al > ylo:
                ylo = rhs / al
        if ylo == -np.inf and yhi == np.inf:
            y1 = np.zeros(1)
            rr = 1.0
        elif ylo == -np.inf:
            y1 = np.array([yhi - 1.0])
            rr = 1.0
        elif yhi == np.inf:
            y1 = np.array([ylo + 1.0])
            rr = 1.0
        else:
            y1 = np.array([0.5 * (ylo + yhi)])
            rr = min(0.5 * (yhi - ylo), 1.0)
        _from_plane(v, p, vv, y1, x0, centre)
        return rr, centre
    AH = np.empty((n_rows, k - 1))
    bH = np.empty(n_rows)
    tmp = np.empty(k - 1)
    mH = 0
    for i in range(n_rows):
        r = rows[i]
        _to_plane(v, p, vv, A[r], tmp)
        nu = np.sqrt(_dot(tmp, tmp))
        rhs = b[r] - _dot(A[r], x0)
        if nu <= IN_PLANE_ZERO:
            if rhs < -tol:
                return -1.0, x0
            continue
        for t in range(k - 1):
            AH[mH, t] = tmp[t] / nu
        bH[mH] = rhs / nu
        mH += 1
    st, obj, rp, y, bas = cheb_solve(AH, bH, mH, cold_basis(k - 1), tol, piv_tol, opt_tol,
                                     max_iter, np.zeros(2, np.int64))
    if st != LP_OPTIMAL:
        return min(obj, tol), x0
    _from_plane(v, p, vv, y, x0, centre)
    return rp, centre


# --------------------------------------------------------------------------- 3-D clipping
@njit(cache=True)
def cube_polytope(half):
    """The cube ``[-half, half]^3`` as a polytope: vertices, flat face cycles, face rows
    (all ``-1``: no constraint row)."""
    V = np.empty((8, 3))
    for i in range(8):
        V[i, 0] = half if i & 1 else -half
        V[i, 1] = half if i & 2 else -half
        V[i, 2] = half if i & 4 else -half
    # faces x-, x+, y-, y+, z-, z+ (cycles of vertex indices)
    fv = np.array([0, 4, 6, 2, 1, 3, 7, 5, 0, 1, 5, 4, 2, 6, 7, 3, 0, 2, 3, 1, 4, 5, 7, 6],
                  np.int64)
    fs = np.array([0, 4, 8, 12, 16, 20, 24], np.int64)
    frow = np.full(6, -1, np.int64)
    return V, 8, fv, fs, frow, 6


@njit(cache=True)
def clip3(V, nv, fv, fs, frow, nfc, a, beta, row, eps):
    """Clip the convex polytope ``(V, fv, fs, frow)`` by ``a . x <= beta`` (row ``row``).

    Vertices with ``|a . v - beta| <= eps`` count as on the plane. Returns ``(status, V,
    nv, fv, fs, frow, nfc)``: status 0 = no cut (every vertex within ``eps`` of the
    side), 1 = cut (the new face carries ``row``), 2 = the polytope degenerates (empty
    or flat: the caller must fall back to LPs).
    """
    s = np.empty(nv)
    smax = -np.inf
    smin = np.inf
    for v in range(nv):
        sv = a[0] * V[v, 0] + a[1] * V[v, 1] + a[2] * V[v, 2] - beta
        s[v] = sv
        if sv > smax:
            smax = sv
        if sv < smin:
            smin = sv
    if smax <= eps:
        return 0, V, nv, fv, fs, frow, nfc
    if smin >= -eps:
        return 2, V, nv, fv, fs, frow, nfc
    cls = np.empty(nv, np.int64)
    remap = np.full(nv, -1, np.int64)
    nk = 0
    n_on = 0
    for v in range(nv):
        if s[v] > eps:
            cls[v] = 1
        elif s[v] < -eps:
            cls[v] = -1
            remap[v] = nk
            nk += 1
        else:
            cls[v] = 0
            remap[v] = nk
            nk += 1
            n_on += 1
    nfv = fs[nfc]
    # at most one crossing vertex per face edge
    V2 = np.empty((nk + nfv, 3))
    for v in range(nv):
        if remap[v] >= 0:
            V2[remap[v]] = V[v]
    cu = np.empty(nfv, np.int64)
    cw = np.empty(nfv, np.int64)
    n2 = nk
    fv2 = np.empty(2 * nfv + 2, np.int64)
    fs2 = np.empty(nfc + 2, np.int64)
    frow2 = np.empty(nfc + 1, np.int64)
    m = 0
    nf2 = 0
    fs2[0] = 0
    for f in range(nfc):
        start = m
        n_f = fs[f + 1] - fs[f]
        for t in range(n_f):
            p = fv[fs[f] + t]
            q = fv[fs[f] + (t + 1 if t + 1 < n_f else 0)]
            if cls[p] <= 0:
                fv2[m] = remap[p]
                m += 1
            if cls[p] * cls[q] == -1:
                lo_ = min(p, q)
                hi_ = max(p, q)
                idx = -1
                for c in range(nk, n2):
                    if cu[c - nk] == lo_ and cw[c - nk] == hi_:
                        idx = c
                        break
                if idx < 0:
                    tt = s[lo_] / (s[lo_] - s[hi_])
                    for e in range(3):
                        V2[n2, e] = V[lo_, e] + tt * (V[hi_, e] - V[lo_, e])
                    cu[n2 - nk] = lo_
                    cw[n2 - nk] = hi_
                    idx = n2
                    n2 += 1
                fv2[m] = idx
                m += 1
        if m - start >= 3:
            frow2[nf2] = frow[f]
            nf2 += 1
            fs2[nf2] = m
        else:
            m = start
    # the new face: the on-plane kept vertices and the crossing vertices, in angular order
    n_new = n_on + (n2 - nk)
    if n_new < 3:
        return 2, V, nv, fv, fs, frow, nfc
    ids = np.empty(n_new, np.int64)
    c = 0
    for v in range(nv):
        if cls[v] == 0:
            ids[c] = remap[v]
            c += 1
    for v in range(nk, n2):
        ids[c] = v
        c += 1
    # plane basis e1, e2 (a unit)
    ax = 0 if abs(a[0]) <= abs(a[1]) and abs(a[0]) <= abs(a[2]) else (
        1 if abs(a[1]) <= abs(a[2]) else 2)
    e1 = np.zeros(3)
    e1[ax] = 1.0
    dd = a[ax]
    for e in range(3):
        e1[e] -= dd * a[e]
    n1 = np.sqrt(e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2])
    for e in range(3):
        e1[e] /= n1
    e2 = np.empty(3)
    e2[0] = a[1] * e1[2] - a[2] * e1[1]
    e2[1] = a[2] * e1[0] - a[0] * e1[2]
    e2[2] = a[0] * e1[1] - a[1] * e1[0]
    cx = np.zeros(3)
    for i in range(n_new):
        for e in range(3):
            cx[e] += V2[ids[i], e]
    for e in range(3):
        cx[e] /= n_new
    ang = np.empty(n_new)
    for i in range(n_new):
        u0 = 0.0
        u1 = 0.0
        for e in range(3):
            dv = V2[ids[i], e] - cx[e]
            u0 += dv * e1[e]
            u1 += dv * e2[e]
        ang[i] = np.arctan2(u1, u0)
    o = np.argsort(ang)
    for i in range(n_new):
        fv2[m] = ids[o[i]]
        m += 1
    frow2[nf2] = row
    nf2 += 1
    fs2[nf2] = m
    if nf2 < 4:
        return 2, V, nv, fv, fs, frow, nfc
    return 1, V2, n2, fv2, fs2, frow2, nf2


@njit(cache=True)
def domain_polytope(A0, b0, eps):
    """The bounded domain ``{A0 x <= b0}`` (unit rows, inside the unit ball) as a polytope
    whose face rows index ``A0``; ``ok = False`` when it is not a clean polytope."""
    V, nv, fv, fs, frow, nfc = cube_polytope(DOMAIN_CUBE_HALF)
    for i in range(A0.shape[0]):
        st, V, nv, fv, fs, frow, nfc = clip3(V, nv, fv, fs, frow, nfc, A0[i], b0[i], i, eps)
        if st == 2:
            return False, V, nv, fv, fs, frow, nfc
    for f in range(nfc):
        if frow[f] < 0:
            return False, V, nv, fv, fs, frow, nfc
    return True, V, nv, fv, fs, frow, nfc


@njit(cache=True)
def _face_cheb(A, b, j, frow, nfc, tol):
    """Chebyshev ball of the face on row ``j`` inside its plane, over the face rows (the
    polytope's irredundant rows), by the vertex candidates of the 2-D LP.

    Returns ``(r, centre)``; ``r = -1`` when a row parallel to the plane excludes it.
    """
    k = 3
    a = A[j]
    x0 = np.empty(k)
    for t in range(k):
        x0[t] = b[j] * a[t]
    v, p, vv = _householder(a)
    Pq = np.zeros((nfc, 5))
    tmp = np.empty(2)
    mH = 0
    for f in range(nfc):
        i = frow[f]
        if i == j:
            continue
        _to_plane(v, p, vv, A[i], tmp)
        nu = np.sqrt(tmp[0] * tmp[0] + tmp[1] * tmp[1])
        rhs = b[i] - _dot(A[i], x0)
        if nu <= IN_PLANE_ZERO:
            if rhs < -tol:
                return -1.0, x0
            continue
        Pq[mH, 2] = tmp[0] / nu
        Pq[mH, 3] = tmp[1] / nu
        Pq[mH, 4] = rhs / nu
        mH += 1
    if mH < 3:
        return -1.0, x0
    r, yx, yy = inradius(Pq[:mH], 0.0, 0.0)
    c = np.empty(k)
    _from_plane(v, p, vv, np.array([yx, yy]), x0, c)
    return r, c


@njit(cache=True)
def _plane_slack(A, b, i, j, c, tol):
    """Distance, inside the plane of row ``j`` (unit normal ``A[j]``) through ``c``, from
    ``c`` to the boundary of row ``i``: ``inf`` for a parallel row that holds the plane,
    ``-inf`` for one that excludes it (by more than ``tol``). Indices, not row views:
    this runs for every pair of faces of every region."""
    cos = 0.0
    ac = 0.0
    for t in range(A.shape[1]):
        cos += A[i, t] * A[j, t]
        ac += A[i, t] * c[t]
    sl = b[i] - ac
    nu2 = 1.0 - cos * cos
    if nu2 <= IN_PLANE_ZERO_SQ:
        return -np.inf if sl < -tol else np.inf
    return sl / np.sqrt(nu2)


@njit(cache=True)
def _edge_centre(P, e, a, beta, c):
    """Midpoint of edge ``e`` of polygon ``P`` projected on its line ``a . x = beta``
    (written to ``c``); returns the half-length."""
    g = e + 1 if e + 1 < P.shape[0] else 0
    c[0] = 0.5 * (P[e, 0] + P[g, 0])
    c[1] = 0.5 * (P[e, 1] + P[g, 1])
    off = a[0] * c[0] + a[1] * c[1] - beta
    c[0] -= off * a[0]
    c[1] -= off * a[1]
    return 0.5 * np.sqrt((P[g, 0] - P[e, 0]) ** 2 + (P[g, 1] - P[e, 1]) ** 2)


@njit(cache=True)
def _cert_in_plane(A, b, j, c, tol, dcen, lim):
    """Radius of the largest ball around ``c`` (on row ``j``'s plane) inside the plane that
    satisfies every other row; -1 when a parallel row excludes the plane.

    Rows with ``dcen[i] >= lim`` are skipped: ``dcen`` is each row's slack at the centre
    of a ball of radius ``R`` holding ``c``, and ``lim = 2 R``, so such a row keeps a ball
    of radius ``R`` (at least the face's) around ``c``.
    """
    m = A.shape[0]
    rho = np.inf
    for i in range(m):
        if i == j or dcen[i] >= lim:
            continue
        q = _plane_slack(A, b, i, j, c, tol)
        if q == -np.inf:
            return -1.0
        rho = min(rho, q)
    return rho


@njit(cache=True)
def _sphere(V, nv, cen):
    """A ball holding the vertices (coordinates: the first ``len(cen)`` columns of ``V``):
    centre (vertex mean, written to ``cen``) and radius."""
    k = cen.shape[0]
    for e in range(k):
        cen[e] = 0.0
    for v in range(nv):
        for e in range(k):
            cen[e] += V[v, e]
    for e in range(k):
        cen[e] /= nv
    r2 = 0.0
    for v in range(nv):
        d2 = 0.0
        for e in range(k):
            d2 += (V[v, e] - cen[e]) ** 2
        if d2 > r2:
            r2 = d2
    return np.sqrt(r2) * (1.0 + SPHERE_RTOL) + SPHERE_ATOL


@njit(cache=True)
def domain_polygon_rows(A0, b0, eps):
    """The bounded 2-D domain ``{A0 x <= b0}`` as a polygon whose edge column 2 holds the
    index of the row it lies on (columns 3, 4 unused); ``ok = False`` when degenerate."""
    P = np.array([[-2.0, -2.0, -1.0, 0.0, 0.0], [2.0, -2.0, -1.0, 0.0, 0.0],
                  [2.0, 2.0, -1.0, 0.0, 0.0], [-2.0, 2.0, -1.0, 0.0, 0.0]])
    for i in range(A0.shape[0]):
        st, P = _clip2(P, A0[i], b0[i], i, eps)
        if st == 2:
            return False, P
    for e in range(P.shape[0]):
        if P[e, 2] < 0.0:
            return False, P
    return True, P


@njit(cache=True)
def _clip2(P, a, beta, row, eps):
    """Clip polygon ``P`` (edge labels in column 2) by ``a . x <= beta``; as :func:`clip3`."""
    n = P.shape[0]
    s = np.empty(n)
    smax = -np.inf
    smin = np.inf
    for v in range(n):
        sv = a[0] * P[v, 0] + a[1] * P[v, 1] - beta
        if abs(sv) <= eps:
            sv = 0.0
        s[v] = sv
        smax = max(smax, sv)
        smin = min(smin, sv)
    if smax <= 0.0:
        return 0, P
    if smin >= 0.0:
        return 2, P
    Q = _clip(P, s, -1.0, float(row), 0.0, 0.0, 0.0)
    if Q.shape[0] < 3:
        return 2, P
    return 1, Q


@njit(cache=True)
def _poly_vertices(k, P, V, nv):
    """The vertex array (first ``k`` columns) and count of a 2-D polygon / 3-D polytope."""
    if k == 2:
        return P, P.shape[0]
    return V, nv


@njit(cache=True)
def _face_row(k, P, frow, f):
    """The row index of face ``f`` of the polygon (``k = 2``: stored in ``P``) or polytope (``k
    = 3``: ``frow``)."""
    return int(P[f, 2]) if k == 2 else frow[f]


@njit(cache=True)
def _vertex_max(VV, n_v, a, beta):
    """``max_v a . v - beta`` over the vertices (first ``len(a)`` columns of ``VV``)."""
    best = -np.inf
    for v in range(n_v):
        sv = -beta
        for t in range(a.shape[0]):
            sv += a[t] * VV[v, t]
        best = max(best, sv)
    return best


@njit(cache=True)
def _bbox_k(VV, n_v, bc, bh):
    """Bounding box of the vertices (first ``len(bc)`` columns): centre and half-widths."""
    for t in range(bc.shape[0]):
        lo = np.inf
        hi = -np.inf
        for v in range(n_v):
            lo = min(lo, VV[v, t])
            hi = max(hi, VV[v, t])
        bc[t] = 0.5 * (lo + hi)
        bh[t] = 0.5 * (hi - lo)

