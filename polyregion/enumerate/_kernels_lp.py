"""Numba kernel: the Chebyshev-ball LP of a small dense cell, by a revised simplex.

For a cell ``{x : a_j . x <= b_j, j < m}`` with unit rows ``a_j`` the primal problem is

    (P)  max r   s.t.  a_j . x + r <= b_j  (j < m),   r <= 1,   x, r free.

Its optimum ``r*`` is the radius of the largest ball in the cell (capped at 1; the
engine works in coordinates where the domain has unit scale). We solve the dual

    (D)  min sum_j b_j y_j + s   s.t.  sum_j y_j a_j = 0,  sum_j y_j + s = 1,  y, s >= 0,

which has only ``k + 1`` rows (``k`` = dimension), by a revised primal simplex with an
explicit ``(k+1) x (k+1)`` basis inverse, Bland's pricing and a Harris ratio test that
pivots on the largest blocking element (Bland's leaving rule after a degenerate stall;
an iteration cap), which fails rather than answer from an infeasible basis. ``k``
artificial columns ``e_i`` with bounds ``[0, 0]`` make ``{artificials, s}`` a feasible
starting basis for every cell, including unbounded ones (``m < k`` or rank-deficient
rows: the artificials then stay basic at zero and pin the free directions of ``x``).
The primal solution ``(x, r)`` is read from the simplex multipliers.

Warm start: a child cell adds one row to its parent, i.e. one column to (D); the parent's
optimal basis stays feasible, so the solve starts from it and usually needs a few pivots.
Decision mode: the dual objective bounds ``r*`` from above, so the solve stops as soon as
it drops to ``stop_below`` (the cell is then too thin).

Cost per pivot: O(m k + k^2). The kernel never raises; it reports a status.

Basis labels: ``j >= 0`` row ``j``; ``-1`` the cap column ``s``; ``-2 - i`` artificial ``i``.

This is the dense Chebyshev LP of the engine up to ``CHEB_DENSE_MAX`` (32) dimensions;
every other LP of the package (vertex LPs, the Chebyshev LP in higher dimension, the
graph's box LPs) is the bounded dual simplex of :mod:`._kernels_simplex`. It is
cross-checked against HiGHS in ``tests/test_lp.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from ._highs import cheb_highs

LP_OPTIMAL = 0
LP_STOPPED = 1  # dual objective fell to stop_below: r* <= stop_below
LP_FAILED = 2


@njit(cache=True)
def _column(A, label, k, out):
    """Column of basis label ``label`` of the Chebyshev LP (row ``label >= 0``: ``(a_j, 1)``;
    ``-1``: the cap column; ``-2 - i``: artificial ``i``) written to ``out``."""
    out[:] = 0.0
    if label >= 0:
        out[:k] = A[label]
        out[k] = 1.0
    elif label == -1:
        out[k] = 1.0
    else:
        out[-2 - label] = 1.0


@njit(cache=True)
def _cost(b, label):
    """Cost of basis label ``label``: ``b_j`` for a row, 1 for the cap column, 0 for an
    artificial."""
    if label >= 0:
        return b[label]
    if label == -1:
        return 1.0
    return 0.0


@njit(cache=True)
def _factor(A, basis, k):
    """The ``(k+1) x (k+1)`` basis matrix of the labels in ``basis`` (see :func:`_column`)."""
    B = np.empty((k + 1, k + 1))
    col = np.empty(k + 1)
    for i in range(k + 1):
        _column(A, basis[i], k, col)
        B[:, i] = col
    return B


@njit(cache=True)
def _pivot(Binv, v, alpha, leave):
    """Update an explicit basis inverse in place after a pivot on ``alpha[leave]``.

    ``alpha = Binv @ col`` is the entering column in the current basis; row ``leave`` of
    ``Binv`` is divided by the pivot and eliminated from the other rows (product-form
    update, O(n^2)). ``v`` (length n, or empty) gets the same row operations (the basic
    solution ``Binv @ rhs``). Shared by :func:`cheb_lp` (rows) and :func:`vertex_max`
    (called on ``Binv.T``: its basis matrix changes by a row, so its inverse by a column).
    """
    n = alpha.shape[0]
    has_v = v.shape[0] > 0
    p = alpha[leave]
    for t in range(n):
        Binv[leave, t] /= p
    if has_v:
        v[leave] /= p
    for i in range(n):
        f = alpha[i]
        if i != leave and f != 0.0:
            for t in range(n):
                Binv[i, t] -= f * Binv[leave, t]
            if has_v:
                v[i] -= f * v[leave]


@njit(cache=True)
def cold_basis(k):
    """The starting basis {artificials, cap}."""
    basis = np.empty(k + 1, np.int64)
    for i in range(k):
        basis[i] = -2 - i
    basis[k] = -1
    return basis


@njit(cache=True)
def min_slack(A, b, m, x, cap):
    """``min(cap, min_j (b_j - A_j . x))`` over the first ``m`` rows: the radius of the
    largest ball around ``x`` inside unit rows, measured on the rows themselves (never
    read from a simplex), capped at ``cap``."""
    r = cap
    for j in range(m):
        s = b[j]
        for t in range(A.shape[1]):
            s -= A[j, t] * x[t]
        if s < r:
            r = s
    return r


@njit(cache=True)
def _try_invert(B):
    """Inverse of B, or an empty array when B is (numerically) singular."""
    n = B.shape[0]
    # condition check by Gaussian elimination with partial pivoting
    M = B.copy()
    Inv = np.eye(n)
    for c in range(n):
        p = c
        best = abs(M[c, c])
        for i in range(c + 1, n):
            if abs(M[i, c]) > best:
                best = abs(M[i, c])
                p = i
        if best < 1e-12:
            return np.empty((0, 0))
        if p != c:
            for j in range(n):
                t = M[c, j]
                M[c, j] = M[p, j]
                M[p, j] = t
                t = Inv[c, j]
                Inv[c, j] = Inv[p, j]
                Inv[p, j] = t
        piv = M[c, c]
        for j in range(n):
            M[c, j] /= piv
            Inv[c, j] /= piv
        for i in range(n):
            if i != c:
                f = M[i, c]
                if f != 0.0:
                    for j in range(n):
                        M[i, j] -= f * M[c, j]
                        Inv[i, j] -= f * Inv[c, j]
    return Inv


#: A basic value of (D) below ``-LP_NEG_TOL`` (an artificial farther than that from 0)
#: makes the basis infeasible: the basis is refactorised, and if the value stays, the
#: solve fails (``LP_FAILED``) instead of reporting an answer from an infeasible basis.
#: Values within it are rounding and are set to their bound. (Values of (D) lie in [0, 1].)
LP_NEG_TOL = 1e-9
#: Slack of the first pass of the Harris ratio test (a bound may be overshot by this).
LP_HARRIS_TOL = 1e-10
#: A step below this (the values of (D) lie in [0, 1]) is a degenerate pivot.
LP_DEGENERATE = 1e-12
#: An "optimal" answer whose dual bound and verified primal radius differ by more than
#: ``LP_GAP * max(1, |r|)`` is inconsistent (:func:`_doubtful`).
LP_GAP = 1e-9


@njit(cache=True)
def _clean(xB, basis):
    """Set basic values within :data:`LP_NEG_TOL` outside their bound to it; False when
    one is clearly outside (a row or the cap below ``-LP_NEG_TOL``, an artificial farther
    than that from 0, or NaN)."""
    ok = True
    for i in range(xB.shape[0]):
        v = xB[i]
        if not (v == v):
            ok = False
        elif basis[i] <= -2:  # artificial: fixed at 0
            if abs(v) > LP_NEG_TOL:
                ok = False
        elif v < 0.0:
            if v < -LP_NEG_TOL:
                ok = False
            else:
                xB[i] = 0.0
    return ok


@njit(cache=True)
def _refactor(A, basis, k):
    """A fresh basis inverse and basic solution ``xB = Binv e_k`` (cleaned by
    :func:`_clean`). Returns ``(ok, Binv, xB)``; not ok when the basis is singular or its
    basic solution is clearly infeasible."""
    n = k + 1
    Binv = _try_invert(_factor(A, basis, k))
    xB = np.zeros(n)
    if Binv.shape[0] == 0:
        return False, Binv, xB
    for i in range(n):
        xB[i] = Binv[i, k]
    return _clean(xB, basis), Binv, xB


@njit(cache=True)
def cheb_lp(A, b, m, basis_in, stop_below, piv_tol, opt_tol, max_iter):
    """Solve (P)/(D) for the first ``m`` rows of ``A, b``.

    Returns ``(status, r_dual, r_primal, x, basis)``: ``r_dual`` is the final dual
    objective (an upper bound on r*), ``r_primal = min(1, min_j b_j - a_j.x)`` is the
    radius of a ball around ``x`` that lies in the cell (verified directly), ``basis`` the
    final basis (a copy). On ``LP_STOPPED`` x is meaningless.

    Pricing: Bland's (the first column with a negative reduced cost). Ratio test: Harris'
    two passes, with bounds ``y, s >= 0`` and artificials ``= 0``, over the elements
    ``|alpha_i| > piv_tol * max(1, ||alpha||_inf)``: of the basic variables that block
    within the first pass' bound, the one with the largest ``|alpha_i|`` leaves
    (artificials first on equal ``|alpha|``). In 64-D the cold LP of a box cut by a dozen
    rows is so degenerate that the former rule (smallest row number among tied ratios)
    pivoted on rounding-level elements (1e-11) and drove basic values to -0.2, which were
    then silently set to 0. Now a basic value clearly outside its bound
    (:data:`LP_NEG_TOL`) forces a refactorisation, and if it stays the solve returns
    ``LP_FAILED``; so does the iteration cap ``max_iter``. Anti-cycling: after ``k + 1``
    consecutive degenerate pivots (steps <= :data:`LP_DEGENERATE`, no artificial
    leaving) the leaving rule becomes
    Bland's (smallest label among the blocking variables whose pivot is at least 1e-2 of
    the largest) for the rest of the solve, and the cap bounds the rest. An optimum whose
    dual bound and primal radius disagree (:data:`LP_GAP`) is refactorised and priced
    again once before it is returned.
    """
    k = A.shape[1]
    n = k + 1
    basis = basis_in.copy()
    is_basic = np.zeros(m + 1, np.bool_)  # rows 0..m-1, cap at m
    Binv = np.empty((0, 0))
    for attempt in range(2):
        ok = True
        for i in range(n):
            lab = basis[i]
            if lab >= m:
                ok = False
        if ok:
            Binv = _try_invert(_factor(A, basis, k))
            if Binv.shape[0] == 0:
                ok = False
        if ok:
            for i in range(n):
                if Binv[i, k] < -LP_NEG_TOL or (basis[i] <= -2 and Binv[i, k] > LP_NEG_TOL):
                    ok = False
        if ok:
            break
        basis = cold_basis(k)
    if Binv.shape[0] == 0:
        Binv = np.eye(n)
        basis = cold_basis(k)
    for i in range(n):
        if basis[i] >= 0:
            is_basic[basis[i]] = True
        elif basis[i] == -1:
            is_basic[m] = True
    xB = np.empty(n)
    for i in range(n):
        xB[i] = Binv[i, k]
    _clean(xB, basis)
    cB = np.empty(n)
    pi = np.empty(n)
    col = np.empty(n)
    alpha = np.empty(n)
    x = np.zeros(k)
    status = LP_FAILED
    obj = 0.0
    it = 0
    fresh = True  # Binv was factorised at the current basis
    stall = 0  # consecutive degenerate pivots
    bland = False
    r_primal = -np.inf
    while it < max_iter:
        it += 1
        for i in range(n):
            cB[i] = _cost(b, basis[i])
        obj = 0.0
        for i in range(n):
            obj += cB[i] * xB[i]
        if obj <= stop_below:
            status = LP_STOPPED
            break
        # multipliers pi = Binv^T cB
        for j in range(n):
            s = 0.0
            for i in range(n):
                s += Binv[i, j] * cB[i]
            pi[j] = s
        # pricing, Bland: smallest index with negative reduced cost
        enter = -3
        for j in range(m):
            if is_basic[j]:
                continue
            s = b[j] - pi[k]
            for t in range(k):
                s -= A[j, t] * pi[t]
            if s < -opt_tol:
                enter = j
                break
        if enter == -3 and not is_basic[m]:
            if 1.0 - pi[k] < -opt_tol:
                enter = -1
        if enter == -3:
            # optimal: the centre is read from the multipliers, its radius verified
            for t in range(k):
                x[t] = pi[t]
            r_primal = min_slack(A, b, m, x, 1.0)
            if not fresh and not (abs(obj - r_primal)
                                  <= LP_GAP * max(1.0, abs(obj), abs(r_primal))):
                # dual bound and primal radius disagree: drift in Binv. Refactorise and
                # price again from the same basis
                ok, Bi, xB2 = _refactor(A, basis, k)
                if not ok:
                    break
                Binv = Bi
                xB = xB2
                fresh = True
                continue
            status = LP_OPTIMAL
            break
        _column(A, enter, k, col)
        amax = 0.0
        for i in range(n):
            s = 0.0
            for t in range(n):
                s += Binv[i, t] * col[t]
            alpha[i] = s
            if abs(s) > amax:
                amax = abs(s)
        ptol = piv_tol * max(1.0, amax)
        # Harris pass 1: the largest step that keeps every bound within LP_HARRIS_TOL.
        # A basic variable blocks when alpha_i > 0 (it decreases towards 0), an
        # artificial (fixed at 0) for either sign.
        theta_max = np.inf
        for i in range(n):
            a = alpha[i]
            if a > ptol:
                t = (xB[i] + LP_HARRIS_TOL) / a
            elif a < -ptol and basis[i] <= -2:
                t = (xB[i] - LP_HARRIS_TOL) / a
            else:
                continue
            if t < theta_max:
                theta_max = t
        if theta_max == np.inf:
            status = LP_FAILED  # unbounded dual: cannot happen in exact arithmetic
            break
        # pass 2: of the variables whose own ratio is within theta_max, the largest
        # |alpha| (Bland mode: the smallest label with |alpha| >= 1e-2 of the largest)
        best_a = 0.0
        for i in range(n):
            a = abs(alpha[i])
            if a <= ptol or (alpha[i] < 0.0 and basis[i] > -2):
                continue
            if xB[i] / alpha[i] <= theta_max and a > best_a:
                best_a = a
        leave = -1
        best_order = m + 10
        for i in range(n):
            a = abs(alpha[i])
            if a <= ptol or (alpha[i] < 0.0 and basis[i] > -2):
                continue
            if xB[i] / alpha[i] > theta_max:
                continue
            lab = basis[i]
            if bland:
                order = -1 if lab <= -2 else (lab if lab >= 0 else m)
                if a >= 1e-2 * best_a and order < best_order:
                    best_order = order
                    leave = i
            elif leave == -1 or a > abs(alpha[leave]) or (
                    a == abs(alpha[leave]) and lab <= -2 and basis[leave] > -2):
                leave = i
        if leave == -1:
            status = LP_FAILED
            break
        # the step xB[leave] / alpha[leave] must be >= 0: a value on the wrong side of
        # its bound (rounding, or the Harris overshoot) leaves from the bound
        if xB[leave] / alpha[leave] < 0.0:
            xB[leave] = 0.0
        theta = xB[leave] / alpha[leave]
        old = basis[leave]
        _pivot(Binv, xB, alpha, leave)
        fresh = False
        if old >= 0:
            is_basic[old] = False
        elif old == -1:
            is_basic[m] = False
        basis[leave] = enter
        if enter >= 0:
            is_basic[enter] = True
        else:
            is_basic[m] = True
        if theta <= LP_DEGENERATE and old > -2:
            stall += 1
            if stall > n:
                bland = True
        else:
            stall = 0
        if it % 40 == 0 or not _clean(xB, basis):
            # refactor against drift, and whenever a basic value went clearly outside
            # its bound: if it stays outside the basis is infeasible and the solve fails
            ok, Bi, xB2 = _refactor(A, basis, k)
            if not ok:
                break
            Binv = Bi
            xB = xB2
            fresh = True
    if status != LP_OPTIMAL:
        r_primal = -np.inf
    return status, obj, r_primal, x, basis


@njit(cache=True)
def _doubtful(st, obj, rp, stop_below):
    """A failed solve; or an optimum whose primal ball is thin while the dual says not,
    or whose dual bound and verified primal radius differ by more than :data:`LP_GAP`
    (also when ``stop_below = -inf``: an answer from an infeasible basis is caught)."""
    if st == LP_FAILED:
        return True
    if st != LP_OPTIMAL:
        return False
    if not (rp > stop_below) and obj > stop_below:
        return True
    return not (abs(obj - rp) <= LP_GAP * max(1.0, abs(obj), abs(rp)))


@njit(cache=True)
def cheb_solve(A, b, m, basis_in, stop_below, piv_tol, opt_tol, max_iter, counts):
    """:func:`cheb_lp` with its fallbacks: the engine's one way to solve a Chebyshev LP.

    A failed or inconsistent warm-started solve is retried from the cold basis
    (``counts[0] += 1``); if that is doubtful too, the LP goes to HiGHS
    (:func:`._highs.cheb_highs`, ``counts[1] += 1``), which answers with a verified
    ball or raises :class:`~polyregion.errors.SolverError`. So the status returned is
    ``LP_OPTIMAL`` or ``LP_STOPPED``, never ``LP_FAILED``, and no failure is ever read
    as an empty side. Same returns as :func:`cheb_lp`.
    """
    st, obj, rp, x, bas = cheb_lp(A, b, m, basis_in, stop_below, piv_tol, opt_tol, max_iter)
    if _doubtful(st, obj, rp, stop_below):
        counts[0] += 1
        k = A.shape[1]
        st, obj, rp, x, bas = cheb_lp(A, b, m, cold_basis(k), stop_below, piv_tol, opt_tol,
                                      max_iter)
        if _doubtful(st, obj, rp, stop_below):
            counts[1] += 1
            with objmode(rh="float64", xh="float64[::1]"):
                rh, xh = cheb_highs(A, b, m)
            st = LP_OPTIMAL
            obj = rh
            rp = rh
            x = xh
            bas = cold_basis(k)
    return st, obj, rp, x, bas
