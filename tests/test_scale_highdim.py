"""Work units in high dimension: a 64-D MLP on the digits data (issue 20, item 3).

``tests/data/digits_mlp_64d.npz`` holds an ``MLPClassifier((64, 64), random_state=0,
max_iter=2000)`` trained by scikit-learn 1.9.1 on ``load_digits`` (pixels / 16): weights
``W0, W1, W2`` (``(out, in)``), biases ``b0, b1, b2``, and the images ``images`` of the
digits numbered ``index`` (float64, stored so the tests train nothing).

In 64-D the LP engine's cold root Chebyshev LP of a unit's cell (the domain box cut by a
dozen first-layer hyperplanes, a highly degenerate LP) could pivot on a rounding-level
element and stop "optimal" at a point outside the cell; the engine then took that point
as interior and returned regions of other units ("a work unit returned regions outside
its cell"), while the direct run, which never solves that LP, was right. These windows
failed so before the fix; digits 24 and 51 needed the pivot tolerance raised 100-fold.
"""

import os

import numpy as np
import pytest

import polyregion as pr
from polyregion.errors import BudgetExceededError


@pytest.fixture(scope="module")
def digits():
    d = np.load(os.path.join(os.path.dirname(__file__), "data", "digits_mlp_64d.npz"))
    net = pr.Network.from_arrays([d["W0"], d["W1"], d["W2"]], [d["b0"], d["b1"], d["b2"]])
    images = {int(i): x for i, x in zip(d["index"], d["images"])}
    return net, images


def window(images, i, r):
    return pr.Box(images[i] - r, images[i] + r)


@pytest.mark.parametrize("i, r, n", [(41, 0.012, 34), (51, 0.012, 122)])
def test_units_equal_direct_run_64d(digits, i, r, n):
    net, images = digits
    box = window(images, i, r)
    direct = pr.enumerate_regions(net, box)
    assert len(direct) == n
    serial = pr.enumerate_regions(net, box, executor="serial")
    assert serial.stats.extra["n_units"] > 1
    assert np.array_equal(serial.codes, direct.codes)
    pool = pr.enumerate_regions(net, box, executor=2)
    assert np.array_equal(pool.codes, direct.codes)
    assert np.array_equal(pool.points, serial.points)
    # every witness strictly inside its own region (the units' output is checked too)
    assert np.all(serial.radii > 0)
    assert np.array_equal(net.codes(serial.points), serial.codes)


def test_budget_resume_equals_direct_run_64d(digits):
    net, images = digits
    box = window(images, 9, 0.012)
    direct = pr.enumerate_regions(net, box)
    with pytest.raises(BudgetExceededError) as err:
        pr.enumerate_regions(net, box, max_regions=30, batch_size=2)
    partial = err.value.partial
    assert 0 < len(partial) < len(direct) and len(partial.frontier) > 0
    rs = pr.enumerate_regions(net, box, resume=partial, executor=2)
    assert np.array_equal(rs.codes, direct.codes)
    again = pr.enumerate_regions(net, box, executor="serial")
    assert np.array_equal(rs.points, again.points) and np.array_equal(rs.radii, again.radii)


def test_root_pivot_certifies_every_unit_64d(digits):
    """Every unit of a failing window runs from a root centre certified inside its cell:
    above CHEB_DENSE_MAX dimensions the engine's root LP is cheb_highdim (no pivot
    tolerance to choose: root_pivot solves nothing), and the dense simplex is right on
    these cells too (it was not: centres outside their cells)."""
    from polyregion.config import DEFAULT_TOLERANCES as tol
    from polyregion.enumerate import scale
    from polyregion.enumerate._kernels_engine import _initial_box
    from polyregion.enumerate._kernels_lp import cheb_solve, cold_basis
    from polyregion.enumerate._kernels_simplex import CHEB_DENSE_MAX, cheb_highdim
    from polyregion.enumerate._kernels_units import root_pivot
    from polyregion.enumerate.engine import Prepared

    net, images = digits
    prep = Prepared(net, window(images, 41, 0.012))
    codes0, _ = scale.plan_units(prep, "lp", tol)
    factors = np.asarray(scale.ROOT_PIVOT_FACTORS, np.float64)
    assert prep.A0.shape[1] > CHEB_DENSE_MAX
    for code0 in codes0:
        sub = scale.unit_problem(prep, code0, tol.zero_row)
        A, b = sub.A0, sub.b0
        piv, n_lps = root_pivot(A, b, tol.feasibility, tol.pivot, tol.max_simplex_iter,
                                factors)
        assert piv == tol.pivot and n_lps == 0
        lo, hi = _initial_box(A, b, A.shape[1])
        st, _, rp, x = cheb_highdim(A, b, len(b), lo, hi, -np.inf, 1e-12, tol.pivot,
                                    tol.max_simplex_iter, np.zeros(2, np.int64))
        assert st == 0 and rp > tol.feasibility
        assert np.min(b - A @ x) >= rp * (1 - 1e-9)
        _, _, rp, x, _ = cheb_solve(A, b, len(b), cold_basis(A.shape[1]), -np.inf, piv,
                                    piv * 1e-2, tol.max_simplex_iter, np.zeros(2, np.int64))
        assert rp > tol.feasibility
        assert np.min(b - A @ x) >= rp * (1 - 1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("i, r, n", [(24, 0.012, 615), (3, 0.02, 7685)])
def test_units_equal_direct_run_64d_large(digits, i, r, n):
    """615 and 7,685 regions (the second: about 45 s direct, 60 s in units, one core)."""
    net, images = digits
    box = window(images, i, r)
    direct = pr.enumerate_regions(net, box)
    assert len(direct) == n
    rs = pr.enumerate_regions(net, box, executor=2)
    assert np.array_equal(rs.codes, direct.codes)
