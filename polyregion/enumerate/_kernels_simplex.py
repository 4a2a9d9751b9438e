"""Numba kernel: a bounded-variable dual simplex on the inequality form, for cells in a box.

Problem::

    max c.x   s.t.   a_i . x <= b_i  (i in the general rows),   lo <= x <= hi.

The rows of a cell in a box split in two: the box itself (the domain's box, tightened
by interval arithmetic to an outer box of the cell) and the few hyperplanes that cut the
cell. The box becomes *variable bounds*, so the simplex only ever factors the rows that
are active at the current vertex: a basis is an active set ``R`` of general rows and an
equally large set ``S`` of basic variables; the other variables sit at one of their
bounds. Only the ``q x q`` matrix ``K = A[R, S]`` is factored (its inverse is kept
explicitly and updated by rank-one formulas; ``q <= min(rows, k)``), so in a 784-D window
cut by 20 hyperplanes an iteration costs ``O(rows * k + q^2)`` instead of the ``O(k^2)``
of a dense ``k x k`` basis, and the box's ``2k`` rows are never scanned.

Method (dual simplex, after Koberstein's thesis, without the refinements a general solver
needs): start at the vertex of the box that maximises ``c.x`` (every variable at the
bound its cost favours; an infinite bound is replaced by an *artificial* one at
``+-BIG``). That basis is dual feasible. Each iteration picks the most violated primal
constraint (a general row, or a basic variable outside its bounds) to leave, the entering
variable by the dual ratio test (the nonbasic variable or the slack of an active row whose
reduced cost reaches zero first; ties to the largest pivot), and updates ``K^{-1}``. It
stops when the vertex is primal feasible: then it is optimal, and the multipliers ``y``
of the active rows with the reduced costs ``d`` of the variables give the *certificate*
``c.x <= y.b_R + sum_j max(d_j lo_j, d_j hi_j)`` on the whole cell (computed from the
true bounds, so it is never weaker than the optimum by more than rounding). The dual
objective never increases, which also makes the kernel a decision procedure: it can stop
as soon as the bound drops below a threshold (the Chebyshev LP's decision mode).

Warm start: none is needed for the vertex LP (the box's best corner is the natural start:
the solve then walks only through the cut rows it meets, typically a handful of pivots).

Numerics: the primal values are recomputed from the current factor each iteration (no
drift in ``x``), the duals likewise, the factor is rebuilt from scratch every
``REFACTOR`` updates, and the final point and certificate are recomputed from scratch.
The kernel never raises; it reports a status, and callers fall back to a Chebyshev LP or
HiGHS on anything but ``BD_OPTIMAL``.

Cross-checked against HiGHS in ``tests/test_simplex.py`` on random, degenerate and thin
cells in 2-D to 784-D.
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from ._highs import cheb_highs
from ._kernels_lp import _try_invert, min_slack

BD_OPTIMAL = 0
BD_UNBOUNDED = 1  # the optimum sits on an artificial bound: c.x is unbounded on the cell
BD_INFEASIBLE = 2  # no point satisfies the rows within the bounds (dual ray)
BD_FAILED = 3  # iteration cap, or a singular factor: the caller must not trust the answer
BD_STOPPED = 4  # decision mode: the dual bound fell below the threshold

#: Artificial bound for an infinite one (the engine's coordinates have unit scale).
BIG = 1e7
#: Dual feasibility tolerance of the ratio test (reduced costs are in units of ``c``).
DUAL_TOL = 1e-9
#: Smallest pivot the ratio test accepts (rows have unit norm).
PIVOT_TOL = 1e-9
#: Relative size of the cost perturbation (see :func:`bd_max`).
PERTURB = 1e-7
#: Iterations without progress of the dual objective before the solve gives up
#: (``BD_FAILED``), plus twice the number of variables and rows.
STALL = 50
#: The explicit inverse is rebuilt from the active rows every this many updates (or
#: every q updates when the active set q is larger: a rebuild costs O(q^3)).
REFACTOR = 50

_LOWER = 0  # nonbasic at its lower bound
_UPPER = 1  # nonbasic at its upper bound
_BASIC = 2
_FREE = 3  # nonbasic free variable at 0 (both bounds infinite, zero cost)


@njit(cache=True)
def _refactor(A, R, S, q, Kinv):
    """Rebuild ``Kinv`` (rows: positions of S, columns: positions of R) from scratch."""
    K = np.empty((q, q))
    for t in range(q):
        for i in range(q):
            K[t, i] = A[R[t], S[i]]
    Inv = _try_invert(K)
    if Inv.shape[0] != q:
        return False
    for i in range(q):
        for t in range(q):
            Kinv[i, t] = Inv[i, t]
    return True


@njit(cache=True)
def _solve_basis(A, b, R, S, q, state, x, Kinv, cost, rhs, y):
    """The basic variables' values (``K x_S = b_R - A[R, N] x_N``, into ``x``) and the
    active rows' multipliers (``y = K^-T cost_S``) of the current factor."""
    n = x.shape[0]
    for t in range(q):
        s = b[R[t]]
        for j in range(n):
            if state[j] != _BASIC:
                s -= A[R[t], j] * x[j]
        rhs[t] = s
    for i in range(q):
        s = 0.0
        for t in range(q):
            s += Kinv[i, t] * rhs[t]
        x[S[i]] = s
    for t in range(q):
        s = 0.0
        for i in range(q):
            s += Kinv[i, t] * cost[S[i]]
        y[t] = s


