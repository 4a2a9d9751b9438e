"""polyregion against an exact rational 2-D enumeration (tests/oracles.py)."""

import numpy as np
import pytest

import polyregion as pr
from oracles import exact_relu_2d_codes, he_net


@pytest.mark.parametrize("widths,seed", [([16, 16], 0), ([16, 16], 1), ([12, 12, 12], 2),
                                         ([24, 24], 3)])
def test_matches_exact_rational_enumeration(widths, seed):
    net = he_net(widths, 2, seed=seed)
    exact = exact_relu_2d_codes(net.weights, net.biases)
    for method in ("planar", "lp"):
        rs = pr.enumerate_regions(net, pr.Box.cube(2), method=method)
        assert np.array_equal(rs.codes, exact), method


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_matches_exact_rational_enumeration_deep(seed):
    net = he_net([32, 32, 32], 2, seed=seed)
    exact = exact_relu_2d_codes(net.weights, net.biases)
    assert np.array_equal(pr.enumerate_regions(net, pr.Box.cube(2)).codes, exact)
