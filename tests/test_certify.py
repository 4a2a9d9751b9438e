"""pr.certify: exact re-checking of regions (issue 8)."""

import numpy as np
import pytest

import polyregion as pr
from oracles import he_net


def square_net():
    return pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])


def test_certify_accepts_engine_output_on_every_domain_kind():
    net = he_net([6, 5], 2, seed=3)
    for dom in (pr.Box.cube(2), pr.Space(2),
                pr.Polytope([[1, 0], [0, 1], [-1, -1]], [1, 1, 1]),
                pr.Polytope([[0, 1]], [0.2])):
        rs = pr.enumerate_regions(net, dom)
        cert = pr.certify(rs)
        assert cert.ok and cert.n_certified == len(rs) and cert.exact_network, dom
        assert rs.certify().ok
    net5 = he_net([5, 4], 5, seed=1, activation="hardtanh")
    D = np.random.default_rng(0).normal(size=(2, 5))
    rs = pr.enumerate_regions(net5, pr.Slice(np.full(5, 0.1), D, pr.Box.cube(2)))
    assert pr.certify(rs).ok


def test_certify_rejects_a_point_on_a_hyperplane():
    rs = pr.enumerate_regions(square_net(), pr.Box.cube(2))
    rs.points[3] = [0.0, 0.5]          # region (1, 1): x >= 0 holds, but not strictly
    cert = pr.certify(rs)
    assert not cert.ok and cert.failed.tolist() == [3]
    assert "exactly on a breakpoint hyperplane of neuron 0 of layer 0" in cert.reasons[3]


def test_certify_rejects_a_wrong_code_and_a_point_outside():
    rs = pr.enumerate_regions(square_net(), pr.Box.cube(2))
    rs.points[0] = [0.5, -0.5]          # region (0, 0) given a point of region (1, 0)
    rs.points[1] = [-0.5, 1.0]          # on the box's facet y = 1
    cert = pr.certify(rs)
    assert cert.failed.tolist() == [0, 1]
    assert "exact code differs from the stored code at neuron 0 of layer 0" in cert.reasons[0]
    assert "not strictly inside the Box" in cert.reasons[1]
    assert "n_certified=2" in repr(cert)


def test_certify_rejects_duplicate_codes_and_nan_points():
    rs = pr.enumerate_regions(square_net(), pr.Box.cube(2))
    rs.codes[1] = rs.codes[0]
    rs.points[2] = np.nan
    cert = pr.certify(rs)
    assert cert.failed.tolist() == [1, 2]       # the first holder of a code may be genuine
    assert "its code repeats the code of region 0" in cert.reasons[1]
    assert "not finite" in cert.reasons[2]


def test_certify_sees_what_float_rounding_hides():
    # u1 = x + 1 (on in the box), u2 = z1 - 1 = x exactly; at x = -2^-60 the float64
    # forward pass computes (x + 1) - 1 = 0 and calls neuron 2 "on", exact arithmetic
    # gives u2 = -2^-60 < 0: a witness placed there is rejected
    net = pr.Network.from_arrays([np.array([[1.0, 0.0]]), np.ones((1, 1)), np.ones((1, 1))],
                                 [np.array([1.0]), np.array([-1.0]), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    assert rs.codes.tolist() == [[1, 0], [1, 1]] and pr.certify(rs).ok
    x = np.array([[-2.0 ** -60, 0.5]])
    assert net.codes(x).tolist() == [[1, 1]]         # float64 says region 1
    rs.points[1] = x[0]
    cert = pr.certify(rs)
    assert cert.failed.tolist() == [1]
    assert "neuron 0 of layer 1 (exact piece 0, stored 1)" in cert.reasons[1]


def test_certify_bn_is_flagged_inexact():
    net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)],
                                 bn=[{"gamma": 2.0, "beta": 0.1, "mean": 0.3, "var": 2.0}, None])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    cert = pr.certify(rs)
    assert cert.ok and not cert.exact_network and "exact_network=False" in repr(cert)


def test_certify_no_hidden_layer():
    net = pr.Network.from_arrays([np.ones((1, 2))], [np.zeros(1)])
    assert pr.certify(pr.enumerate_regions(net, pr.Box.cube(2))).ok


def test_certify_input_checks():
    with pytest.raises(pr.InvalidInputError, match="`rs` must be a polyregion.RegionSet"):
        pr.certify(None)


def test_certify_constant_neuron_within_rounding_of_a_breakpoint_is_a_label():
    # on the cells where the hard-tanh units are saturated (codes 2, 2, *) and the leaky
    # units are negative, the ReLU of layer 2 computes 0.1 * (-5) + 0.5 with the float64
    # slope 0.1: exactly -2.8e-17 (piece 0), in float64 0.0 (piece 1). The cell is the
    # same either way; certify accepts it and reports the label as ambiguous.
    W = [np.array([[4.0, 4.0, -2.0], [2.0, 0.0, -2.0], [-4.0, 0.0, -2.0]]),
         np.array([[-2.0, 0.0, -1.0], [0.0, -1.0, -2.0]]), np.array([[2.0, -1.0]]),
         np.array([[1.0]])]
    b = [np.array([1.0, 2.0, 2.0]), np.array([-2.0, -2.0]), np.array([0.5]), np.zeros(1)]
    net = pr.Network.from_arrays(W, b, activation=["hardtanh", "leaky_relu:0.1", "relu"])
    dom = pr.Box([-0.77, -0.14, -0.89], [0.08, 1.44, 0.89])
    rs = pr.enumerate_regions(net, dom)
    cert = pr.certify(rs)
    assert cert.ok and cert.ambiguous
    for i, changes in cert.ambiguous.items():
        assert rs.codes[i][:2].tolist() == [2, 2] and rs.codes[i][3:5].tolist() == [0, 0]
        assert changes == [(5, 0)]
