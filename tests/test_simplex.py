"""The bounded-variable dual simplex (``_kernels_simplex.bd_max``) against HiGHS.

``max c.x`` over ``{A x <= b, lo <= x <= hi}`` on random cells of several awkward kinds
(rows through the box, pencils of rows through one point, duplicated rows, costs equal to
a row's normal: fully dual-degenerate, half-infinite bounds, empty sets) in 1-D to 784-D,
and on cells of a trained 64-D digits MLP. Every answer is compared with
``scipy.optimize.linprog(method="highs")``: the optimum to 1e-7, the certificate never
below the optimum and at most 1e-6 above it, the vertex feasible; an infeasible problem
must never come back as optimal, and a solve that gives up must say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from polyregion.enumerate._kernels_simplex import (BD_FAILED, BD_INFEASIBLE, BD_OPTIMAL,
                                                   BD_STOPPED, BD_UNBOUNDED, bd_max)

DATA = Path(__file__).parent / "data" / "digits_mlp_64d.npz"


def _unit(rng, m, k):
    A = rng.normal(size=(m, k))
    return A / np.linalg.norm(A, axis=1)[:, None]


def _highs(A, b, lo, hi, c):
    bounds = [(None if l == -np.inf else l, None if h == np.inf else h) for l, h in zip(lo, hi)]
    res = linprog(-c, A_ub=A if len(b) else None, b_ub=b if len(b) else None, bounds=bounds,
                  method="highs")
    return res


def _check(A, b, lo, hi, c, tol=1e-7):
    """Solve with bd_max and HiGHS; return bd_max's status after asserting agreement."""
    rows = np.arange(len(b), dtype=np.int64)
    st, val, bound, x, it = bd_max(A, b, rows, lo, hi, c, 1e-12, 1e-11, 20_000, -np.inf)
    res = _highs(A, b, lo, hi, c)
    if res.status == 0:
        opt = -res.fun
        assert st in (BD_OPTIMAL, BD_FAILED), (st, opt)
        if st == BD_OPTIMAL:
            scale = 1.0 + abs(opt)
            assert abs(val - opt) <= tol * scale, (val, opt)
            assert bound >= opt - tol * scale, (bound, opt)
            assert bound <= opt + 1e-6 * scale, (bound, opt)
            if len(b):
                assert np.max(A @ x - b) <= 1e-9
            assert np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12)
    elif res.status == 2:  # infeasible
        assert st != BD_OPTIMAL
    elif res.status == 3:  # unbounded
        assert st != BD_OPTIMAL or bound == np.inf
    return st


def _random_problem(rng, k):
    kind = rng.integers(0, 4)
    m = int(rng.integers(0, 3 * k + 3))
    A = _unit(rng, m, k)
    if kind == 0:  # rows through the box
        b = rng.uniform(-0.5, 1.0, m)
    elif kind == 1:  # a pencil through one point (degenerate vertices), some shifted
        p = rng.uniform(-0.5, 0.5, k)
        b = A @ p + rng.choice([0.0, 1e-3], m)
    elif kind == 2:  # duplicated rows
        b = rng.uniform(0.0, 1.0, m)
        h = m // 2
        A[h:2 * h] = A[:h]
        b[h:2 * h] = b[:h]
    else:  # possibly empty: rows pointing at each other
        b = rng.uniform(-0.3, 0.3, m)
        if m >= 2:
            A[1] = -A[0]
            b[1] = -b[0] - rng.uniform(-0.01, 0.01)
    lo, hi = -np.ones(k), np.ones(k)
    if rng.random() < 0.2:
        lo[0] = -np.inf
    c = rng.normal(size=k)
    if m and rng.random() < 0.3:  # a cost equal to a row's normal: fully dual-degenerate
        c = rng.choice([-1.0, 1.0]) * A[rng.integers(m)]
    if rng.random() < 0.2:
        c[rng.integers(k)] = 0.0
    return A, b, lo, hi, c


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 20, 64])
def test_random_cells_match_highs(k):
    rng = np.random.default_rng(100 + k)
    n_opt = 0
    statuses = []
    for _ in range(150 if k <= 20 else 60):
        st = _check(*_random_problem(rng, k))
        statuses.append(st)
        n_opt += st == BD_OPTIMAL
    assert n_opt >= 0.6 * len(statuses)  # the test must exercise optimal answers
    assert statuses.count(BD_FAILED) <= 0.02 * len(statuses)


@pytest.mark.parametrize("k", [196, 784])
def test_window_cells_high_dimension(k):
    """A window's box with a few dense cut rows, as the engine meets them in 784-D: the
    optimum has few active rows, and bound flipping must reach it in few iterations."""
    rng = np.random.default_rng(k)
    h = 1.0 / np.sqrt(k)
    lo, hi = -np.full(k, h), np.full(k, h)
    for _ in range(6):
        m = int(rng.integers(1, 20))
        A = _unit(rng, m, k)
        b = rng.uniform(-0.5, 0.5, m) * h * np.abs(A).sum(axis=1)
        for c in (rng.normal(size=k), A[0], -A[-1]):
            rows = np.arange(m, dtype=np.int64)
            st, val, bound, x, it = bd_max(A, b, rows, lo, hi, c, 1e-12, 1e-11, 20_000,
                                           -np.inf)
            res = _highs(A, b, lo, hi, c)
            if res.status != 0:
                assert st != BD_OPTIMAL
                continue
            assert st == BD_OPTIMAL
            assert abs(val + res.fun) <= 1e-7 * (1 + abs(res.fun))
            assert bound >= -res.fun - 1e-7
            assert it <= 6 * m + 10  # long steps: not one pivot per coordinate (k = 784)


