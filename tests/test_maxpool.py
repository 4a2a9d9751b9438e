"""Max layers (max pooling, maxout): the MaxPool layer, the network's maps, and exact
enumeration, checked against an independent depth-first oracle written from the
definition (``oracles.brute_force_max``), exact 1-D envelopes and sampling."""

import numpy as np
import pytest

import polyregion as pr
from oracles import brute_force_max
from polyregion import MaxPool


def _codes(rs):
    return sorted(map(tuple, rs.codes.tolist()))


def _maxout(rng, d, k, groups, integer=False, bias=0.5):
    n = k * groups
    if integer:
        W0 = rng.integers(-2, 3, size=(n, d)).astype(float)
        b0 = rng.integers(-1, 2, size=n).astype(float)
    else:
        W0, b0 = rng.normal(size=(n, d)), rng.normal(size=n) * bias
    W1, b1 = rng.normal(size=(3, groups)), rng.normal(size=3) * bias
    return pr.Network.from_arrays([W0, W1, rng.normal(size=(1, 3))], [b0, b1, np.zeros(1)],
                                  activation=[MaxPool.groups(n, k), "relu"])


def _relu_pool(rng, d, n, windows):
    """ReLU layer, then a max layer over (possibly overlapping) windows of its outputs."""
    return pr.Network.from_arrays(
        [rng.normal(size=(n, d)), np.eye(n), rng.normal(size=(1, len(windows)))],
        [rng.normal(size=n) * 0.5, np.zeros(n), np.zeros(1)],
        activation=["relu", MaxPool(windows)])


# ---------------------------------------------------------------------- the layer
def test_maxpool_layer_values_codes_and_ties():
    pool = MaxPool([[0, 1], [2, 3, 4], [4]])
    u = np.array([[1.0, 3.0, 0.0, 5.0, -1.0], [2.0, 2.0, 5.0, 5.0, 5.0]])
    assert np.array_equal(pool(u), [[3.0, 5.0, -1.0], [2.0, 5.0, 5.0]])
    code = pool.piece(u)
    assert code.tolist() == [[1, 1, 0], [1, 2, 0]]  # ties: the last maximal position
    assert pool.winners(code).tolist() == [[1, 3, 4], [1, 4, 4]]
    assert (pool.n_in, pool.n_out, pool.n_pieces) == (5, 3, 3)


@pytest.mark.parametrize("windows, match", [
    ([], "at least one window"),
    ([[0, 0]], "distinct"),
    ([[-1, 2]], "non-negative"),
    ([[]], "1 to 255"),
    ("ab", "sequence of sequences"),
])
def test_maxpool_rejects_bad_windows(windows, match):
    with pytest.raises(pr.InvalidNetworkError, match=match):
        MaxPool(windows)


def test_network_with_max_layer_checks_shapes():
    with pytest.raises(pr.InvalidNetworkError, match="takes indices up to 4"):
        pr.Network.from_arrays([np.ones((3, 2)), np.ones((1, 1))], [np.zeros(3), np.zeros(1)],
                               activation=[MaxPool([[0, 4]])])
    with pytest.raises(pr.InvalidNetworkError, match="has 2 outputs"):
        pr.Network.from_arrays([np.ones((4, 2)), np.ones((1, 4))], [np.zeros(4), np.zeros(1)],
                               activation=[MaxPool.groups(4, 2)])
    with pytest.raises(pr.InvalidNetworkError, match="do not split"):
        MaxPool.groups(5, 2)