@njit(cache=True)
def _certificate(A, b, R, q, y, lo, hi, c, x):
    """Weak duality with the multipliers ``y`` of the active rows ``R[:q]`` (negative ones
    dropped): ``c = A_R^T y+ + dd`` exactly, so every ``x`` of the set has
    ``c.x <= y+.b_R + sum_j max(dd_j lo_j, dd_j hi_j)``. A rounding residual ``dd_j`` on a
    variable with an infinite bound counts at the current point ``x`` instead of at
    infinity. The bound returned is rounded up by ``4 eps (n + q)`` times the sum of the
    terms' magnitudes, so rounding in the sums cannot make it smaller than the maximum."""
    n = c.shape[0]
    bound = 0.0
    mag = 0.0
    for t in range(q):
        if y[t] > 0.0:
            bound += y[t] * b[R[t]]
            mag += abs(y[t] * b[R[t]])
    for j in range(n):
        s = c[j]
        a = abs(c[j])
        for t in range(q):
            if y[t] > 0.0:
                s -= y[t] * A[R[t], j]
                a += abs(y[t] * A[R[t], j])
        if abs(s) <= 1e-9 * (abs(c[j]) + 1.0) and (hi[j] == np.inf or lo[j] == -np.inf):
            v = s * x[j]
        elif s > 0.0:
            v = s * hi[j]
        elif s < 0.0:
            v = s * lo[j]
        else:
            v = 0.0
        bound += v
        # dd_j itself carries the rounding of its own sum: a * eps per unit of the bound
        mag += abs(v) + a * max(abs(lo[j]) if lo[j] > -np.inf else abs(x[j]),
                                abs(hi[j]) if hi[j] < np.inf else abs(x[j]))
    return bound + 4.0 * 2.0 ** -52 * (n + q) * mag


@njit(cache=True)
def _column_in_basis(A, R, q, j, Kinv, u, ku):
    """``ku = K^-1 A[R, j]``: column ``j`` of the active rows in the basis of ``K``."""
    for t in range(q):
        u[t] = A[R[t], j]
    for i in range(q):
        s = 0.0
        for t in range(q):
            s += Kinv[i, t] * u[t]
        ku[i] = s


@njit(cache=True)
def _deactivate(rows, active, rpos, row, t0):
    """The general row ``row`` at position ``t0`` of ``K`` leaves the active set."""
    for i in range(rows.shape[0]):
        if rows[i] == row and active[i] and rpos[i] == t0:
            active[i] = False
            rpos[i] = -1
            break


