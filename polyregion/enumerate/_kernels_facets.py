"""Numba kernels: irredundant facets of regions and the region across each facet.

All kernels work in the engine's unit-scale coordinates (see :mod:`.engine`) on the
flattened network of :class:`~polyregion.enumerate.engine.Prepared`.

Facets of a region ``P = {x : a_j . x <= b_j}`` (unit rows, all neuron hyperplanes of the
region plus the domain). Row ``j`` carries a facet when ``F_j = P ∩ {a_j . x = b_j}`` holds
a ``(d-1)``-ball of radius ``> tol`` inside the hyperplane. That radius and a centre are
found by the Chebyshev LP of :func:`._kernels_lp.cheb_lp` in the ``d - 1`` coordinates of
the hyperplane (a Householder basis), solved over a small working set ``S`` of rows and
completed by constraint generation: rows that the centre's ball violates join ``S`` and
the LP is solved again, so the answer is exact for all rows. Rows are visited in order of
their distance from the region's interior point; a row whose hyperplane misses an outer
box of ``P_S = {a_j . x <= b_j, j in S}`` (``2 d`` small LPs by :func:`lp_max`, an active-set
primal simplex started from the interior point) is dropped without an LP. Rows of the
same hyperplane (duplicate neurons) form one facet with several labels.

Neighbours. In a continuous piecewise-linear network, every neuron's pre-activation on
the region ``Q`` across a facet ``F`` of ``P`` differs from its expression on ``P`` by a
multiple of the facet's hyperplane function, so ``Q`` shares exactly ``F`` with ``P``
and its code is ``P``'s code with the neurons carrying ``F`` moved to the adjacent piece.
That code is looked up by binary search in the sorted codes. When it is not a region
(neurons constant on ``P`` at a breakpoint, nearly coincident hyperplanes), a forward
pass of value and tangent at ``(centre, normal)`` gives the code of the points
``centre + eps * normal`` for infinitesimal ``eps``. :func:`verify_neighbours` then checks
each match against the neighbour's own facets and flags the rest for the Python layer.

Walk (bounded 2-D/3-D domains, :func:`walk_facets`). The same facets for all regions at
once, by one walk down the trie of the sorted codes: a cell is the range of regions below
a code prefix with the domain polygon/polytope cut by the rows decided so far, sharing its
pre-activation maps with every region below it; a leaf's polytope faces are the region's
facets. Regions the walk cannot decide with a ``dup_tol`` margin are left to
:func:`region_facets`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from ._kernels_engine import _box_max, _tighten
from ._highs import TICK_EVERY, tick
from ._kernels_lp import LP_OPTIMAL, _try_invert, cheb_solve, cold_basis
from ._kernels_const import deeper_layer_scales, layer_margin, layer_norms, term_row_scale
from ._kernels_planar import _clip, inradius, transposed_weights

LPM_OPTIMAL = 0
LPM_UNBOUNDED = 1
LPM_FAILED = 2

# verify_neighbours status codes
NB_OK = 0
NB_DOMAIN = 1  # domain facet: no neighbour
NB_NOT_FOUND = 2  # the code across is not a region
NB_NO_MATCH = 3  # the neighbour has no facet on the same hyperplane holding the centre
NB_SPLIT = 4  # the neighbour's facet does not cover the whole facet

#: Polytope clipping (``box_mode = 2``): a vertex within this distance of a cutting plane
#: (unit-scale coordinates) counts as on it. Rounding in vertex coordinates is ~1e-16;
#: rows decided from the clipped polytope keep a margin of ``dup_tol`` (>= 100 * tol)
#: from it, so this only has to sit between the two.
CLIP_EPS = 1e-13


# --------------------------------------------------------------------------- helpers
@njit(cache=True)
def _dot(a, b):
    s = 0.0
    for t in range(a.shape[0]):
        s += a[t] * b[t]
    return s


@njit(cache=True)
def _grow2(arr, n):
    if n < arr.shape[0]:
        return arr
    out = np.empty((max(2 * arr.shape[0], 16), arr.shape[1]), arr.dtype)
    out[:arr.shape[0]] = arr
    return out


@njit(cache=True)
def _grow1(arr, n):
    if n < arr.shape[0]:
        return arr
    out = np.empty(max(2 * arr.shape[0], 16), arr.dtype)
    out[:arr.shape[0]] = arr
    return out


@njit(cache=True)
def _layer_maps(W_flat, W_off, b_flat, b_off, dims, slopes, intercepts, code, Gc, gc, zc,
                start):
    """Fill ``Gc[l], gc[l]`` (pre-activation map ``u = G x + g`` of hidden layer ``l``) and
    ``zc[l]`` (its constant-row scale, :mod:`._kernels_const`) for ``l >= start``; layers
    below ``start`` are reused (they depend only on the codes of earlier layers)."""
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    off = 0
    for l in range(start):
        off += dims[l + 1]
    for l in range(start, n_hidden):
        n_in = dims[l]
        n_out = dims[l + 1]
        W = W_flat[W_off[l]:W_off[l + 1]].reshape(n_out, n_in)
        bias = b_flat[b_off[l]:b_off[l + 1]]
        if l == 0:
            for j in range(n_out):
                for t in range(k):
                    Gc[0, j, t] = W[j, t]
                gc[0, j] = bias[j]
            zc[0] = 0.0
        else:
            n_prev = dims[l]
            # M = diag(s) G_prev, c = s g_prev + intercept (previous layer's pieces)
            M = np.empty((n_prev, k))
            c = np.empty(n_prev)
            mn = np.empty(n_prev)
            poff = off - n_prev
            for i in range(n_prev):
                pc = code[poff + i]
                sl = slopes[l - 1, pc]
                sq = 0.0
                for t in range(k):
                    M[i, t] = sl * Gc[l - 1, i, t]
                    sq += M[i, t] * M[i, t]
                mn[i] = np.sqrt(sq)
                c[i] = sl * gc[l - 1, i] + intercepts[l - 1, pc]
            G = W @ M
            g = W @ c
            for j in range(n_out):
                for t in range(k):
                    Gc[l, j, t] = G[j, t]
                gc[l, j] = g[j] + bias[j]
            zc[l] = term_row_scale(W_flat, W_off[l], n_out, n_in, mn)
        gmax = 0.0
        for j in range(n_out):
            sq = 0.0
            for t in range(k):
                sq += Gc[l, j, t] * Gc[l, j, t]
            gmax = max(gmax, sq)
        zc[l] = max(zc[l], np.sqrt(gmax))
        off += n_out


@njit(cache=True)
def _rows_from_maps(dims, n_bp, bps, A0, b0, code, Gc, gc, zc, zero_tol):
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    mmax = A0.shape[0]
    for l in range(n_hidden):
        mmax += dims[l + 1] * min(n_bp[l], 2)
    A = np.empty((mmax, k))
    b = np.empty(mmax)
    lab = np.empty((mmax, 3), np.int64)
    m = 0
    for i in range(A0.shape[0]):
        A[m] = A0[i]
        b[m] = b0[i]
        lab[m, 0] = -1
        lab[m, 1] = i
        lab[m, 2] = 0
        m += 1
    off = 0
    for l in range(n_hidden):
        n_out = dims[l + 1]
        zthr = zero_tol * zc[l]
        nb = n_bp[l]
        for j in range(n_out):
            p = code[off + j]
            s = 0.0
            for t in range(k):
                s += Gc[l, j, t] * Gc[l, j, t]
            nrm = np.sqrt(s)
            if nrm <= zthr or nrm == 0.0:
                continue
            if p > 0:
                for t in range(k):
                    A[m, t] = -Gc[l, j, t] / nrm
                b[m] = (gc[l, j] - bps[l, p - 1]) / nrm
                lab[m, 0] = l
                lab[m, 1] = j
                lab[m, 2] = p - 1
                m += 1
            if p < nb:
                for t in range(k):
                    A[m, t] = Gc[l, j, t] / nrm
                b[m] = (bps[l, p] - gc[l, j]) / nrm
                lab[m, 0] = l
                lab[m, 1] = j
                lab[m, 2] = p
                m += 1
        off += n_out
    return A[:m], b[:m], lab[:m]


@njit(cache=True)
def _map_cache(dims, k):
    n_hidden = dims.shape[0] - 2
    nmax = 1
    for l in range(n_hidden):
        nmax = max(nmax, dims[l + 1])
    return (np.empty((max(n_hidden, 1), nmax, k)), np.empty((max(n_hidden, 1), nmax)),
            np.empty(max(n_hidden, 1)))


@njit(cache=True)
def region_rows(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts, A0, b0,
                code, zero_tol):
    """All constraint rows of the cell with ``code`` (as ``cell_constraints``).

    Returns ``(A, b, lab)``: unit rows, right-hand sides and labels ``(layer, unit, q)``
    (``layer = -1``: domain facet ``unit``).
    """
    Gc, gc, zc = _map_cache(dims, dims[0])
    _layer_maps(W_flat, W_off, b_flat, b_off, dims, slopes, intercepts, code, Gc, gc, zc, 0)
    A, b, lab = _rows_from_maps(dims, n_bp, bps, A0, b0, code, Gc, gc, zc, zero_tol)
    return A.copy(), b.copy(), lab.copy()


# --------------------------------------------------------------------------- LP: max c.x
@njit(cache=True)
def lp_max(A, b, S, nS, cvec, x0, basis_in, piv_tol, max_iter, counter):
    """Maximise ``cvec . x`` over ``{A[S[i]] x <= b[S[i]], i < nS}`` from a strictly
    interior point ``x0``, by an active-set primal simplex (Bland's rule).

    ``basis_in`` (``k`` row indices, or anything else) is tried as a warm start; otherwise
    a vertex is reached from ``x0`` by ``k`` ray shots. Returns ``(status, value, x, basis)``.
    """
    k = A.shape[1]
    x = np.empty(k)
    basis = np.full(k, -1, np.int64)
    Binv = np.empty((0, 0))
    ok = basis_in.shape[0] == k
    if ok:
        for i in range(k):
            if basis_in[i] < 0:
                ok = False
    if ok:
        B = np.empty((k, k))
        for i in range(k):
            B[i] = A[basis_in[i]]
        Binv = _try_invert(B)
        if Binv.shape[0] == 0:
            ok = False
        else:
            bb = np.empty(k)
            for i in range(k):
                bb[i] = b[basis_in[i]]
            x[:] = Binv @ bb
            for i in range(nS):
                r = S[i]
                if _dot(A[r], x) > b[r] + 1e-9:
                    ok = False
                    break
            if ok:
                basis[:] = basis_in
    if not ok:
        # crash: ray shots from x0 along the projected objective
        x[:] = x0
        Qo = np.zeros((k, k))  # orthonormal basis of the active normals (rows)
        na = 0
        for step in range(k):
            d = cvec.copy()
            for i in range(na):
                s = _dot(Qo[i], d)
                for t in range(k):
                    d[t] -= s * Qo[i, t]
            dn = np.sqrt(_dot(d, d))
            if dn <= 1e-12 * (np.sqrt(_dot(cvec, cvec)) + 1e-300):
                found = False
                for e in range(k):
                    d[:] = 0.0
                    d[e] = 1.0
                    for i in range(na):
                        s = _dot(Qo[i], d)
                        for t in range(k):
                            d[t] -= s * Qo[i, t]
                    if np.sqrt(_dot(d, d)) > 1e-6:
                        found = True
                        break
                if not found:
                    return LPM_FAILED, 0.0, x, basis
            hit = -1
            best = np.inf
            for sgn_try in range(2):
                for i in range(nS):
                    r = S[i]
                    ad = _dot(A[r], d)
                    if ad > piv_tol:
                        tt = (b[r] - _dot(A[r], x)) / ad
                        if tt < 0.0:
                            tt = 0.0
                        if tt < best:
                            best = tt
                            hit = r
                if hit >= 0:
                    break
                if _dot(cvec, d) > 1e-12 * np.sqrt(_dot(cvec, cvec)):
                    return LPM_UNBOUNDED, np.inf, x, basis
                for t in range(k):
                    d[t] = -d[t]
            if hit < 0:
                return LPM_FAILED, 0.0, x, basis
            for t in range(k):
                x[t] += best * d[t]
            basis[step] = hit
            # Gram-Schmidt
            q = A[hit].copy()
            for i in range(na):
                s = _dot(Qo[i], q)
                for t in range(k):
                    q[t] -= s * Qo[i, t]
            qn = np.sqrt(_dot(q, q))
            if qn <= 1e-12:
                return LPM_FAILED, 0.0, x, basis
            for t in range(k):
                Qo[na, t] = q[t] / qn
            na += 1
        B = np.empty((k, k))
        for i in range(k):
            B[i] = A[basis[i]]
        Binv = _try_invert(B)
        if Binv.shape[0] == 0:
            return LPM_FAILED, 0.0, x, basis
    # primal simplex over vertices
    in_basis = np.zeros(A.shape[0], np.bool_)
    for i in range(k):
        in_basis[basis[i]] = True
    y = np.empty(k)
    dvec = np.empty(k)
    for it in range(max_iter):
        counter[0] += 1
        # y = Binv^T c
        for i in range(k):
            s = 0.0
            for t in range(k):
                s += Binv[t, i] * cvec[t]
            y[i] = s
        leave = -1
        best_lab = A.shape[0] + 1
        for i in range(k):
            if y[i] < -1e-12 and basis[i] < best_lab:
                best_lab = basis[i]
                leave = i
        if leave < 0:
            return LPM_OPTIMAL, _dot(cvec, x), x, basis
        for t in range(k):
            dvec[t] = -Binv[t, leave]
        enter = -1
        best = np.inf
        for i in range(nS):
            r = S[i]
            if in_basis[r]:
                continue
            ad = _dot(A[r], dvec)
            if ad > piv_tol:
                tt = (b[r] - _dot(A[r], x)) / ad
                if tt < 0.0:
                    tt = 0.0
                if tt < best - 1e-15 or (tt <= best + 1e-15 and r < enter):
                    if tt < best:
                        best = tt
                    enter = r
        if enter < 0:
            return LPM_UNBOUNDED, np.inf, x, basis
        in_basis[basis[leave]] = False
        basis[leave] = enter
        in_basis[enter] = True
        B = np.empty((k, k))
        bb = np.empty(k)
        for i in range(k):
            B[i] = A[basis[i]]
            bb[i] = b[basis[i]]
        Bi = _try_invert(B)
        if Bi.shape[0] == 0:
            return LPM_FAILED, 0.0, x, basis
        Binv = Bi
        x[:] = Binv @ bb
    return LPM_FAILED, 0.0, x, basis


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
            if abs(al) <= 1e-12:
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
        if nu <= 1e-12:
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
            if nu2 <= 1e-24:
                if sl < -tol:
                    return -1.0, c, nS
                continue
            if sl < r * np.sqrt(nu2) * (1.0 - 1e-9) - 1e-15:
                S[nS] = i
                in_S[i] = True
                nS += 1
                added += 1
        if added == 0:
            return r, c, nS


# --------------------------------------------------------------------------- codes
@njit(cache=True)
def find_code(codes, q):
    """Row of the lexicographically sorted ``codes`` equal to ``q``, or -1."""
    lo = 0
    hi = codes.shape[0]
    nn = codes.shape[1]
    while lo < hi:
        mid = (lo + hi) // 2
        cmp = 0
        for t in range(nn):
            if codes[mid, t] != q[t]:
                cmp = -1 if codes[mid, t] < q[t] else 1
                break
        if cmp == 0:
            return mid
        if cmp < 0:
            lo = mid + 1
        else:
            hi = mid
    return -1


@njit(cache=True)
def code_across(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts, x, n,
                on_tol, zero_tol):
    """Code of the points ``x + eps * n`` for infinitesimal ``eps > 0``.

    Forward pass of value, tangent and Jacobian; a neuron whose hyperplane passes within
    ``on_tol`` of ``x`` is put on the side its tangent points to.
    """
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    nn = 0
    for l in range(n_hidden):
        nn += dims[l + 1]
    out = np.empty(nn, np.uint8)
    winf, bmax = layer_norms(W_flat, W_off, b_flat, b_off, dims)
    z0 = x.copy()
    z1 = n.copy()
    zc = np.zeros(k)  # the layer's offsets on the cell (value at the origin)
    J = np.eye(k)
    off = 0
    for l in range(n_hidden):
        n_in = dims[l]
        n_out = dims[l + 1]
        W = W_flat[W_off[l]:W_off[l + 1]].reshape(n_out, n_in)
        bias = b_flat[b_off[l]:b_off[l + 1]]
        u0 = W @ z0 + bias
        u1 = W @ z1
        uc = W @ zc + bias
        G = W @ J
        gmax = 0.0
        gn = np.empty(n_out)
        for j in range(n_out):
            s = 0.0
            for t in range(k):
                s += G[j, t] * G[j, t]
            gn[j] = np.sqrt(s)
            if gn[j] > gmax:
                gmax = gn[j]
        # the constant-row threshold and margin, as in the engines (_kernels_const)
        if l == 0:
            zthr = zero_tol * gmax
            cm = layer_margin(uc, gmax, 0.0, 0.0, zero_tol)
        else:
            mn = np.empty(n_in)
            mmax = 0.0
            cmax = 0.0
            for i in range(n_in):
                s = 0.0
                for t in range(k):
                    s += J[i, t] * J[i, t]
                mn[i] = np.sqrt(s)
                mmax = max(mmax, mn[i])
                cmax = max(cmax, abs(zc[i]))
            zthr, cm = deeper_layer_scales(gn, gmax, uc, W_flat, W_off[l], n_in, mn, mmax,
                                           cmax, winf[l], bmax[l], zero_tol)
        nb = n_bp[l]
        z0n = np.empty(n_out)
        z1n = np.empty(n_out)
        zcn = np.empty(n_out)
        Jn = np.empty((n_out, k))
        for j in range(n_out):
            p = 0
            live = gn[j] > zthr and gn[j] > 0.0
            margin = 0.0 if live else cm  # constant: the upper piece within the margin
            for q in range(nb):
                if u0[j] >= bps[l, q] - margin:
                    p = q + 1
            if live:
                for q in range(nb):
                    if abs(u0[j] - bps[l, q]) <= on_tol * gn[j]:
                        if u1[j] > 1e-9 * gn[j]:
                            p = q + 1
                        elif u1[j] < -1e-9 * gn[j]:
                            p = q
            out[off + j] = p
            sl = slopes[l, p]
            z0n[j] = sl * u0[j] + intercepts[l, p]
            z1n[j] = sl * u1[j]
            zcn[j] = sl * uc[j] + intercepts[l, p]
            for t in range(k):
                Jn[j, t] = sl * G[j, t]
        z0 = z0n
        z1 = z1n
        zc = zcn
        J = Jn
        off += n_out
    return out


@njit(cache=True)
def _across(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts, x, n, on_tol,
            zero_tol, codes, stats):
    """Row of ``codes`` holding the points ``x + eps * n`` (:func:`code_across`), or -1;
    counts the forward pass in ``stats[4]``."""
    stats[4] += 1
    q = code_across(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts, x, n,
                    on_tol, zero_tol)
    return find_code(codes, q)


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
    V, nv, fv, fs, frow, nfc = cube_polytope(2.0)
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
        if nu <= 1e-12:
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
    if nu2 <= 1e-24:
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
    return np.sqrt(r2) * (1.0 + 1e-12) + 1e-15


@njit(cache=True)
def _same_plane(A, b, r, i, dup_tol):
    """Rows ``r`` and ``i`` are the same hyperplane (same side)."""
    return abs(b[r] - b[i]) <= dup_tol and _dot(A[r], A[i]) >= 1.0 - 1e-12


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
    lim = 2.0 * rad + 1e-12
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
        if r > tol and rho >= r * (1.0 - 1e-9) - 1e-15:
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
    lim = 2.0 * rad + 1e-12
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
        if r > tol and rho >= r * (1.0 - 1e-9) - 1e-15:
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
    basis = np.full(k, -1, np.int64)
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
                    st, val, xv, basis = lp_max(A, b, S, nS, cv, p, basis, 1e-12,
                                                max_iter, stats[5:6])
                    if st == LPM_OPTIMAL:
                        if sg == 0:
                            hi[e] = val + tol
                        else:
                            lo[e] = -val - tol
                    else:
                        box_ok = False
                        basis[:] = -1
                if not box_ok:
                    break
    return nf


# --------------------------------------------------------------------------- driver
N_FACET_STATS = 10


@njit(cache=True)
def region_facets(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts,
                  A0, b0, codes, points, regs, tol, zero_tol, dup_tol, on_tol, piv_tol,
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
    DV, Dnv, Dfv, Dfs, Dfrow, Dnf = cube_polytope(2.0)
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
                nb_i = _across(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes,
                               intercepts, fc[f], fa[f], on_tol, zero_tol, codes, stats)
            nbr[f] = nb_i
        ptr[ri + 1] = nf
    return (ptr, fa[:nf].copy(), fb[:nf].copy(), fc[:nf].copy(), fr[:nf].copy(),
            nbr[:nf].copy(), lptr[:nf + 1].copy(), labs[:nl].copy())


@njit(cache=True)
def _on_domain(labs, s0, s1):
    """True when one of the labels ``labs[s0:s1]`` of a facet is a domain row."""
    for s in range(s0, s1):
        if labs[s, 0] < 0:
            return True
    return False


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
                if _dot(fa[g], fa[f]) <= -1.0 + 1e-9 and abs(fb[g] + fb[f]) <= dup_tol:
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


@njit(cache=True)
def jacobians(W_flat, W_off, dims, slopes, codes):
    """Jacobian ``(n_regions, out, k)`` of the network on each region (unit coordinates)."""
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    n_layers = dims.shape[0] - 1
    out = dims[dims.shape[0] - 1]
    n = codes.shape[0]
    res = np.empty((n, out, k))
    for i in range(n):
        M = np.eye(k)
        off = 0
        for l in range(n_layers):
            n_in = dims[l]
            n_out = dims[l + 1]
            W = W_flat[W_off[l]:W_off[l + 1]].reshape(n_out, n_in)
            G = W @ M
            if l < n_hidden:
                for j in range(n_out):
                    sl = slopes[l, codes[i, off + j]]
                    for t in range(k):
                        G[j, t] *= sl
                off += n_out
            M = G
        res[i] = M
    return res


# --------------------------------------------------------------------------- tree walk
#: ``walk_facets`` status of a region: its facets come from the walk, or it must be
#: recomputed by :func:`region_facets` (a row within ``dup_tol`` of its polytope, a thin
#: face, an inconsistent code range: whatever the walk cannot decide exactly).
WALK_OK = 0
WALK_REDO = 1


@njit(cache=True)
def code_hashes(codes, Z):
    """Zobrist hash of each code: XOR of ``Z[neuron, piece]``."""
    n, nn = codes.shape
    H = np.zeros(n, np.uint64)
    for i in range(n):
        h = np.uint64(0)
        for t in range(nn):
            h ^= Z[t, codes[i, t]]
        H[i] = h
    return H


@njit(cache=True)
def code_words(codes):
    """The codes packed into little-endian 64-bit words (8 neurons a word, zero-padded):
    rows compare a word at a time."""
    n, nn = codes.shape
    nw = (nn + 7) // 8
    W = np.zeros((n, nw), np.uint64)
    for i in range(n):
        for t in range(nn):
            W[i, t >> 3] |= np.uint64(codes[i, t]) << np.uint64(8 * (t & 7))
    return W


@njit(cache=True)
def _find_flipped(cw, H, reg, idx, new, h, tab):
    """Row whose code is that of row ``reg`` with neuron ``idx`` set to piece ``new``
    (hash ``h``; ``cw``: :func:`code_words`; ``H`` the rows' hashes, ``tab`` the
    open-addressing table of :func:`_code_index`), or -1."""
    mask = np.uint64(tab.shape[0] - 1)
    w0 = idx >> 3
    sh = np.uint64(8 * (idx & 7))
    qw = (cw[reg, w0] & ~(np.uint64(0xFF) << sh)) | (np.uint64(new) << sh)
    nw = cw.shape[1]
    s = h & mask
    while tab[s] >= 0:
        r = tab[s]
        if H[r] == h and cw[r, w0] == qw:
            same = True
            t = 0
            while same and t < nw:
                if t != w0 and cw[r, t] != cw[reg, t]:
                    same = False
                t += 1
            if same:
                return r
        s = (s + np.uint64(1)) & mask
    return -1


@njit(cache=True)
def codes_sorted(codes):
    """True when the rows of ``codes`` are in strictly increasing lexicographic order."""
    n, nn = codes.shape
    for i in range(1, n):
        t = 0
        while t < nn and codes[i, t] == codes[i - 1, t]:
            t += 1
        if t == nn or codes[i, t] < codes[i - 1, t]:
            return False
    return True


@njit(cache=True)
def _poly_vertices(k, P, V, nv):
    """The vertex array (first ``k`` columns) and count of a 2-D polygon / 3-D polytope."""
    if k == 2:
        return P, P.shape[0]
    return V, nv


@njit(cache=True)
def _face_row(k, P, frow, f):
    return int(P[f, 2]) if k == 2 else frow[f]


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
def _next_map(WT, W_flat, W_off, b_flat, b_off, dims, slopes, intercepts, winf, codes, r, off,
              l, Gt, zero_tol):
    """Pre-activation map of layer ``l + 1`` (rows 0..k-1: coefficients, row k: offset)
    from that of layer ``l`` and the layer-``l`` code of ``codes[r]``, and its
    constant-row threshold (:mod:`._kernels_const`)."""
    k = dims[0]
    nl = dims[l + 1]
    nn = dims[l + 2]
    G2 = np.zeros((k + 1, nn))
    for i in range(nn):
        G2[k, i] = b_flat[b_off[l + 1] + i]
    mn = np.empty(nl)
    mmax = 0.0
    for j in range(nl):
        piece = codes[r, off + j]
        sl = slopes[l, piece]
        w0 = W_off[l + 1] + j * nn
        w = WT[w0:w0 + nn]  # slices (not flat indices) let the loop vectorise
        sq = 0.0
        for t in range(k + 1):
            m = sl * Gt[t, j]
            if t == k:
                m += intercepts[l, piece]
            else:
                sq += m * m
            if m == 0.0:
                continue
            row = G2[t]
            for i in range(nn):
                row[i] += w[i] * m
        mn[j] = np.sqrt(sq)
        mmax = max(mmax, mn[j])
    nrm, gmax = _map_norms_k(G2, k)
    # the margin is not used here (the walk never decides a constant neuron's piece)
    zthr, _ = deeper_layer_scales(nrm, gmax, G2[k], W_flat, W_off[l + 1], nl, mn, mmax, 0.0,
                                  winf[l + 1], 0.0, zero_tol)
    return G2, zthr


@njit(cache=True)
def _map_norms_k(Gt, k):
    """Row norms of a layer map (rows 0..k-1 of ``Gt``) and their maximum."""
    nrm = np.empty(Gt.shape[1])
    best = 0.0
    for j in range(Gt.shape[1]):
        s = 0.0
        for t in range(k):
            s += Gt[t, j] * Gt[t, j]
        nrm[j] = np.sqrt(s)
        best = max(best, nrm[j])
    return nrm, best


@njit(cache=True)
def _flip_code(code, labs, s0, s1, dims_off, q):
    """``q``: ``code`` with the neurons of labels ``labs[s0:s1]`` moved to the piece
    across their breakpoint; False for a facet on a domain face (:func:`_on_domain`),
    which has nothing across even when neurons lie on it too."""
    if _on_domain(labs, s0, s1):
        return False
    q[:] = code
    for s in range(s0, s1):
        idx = dims_off[labs[s, 0]] + labs[s, 1]
        qq = labs[s, 2]
        q[idx] = qq if code[idx] == qq + 1 else qq + 1
    return True


@njit(cache=True)
def walk_facets(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts, A0, b0,
                codes, Z, tol, zero_tol, dup_tol, on_tol, stats):
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
    V, nv, fv, fs, frow, nfc = cube_polytope(2.0)
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
    _facet_neighbours(cnt, out, nf, codes, Z, dims_off, W_flat, W_off, b_flat, b_off, dims,
                      n_bp, bps, slopes, intercepts, on_tol, zero_tol, stats)
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
def _code_index(codes, Z):
    """Lookup structures of :func:`_find_flipped`: the codes' Zobrist hashes ``H``, packed
    words and an open-addressing table of the rows by hash (linear probing, a power of
    two at least twice the rows, -1 for empty slots)."""
    H = code_hashes(codes, Z)
    cw = code_words(codes)
    size = 2
    while size < 2 * H.shape[0]:
        size *= 2
    tab = np.full(size, -1, np.int64)
    mask = np.uint64(size - 1)
    for r in range(H.shape[0]):
        s = H[r] & mask
        while tab[s] >= 0:
            s = (s + np.uint64(1)) & mask
        tab[s] = r
    return H, cw, tab


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
            ok = r > tol * (1.0 + 1e-6) and rho >= r * (1.0 - 1e-9) - 1e-15
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
def _facet_neighbours(cnt, out, nf, codes, Z, dims_off, W_flat, W_off, b_flat, b_off, dims,
                      n_bp, bps, slopes, intercepts, on_tol, zero_tol, stats):
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
                    nb_i = _across(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes,
                                   intercepts, fc[f], fa[f], on_tol, zero_tol, codes, stats)
                nbr[f] = nb_i
            f += 1


@njit(cache=True)
def polygon_facets(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts, n_dom,
                   polys, pptr, doubt, codes, Z, tol, zero_tol, on_tol, stats):
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
    _facet_neighbours(cnt, out, nf, codes, Z, dims_off, W_flat, W_off, b_flat, b_off, dims,
                      n_bp, bps, slopes, intercepts, on_tol, zero_tol, stats)
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