def test_forward_codes_affine_maps_and_files(tmp_path):
    rng = np.random.default_rng(0)
    net = _relu_pool(rng, 3, 6, [[0, 1, 2], [2, 3], [3, 4, 5], [5]])
    assert net.widths == [6, 4] and net.n_neurons == 10 and net.has_max
    X = rng.normal(size=(200, 3))
    # forward = the definition, computed here by hand
    H = np.maximum(X @ net.weights[0].T + net.biases[0], 0.0)
    Z = np.column_stack([H[:, w].max(axis=1) for w in ([0, 1, 2], [2, 3], [3, 4, 5], [5])])
    assert np.allclose(net.forward(X), Z @ net.weights[2].T + net.biases[2])
    for x, c in zip(X, net.codes(X)):
        M, v = net.affine_map(c)
        assert np.allclose(M @ x + v, net.forward(x[None])[0])
    path = tmp_path / "net.npz"
    net.save(path)
    assert pr.load(path) == net
    assert pr.load(path) != pr.Network.from_arrays(
        net.weights, net.biases, activation=["relu", MaxPool([[0, 1], [2, 3], [3, 4, 5], [5]])])


# ---------------------------------------------------------------------- enumeration
@pytest.mark.parametrize("seed", range(6))
def test_maxout_regions_equal_oracle(seed):
    rng = np.random.default_rng(seed)
    d = 1 + seed % 3
    net = _maxout(rng, d, k=2 + seed % 3, groups=1 + seed % 2, integer=seed >= 3)
    for dom in (pr.Box.cube(d), pr.Space(d))[:2 if d < 3 else 1]:
        exp = brute_force_max(net, dom)
        methods = ["lp", "scipy"] + (["planar"] if d == 2 and dom.bounded else [])
        for method in methods:
            rs = pr.enumerate_regions(net, dom, method=method)
            assert _codes(rs) == exp, (method, dom)
            assert np.array_equal(net.codes(rs.points), rs.codes)


@pytest.mark.parametrize("seed", range(4))
def test_relu_then_overlapping_pool_equals_oracle(seed):
    rng = np.random.default_rng(10 + seed)
    d = 2 + seed % 2
    windows = [list(rng.choice(6, size=int(rng.integers(1, 5)), replace=False))
               for _ in range(3)]
    net = _relu_pool(rng, d, 6, windows)
    dom = pr.Box.cube(d)
    rs = pr.enumerate_regions(net, dom, method="lp")
    assert _codes(rs) == brute_force_max(net, dom)
    assert pr.certify(rs).ok
    if d == 2:
        assert pr.enumerate_regions(net, dom, method="planar") == rs


def test_max_first_then_pool_again_on_a_slice():
    """Two max layers, BN, a 2-D slice of a 4-D net."""
    rng = np.random.default_rng(7)
    Ws = [rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), np.eye(4), rng.normal(size=(1, 2))]
    bs = [rng.normal(size=6) * 0.3, rng.normal(size=4) * 0.3, np.zeros(4), np.zeros(1)]
    bn = [None, {"gamma": rng.uniform(0.5, 2, 4), "beta": rng.normal(size=4),
                 "mean": rng.normal(size=4), "var": rng.uniform(0.5, 2, 4)}, None, None]
    net = pr.Network.from_arrays(Ws, bs, bn=bn, activation=[
        MaxPool([[0, 1], [2, 3, 4], [5]]), "leaky_relu:0.1", MaxPool([[0, 1, 2, 3], [1, 3]])])
    X = rng.normal(size=(3, 4))
    dom = pr.Slice.through(X[0], X[1], X[2], margin=0.5)
    rs = pr.enumerate_regions(net, dom)
    assert _codes(rs) == brute_force_max(net, dom)
    T = dom.to_input(rs.points)
    assert np.array_equal(net.codes(T), rs.codes)
    for i in range(len(rs)):
        A, b = rs.halfspaces(i)
        assert np.all(A @ rs.points[i] < b)