@njit(cache=True)
def bd_max(A, b, rows, lo, hi, c, ptol, piv_tol, max_iter, stop_below):
    """Maximise ``c.x`` over ``{A[rows] x <= b[rows], lo <= x <= hi}``.

    Parameters
    ----------
    A, b : (m, n), (m,)
        Rows; only those listed in ``rows`` are used.
    rows : int64 (nr,)
        The general rows (the others, e.g. the box's own rows, are represented by the
        bounds).
    lo, hi : (n,)
        Variable bounds (``-inf``/``inf`` allowed).
    c : (n,)
    ptol : float
        Primal feasibility tolerance (a row or bound violated by more leaves the basis).
    piv_tol : float
        Smallest pivot accepted by the ratio test.
    max_iter : int
    stop_below : float
        Decision mode: stop with ``BD_STOPPED`` as soon as the dual bound (the objective
        of the current dual-feasible basis, an upper bound on the optimum) is at most this
        (``-inf``: solve to optimality).

    Returns
    -------
    status : int
        ``BD_*``.
    value : float
        ``c.x`` at the returned vertex (optimal when ``BD_OPTIMAL``).
    bound : float
        Certified upper bound on ``c.x`` over the set (``inf`` when none): from the final
        multipliers and the true bounds, valid whatever rounding did to the iterations.
    x : (n,)
        The vertex.
    n_iter : int
        Dual simplex iterations.
    """
    n = c.shape[0]
    nr = rows.shape[0]
    qmax = min(nr, n)
    lb = np.empty(n)
    ub = np.empty(n)
    state = np.empty(n, np.int8)
    x = np.empty(n)
    # cost perturbation against dual degeneracy (a cost equal to a row's normal makes every
    # reduced cost zero at once, and the dual simplex then stalls): each c_j moves away
    # from zero by a tiny deterministic amount, which keeps the start dual feasible. The
    # final multipliers and the certificate use the true c.
    cp = np.empty(n)
    for j in range(n):
        eps = PERTURB * (1.0 + abs(c[j])) * (0.5 + ((j * 2654435761) % 1024) / 1024.0)
        if c[j] > 0.0 or (c[j] == 0.0 and hi[j] < np.inf):
            cp[j] = c[j] + eps
        elif c[j] < 0.0 or lo[j] > -np.inf:
            cp[j] = c[j] - eps
        else:
            cp[j] = 0.0
    for j in range(n):
        lb[j] = lo[j] if lo[j] > -np.inf else -BIG
        ub[j] = hi[j] if hi[j] < np.inf else BIG
        if cp[j] > 0.0:
            state[j] = _UPPER
            x[j] = ub[j]
        elif cp[j] == 0.0:
            state[j] = _FREE
            x[j] = 0.0
        else:
            state[j] = _LOWER
            x[j] = lb[j]
    R = np.empty(max(qmax, 1), np.int64)  # active rows (indices into A)
    S = np.empty(max(qmax, 1), np.int64)  # basic variables
    active = np.zeros(nr, np.bool_)
    rpos = np.full(nr, -1, np.int64)  # position in R of rows[i]
    Kinv = np.zeros((max(qmax, 1), max(qmax, 1)))
    q = 0
    y = np.zeros(max(qmax, 1))
    d = c.copy()
    rhs = np.empty(max(qmax, 1))
    w = np.empty(max(qmax, 1))
    u = np.empty(max(qmax, 1))
    ku = np.empty(max(qmax, 1))
    delta = np.zeros(n)
    slack = np.empty(nr)
    cr = np.empty(n + max(qmax, 1))  # ratio test: breakpoints, rates, candidates
    ca = np.empty(n + max(qmax, 1))
    ci = np.empty(n + max(qmax, 1), np.int64)
    n_flips = 0
    best_obj = np.inf
    last_progress = 0
    n_upd = 0
    last_refactor = 0
    piv_tol = max(piv_tol, PIVOT_TOL)
    status = BD_FAILED
    it = 0
    while it <= max_iter:
        # primal values of the basic variables, multipliers y = K^-T c_S, d = c - A_R^T y
        _solve_basis(A, b, R, S, q, state, x, Kinv, cp, rhs, y)
        for j in range(n):
            if state[j] == _BASIC:
                d[j] = 0.0
            else:
                s = cp[j]
                for t in range(q):
                    s -= y[t] * A[R[t], j]
                d[j] = s
        # dual objective of this basis: y.b_R + sum over nonbasic of d_j x_j; it never
        # increases
        dobj = 0.0
        for t in range(q):
            dobj += y[t] * b[R[t]]
        for j in range(n):
            if state[j] != _BASIC:
                dobj += d[j] * x[j]
        if dobj < best_obj - 1e-12 * (1.0 + abs(best_obj)):
            best_obj = dobj
            last_progress = it
        elif it - last_progress > STALL + 2 * (n + nr):
            break  # no progress (a degenerate cycle the perturbation did not break): failed
        if stop_below > -np.inf:
            # when the objective is low enough, the certificate of these multipliers decides
            if dobj <= stop_below and \
                    _certificate(A, b, R, q, y, lo, hi, c, x) <= stop_below:
                status = BD_STOPPED
                break
        # leaving variable: the most violated row or bound
        worst = ptol
        leave_row = -1
        leave_var = -1
        for i in range(nr):
            if active[i]:
                continue
            ri = rows[i]
            s = -b[ri]
            for j in range(n):
                s += A[ri, j] * x[j]
            slack[i] = s
            if s > worst:
                worst = s
                leave_row = i
                leave_var = -1
        for i in range(q):
            j = S[i]
            if x[j] - ub[j] > worst:
                worst = x[j] - ub[j]
                leave_var = i
                leave_row = -1
            elif lb[j] - x[j] > worst:
                worst = lb[j] - x[j]
                leave_var = i
                leave_row = -1
        if leave_row < 0 and leave_var < 0:
            status = BD_OPTIMAL
            break
        if it == max_iter:
            break
        it += 1
        # the pivot row: the rate at which the leaving quantity moves per unit increase
        # of each nonbasic variable (delta_j) and of each active row's slack (w_t)
        if leave_row >= 0:
            p = rows[leave_row]
            for t in range(q):
                s = 0.0
                for i in range(q):
                    s += A[p, S[i]] * Kinv[i, t]
                w[t] = s
            for j in range(n):
                if state[j] == _BASIC:
                    continue
                s = A[p, j]
                for t in range(q):
                    s -= w[t] * A[R[t], j]
                delta[j] = s
            for t in range(q):
                w[t] = -w[t]  # slack t up by one moves a_p.x by -w_t
            sigma = -1.0  # a_p.x must decrease
        else:
            pi = leave_var
            for j in range(n):
                if state[j] == _BASIC:
                    continue
                s = 0.0
                for t in range(q):
                    s -= Kinv[pi, t] * A[R[t], j]
                delta[j] = s
            for t in range(q):
                w[t] = -Kinv[pi, t]
            sigma = -1.0 if x[S[pi]] > ub[S[pi]] else 1.0
        # dual ratio test. Candidates: the nonbasic variables and the active rows' slacks
        # whose allowed move takes the leaving quantity toward feasibility, each with its
        # breakpoint |d_j| / |rate_j| (the dual step at which its reduced cost reaches 0).
        nc = 0
        for j in range(n):
            st = state[j]
            if st == _BASIC:
                continue
            e = sigma * delta[j]
            if st == _LOWER and e > piv_tol:
                cr[nc] = max(-d[j], 0.0) / e
                ca[nc] = e
            elif st == _UPPER and -e > piv_tol:
                cr[nc] = max(d[j], 0.0) / -e
                ca[nc] = -e
            elif st == _FREE and abs(e) > piv_tol:
                cr[nc] = 0.0
                ca[nc] = abs(e)
            else:
                continue
            ci[nc] = j
            nc += 1
        for t in range(q):
            e = sigma * w[t]
            if e > piv_tol:
                cr[nc] = max(y[t], 0.0) / e
                ca[nc] = e
                ci[nc] = -1 - t
                nc += 1
        enter_var = -1
        enter_slack = -1
        pick = -1
        if nc > 0:
            order = np.argsort(cr[:nc])
            # bound flipping (long-step rule): a boxed variable whose breakpoint comes first
            # flips to its other bound instead of entering, as long as the leaving quantity
            # stays infeasible after the flip (in a box one iteration then does the work of
            # many pivots: a row cutting deep into the box is met in one step)
            slope = worst
            i0 = 0
            while i0 < nc - 1:
                cc = order[i0]
                j = ci[cc]
                if j < 0 or state[j] == _FREE:
                    break  # slacks and free variables enter
                width = hi[j] - lo[j]
                if not width < np.inf:
                    break
                if slope - ca[cc] * width <= ptol:
                    break
                slope -= ca[cc] * width
                i0 += 1
            # Harris' two passes on the rest: the largest step any candidate allows with
            # reduced costs relaxed by DUAL_TOL, then the largest pivot within it
            theta = np.inf
            for ii in range(i0, nc):
                cc = order[ii]
                theta = min(theta, cr[cc] + DUAL_TOL / ca[cc])
            best_piv = 0.0
            pick = order[i0]
            for ii in range(i0, nc):
                cc = order[ii]
                if cr[cc] <= theta and ca[cc] > best_piv:
                    best_piv = ca[cc]
                    pick = cc
            for ii in range(i0):  # the flips
                j = ci[order[ii]]
                if state[j] == _LOWER:
                    state[j] = _UPPER
                    x[j] = ub[j]
                else:
                    state[j] = _LOWER
                    x[j] = lb[j]
            n_flips += i0
        if pick >= 0:
            if ci[pick] >= 0:
                enter_var = ci[pick]
            else:
                enter_slack = -1 - ci[pick]
        if enter_var < 0 and enter_slack < 0:
            status = BD_INFEASIBLE
            break
        # basis change and factor update
        if leave_row >= 0:
            p = rows[leave_row]
            if enter_var >= 0:  # K grows by row p and column enter_var
                j = enter_var
                _column_in_basis(A, R, q, j, Kinv, u, ku)
                piv = delta[j]
                # w holds -(a_p[S] K^-1)
                for i in range(q):
                    for t in range(q):
                        Kinv[i, t] -= ku[i] * w[t] / piv
                    Kinv[i, q] = -ku[i] / piv
                for t in range(q):
                    Kinv[q, t] = w[t] / piv
                Kinv[q, q] = 1.0 / piv
                R[q] = p
                S[q] = j
                state[j] = _BASIC
                active[leave_row] = True
                rpos[leave_row] = q
                q += 1
            else:  # row p replaces active row t
                t0 = enter_slack
                wt = -w[t0]  # a_p[S] K^-1 e_t
                for i in range(q):
                    f = Kinv[i, t0] / wt
                    for t in range(q):
                        Kinv[i, t] -= f * (-w[t] - (1.0 if t == t0 else 0.0))
                _deactivate(rows, active, rpos, R[t0], t0)
                R[t0] = p
                active[leave_row] = True
                rpos[leave_row] = t0
        else:
            pi = leave_var
            jl = S[pi]
            if x[jl] > ub[jl]:
                state[jl] = _UPPER
                x[jl] = ub[jl]
            else:
                state[jl] = _LOWER
                x[jl] = lb[jl]
            if enter_var >= 0:  # column pi of K becomes column enter_var
                j = enter_var
                _column_in_basis(A, R, q, j, Kinv, u, ku)
                piv = ku[pi]
                rowp = Kinv[pi, :q].copy()
                for i in range(q):
                    f = (ku[i] - (1.0 if i == pi else 0.0)) / piv
                    if f != 0.0:
                        for t in range(q):
                            Kinv[i, t] -= f * rowp[t]
                S[pi] = j
                state[j] = _BASIC
            else:  # row R[t0] leaves the active set with variable jl: K loses a row, a column
                t0 = enter_slack
                piv = Kinv[pi, t0]
                for i in range(q):
                    if i == pi:
                        continue
                    f = Kinv[i, t0] / piv
                    if f != 0.0:
                        for t in range(q):
                            Kinv[i, t] -= f * Kinv[pi, t]
                _deactivate(rows, active, rpos, R[t0], t0)
                last = q - 1
                # move the last row of Kinv into row pi and the last column into column t0
                if pi != last:
                    for t in range(q):
                        Kinv[pi, t] = Kinv[last, t]
                    S[pi] = S[last]
                if t0 != last:
                    for i in range(q):
                        Kinv[i, t0] = Kinv[i, last]
                    R[t0] = R[last]
                    for i in range(nr):
                        if active[i] and rpos[i] == last:
                            rpos[i] = t0
                            break
                q -= 1
        n_upd += 1
        if q > 0 and n_upd - last_refactor >= max(REFACTOR, q):
            last_refactor = n_upd
            if not _refactor(A, R, S, q, Kinv):
                status = BD_FAILED
                break
    # final point from a fresh factor, the objective and the certificate
    if (status == BD_OPTIMAL or status == BD_STOPPED) and q > 0:
        if _refactor(A, R, S, q, Kinv):
            _solve_basis(A, b, R, S, q, state, x, Kinv, c, rhs, y)  # the true costs
        else:
            status = BD_FAILED
    value = 0.0
    for j in range(n):
        value += c[j] * x[j]
    bound = np.inf
    if status == BD_OPTIMAL or status == BD_STOPPED:
        bound = _certificate(A, b, R, q, y, lo, hi, c, x)
    if status == BD_OPTIMAL:
        # a nonbasic variable at an artificial bound with a nonzero reduced cost:
        # the maximum is unbounded (or beyond BIG)
        for j in range(n):
            if state[j] == _UPPER and hi[j] == np.inf and d[j] > piv_tol:
                status = BD_UNBOUNDED
            elif state[j] == _LOWER and lo[j] == -np.inf and d[j] < -piv_tol:
                status = BD_UNBOUNDED
            elif state[j] == _BASIC and ((hi[j] == np.inf and x[j] > 0.5 * BIG)
                                         or (lo[j] == -np.inf and x[j] < -0.5 * BIG)):
                status = BD_UNBOUNDED
    return status, value, bound, x, it


