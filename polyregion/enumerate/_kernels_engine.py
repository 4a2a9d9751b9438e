"""Numba kernel: layer-by-layer recursive hyperplane subdivision (the LP path).

Input is a flattened CPA network already restricted to the enumeration coordinates and
rescaled so the domain has unit scale (the Python driver does that). The kernel keeps an
explicit work stack of cells. A cell carries its constraint rows (only the hyperplanes
that actually cut one of its ancestors, plus the domain), the simplex basis of its last
LP (warm start), its partial activation code, an outer bounding box and a *pool* of
strictly interior points, each with a certified radius (a ball of that radius around the
point lies in the cell).

Deciding how a hyperplane ``{a.x = beta}`` meets a cell, cheapest test first:

1. **Box.** If the hyperplane misses the cell's outer box, it does not cut the cell. The
   box starts as the domain's box and is tightened by interval arithmetic each time a row
   is added, so it is always a valid outer bound (no LP ever shrinks it).
2. **Pool.** If pool points lie farther than ``tol`` on both sides, both sides hold a
   ball of radius ``> tol``: the hyperplane cuts the cell, no LP.
3. **Vertex LP.** Otherwise, with every pool point on one side, ``max c.x`` over the
   cell toward the other side, by the primal simplex of :mod:`._kernels_lp` started from
   the best known vertex of the cell (vertices found this way are kept, and a piece
   inherits its parent's vertices on its side). Often the start vertex is already optimal
   and its dual certificate is checked in O(k^2). If the maximum stays within ``tol/2``
   of the hyperplane, the far side lies in a slab of width ``tol/2``: no cut. If a vertex
   lies beyond it, the convex hull of that vertex and a pool ball holds a certified ball
   on the far side (the "cone" test), which joins the pool: a cut, without any
   Chebyshev LP.
4. **Chebyshev LP.** Only when the above cannot certify the answer (thin or degenerate
   sides, unbounded cells, or every pool point within ``tol`` of the hyperplane): the
   Chebyshev LP of the side, warm-started from the cell's basis, in decision mode (it
   stops as soon as its dual bound shows the side is thinner than ``tol``).

A side is a region when its Chebyshev radius exceeds ``tol``, exactly as in the reference
path; the tests above only skip LPs whose answer they already know.

Per-layer candidate pruning: when a cell enters layer ``l``, every hyperplane of that
layer is first decided on the whole cell. One that does not cut it cannot cut any of its
pieces, so the subdivision of the cell within the layer only visits the hyperplanes that
cut it, and the LP centres found on the way seed the pool (they usually prove later splits
of the pieces for free).

Cost: at most one LP (usually a short vertex LP) per (cell at layer entry, hyperplane of
the layer) that the box and pool leave open, plus one per split of a piece that the pool
and the known vertices cannot prove. Memory: the stack holds one path of pieces per
layer, each with O(m k) rows and small point/vertex pools; results are O(regions).
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from ._kernels_const import deeper_layer_scales, layer_margin, layer_norms
from ._highs import TICK_EVERY, tick
from ._kernels_lp import LP_OPTIMAL, cheb_solve, cold_basis
from ._kernels_simplex import (BD_OPTIMAL, BD_STOPPED, CHEB_DENSE_MAX, bd_max,
                               cheb_highdim)

# stats layout (returned to the driver)
ST_LPS = 0  # LPs solved: Chebyshev LPs plus vertex LPs (ST_VLPS)
ST_RETRIES = 1  # cold restarts after a failed or inconsistent warm-started answer
ST_FAILED = 2  # LPs the simplex failed twice (warm, cold): re-solved by HiGHS
ST_BOX = 3  # decisions made by the outer box (no LP)
ST_POOL = 4  # splits proved by two pool points (no LP)
ST_ENTRY_LPS = 5  # LPs spent on layer-entry candidate pruning
ST_EMPTY = 6  # Chebyshev LPs that found the side empty (hyperplane does not cut)
ST_VLPS = 7  # vertex LPs (bounded dual simplex, :mod:`._kernels_simplex`)
ST_VCHECKS = 8  # cuts proved by a known vertex of the cell and a pool ball (no LP)
ST_PIVOTS = 9  # dual simplex iterations of the vertex LPs
ST_CONE = 10  # cuts proved by a vertex and a pool ball (no Chebyshev LP)
ST_VERTEX_NO_CUT = 11  # no-cut decisions certified by a vertex LP
N_STATS = 12
MAX_VERTICES = 48  # vertices kept per cell
VERTEX_PTOL = 1e-12  # primal feasibility tolerance of the vertex LP (unit-scale coordinates)

BELOW = 0  # the cell lies (up to a sliver thinner than tol) in a.x <= beta
ABOVE = 1
CUT = 2


@njit(cache=True)
def _append_row(A, b, m, a_new, b_new):
    """The rows ``A[:m], b[:m]`` with the row ``a_new . x <= b_new`` appended (new arrays)."""
    A2 = np.empty((m + 1, A.shape[1]))
    b2 = np.empty(m + 1)
    A2[:m] = A[:m]
    b2[:m] = b[:m]
    A2[m] = a_new
    b2[m] = b_new
    return A2, b2


@njit(cache=True)
def _box_max(a, lo, hi):
    """max of a.x over the box [lo, hi] (may be +inf)."""
    s = 0.0
    for t in range(a.shape[0]):
        if a[t] > 0.0:
            s += a[t] * hi[t]
        elif a[t] < 0.0:
            s += a[t] * lo[t]
    return s


@njit(cache=True)
def _box_min(a, lo, hi):
    """``min a.x`` over the box ``lo <= x <= hi`` (see :func:`_box_max`)."""
    s = 0.0
    for t in range(a.shape[0]):
        if a[t] > 0.0:
            s += a[t] * lo[t]
        elif a[t] < 0.0:
            s += a[t] * hi[t]
    return s


@njit(cache=True)
def _tighten(lo, hi, a, beta):
    """Tighten the box [lo, hi] in place to an outer box of [lo, hi] ∩ {a.x <= beta}."""
    k = a.shape[0]
    n_inf = 0
    s = 0.0
    for t in range(k):
        v = 0.0
        if a[t] > 0.0:
            v = a[t] * lo[t]
        elif a[t] < 0.0:
            v = a[t] * hi[t]
        if v == -np.inf:
            n_inf += 1
        else:
            s += v
    for i in range(k):
        if a[i] == 0.0:
            continue
        vi = a[i] * lo[i] if a[i] > 0.0 else a[i] * hi[i]
        if vi == -np.inf:
            if n_inf > 1:
                continue
            rest = s
        else:
            if n_inf > 0:
                continue
            rest = s - vi
        bound = (beta - rest) / a[i]
        if a[i] > 0.0:
            if bound < hi[i]:
                hi[i] = bound
        else:
            if bound > lo[i]:
                lo[i] = bound


@njit(cache=True)
def _initial_box(A0, b0, k):
    """An outer box ``(lo, hi)`` of ``{A0 x <= b0}`` by three rounds of interval propagation."""
    lo = np.full(k, -np.inf)
    hi = np.full(k, np.inf)
    for _ in range(3):
        for i in range(A0.shape[0]):
            _tighten(lo, hi, A0[i], b0[i])
    return lo, hi


@njit(cache=True)
def _general_domain_rows(A0):
    """Which domain rows are not axis-aligned: those stay rows of the vertex LP, the
    axis-aligned ones are exact bounds of the outer box (:func:`_initial_box`)."""
    m0, k = A0.shape
    gen = np.ones(m0, np.bool_)
    for j in range(m0):
        nz = 0
        for t in range(k):
            if A0[j, t] != 0.0:
                nz += 1
        gen[j] = nz != 1
    return gen


@njit(cache=True)
def _row_norms(G):
    """Euclidean norms of the rows of ``G``."""
    out = np.empty(G.shape[0])
    for j in range(G.shape[0]):
        s = 0.0
        for t in range(G.shape[1]):
            s += G[j, t] * G[j, t]
        out[j] = np.sqrt(s)
    return out


@njit(cache=True)
def _side(BA, Bb, A, b, m, basis, lo, hi, a_new, b_new, tol, piv_tol, opt_tol, max_iter,
          stats):
    """Chebyshev LP for the cell plus one row. Returns (nonempty, x, r, basis).

    The cell's rows are the domain's axis-aligned facets ``BA, Bb`` (kept out of the
    cells' rows: the outer box holds them) followed by its other rows ``A, b``; the
    facets come first so the basis labels of a parent stay valid in its pieces. Above
    ``CHEB_DENSE_MAX`` dimensions the LP goes to :func:`._kernels_simplex.cheb_highdim`
    (``[lo, hi]``: the cell's outer box), which needs no basis."""
    nB, k = BA.shape
    A2 = np.empty((nB + m + 1, k))
    b2 = np.empty(nB + m + 1)
    A2[:nB] = BA
    b2[:nB] = Bb
    A2[nB:nB + m] = A[:m]
    b2[nB:nB + m] = b[:m]
    A2[nB + m] = a_new
    b2[nB + m] = b_new
    stats[ST_LPS] += 1
    if k > CHEB_DENSE_MAX:
        st, obj, rp, x = cheb_highdim(A2, b2, nB + m + 1, lo, hi, tol, VERTEX_PTOL, piv_tol,
                                      max_iter, stats[ST_RETRIES:ST_FAILED + 1])
        bas = basis
    else:
        # failed or inconsistent solves are retried cold, then by HiGHS (ST_RETRIES,
        # ST_FAILED)
        st, obj, rp, x, bas = cheb_solve(A2, b2, nB + m + 1, basis, tol, piv_tol, opt_tol,
                                         max_iter, stats[ST_RETRIES:ST_FAILED + 1])
    nonempty = st == LP_OPTIMAL and rp > tol
    if not nonempty:
        stats[ST_EMPTY] += 1
    return nonempty, x, rp, bas


@njit(cache=True)
def _cone(P, R, v, viol, c, gamma, tol):
    """A ball on the side ``{c.x > gamma}`` inside conv(v, pool balls).

    ``v`` is a point of the closed cell (violating no row by more than ``viol``) with
    ``c.v > gamma``; every pool ball lies in the cell on the side ``c.x < gamma``. For a
    pool ball ``B(p, rho)`` at distance ``dp`` and ``delta = c.v - gamma``, the point
    ``x = (1 - lam) v + lam p`` with ``lam = delta / (rho + delta + dp)`` carries the ball
    of radius ``lam * rho`` (minus ``viol``) in the cell, on the far side of the
    hyperplane. Returns the best ``(x, radius)`` over the pool.
    """
    k = c.shape[0]
    delta = -gamma
    for t in range(k):
        delta += c[t] * v[t]
    best = -np.inf
    ib = -1
    lam_b = 0.0
    for i in range(P.shape[0]):
        dp = gamma
        for t in range(k):
            dp -= c[t] * P[i, t]
        if dp <= tol:
            continue
        lam = delta / (R[i] + delta + dp)
        rad = lam * R[i] - viol
        if rad > best:
            best = rad
            ib = i
            lam_b = lam
    x = np.empty(k)
    if ib < 0:
        return x, -np.inf
    for t in range(k):
        x[t] = (1.0 - lam_b) * v[t] + lam_b * P[ib, t]
    return x, best


@njit(cache=True)
def _violation(A, b, v):
    """Largest violation ``max_j (A_j . v - b_j)`` of the rows at ``v`` (0 when ``v`` satisfies
    all)."""
    worst = 0.0
    for j in range(A.shape[0]):
        s = -b[j]
        for t in range(A.shape[1]):
            s += A[j, t] * v[t]
        if s > worst:
            worst = s
    return worst


@njit(cache=True)
def _probe(BA, Bb, A, b, basis, P, R, VX, lo, hi, c, gamma, tol, piv_tol, opt_tol,
           max_iter, stats):
    """Is the side ``{c.x >= gamma}`` (which holds no pool point) a region?

    First a known vertex of the cell beyond the hyperplane (with a pool ball: the cone
    test); then ``max c.x`` over the cell by the bounded dual simplex
    (:func:`._kernels_simplex.bd_max`: the outer box ``[lo, hi]`` as variable bounds, the
    cell's rows ``A`` -- its cuts and non-axis-aligned domain rows -- as rows), whose
    certificate decides "no cut" and whose optimal vertex feeds the cone test; the side's
    Chebyshev LP only when neither is conclusive.

    Returns ``(nonempty, x, r, bas, got_bas, v, got_v)``: a point with certified radius
    when non-empty, a new simplex basis (``got_bas``) and a new point of the closed cell
    (``got_v``) to remember.
    """
    k = c.shape[0]
    m = A.shape[0]
    nv = VX.shape[0]
    nox = np.zeros(k)
    if nv > 0:
        ib = 0
        best = -np.inf
        for i in range(nv):
            s = 0.0
            for t in range(k):
                s += c[t] * VX[i, t]
            if s > best:
                best = s
                ib = i
        if best > gamma + tol:
            x, r = _cone(P, R, VX[ib], _violation(A, b, VX[ib]), c, gamma, tol)
            if r > 2.0 * tol:
                stats[ST_CONE] += 1
                stats[ST_VCHECKS] += 1
                return True, x, r, basis, False, nox, False
    rows = np.arange(m)
    # decision mode: the solve stops once its certificate (rounded up by its own rounding
    # bound, see _kernels_simplex._certificate) puts the far side in the slab of width
    # tol/2 beyond the hyperplane (a fixed margin of k * opt_tol, 8e-11 in 784-D, exceeded
    # tol/2 and sent every facet of a work unit's cell to a Chebyshev LP)
    thr = gamma + 0.5 * tol
    st, val, bound, v, nit = bd_max(A, b, rows, lo, hi, c, VERTEX_PTOL, piv_tol, max_iter,
                                    thr)
    stats[ST_VLPS] += 1
    stats[ST_LPS] += 1
    stats[ST_PIVOTS] += nit
    if st == BD_STOPPED and bound <= thr:
        stats[ST_VERTEX_NO_CUT] += 1
        return False, nox, 0.0, basis, False, nox, False
    if st == BD_OPTIMAL:
        if bound <= thr and val <= gamma + 0.5 * tol:
            stats[ST_VERTEX_NO_CUT] += 1
            return False, nox, 0.0, basis, False, v, True
        if val > gamma + tol:
            x, r = _cone(P, R, v, _violation(A, b, v), c, gamma, tol)
            if r > 2.0 * tol:
                stats[ST_CONE] += 1
                return True, x, r, basis, False, v, True
        ne, x, r, bas = _side(BA, Bb, A, b, m, basis, lo, hi,
                              -c, -gamma, tol, piv_tol, opt_tol, max_iter,
                              stats)
        return ne, x, r, bas, True, v, True
    ne, x, r, bas = _side(BA, Bb, A, b, m, basis, lo, hi,
                          -c, -gamma, tol, piv_tol, opt_tol, max_iter,
                          stats)
    return ne, x, r, bas, True, nox, False


@njit(cache=True)
def _decide(BA, Bb, A, b, basis, P, R, VX, lo, hi, a, beta, tol, piv_tol, opt_tol,
            max_iter, stats):
    """How does {a.x = beta} meet the cell?

    Returns ``(outcome, xb, rb, basb, got_b, xa, ra, basa, got_a, v, got_v)``:
    outcome BELOW, ABOVE or CUT; ``x*``/``r*`` a new pool point of a side found non-empty
    (``got_*``) and ``bas*`` the basis to warm-start that side from; ``v`` a new point of
    the closed cell (``got_v``).
    """
    k = a.shape[0]
    m = A.shape[0]
    empty = np.zeros(k)
    if _box_max(a, lo, hi) <= beta:
        stats[ST_BOX] += 1
        return (BELOW, empty, 0.0, basis, False, empty, 0.0, basis, False, empty, False)
    if _box_min(a, lo, hi) >= beta:
        stats[ST_BOX] += 1
        return (ABOVE, empty, 0.0, basis, False, empty, 0.0, basis, False, empty, False)
    has_a = False
    has_b = False
    for i in range(P.shape[0]):
        s = -beta
        for t in range(k):
            s += a[t] * P[i, t]
        if s > tol:
            has_a = True
        elif s < -tol:
            has_b = True
    if has_a and has_b:
        stats[ST_POOL] += 1
        return (CUT, empty, 0.0, basis, False, empty, 0.0, basis, False, empty, False)
    if has_b:
        ne, x, r, bas, gbas, v, gv = _probe(BA, Bb, A, b, basis, P, R, VX, lo, hi, a, beta,
                                            tol, piv_tol, opt_tol, max_iter, stats)
        if ne:
            return CUT, empty, 0.0, basis, False, x, r, bas, True, v, gv
        return BELOW, empty, 0.0, basis, False, empty, 0.0, basis, False, v, gv
    if has_a:
        ne, x, r, bas, gbas, v, gv = _probe(BA, Bb, A, b, basis, P, R, VX, lo, hi, -a,
                                            -beta, tol, piv_tol, opt_tol, max_iter, stats)
        if ne:
            return CUT, x, r, bas, True, empty, 0.0, basis, False, v, gv
        return ABOVE, empty, 0.0, basis, False, empty, 0.0, basis, False, v, gv
    # every pool point lies within tol of the hyperplane: solve both sides
    neb, xb, rb, basb = _side(BA, Bb, A, b, m, basis, lo, hi,
                              a, beta, tol, piv_tol, opt_tol, max_iter,
                              stats)
    nea, xa, ra, basa = _side(BA, Bb, A, b, m, basis, lo, hi,
                              -a, -beta, tol, piv_tol, opt_tol, max_iter,
                              stats)
    if neb and nea:
        return CUT, xb, rb, basb, True, xa, ra, basa, True, empty, False
    if nea or (not neb and ra > rb):
        # above; or, as a tolerance artefact, too thin on both sides: the cell stays whole
        # on its thicker side
        return ABOVE, empty, 0.0, basis, False, xa, ra, basa, nea, empty, False
    return BELOW, xb, rb, basb, neb, empty, 0.0, basis, False, empty, False


@njit(cache=True)
def _add_point(P, R, x, r):
    """The pool ``(P, R)`` of interior points and ball radii with ``(x, r)`` appended."""
    n, k = P.shape
    P2 = np.empty((n + 1, k))
    R2 = np.empty(n + 1)
    P2[:n] = P
    R2[:n] = R
    P2[n] = x
    R2[n] = r
    return P2, R2


@njit(cache=True)
def _add_vertex(VX, v):
    """The cell's known vertices ``VX`` with ``v`` appended (at most ``MAX_VERTICES`` kept)."""
    n, k = VX.shape
    if n >= MAX_VERTICES:
        return VX
    VX2 = np.empty((n + 1, k))
    VX2[:n] = VX
    VX2[n] = v
    return VX2


@njit(cache=True)
def _partition(P, R, a, beta, tol, sign):
    """Pool points strictly on side ``sign`` (+1: a.x > beta), radii clipped."""
    n, k = P.shape
    keep = np.empty(n, np.int64)
    dist = np.empty(n)
    c = 0
    for i in range(n):
        s = -beta
        for t in range(k):
            s += a[t] * P[i, t]
        s *= sign
        if s > tol:
            keep[c] = i
            dist[c] = s
            c += 1
    P2 = np.empty((c, k))
    R2 = np.empty(c)
    for i in range(c):
        P2[i] = P[keep[i]]
        R2[i] = min(R[keep[i]], dist[i])
    return P2, R2


@njit(cache=True)
def _keep_side(P, R, a, beta, sign):
    """The pool after ``{a.x = beta}`` was decided not to cut the cell, which keeps side
    ``sign``: points strictly on that side, radii clipped to the hyperplane. The part of
    the cell beyond it is a sliver thinner than ``tol`` (the decision rule) that still
    belongs to the outer box and the cell's rows, so a pool point (or its ball) may lie
    in it: it would be a witness on the wrong side of its own code. If no point is left
    (only after a tolerance-artefact decision), the pool is kept as it is."""
    P2, R2 = _partition(P, R, a, beta, 0.0, sign)
    if P2.shape[0] == 0:
        return P, R
    return P2, R2


@njit(cache=True)
def _partition_vertices(VX, a, beta, sign):
    """Points of the closed cell on the closed side ``sign`` (up to rounding): points of
    the closed piece."""
    n, k = VX.shape
    keep = np.empty(n, np.int64)
    c = 0
    for i in range(n):
        s = -beta
        for t in range(k):
            s += a[t] * VX[i, t]
        if sign * s >= -1e-12:
            keep[c] = i
            c += 1
    VX2 = np.empty((c, k))
    for i in range(c):
        VX2[i] = VX[keep[i]]
    return VX2


@njit(cache=True)
def _layer_entry(BA, Bb, A, b, basis, code, P, R, VX, lo, hi, G, g, l, off, nb, bps, tol,
                 zthr, cm, piv_tol, opt_tol, max_iter, stats):
    """Decide every hyperplane of layer ``l`` on the whole cell; set the code of the
    neurons that do not cut it; return the cutting ones and the grown pools. A row of
    norm at most ``zthr`` is constant, at its piece with margin ``cm``
    (:mod:`._kernels_const`)."""
    n_l, k = G.shape
    for _ in range(2):
        for i in range(A.shape[0]):
            _tighten(lo, hi, A[i], b[i])
    CA = np.empty((n_l * nb, k))
    Cb = np.empty(n_l * nb)
    Ci = np.empty(n_l * nb, np.int64)
    Cq = np.empty(n_l * nb, np.int64)
    nc = 0
    a = np.empty(k)
    for j in range(n_l):
        idx = off + j
        code[idx] = 0
        nrm = 0.0
        for t in range(k):
            nrm += G[j, t] * G[j, t]
        nrm = np.sqrt(nrm)
        if nrm <= zthr or nrm == 0.0:
            for q in range(nb):
                if g[j] >= bps[l, q] - cm:
                    code[idx] = q + 1
            continue
        cut_found = False
        for q in range(nb):
            for t in range(k):
                a[t] = G[j, t] / nrm
            beta = (bps[l, q] - g[j]) / nrm
            n0 = stats[ST_LPS]
            out, xb, rb, _b1, gb, xa, ra, _b2, ga, v, gv = _decide(
                BA, Bb, A, b, basis, P, R, VX, lo, hi, a, beta, tol, piv_tol, opt_tol,
                max_iter, stats)
            stats[ST_ENTRY_LPS] += stats[ST_LPS] - n0
            if gb:
                P, R = _add_point(P, R, xb, rb)
            if ga:
                P, R = _add_point(P, R, xa, ra)
            if gv:
                VX = _add_vertex(VX, v)
            if out == CUT:
                CA[nc] = a
                Cb[nc] = beta
                Ci[nc] = idx
                Cq[nc] = q
                nc += 1
                cut_found = True
            elif out == ABOVE and not cut_found:
                code[idx] = q + 1
                P, R = _keep_side(P, R, a, beta, 1.0)
            else:
                if out == BELOW:
                    P, R = _keep_side(P, R, a, beta, -1.0)
                break
    return CA[:nc].copy(), Cb[:nc].copy(), Ci[:nc].copy(), Cq[:nc].copy(), P, R, VX


@njit(cache=True)
def _best(P, R):
    """The pool point with the largest ball radius and that radius."""
    i = 0
    for t in range(1, R.shape[0]):
        if R[t] > R[i]:
            i = t
    return P[i].copy(), R[i]


@njit(cache=True)
def enumerate_lp(net, A0, b0, tol, zero_tol, piv_tol, opt_tol, max_iter, max_regions, x_root,
                 r_root):
    """Enumerate all regions of ``net`` (a :class:`~.engine.FlatNet`) in ``{A0 x <= b0}``.

    ``x_root, r_root``: an interior point of ``{A0 x <= b0}`` and the radius of a ball
    around it inside that cell, when the caller knows one (a work unit: the plan found
    it); ``r_root <= tol`` to have the root's Chebyshev LP solved.

    Returns ``(codes, points, radii, stats, complete)``; ``stats`` is laid out as the
    ``ST_*`` constants of this module.
    """
    W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts = net
    k = dims[0]
    L = dims.shape[0] - 1  # affine layers
    n_hidden = L - 1
    n_neurons = 0
    neuron_off = np.zeros(L, np.int64)
    for l in range(n_hidden):
        neuron_off[l] = n_neurons
        n_neurons += dims[l + 1]
    stats = np.zeros(N_STATS, np.int64)

    out_codes = []
    out_points = []
    out_radii = []

    # root cell: a box's Chebyshev ball is its centre with the smallest half-width (no LP:
    # in 784-D the dense root LP alone would cost a minute); any other domain by the LP
    # The domain's axis-aligned facets (a box's 2k rows) never become rows of the cells:
    # the outer box [lo, hi] holds them, as the vertex LP's bounds; only the Chebyshev LP
    # (rare in high dimension) puts them back, in front of the cell's rows (_side).
    m0 = A0.shape[0]
    gen0 = _general_domain_rows(A0)
    lo, hi = _initial_box(A0, b0, k)
    BA = np.ascontiguousarray(A0[~gen0])
    Bb = b0[~gen0].copy()
    A0c = np.ascontiguousarray(A0[gen0])
    b0c = b0[gen0].copy()
    if r_root > tol:
        x = x_root.copy()
        rp = r_root
        basis = cold_basis(k)
    elif m0 > 0 and not gen0.any() and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
        x = 0.5 * (lo + hi)
        rp = min(1.0, 0.5 * np.min(hi - lo))
        basis = cold_basis(k)
    else:
        Ar = np.vstack((BA, A0c))
        br = np.concatenate((Bb, b0c))
        basis = cold_basis(k)
        if k > CHEB_DENSE_MAX:
            st, obj, rp, x = cheb_highdim(Ar, br, m0, lo, hi, -np.inf, VERTEX_PTOL, piv_tol,
                                          max_iter, stats[ST_RETRIES:ST_FAILED + 1])
        else:
            st, obj, rp, x, basis = cheb_solve(Ar, br, m0, basis, -np.inf, piv_tol, opt_tol,
                                               max_iter, stats[ST_RETRIES:ST_FAILED + 1])
        stats[ST_LPS] += 1
    complete = True
    if n_hidden == 0:
        out_codes.append(np.zeros(0, np.uint8))
        out_points.append(x.copy())
        out_radii.append(rp)
        return out_codes, out_points, out_radii, stats, complete

    W = W_flat[W_off[0]:W_off[1]].reshape(dims[1], dims[0])
    G0 = np.ascontiguousarray(W.copy())
    g0 = b_flat[b_off[0]:b_off[1]].copy()
    code0 = np.zeros(n_neurons, np.uint8)
    P0 = x.copy().reshape(1, k)
    R0 = np.array([rp])
    VX0 = np.zeros((0, k))
    winf, bmax = layer_norms(W_flat, W_off, b_flat, b_off, dims)
    nrm0 = _row_norms(G0)
    gmax0 = nrm0.max()
    CA, Cb, Ci, Cq, P0, R0, VX0 = _layer_entry(
        BA, Bb, A0c, b0c, basis, code0, P0, R0, VX0, lo, hi, G0, g0, 0, 0, n_bp[0], bps, tol,
        zero_tol * gmax0, layer_margin(g0, gmax0, 0.0, 0.0, zero_tol), piv_tol, opt_tol,
        max_iter, stats)
    stack = [(A0c, b0c, basis, code0, P0, R0, VX0, lo, hi, G0, g0, CA, Cb, Ci, Cq, 0, 0)]
    n_pop = 0
    while len(stack) > 0:
        n_pop += 1
        if n_pop % TICK_EVERY == 0:  # let Python deliver a pending Ctrl-C
            with objmode():
                tick()
        A, b, basis, code, P, R, VX, lo, hi, G, g, CA, Cb, Ci, Cq, l, h = stack.pop()
        while True:
            if h == CA.shape[0]:
                if l == n_hidden - 1:
                    p, r = _best(P, R)
                    out_codes.append(code)
                    out_points.append(p)
                    out_radii.append(r)
                    break
                # move to the next layer: z = s * u + c on this cell
                off = neuron_off[l]
                nl = dims[l + 1]
                M = np.empty((nl, k))
                c = np.empty(nl)
                mn = np.empty(nl)
                mmax = 0.0
                cmax = 0.0
                for j in range(nl):
                    piece = code[off + j]
                    s = slopes[l, piece]
                    sq = 0.0
                    for t in range(k):
                        M[j, t] = s * G[j, t]
                        sq += M[j, t] * M[j, t]
                    c[j] = s * g[j] + intercepts[l, piece]
                    mn[j] = np.sqrt(sq)
                    mmax = max(mmax, mn[j])
                    cmax = max(cmax, abs(c[j]))
                Wn = W_flat[W_off[l + 1]:W_off[l + 2]].reshape(dims[l + 2], dims[l + 1])
                G = Wn @ M
                g = Wn @ c + b_flat[b_off[l + 1]:b_off[l + 2]]
                l += 1
                h = 0
                nrm = _row_norms(G)
                zthr, cm = deeper_layer_scales(nrm, nrm.max(), g, W_flat, W_off[l], dims[l],
                                               mn, mmax, cmax, winf[l], bmax[l], zero_tol)
                CA, Cb, Ci, Cq, P, R, VX = _layer_entry(
                    BA, Bb, A, b, basis, code, P, R, VX, lo, hi, G, g, l, neuron_off[l],
                    n_bp[l], bps, tol, zthr, cm, piv_tol, opt_tol, max_iter, stats)
                continue
            idx = Ci[h]
            q = Cq[h]
            a = CA[h]
            beta = Cb[h]
            h += 1
            if code[idx] != q:
                continue
            out, xb, rb, basb, gb, xa, ra, basa, ga, v, gv = _decide(
                BA, Bb, A, b, basis, P, R, VX, lo, hi, a, beta, tol, piv_tol, opt_tol, max_iter,
                stats)
            if gv:
                VX = _add_vertex(VX, v)
            if out == ABOVE:
                code[idx] = q + 1
                if ga:
                    P, R = _add_point(P, R, xa, ra)
                P, R = _keep_side(P, R, a, beta, 1.0)
                continue
            if out == BELOW:
                if gb:
                    P, R = _add_point(P, R, xb, rb)
                P, R = _keep_side(P, R, a, beta, -1.0)
                continue
            # split: the above piece is pushed, the below piece continues here
            m = A.shape[0]
            Pa, Ra = _partition(P, R, a, beta, tol, 1.0)
            if ga:
                Pa, Ra = _add_point(Pa, Ra, xa, ra)
            VXa = _partition_vertices(VX, a, beta, 1.0)
            Aa, ba = _append_row(A, b, m, -a, -beta)
            loa = lo.copy()
            hia = hi.copy()
            _tighten(loa, hia, -a, -beta)
            c2 = code.copy()
            c2[idx] = q + 1
            stack.append((Aa, ba, basa if ga else basis, c2, Pa, Ra, VXa, loa, hia, G, g, CA,
                          Cb, Ci, Cq, l, h))
            P, R = _partition(P, R, a, beta, tol, -1.0)
            if gb:
                P, R = _add_point(P, R, xb, rb)
            VX = _partition_vertices(VX, a, beta, -1.0)
            A, b = _append_row(A, b, m, a, beta)
            lo = lo.copy()
            hi = hi.copy()
            _tighten(lo, hi, a, beta)
            if gb:
                basis = basb
        if max_regions > 0 and len(out_codes) >= max_regions and len(stack) > 0:
            complete = False
            break
    return out_codes, out_points, out_radii, stats, complete