def test_maxout_1d_is_the_upper_envelope():
    """max of k lines on an interval: regions = pieces of the upper envelope, found
    exactly by evaluating between all pairwise crossings."""
    rng = np.random.default_rng(3)
    for trial in range(20):
        k = int(rng.integers(2, 8))
        a, c = rng.normal(size=k), rng.normal(size=k)
        net = pr.Network.from_arrays([a[:, None], np.ones((1, 1))], [c, np.zeros(1)],
                                     activation=[MaxPool.groups(k, k)])
        xs = [-2.0, 2.0]
        for i in range(k):
            for j in range(i + 1, k):
                if a[i] != a[j]:
                    x = (c[j] - c[i]) / (a[i] - a[j])
                    if -2 < x < 2:
                        xs.append(x)
        xs = np.sort(xs)
        mids = 0.5 * (xs[1:] + xs[:-1])
        arg = np.argmax(a[None] * mids[:, None] + c[None], axis=1)
        pieces = 1 + int(np.count_nonzero(arg[1:] != arg[:-1]))
        rs = pr.enumerate_regions(net, pr.Box([-2.0], [2.0]))
        assert len(rs) == pieces == len(set(arg.tolist()))


def test_sampled_patterns_are_regions_and_volumes_add_up():
    rng = np.random.default_rng(5)
    net = _relu_pool(rng, 2, 8, [[0, 1, 2, 3], [4, 5, 6, 7], [1, 2, 5, 6]])
    dom = pr.Box.cube(2)
    rs = pr.enumerate_regions(net, dom)
    X = rng.uniform(-1, 1, size=(20000, 2))
    seen = {tuple(c) for c in net.codes(X)}
    assert seen <= set(_codes(rs))
    vol = rs.volumes()
    assert np.all(vol > 0) and abs(vol.sum() - 4.0) < 1e-8
    hits = np.bincount(rs.locate(X), minlength=len(rs)) / len(X) * 4.0
    assert np.max(np.abs(hits - vol)) < 0.05


def test_budget_partial_and_resume_with_max_layers():
    rng = np.random.default_rng(9)
    net = _maxout(rng, 3, 3, 2)
    dom = pr.Box.cube(3)
    full = pr.enumerate_regions(net, dom)
    assert full.stats.extra["expanded_cells"] >= len(full)
    with pytest.raises(pr.BudgetExceededError) as err:
        pr.enumerate_regions(net, dom, max_regions=3)
    part = err.value.partial
    assert set(_codes(part)) <= set(_codes(full))
    with pytest.raises(pr.InvalidInputError, match="max layers"):
        next(iter(pr.iter_regions(net, dom)))


def test_regionset_file_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    rs = pr.enumerate_regions(_relu_pool(rng, 2, 4, [[0, 1], [2, 3]]), pr.Box.cube(2))
    path = tmp_path / "rs.npz"
    rs.save(path)
    back = pr.RegionSet.load(path)
    assert back == rs and back.net == rs.net


def test_training_mode_bn_folds_through_max_layers():
    """BN conditioned on a batch in a net with a max layer: the folded net's outputs on
    the batch equal a hand-written training-mode forward pass."""
    rng = np.random.default_rng(4)
    W0, W1, W2 = rng.normal(size=(6, 2)), rng.normal(size=(3, 3)), rng.normal(size=(1, 3))
    net = pr.bn.with_bn(pr.Network.from_arrays(
        [W0, W1, W2], [np.zeros(6), np.zeros(3), np.zeros(1)],
        activation=[MaxPool.groups(6, 2), "relu"]), layers=[0, 1])
    B = rng.normal(size=(16, 2))
    U = B @ W0.T
    U = (U - U.mean(0)) / np.sqrt(U.var(0) + 1e-5)
    V = U.reshape(16, 3, 2).max(axis=2) @ W1.T
    V = np.maximum((V - V.mean(0)) / np.sqrt(V.var(0) + 1e-5), 0.0)
    assert np.allclose(pr.bn.fold(net, B).forward(B), V @ W2.T, atol=1e-10)
    with pytest.raises(pr.InvalidNetworkError, match="max layers"):
        pr.bn.hyperplanes(net, B)