# ---------------------------------------------------------------------------------------
# The Chebyshev-ball LP on the same simplex.
# ---------------------------------------------------------------------------------------

@njit(cache=True)
def bd_cheb(A, b, m, lo, hi, stop_below, ptol, piv_tol, max_iter):
    """The Chebyshev-ball LP of ``{A[:m] x <= b[:m]}`` (unit rows) by :func:`bd_max`.

    ``max r  s.t.  a_j . x + r <= b_j,  r <= 1``, with ``x`` bounded by an outer box
    ``[lo, hi]`` of the cell (any box containing it: the centre lies in the cell). The
    variables are ``(x, r)``; the rows ``(a_j, 1)`` include the domain's facets, so a box
    window's ``2k`` facets are rows here (sparse ones, but stored densely): this is the
    engine's Chebyshev LP for high dimension, where the dense ``(k+1) x (k+1)`` basis of
    :func:`._kernels_lp.cheb_lp` and its cold start cost minutes, while this one starts
    from the box's corner and pivots once per row that ends up active.

    Returns ``(status, r_dual, r_primal, x)`` like ``cheb_lp``: status ``0`` optimal,
    ``1`` stopped (the dual bound fell to ``stop_below``: the cell is thinner), ``2``
    failed (the caller falls back to HiGHS); ``r_primal = min(1, min_j b_j - a_j.x)`` is
    measured from the rows, not read from the simplex.
    """
    k = A.shape[1]
    G = np.empty((m, k + 1))
    for j in range(m):
        for t in range(k):
            G[j, t] = A[j, t]
        G[j, k] = 1.0
    lo2 = np.empty(k + 1)
    hi2 = np.empty(k + 1)
    lo2[:k] = lo
    hi2[:k] = hi
    lo2[k] = -np.inf
    hi2[k] = 1.0
    c = np.zeros(k + 1)
    c[k] = 1.0
    rows = np.arange(m)
    st, val, bound, z, it = bd_max(G, b[:m], rows, lo2, hi2, c, ptol, piv_tol, max_iter,
                                   stop_below)
    x = z[:k].copy()
    if st == BD_STOPPED:
        return 1, bound, -np.inf, x
    if st != BD_OPTIMAL:
        return 2, np.inf, -np.inf, x
    rp = min_slack(A, b, m, x, 1.0)
    for t in range(k):  # the outer box is not a facet, but the centre must lie in it
        if x[t] < lo[t] or x[t] > hi[t]:
            rp = -np.inf
    return 0, bound, rp, x


