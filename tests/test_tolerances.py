"""A RegionSet's tolerances reach every computation derived from it (docs/tolerances.md).

The net below has one neuron per hidden layer whose hyperplane is 1e-8 of its layer and
yet crosses the box: with ``zero_row=1e-6`` the engines call it constant (at its upper
piece: a crossing hyperplane that small is within the margin of its breakpoint at the
domain's centre), with the default it is a genuine hyperplane. Oracles: the domain's
volume, the plain forward pass (``Network.codes``) at the other neurons, uniform samples
(every one is located, in exactly one region's H-representation), segment midpoints
just across each polygon edge (the region there is a graph neighbour).
"""

import numpy as np
import pytest

import polyregion as pr
from oracles import he_net
from polyregion.sampling import domain_volume, sample_domain

TOL = pr.Tolerances(zero_row=1e-6, feasibility=1e-9)
BOX = pr.Box([-1.0, -0.5], [1.0, 1.5])
TINY = [8, 17]          # the two negligible neurons (last of each hidden layer)


def _tiny_net(seed=5):
    base = he_net([8, 8], 2, seed=seed, bias_std=0.2)
    (W0, W1, W2), (b0, b1, b2) = base.weights, base.biases
    rng = np.random.default_rng(seed)
    W0 = np.vstack([W0, [1e-8, 0.0]])                  # the line x = -0.2
    b0 = np.append(b0, 2e-9)
    W1 = np.vstack([np.hstack([W1, rng.normal(size=(8, 1))]), 1e-8 * rng.normal(size=(1, 9))])
    b1 = np.append(b1, 0.0)
    W2 = np.hstack([W2, np.ones((1, 1))])
    return pr.Network.from_arrays([W0, W1, W2], [b0, b1, b2])


@pytest.fixture(scope="module")
def tiny():
    net = _tiny_net()
    rs = pr.enumerate_regions(net, BOX, tolerances=TOL)
    return net, rs, sample_domain(BOX, 2000, seed=1)


def test_the_negligible_neurons_matter():
    net = _tiny_net()
    plain = he_net([8, 8], 2, seed=5, bias_std=0.2)
    n_tol = len(pr.enumerate_regions(net, BOX, tolerances=TOL))
    assert n_tol == len(pr.enumerate_regions(plain, BOX)) == 132
    assert len(pr.enumerate_regions(net, BOX)) > n_tol     # default: genuine hyperplanes


def test_volumes_locate_and_halfspaces_follow_the_tolerances(tiny):
    net, rs, X = tiny
    v = rs.volumes()
    assert np.all(v > 0)
    assert v.sum() == pytest.approx(domain_volume(BOX), rel=1e-9)
    k = rs.locate(X)
    assert np.all(k >= 0)
    ordinary = np.setdiff1d(np.arange(net.n_neurons), TINY)
    np.testing.assert_array_equal(rs.codes[k][:, ordinary], net.codes(X)[:, ordinary])
    assert np.all(rs.codes[:, TINY] == 1)
    inside = np.zeros(len(X), int)
    for i in range(len(rs)):
        A, b = rs.halfspaces(i)
        assert np.all(A @ rs.points[i] < b)
        mine = np.all(X @ A.T <= b + 1e-12, axis=1)
        assert np.all(k[mine] == i)
        inside += mine
    assert np.all(inside == 1)                   # the H-representations tile the box


def test_graph_and_distances_follow_the_tolerances(tiny):
    net, rs, X = tiny
    v = rs.volumes()
    G = rs.adjacency()
    assert G.number_of_nodes() == len(rs)
    for i in range(len(rs)):
        V = rs.vertices(i)
        x, y = V[:, 0], V[:, 1]
        area = 0.5 * abs(x @ np.roll(y, -1) - y @ np.roll(x, -1))
        assert area == pytest.approx(v[i], rel=1e-8, abs=0)
        # just across the middle of each edge that is not on the box: a neighbour
        mid = 0.5 * (V + np.roll(V, -1, axis=0))
        e = np.roll(V, -1, axis=0) - V
        out = np.column_stack([e[:, 1], -e[:, 0]]) / np.linalg.norm(e, axis=1)[:, None]
        across = mid + 1e-7 * out
        keep = BOX.contains(across)
        for j in rs.locate(across[keep]):
            assert j >= 0 and j != i and G.has_edge(i, int(j))
    k = rs.locate(X)
    d = rs.distance_to_region_boundary(X)
    for x, i, di in zip(X, k, d):
        A, b, lab = rs.constraints(int(i))
        neuron = lab[:, 0] >= 0
        assert di == pytest.approx(max(np.min(b[neuron] - A[neuron] @ x), 0.0), abs=1e-12)


def test_verify_uses_the_tolerances(tiny):
    net, rs, X = tiny
    rep = pr.verify(rs, n=20_000, seed=0)
    assert rep.passed, str(rep)


def test_bn_hyperplanes_take_the_tolerances():
    W0 = np.array([[1.0, 0.0], [0.0, 1.0], [1e-8, 0.0]])
    net = pr.bn.with_bn(pr.Network.from_arrays([W0, np.ones((1, 3))],
                                               [np.zeros(3), np.zeros(1)]), layers=[0])
    assert pr.bn.hyperplanes(net, None, 0).constant.tolist() == [False, False, False]
    assert pr.bn.hyperplanes(net, None, 0, tolerances=TOL).constant.tolist() == [False, False,
                                                                                  True]