# ---------------------------------------------------------------------- adjacency
@pytest.mark.parametrize("seed", range(3))
def test_adjacency_of_max_nets_matches_all_pairs_oracle(seed):
    """Edges = pairs of regions whose closures share a (d-1)-ball (all-pairs LPs on the
    regions' own H-representations); facets = irredundant halfspaces, with the same
    labels; every interior piece seen from both sides; Euler's formula in 2-D."""
    from test_graph import brute_adjacency, euler_counts

    rng = np.random.default_rng(seed)
    d = 2 + seed % 2
    if seed % 2 == 0:
        net = _relu_pool(rng, d, 6, [[0, 1, 2, 3], [2, 3, 4], [4, 5]])
    else:
        net = _maxout(rng, d, 3, 2)
    rs = pr.enumerate_regions(net, pr.Box.cube(d))
    G = rs.adjacency()
    assert {tuple(sorted(e)) for e in G.edges()} == brute_adjacency(rs)
    for i in range(len(rs)):
        F = rs.facets(i)
        A, b, labels = rs.halfspaces(i, with_labels=True)
        assert len(F) == len(A)
        # same hyperplanes; the (layer, unit) carrying each facet in the region's own rows
        # are named by the graph too (which also names a window whose argmax changes
        # across the facet only through a tie with entries that are 0 in the region)
        for f in range(len(F)):
            r = np.flatnonzero(np.all(np.abs(A - F.A[f]) < 1e-9, axis=1)
                               & (np.abs(b - F.b[f]) < 1e-9))
            assert len(r) == 1
            assert {t[:2] for t in labels[r[0]]} <= {t[:2] for t in F.labels[f]}
        for f in range(len(F)):  # the facet's point lies on its hyperplane, inside the region
            assert abs(F.A[f] @ F.points[f] - F.b[f]) < 1e-9
            assert np.all(A @ F.points[f] <= b + 1e-9)
    for u, v, data in G.edges(data=True):
        p = data["point"]
        a = data["hyperplane"][0]
        codes = net.codes(np.array([p - 1e-7 * a, p + 1e-7 * a]))
        assert {tuple(c) for c in codes} == {tuple(rs.codes[u]), tuple(rs.codes[v])}
    if d == 2:
        V, E, F, mult = euler_counts(rs)
        assert V - E + F == 1
    lr = rs.linear_regions()
    assert lr.n_linear <= lr.n_activation == len(rs)


def test_conv_and_pool_helpers_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    k = rng.normal(size=(3, 2, 2, 3))
    x = rng.normal(size=(2, 5, 6))
    M = pr.conv2d_matrix(k, (2, 5, 6), stride=2)
    y = torch.nn.functional.conv2d(torch.tensor(x)[None], torch.tensor(k), stride=2)[0]
    assert np.allclose(M @ x.ravel(), y.numpy().ravel())
    pool = MaxPool.pool2d((2, 5, 6), 2, stride=1)
    z = torch.nn.functional.max_pool2d(torch.tensor(x)[None], 2, stride=1)[0]
    assert np.allclose(pool(x.ravel()[None])[0], z.numpy().ravel())
    with pytest.raises(pr.InvalidNetworkError, match="do not fit"):
        pr.conv2d_matrix(k, (1, 5, 6))


@pytest.mark.parametrize("lo, hi", [([-1.0], [1.0]), ([-0.1], [0.9]), ([-0.7], [0.3])])
def test_identical_window_entries_follow_the_tie_rule(lo, hi):
    # u1 = u2 = 1 - x exactly: on x < 0 they tie for the maximum and the last one wins
    # (code 2), whatever the box's centre (the carried values' shifts must not decide it)
    W0 = np.array([[1.0], [-1.0], [-1.0]])
    net = pr.Network.from_arrays([W0, np.ones((1, 1))], [np.ones(3), np.zeros(1)],
                                 activation=[pr.MaxPool([[0, 1, 2]])])
    for method in ("lp", "scipy"):
        rs = pr.enumerate_regions(net, pr.Box(lo, hi), method=method)
        assert sorted(rs.codes.ravel().tolist()) == ([0, 2] if lo[0] < 0 < hi[0] else [0])
        assert np.array_equal(net.codes(rs.points), rs.codes)
