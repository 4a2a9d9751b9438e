"""Exact windows in high dimension (the bounded dual simplex of ``_kernels_simplex``).

Oracles: the forward pass (every witness has its region's code, every sampled point's
code is an enumerated code, so sampling is a lower bound) and ``method="scipy"`` (the same
subdivision with HiGHS for every LP: codes equal on a 64-D window).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import polyregion as pr

DATA = Path(__file__).parent / "data" / "digits_mlp_64d.npz"


def he_784():
    rng = np.random.default_rng(0)
    dims = [784, 128, 64, 10]
    Ws = [rng.normal(0, np.sqrt(2 / dims[i]), (dims[i + 1], dims[i])) for i in range(3)]
    bs = [rng.normal(0, 0.01, dims[i + 1]) for i in range(3)]
    return pr.Network.from_arrays(Ws, bs), rng.uniform(0, 1, 784)


def _check_against_forward(net, dom, rs, n_samples=3000, seed=0):
    codes = {c.tobytes() for c in rs.codes}
    assert len(codes) == len(rs)
    np.testing.assert_array_equal(net.codes(rs.points), rs.codes)
    lo, hi = dom.bounds()
    rng = np.random.default_rng(seed)
    X = lo + (hi - lo) * rng.random((n_samples, lo.size))
    seen = {c.tobytes() for c in net.codes(X)}
    assert seen <= codes  # every sampled code is an enumerated region
    assert len(rs) >= len(seen)


def test_784d_window_against_the_forward_pass():
    net, x0 = he_784()
    r = 1e-3
    dom = pr.Box(x0 - r, x0 + r)
    rs = pr.enumerate_regions(net, dom)
    assert len(rs) > 10
    assert np.all(rs.radii > 0)
    _check_against_forward(net, dom, rs)
    # the witness balls lie in their cells: points at the radius keep the code
    rng = np.random.default_rng(1)
    u = rng.normal(size=rs.points.shape)
    u /= np.linalg.norm(u, axis=1)[:, None]
    np.testing.assert_array_equal(net.codes(rs.points + 0.99 * rs.radii[:, None] * u),
                                  rs.codes)


def _digits():
    d = np.load(DATA)
    net = pr.Network.from_arrays([d["W0"], d["W1"], d["W2"]], [d["b0"], d["b1"], d["b2"]])
    return net, d["images"]


@pytest.mark.skipif(not DATA.exists(), reason="tests/data/digits_mlp_64d.npz missing")
def test_digits_windows_against_the_forward_pass():
    net, X = _digits()
    for x0, r in ((X[0], 0.02), (X[1], 0.015)):
        dom = pr.Box(x0 - r, x0 + r)
        rs = pr.enumerate_regions(net, dom)
        _check_against_forward(net, dom, rs)


@pytest.mark.skipif(not DATA.exists(), reason="tests/data/digits_mlp_64d.npz missing")
def test_digits_window_equals_scipy():
    net, X = _digits()
    dom = pr.Box(X[4] - 0.01, X[4] + 0.01)
    a = pr.enumerate_regions(net, dom, method="lp")
    b = pr.enumerate_regions(net, dom, method="scipy")
    np.testing.assert_array_equal(a.codes, b.codes)


def test_784d_window_in_work_units_equals_the_direct_run():
    """Work units (executor="serial", and a budget resumed) in 784-D: the unit roots go to
    the high-dimensional Chebyshev LP (a dense cold solve there took minutes per unit)."""
    net, x0 = he_784()
    dom = pr.Box(x0 - 1e-3, x0 + 1e-3)
    direct = pr.enumerate_regions(net, dom)
    units = pr.enumerate_regions(net, dom, executor="serial")
    np.testing.assert_array_equal(units.codes, direct.codes)
    with pytest.raises(pr.BudgetExceededError) as e:
        pr.enumerate_regions(net, dom, max_regions=len(direct) // 3)
    done = pr.enumerate_regions(net, dom, resume=e.value.partial)
    np.testing.assert_array_equal(done.codes, direct.codes)