def test_decision_mode_stops_with_a_valid_bound():
    rng = np.random.default_rng(5)
    for _ in range(100):
        A, b, lo, hi, c = _random_problem(rng, 6)
        res = _highs(A, b, lo, hi, c)
        if res.status != 0:
            continue
        opt = -res.fun
        thr = opt + 0.1
        rows = np.arange(len(b), dtype=np.int64)
        st, val, bound, x, it = bd_max(A, b, rows, lo, hi, c, 1e-12, 1e-11, 20_000, thr)
        assert st in (BD_STOPPED, BD_OPTIMAL, BD_FAILED)
        if st == BD_STOPPED:
            assert opt - 1e-9 <= bound <= thr


def test_infeasible_and_unbounded():
    A = np.array([[1.0, 0.0], [-1.0, 0.0]])
    b = np.array([-0.5, -0.5])  # x <= -0.5 and x >= 0.5
    rows = np.arange(2, dtype=np.int64)
    lo, hi = -np.ones(2), np.ones(2)
    st = bd_max(A, b, rows, lo, hi, np.array([0.0, 1.0]), 1e-12, 1e-11, 1000, -np.inf)[0]
    assert st == BD_INFEASIBLE
    # unbounded: x1 free upward, maximise x1
    lo2, hi2 = np.array([-1.0, 0.0]), np.array([1.0, np.inf])
    A2 = np.array([[1.0, 0.0]])
    st = bd_max(A2, np.array([0.5]), np.arange(1, dtype=np.int64), lo2, hi2,
                np.array([0.0, 1.0]), 1e-12, 1e-11, 1000, -np.inf)[0]
    assert st == BD_UNBOUNDED


@pytest.mark.skipif(not DATA.exists(), reason="tests/data/digits_mlp_64d.npz missing")
def test_digits_mlp_cells_match_highs():
    """Cells of a trained 64-D MLP around digit images: the box of a window plus the
    hyperplanes of both hidden layers that reach into it, random subsets of them."""
    import polyregion as pr
    from polyregion.regions import cell_constraints

    d = np.load(DATA)
    net = pr.Network.from_arrays([d["W0"], d["W1"], d["W2"]], [d["b0"], d["b1"], d["b2"]])
    X = d["images"]
    rng = np.random.default_rng(0)
    r = 0.03
    for x0 in X[:3]:
        A, b, _ = cell_constraints(net, net.codes(x0[None])[0], pr.Box(x0 - r, x0 + r))
        gen = np.count_nonzero(A, axis=1) != 1
        A, b = A[gen], b[gen] - A[gen] @ x0
        for t in range(40):
            keep = rng.random(len(b)) < rng.uniform(0.3, 1.0)
            c = rng.normal(size=64) if t % 2 else rng.choice([-1, 1]) * A[rng.integers(len(b))]
            assert _check(A[keep], b[keep], -np.full(64, r), np.full(64, r), c) == BD_OPTIMAL


@pytest.mark.parametrize("k", [3, 40, 120])
def test_chebyshev_lp_on_the_dual_simplex(k):
    """bd_cheb: the Chebyshev radius of a box cut by random rows, against HiGHS, with the
    centre certified (radius measured from the rows); decision mode stops only when the
    cell is thinner than the threshold."""
    from polyregion.enumerate._kernels_simplex import bd_cheb

    rng = np.random.default_rng(k)
    for _ in range(15):
        h = rng.uniform(0.3, 1.0, k)
        m = int(rng.integers(0, 15))
        A = _unit(rng, m, k)
        b = rng.uniform(-0.2, 0.5, m) * (np.abs(A) @ h)
        AA = np.vstack([np.eye(k), -np.eye(k), A])
        bb = np.concatenate([h, h, b])
        res = linprog(np.r_[np.zeros(k), -1.0], A_ub=np.hstack([AA, np.ones((len(bb), 1))]),
                      b_ub=bb, bounds=[(None, None)] * k + [(None, 1.0)], method="highs")
        r_star = -res.fun
        st, rd, rp, x = bd_cheb(AA, bb, len(bb), -h, h, -np.inf, 1e-12, 1e-11, 50_000)
        if r_star > 1e-9:
            assert st == 0
            assert abs(rp - r_star) <= 1e-7 * (1 + r_star)
            assert np.min(bb - AA @ x) >= rp - 1e-12
            st2, rd2, _, _ = bd_cheb(AA, bb, len(bb), -h, h, 2 * r_star, 1e-12, 1e-11,
                                     50_000)
            assert st2 in (0, 1) and (st2 == 0 or rd2 <= 2 * r_star)
            st3, rd3, rp3, _ = bd_cheb(AA, bb, len(bb), -h, h, 0.5 * r_star, 1e-12, 1e-11,
                                       50_000)
            assert st3 == 0 and rp3 > 0.5 * r_star  # never stops on a thicker cell
        else:
            assert st != 0 or rp <= 1e-9
