"""Numba kernels: work units (see :mod:`.scale`): the constraints of a unit's cell and a
whole batch of units in one call.

A unit's cell is handed to the LP engine as its root, whose Chebyshev LP the engine
solves from the cold basis; every later LP is warm-started from that root. In high
dimension that cold solve on a degenerate cell (a 64-D box cut by a dozen hyperplanes:
the ball can slide in ~50 directions) used to pivot on rounding-level elements (|alpha|
of 1e-11) and end "optimal" at a point outside the cell, which the engine then took as
interior: regions of other units came back. The simplex's ratio test now pivots on the
largest element among the blocking rows and fails (cold retry, then HiGHS) rather than
answer from an infeasible basis (:func:`._kernels_lp.cheb_lp`), and with it the first
pivot tolerance certifies every unit of the 64-D digits windows of the tests.
:func:`root_pivot` still solves the root LP by :func:`._kernels_lp.cheb_solve` (the
engine's solver for it up to ``CHEB_DENSE_MAX`` dimensions; above, the engine's root goes
to :func:`._kernels_simplex.cheb_highdim`) and certifies its centre before the unit runs
(see :data:`.scale.ROOT_PIVOT_FACTORS`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_engine import enumerate_lp
from ._kernels_lp import cheb_solve, cold_basis, min_slack
from ._kernels_simplex import CHEB_DENSE_MAX
from ._kernels_planar import enumerate_planar


@njit(cache=True)
def _row_needed(a, beta, lo, hi, sign):
    """Whether ``sign * a . x <= beta`` can bind inside the box ``[lo, hi]``: a row that the
    whole box satisfies (with a margin of 1e-12) changes no cell and is left out."""
    s = 0.0
    for c in range(a.shape[0]):
        v = sign * a[c]
        s += v * hi[c] if v > 0.0 else v * lo[c]
    return not (s <= beta - 1e-12)


@njit(cache=True)
def unit_rows(code0, A0, b0, An, bn, nrm, live, t):
    """``A x <= b``: the domain plus the rows of the first ``len(code0)`` neurons that can
    bind inside the domain's box (in a 784-D window most first-layer hyperplanes miss the
    window: their rows would only slow every LP of the unit)."""
    n0 = code0.shape[0]
    nb = t.shape[0]
    k = A0.shape[1]
    m0 = A0.shape[0]
    lo = np.full(k, -np.inf)
    hi = np.full(k, np.inf)
    for i in range(m0):  # the box of the domain's axis-aligned rows
        nz = -1
        cnt = 0
        for c in range(k):
            if A0[i, c] != 0.0:
                nz = c
                cnt += 1
        if cnt == 1:
            bound = b0[i] / A0[i, nz]
            if A0[i, nz] > 0.0:
                hi[nz] = min(hi[nz], bound)
            else:
                lo[nz] = max(lo[nz], bound)
    keep_lo = np.zeros(n0, np.bool_)
    keep_hi = np.zeros(n0, np.bool_)
    m = m0
    for j in range(n0):
        if live[j]:
            q = code0[j]
            if q > 0 and _row_needed(An[j], bn[j] - t[q - 1] / nrm[j], lo, hi, -1.0):
                keep_lo[j] = True
                m += 1
            if q < nb and _row_needed(An[j], t[q] / nrm[j] - bn[j], lo, hi, 1.0):
                keep_hi[j] = True
                m += 1
    A = np.empty((m, k))
    b = np.empty(m)
    A[:m0] = A0
    b[:m0] = b0
    r = m0
    for j in range(n0):
        q = code0[j]
        if keep_lo[j]:
            for c in range(k):
                A[r, c] = -An[j, c]
            b[r] = bn[j] - t[q - 1] / nrm[j]
            r += 1
        if keep_hi[j]:
            for c in range(k):
                A[r, c] = An[j, c]
            b[r] = t[q] / nrm[j] - bn[j]
            r += 1
    return A, b


@njit(cache=True)
def root_pivot(A, b, tol, piv_tol, max_iter, factors):
    """The pivot tolerance to run the LP engine with on the cell ``A x <= b``, and the
    number of LPs solved to choose it.

    Up to ``CHEB_DENSE_MAX`` dimensions the engine's root is ``cheb_solve(A, b, m,
    cold_basis(k), -inf, piv, piv * 1e-2, max_iter)``, deterministic in its arguments;
    this solves that LP for ``piv = piv_tol * f``, ``f`` in ``factors`` in order, and returns the first ``piv`` whose
    centre is certified inside the cell with radius ``> tol`` (the radius is measured
    from the residuals, not read from the simplex). Failing that, the ``piv`` whose
    centre has the largest positive radius; ``-1.0`` if no centre lies inside the cell.
    Since ``cheb_solve`` either answers right or falls back to HiGHS, the first factor
    normally succeeds and the cost is one cold Chebyshev LP; later factors are a guard.
    """
    m = A.shape[0]
    k = A.shape[1]
    if k > CHEB_DENSE_MAX:
        # the engine's root LP is then cheb_highdim, which verifies its radius on the
        # rows (or asks HiGHS): no pivot tolerance to choose, and a dense cold solve here
        # would cost minutes in 784-D
        return piv_tol, 0
    counts = np.zeros(2, np.int64)
    best = -1.0
    best_r = 0.0
    for i in range(factors.shape[0]):
        piv = piv_tol * factors[i]
        st, obj, rp, x, bas = cheb_solve(A, b, m, cold_basis(k), -np.inf, piv, piv * 1e-2,
                                         max_iter, counts)
        if rp > tol:
            return piv, i + 1
        if rp > best_r:
            best_r = rp
            best = piv
    return best, factors.shape[0]


@njit(cache=True)
def _collect(c, p, r, out_c, out_p, out_r):
    """Append one unit's codes, points and radii to the batch's lists; returns the unit's
    region count."""
    for i in range(len(c)):
        out_c.append(c[i].copy())
        out_p.append(p[i].copy())
        out_r.append(r[i])
    return len(c)


@njit(cache=True)
def _batch(kernel_id, codes0, A0, b0, An, bn, nrm, live, t, net, tol, zero_tol, piv_tol, max_iter,
           piv_factors, roots_x, roots_r):
    """All units of a batch in one call (kernel 0: LP path, 1: planar path).

    Returns ``(codes, points, radii, sizes, stats, pivots)``: ``pivots[u]`` the pivot
    tolerance unit ``u`` ran with (LP path, :func:`root_pivot`; ``piv_tol`` for the
    planar path), ``-1.0`` for a unit that was not run because no root centre of its cell
    lay inside it (the caller raises).
    """
    out_c = [np.empty(0, np.uint8) for _ in range(0)]
    out_p = [np.empty(0) for _ in range(0)]
    out_r = [0.0 for _ in range(0)]
    sizes = np.zeros(codes0.shape[0], np.int64)
    pivots = np.full(codes0.shape[0], piv_tol)
    st_sum = np.zeros(16, np.int64)
    for u in range(codes0.shape[0]):
        A, b = unit_rows(codes0[u], A0, b0, An, bn, nrm, live, t)
        if kernel_id == 0:
            # the plan's witness of the unit's cell, when its ball is inside the rows the
            # unit runs with (measured here), is the root: no root LP
            xr = roots_x[u]
            rr = -1.0
            if roots_r[u] > tol:
                rr = min_slack(A, b, A.shape[0], xr, roots_r[u])
            if rr > tol:
                piv = piv_tol
            else:
                rr = -1.0
                piv, n_root = root_pivot(A, b, tol, piv_tol, max_iter, piv_factors)
                st_sum[0] += n_root
            pivots[u] = piv
            if piv < 0.0:
                continue
            c, p, r, st, _ = enumerate_lp(net, A, b, tol, zero_tol, piv, piv * 1e-2, max_iter, 0,
                                          xr, rr)
            sizes[u] = _collect(c, p, r, out_c, out_p, out_r)
        else:
            c2, p2, r2, st, _ = enumerate_planar(net, A, b, tol, zero_tol, 0)
            sizes[u] = _collect(c2, p2, r2, out_c, out_p, out_r)
        for s in range(min(st.shape[0], 16)):
            st_sum[s] += st[s]
    return out_c, out_p, out_r, sizes, st_sum, pivots
