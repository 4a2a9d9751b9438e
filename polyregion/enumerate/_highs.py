"""HiGHS as the last resort of every Chebyshev LP, and the kernels' interrupt check.

The Numba simplex (:mod:`._kernels_lp`) reports a status instead of raising. When it
fails (iteration cap, numerical trouble) or its primal and dual answers disagree, its
callers retry from the cold basis, and if that fails too they call :func:`cheb_highs`
from inside the kernel (a Numba ``objmode`` block): the same LP solved by HiGHS, first
by its dual simplex, then by its interior-point method, each with the tight tolerances
of the reference path. Only when HiGHS fails as well does the enumeration stop, with
:class:`~polyregion.errors.SolverError`: an LP that nobody could solve is never taken
for an empty side, so a RegionSet is either right or not returned.

:func:`tick` is the kernels' periodic call back into Python: a pending Ctrl-C raises
``KeyboardInterrupt`` there, which Numba propagates out of the kernel.
"""

from __future__ import annotations

import numpy as np

from ..errors import SolverError

# HiGHS' default feasibility tolerances (1e-7) would hide genuine cells whose Chebyshev
# radius is below ~1e-7; its tightest settings keep the reference path exact down to the
# engine's default feasibility tolerance's range (docs/tolerances.md).
HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
HIGHS_METHODS = ("highs-ds", "highs-ipm")


#: Right-hand sides beyond this (unit rows, unit-scale coordinates) are at infinity for
#: HiGHS, which reads |values| >= 1e20 as infinite: such rows are handled before it runs.
FAR = 1e12


def cheb_highs(A, b, m):
    """Chebyshev radius (capped at 1) and centre of ``{A[:m] x <= b[:m]}`` (unit rows).

    The radius returned is the one of the ball around the centre that HiGHS found,
    verified directly: ``min(1, min_j b_j - a_j . x)``. Raises
    :class:`~polyregion.errors.SolverError` when no HiGHS method solves the LP.
    """
    from scipy.optimize import linprog

    A = np.ascontiguousarray(A[:m], dtype=np.float64)
    b = np.ascontiguousarray(b[:m], dtype=np.float64)
    k = A.shape[1]
    if m == 0:
        return 1.0, np.zeros(k)
    if np.min(b) <= -FAR:
        # a row beyond FAR: the cell lies farther than FAR from the origin, where the
        # unit-scale coordinates hold no full-dimensional cell (HiGHS would read the
        # right-hand side as -inf and report a model error)
        x = np.zeros(k)
        return min(1.0, float(np.min(b - A @ x))), x
    near = b < FAR  # rows farther than FAR cannot touch a ball near the origin
    if not np.any(near):
        x = np.zeros(k)
        return min(1.0, float(np.min(b - A @ x))), x
    A_all, b_all = A, b
    A, b = A[near], b[near]
    m = A.shape[0]
    c = np.zeros(k + 1)
    c[-1] = -1.0
    A_ub = np.hstack([A, np.ones((m, 1))])
    bounds = [(None, None)] * k + [(None, 1.0)]
    messages = []
    for method in HIGHS_METHODS:
        try:
            res = linprog(c, A_ub=A_ub, b_ub=b, bounds=bounds, method=method,
                          options=HIGHS_OPTIONS)
        except (ValueError, RuntimeError) as e:  # HiGHS refusing the problem
            messages.append(f"{method}: {e}")
            continue
        if res.status == 0 and res.x is not None and np.all(np.isfinite(res.x)):
            x = np.ascontiguousarray(res.x[:k])
            r = min(1.0, float(np.min(b_all - A_all @ x)))  # verified on every row
            return r, x
        messages.append(f"{method}: status {res.status} ({res.message})")
    # The LP is always feasible and bounded (r is free below and capped at 1), so a
    # failure here is numerical: say so, with the problem's size and the solvers' words.
    raise SolverError(
        f"A Chebyshev LP with {m} rows in {k} dimensions could not be solved: the Numba "
        f"simplex failed (warm and cold start) and so did HiGHS ({'; '.join(messages)}). "
        f"The enumeration was stopped rather than guess the answer; check the network's "
        f"weights for extreme magnitudes or raise `Tolerances(max_simplex_iter=...)`.")


def tick():
    """Nothing: a Numba kernel calls this so that Python can deliver a pending signal."""
    return None


def _interrupted(exc):
    """Whether ``exc`` (a SystemError out of a Numba kernel) wraps a KeyboardInterrupt."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def call_kernel(kernel, *args):
    """Call a Numba kernel; a Ctrl-C during it surfaces as ``KeyboardInterrupt``.

    Kernels call :func:`tick` every few thousand cells, where Python raises a pending
    ``KeyboardInterrupt``; a signal that lands while Numba itself is in Python (unboxing a
    result, say) comes out as ``SystemError(... returned a result with an exception
    set)`` chained to the interrupt, which is turned back into the interrupt here.
    """
    try:
        return kernel(*args)
    except SystemError as e:
        if _interrupted(e):
            raise KeyboardInterrupt() from None
        raise


#: Kernels call :func:`tick` once every this many cells popped from their stack (a call
#: back into Python costs about a microsecond; a cell costs tens of microseconds).
TICK_EVERY = 1024