#: Above this dimension the engine's Chebyshev LPs leave the dense warm-started simplex
#: of :mod:`._kernels_lp` (its cold start and ``(k+1) x (k+1)`` basis grow as ``k^3``)
#: for :func:`bd_cheb`; above ``CHEB_SPARSE_MIN`` they go to HiGHS, whose sparse
#: factorisation exploits the two nonzeros of a box facet's row (in 784-D: 0.7 s against
#: half a minute for either dense simplex). These LPs are rare there: the vertex LP and
#: the cone test decide almost every hyperplane.
CHEB_DENSE_MAX = 32
CHEB_SPARSE_MIN = 256


@njit(cache=True)
def cheb_highdim(A, b, m, lo, hi, stop_below, ptol, piv_tol, max_iter, counts):
    """The Chebyshev LP of ``{A[:m] x <= b[:m]}`` in high dimension: :func:`bd_cheb` (up
    to ``CHEB_SPARSE_MIN`` dimensions) with HiGHS as its fallback, or HiGHS directly.
    Returns ``(status, r_dual, r_primal, x)`` with status 0 (optimal) or 1 (stopped:
    thinner than ``stop_below``); ``counts[1] += 1`` for each HiGHS solve."""
    k = A.shape[1]
    if k <= CHEB_SPARSE_MIN:
        st, obj, rp, x = bd_cheb(A, b, m, lo, hi, stop_below, ptol, piv_tol, max_iter)
        if st == 1 or (st == 0 and (rp > stop_below or not obj > stop_below)):
            return st, obj, rp, x
    counts[1] += 1
    with objmode(rh="float64", xh="float64[::1]"):
        rh, xh = cheb_highs(A, b, m)
    return 0, rh, rh, xh
