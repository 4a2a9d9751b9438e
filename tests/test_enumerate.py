"""Exactness of the enumeration engine against independent oracles and known counts."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import polyregion as pr
from oracles import brute_force_net, he_net, sampled_codes, zaslavsky
from polyregion.errors import BudgetExceededError, InvalidInputError


def codes_of(rs):
    return [tuple(int(v) for v in c) for c in rs.codes]


def check_region_invariants(net, rs, rng, n_samples=2000):
    enum = net.for_domain(rs.domain)
    # (b) interior points have their region's code
    assert np.array_equal(enum.codes(rs.points), rs.codes)
    assert np.all(rs.radii > 0)
    assert np.all(rs.domain.contains(rs.points))
    # (c) affine maps reproduce the forward pass at random points of the region
    for i in rng.choice(len(rs), size=min(len(rs), 15), replace=False):
        d = rs.points.shape[1]
        u = rng.normal(size=(5, d))
        u /= np.linalg.norm(u, axis=1)[:, None]
        X = rs.points[i] + 0.9 * rs.radii[i] * u * rng.uniform(0, 1, (5, 1))
        M, c = rs.affine_map(int(i))
        np.testing.assert_allclose(X @ M.T + c, enum.forward(X), atol=1e-8, rtol=1e-8)
    # (d) codes of random points of the domain are a subset
    if rs.domain.bounded:
        lo, hi = rs.domain.bounds()
        X = rng.uniform(lo, hi, size=(n_samples, len(lo)))
        X = X[rs.domain.contains(X)]
        assert sampled_codes(enum, X) <= set(codes_of(rs))


def test_acceptance_2d_16x16(rng):
    net = he_net([16, 16], 2, seed=0)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))  # auto: the planar path in 2-D
    lp = pr.enumerate_regions(net, pr.Box.cube(2), method="lp")
    ref = pr.enumerate_regions(net, pr.Box.cube(2), method="scipy")
    assert rs == ref and lp == ref and len(rs) > 100
    assert codes_of(rs) == brute_force_net(net, pr.Box.cube(2), tol=1e-9)
    assert rs.stats.method == "planar" and rs.stats.seconds > 0
    assert lp.stats.n_lps > 0 and lp.stats.seconds > 0 and lp.stats.lps_per_region > 0
    assert ref.stats.n_lps > 0
    check_region_invariants(net, rs, rng, n_samples=20000)


@pytest.mark.parametrize("n,d", [(5, 2), (8, 2), (6, 3), (7, 4), (4, 5)])
def test_zaslavsky_space(n, d):
    rng = np.random.default_rng(n * 10 + d)
    net = pr.Network.from_arrays([rng.normal(size=(n, d)), rng.normal(size=(1, n))],
                                 [rng.normal(size=n), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Space(d))
    assert len(rs) == zaslavsky(n, d)
    # every region seen by sampling a huge box around the arrangement
    X = rng.normal(size=(20000, d)) * 50
    assert sampled_codes(net, X) <= set(codes_of(rs))


def one_d_oracle(net, lo, hi):
    """Distinct codes of a 1-D net by exact root finding of every neuron along [lo, hi]."""
    cuts = [lo, hi]
    z_pieces = None
    # breakpoints layer by layer: on each interval between cuts the layer input is affine
    Ws, bs = net.weights, net.biases
    for l in range(len(Ws) - 1):
        act = net.activations[l]
        new = []
        xs = sorted(set(cuts))
        for a, b in zip(xs[:-1], xs[1:]):
            m = 0.5 * (a + b)
            code = net.codes(np.array([[m]]))[0]
            # affine pre-activation of layer l on this interval
            sub = pr.Network.from_arrays(Ws[:l + 1], bs[:l + 1], activation=net.activations[:l])
            M, c = sub.affine_map(code[:sum(net.widths[:l])])
            for j in range(M.shape[0]):
                if M[j, 0] != 0:
                    for t in act.breakpoints:
                        r = (t - c[j]) / M[j, 0]
                        if a < r < b:
                            new.append(r)
        cuts = xs + new
    xs = np.array(sorted(set(cuts)))
    mids = 0.5 * (xs[:-1] + xs[1:])
    return {tuple(c) for c in net.codes(mids[:, None])}


@pytest.mark.parametrize("act", ["relu", "abs", "hardtanh", "relu6", "leaky_relu:0.1"])
@pytest.mark.parametrize("seed", range(3))
def test_one_d_breakpoints(act, seed):
    rng = np.random.default_rng(seed)
    net = pr.Network.from_arrays(
        [rng.normal(size=(6, 1)) * 3, rng.normal(size=(5, 6)), rng.normal(size=(1, 5))],
        [rng.normal(size=6), rng.normal(size=5), np.zeros(1)], activation=act)
    rs = pr.enumerate_regions(net, pr.Box([-2.0], [2.0]))
    assert set(codes_of(rs)) == one_d_oracle(net, -2.0, 2.0)


def test_single_layer_breakpoints_count():
    t = np.array([-0.7, -0.2, 0.1, 0.5, 0.9])
    net = pr.Network.from_arrays([np.ones((5, 1)), np.ones((1, 5))], [-t, np.zeros(1)])
    assert len(pr.enumerate_regions(net, pr.Box([-1.0], [1.0]))) == 6


def test_no_hidden_layer_one_region():
    net = pr.Network.from_arrays([np.ones((1, 3))], [np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(3))
    assert len(rs) == 1 and rs.codes.shape == (1, 0)


# ---------------------------------------------------------------- degenerate, hand-checked
def test_coincident_and_opposite_hyperplanes():
    # neurons x, x (identical), -x (opposite), y: cells are the 4 quadrants
    W = [np.array([[1.0, 0], [1.0, 0], [-1.0, 0], [0, 1.0]]), np.ones((1, 4))]
    net = pr.Network.from_arrays(W, [np.zeros(4), np.zeros(1)])
    for method in ("lp", "scipy"):
        rs = pr.enumerate_regions(net, pr.Box.cube(2), method=method)
        assert codes_of(rs) == [(0, 0, 1, 0), (0, 0, 1, 1), (1, 1, 0, 0), (1, 1, 0, 1)]


def test_many_lines_through_one_point():
    # k lines through the origin in 2-D: 2k sectors; 3 planes through a line in 3-D: 6
    for k in (3, 5, 8):
        ang = np.linspace(0, np.pi, k, endpoint=False) + 0.1
        W = [np.column_stack([np.cos(ang), np.sin(ang)]), np.ones((1, k))]
        net = pr.Network.from_arrays(W, [np.zeros(k), np.zeros(1)])
        assert len(pr.enumerate_regions(net, pr.Box.cube(2))) == 2 * k
    W = [np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 0]]), np.ones((1, 3))]
    net = pr.Network.from_arrays(W, [np.zeros(3), np.zeros(1)])
    assert len(pr.enumerate_regions(net, pr.Box.cube(3))) == 6
    # 4 generic planes through one point in 3-D: central arrangement, 2*(1 + 3 + 3) = 14
    rng = np.random.default_rng(3)
    W = [rng.normal(size=(4, 3)), np.ones((1, 4))]
    net = pr.Network.from_arrays(W, [np.zeros(4), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(3))
    assert len(rs) == 14 == len(brute_force_net(net, pr.Box.cube(3)))


def test_hyperplanes_touching_only_at_corner_or_facet():
    # x + y = 2 touches [-1,1]^2 only at its corner; x = 1 is the box facet itself
    W = [np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), np.ones((1, 3))]
    net = pr.Network.from_arrays(W, [np.array([-2.0, -1.0, 0.0]), np.zeros(1)])
    for method in ("lp", "scipy"):
        rs = pr.enumerate_regions(net, pr.Box.cube(2), method=method)
        assert codes_of(rs) == [(0, 0, 0), (0, 0, 1)]


def test_constant_and_dead_neurons():
    # zero row with positive bias (always on), zero row with negative bias (dead),
    # a dead neuron on the whole box, and one real line
    W = [np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.ones((1, 4))]
    net = pr.Network.from_arrays(W, [np.array([1.0, -1.0, -5.0, 0.3]), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    assert codes_of(rs) == [(1, 0, 0, 0), (1, 0, 0, 1)]
    # second layer constant because all first-layer neurons are off on a region
    W = [np.array([[1.0, 0.0]]), np.array([[1.0]]), np.ones((1, 1))]
    net = pr.Network.from_arrays(W, [np.zeros(1), np.array([0.5]), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    # x < 0: layer-2 neuron = relu(0.5) on; x > 0: x + 0.5 > 0 on
    assert codes_of(rs) == [(0, 1), (1, 1)]


def test_space_unbounded_cells_two_layers():
    rng = np.random.default_rng(7)
    net = pr.Network.from_arrays([rng.normal(size=(4, 2)), rng.normal(size=(3, 4)), np.ones((1, 3))],
                                 [rng.normal(size=4), rng.normal(size=3), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Space(2))
    ref = pr.enumerate_regions(net, pr.Space(2), method="scipy")
    assert rs == ref
    assert codes_of(rs) == brute_force_net(net, pr.Space(2))
    X = rng.normal(size=(50000, 2)) * np.exp(rng.uniform(0, 8, size=(50000, 1)))
    assert sampled_codes(net, X) <= set(codes_of(rs))


def test_polytope_and_slice(rng):
    net = he_net([8, 6], 4, seed=2)
    sl = pr.Slice(rng.normal(size=4) * 0.1, rng.normal(size=(2, 4)), pr.Box.cube(2))
    rs = pr.enumerate_regions(net, sl)
    assert codes_of(rs) == brute_force_net(net.for_domain(sl), sl.inner)
    check_region_invariants(net, rs, rng)
    net3 = he_net([7, 5], 3, seed=4)
    poly = pr.Polytope(np.vstack([np.eye(3), -np.ones((1, 3))]), [1, 1, 1, 1])
    rs = pr.enumerate_regions(net3, poly)
    assert codes_of(rs) == brute_force_net(net3, poly)
    check_region_invariants(net3, rs, rng)


def test_box_far_from_origin_and_tiny():
    net = he_net([6, 6], 2, seed=5)
    for box in (pr.Box([1e6 - 1, -1], [1e6 + 1, 1]), pr.Box.cube(2, radius=1e-6)):
        shifted = pr.Network.from_arrays(net.weights, net.biases)
        rs = pr.enumerate_regions(shifted, box)
        assert codes_of(rs) == brute_force_net(shifted, box, tol=1e-12 * box.scale)


def test_budget():
    net = he_net([16, 16], 2, seed=0)
    with pytest.raises(BudgetExceededError) as exc:
        pr.enumerate_regions(net, pr.Box.cube(2), max_regions=10)
    assert len(exc.value.partial) >= 10
    with pytest.raises(InvalidInputError, match="max_regions"):
        pr.enumerate_regions(net, pr.Box.cube(2), max_regions=0)
    with pytest.raises(InvalidInputError, match="method"):
        pr.enumerate_regions(net, pr.Box.cube(2), method="magic")


# ---------------------------------------------------------------- property tests
@st.composite
def small_problem(draw):
    d = draw(st.integers(1, 5))
    n_layers = draw(st.integers(1, 2 if d > 3 else 3))
    widths = [draw(st.integers(1, 5 if d > 3 else 6)) for _ in range(n_layers)]
    act = draw(st.sampled_from(["relu", "abs", "hardtanh", "relu6", "leaky_relu:0.2"]))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    Ws, bs, n = [], [], d
    for w in widths + [1]:
        Ws.append(rng.normal(size=(w, n)) * (3.0 if act in ("hardtanh", "relu6") else 1.0))
        bs.append(rng.normal(size=w) * 0.5)
        n = w
    net = pr.Network.from_arrays(Ws, bs, activation=act)
    lo = rng.uniform(-2, 0, size=d)
    box = pr.Box(lo, lo + rng.uniform(0.5, 3, size=d))
    return net, box, seed


@given(small_problem())
def test_property_engine_vs_scipy_and_oracle(problem):
    net, box, seed = problem
    rng = np.random.default_rng(seed)
    rs = pr.enumerate_regions(net, box)
    ref = pr.enumerate_regions(net, box, method="lp")
    assert rs == ref
    assert codes_of(rs) == brute_force_net(net, box, tol=1e-10 * box.scale)
    check_region_invariants(net, rs, rng, n_samples=10000)


@given(small_problem())
def test_property_numba_equals_scipy(problem):
    net, box, _ = problem
    if net.n_neurons > 10:
        return
    assert pr.enumerate_regions(net, box, method="lp") == \
        pr.enumerate_regions(net, box, method="scipy")
