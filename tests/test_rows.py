"""Batched constraint rows (polyregion._rows) and the callers that use them, on networks
with max layers (max pooling over overlapping windows, maxout).

Oracles, all independent of the batched code: a plain numpy forward pass written here
(pre-activations, window maxima, outputs); the per-region reference rows of
``regions.cell_constraints`` (a loop per cell); the domain's volume and Monte-Carlo hit
fractions; rays and balls of sampled points around each point (the code must stay the
same inside the region's distance, and change just beyond its nearest facet); the
polygons' area and centroids; a dense grid of predictions for the decision boundary.
"""

import numpy as np
import pytest

import polyregion as pr
from polyregion._rows import cell_rows, walk
from polyregion.network import MaxPool
from polyregion.regions import cell_constraints

from oracles import cell_constraints_loop


# ---------------------------------------------------------------------------- nets
def _pool_net(d, seed, act="relu", K=1):
    """relu (or ``act``) layer of 6, then max over overlapping windows, then K outputs."""
    rng = np.random.default_rng(seed)
    n = 6
    return pr.Network.from_arrays(
        [rng.normal(size=(n, d)), np.eye(n), rng.normal(size=(K, 3))],
        [rng.normal(size=n) * 0.5, np.zeros(n), rng.normal(size=K) * 0.3],
        activation=[act, MaxPool([[0, 1, 2], [2, 3], [3, 4, 5]])])


def _maxout_net(d, seed, k=2, K=1):
    """maxout (6 units in groups of k), then a relu layer of 4, then K outputs."""
    rng = np.random.default_rng(seed)
    return pr.Network.from_arrays(
        [rng.normal(size=(6, d)), rng.normal(size=(4, 6 // k)), rng.normal(size=(K, 4))],
        [rng.normal(size=6) * 0.5, rng.normal(size=4) * 0.5, rng.normal(size=K) * 0.3],
        activation=[MaxPool.groups(6, k), "relu"])


def _hardtanh_pool_net(d, seed):
    """Two-breakpoint activation before a max layer, and a relu after it."""
    rng = np.random.default_rng(seed)
    return pr.Network.from_arrays(
        [2 * rng.normal(size=(5, d)), rng.normal(size=(4, 5)), rng.normal(size=(3, 2)),
         rng.normal(size=(1, 3))],
        [rng.normal(size=5) * 0.5, rng.normal(size=4) * 0.3, rng.normal(size=3) * 0.3,
         rng.normal(size=1) * 0.3],
        activation=["hardtanh", MaxPool([[0, 1], [1, 2, 3]]), "relu"])


NETS = [
    ("pool-relu", lambda d, s: _pool_net(d, s)),
    ("pool-abs", lambda d, s: _pool_net(d, s, act="abs")),
    ("maxout2", lambda d, s: _maxout_net(d, s, 2)),
    ("maxout3", lambda d, s: _maxout_net(d, s, 3)),
    ("hardtanh-pool", _hardtanh_pool_net),
]


def _plain_forward(net, X):
    """Pre-activations of every layer and the output, with numpy only."""
    z, pre = X, []
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        u = z @ W.T + b
        pre.append(u)
        if l == net.n_layers - 1:
            return pre, u
        act = net.activations[l]
        if isinstance(act, MaxPool):
            z = np.stack([u[:, list(w)].max(axis=1) for w in act.windows], axis=1)
        else:
            t, s, c = (np.asarray(a) for a in (act.breakpoints, act.slopes, act.intercepts))
            j = np.searchsorted(t, u, side="right")
            z = s[j] * u + c[j]


def _rows_as_set(A, b, labels):
    return {(tuple(lab), tuple(np.round(a, 9)), round(float(v), 9))
            for a, v, lab in zip(A, b, labels)}


# ---------------------------------------------------------------------------- the module
@pytest.mark.parametrize("name,make", NETS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_walk_and_rows_against_plain_forward_and_cell_constraints(name, make, d):
    net = make(d, 10 * d + len(name))
    rng = np.random.default_rng(d)
    X = rng.uniform(-1.5, 1.5, size=(40, d))
    codes = net.codes(X)
    pre, out = _plain_forward(net, X)
    maps = list(walk(net, codes, X))
    assert len(maps) == net.n_layers and maps[-1].act is None
    for lm, u in zip(maps, pre):
        assert np.allclose(lm.u, u, atol=1e-10)                       # u = G x + g at x
    rows = cell_rows(net, codes, pr.Box.cube(d, 1.5))
    assert np.allclose(np.einsum("nkd,nd->nk", rows.Mo, X) + rows.co, out, atol=1e-10)
    # every valid row holds at its point; the valid rows are cell_constraints' rows
    slack = np.where(rows.valid, rows.b - np.einsum("nrd,nd->nr", rows.A, X), np.inf)
    assert slack.min() >= -1e-9
    assert np.all(rows.A[~rows.valid] == 0) and np.all(np.isinf(rows.b[~rows.valid]))
    for i in range(len(X)):
        A, b, lab = cell_constraints_loop(net, codes[i], pr.Box.cube(d, 1.5))
        ok = rows.valid[i]
        assert _rows_as_set(rows.A[i][ok], rows.b[i][ok], rows.labels[ok]) == \
            _rows_as_set(A, b, lab)
        # regions.cell_constraints is the same builder for one cell, in the loop's order
        A2, b2, lab2 = cell_constraints(net, codes[i], pr.Box.cube(d, 1.5))
        assert np.array_equal(lab2, lab)
        assert np.allclose(A2, A, atol=1e-12) and np.allclose(b2, b, atol=1e-12)


def test_max_layer_rows_are_winner_comparisons():
    # one max window over (x, -x, 0.5): winner x for x > 0.5
    net = pr.Network.from_arrays([np.array([[1.0], [-1.0], [0.0]]), np.ones((1, 1))],
                                 [np.array([0.0, 0.0, 0.5]), [0.0]],
                                 activation=[MaxPool([[0, 1, 2]])])
    r = cell_rows(net, net.codes([[0.9]]))
    ok = r.valid[0]
    # -x <= x  ->  -2x <= 0  -> unit: -x <= 0;   0.5 <= x  -> -x <= -0.5
    got = sorted((tuple(l), float(a[0]), float(v)) for a, v, l in
                 zip(r.A[0][ok], r.b[0][ok], r.labels[ok]))
    assert got == [((0, 0, 1), -1.0, 0.0), ((0, 0, 2), -1.0, -0.5)]


# ---------------------------------------------------------------------------- volumes
@pytest.mark.parametrize("name,make", NETS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_volumes_sum_to_domain_and_match_hit_fractions(name, make, d):
    net = make(d, 7 * d + len(name))
    dom = pr.Box.cube(d, 1.5)
    rs = pr.enumerate_regions(net, dom)
    vol = rs.volumes()
    assert np.all(vol > 0)
    assert vol.sum() == pytest.approx(3.0 ** d, rel=1e-9)
    n = 20_000
    X = np.random.default_rng(d).uniform(-1.5, 1.5, size=(n, d))
    idx = {tuple(c): i for i, c in enumerate(rs.codes)}
    hits = np.bincount([idx[tuple(c)] for c in net.codes(X)], minlength=len(rs))
    p = vol / 3.0 ** d
    assert np.all(np.abs(hits / n - p) <= 5 * np.sqrt(p * (1 - p) / n) + 2e-3)


# ---------------------------------------------------------------------------- region distance
@pytest.mark.parametrize("name,make", NETS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_region_distance_against_cell_constraints_and_balls(name, make, d):
    net = make(d, 3 * d + len(name))
    rng = np.random.default_rng(d + 1)
    X = rng.uniform(-1.5, 1.5, size=(30, d))
    r = pr.distance_to_region_boundary(net, X, details=True)
    codes = net.codes(X)
    for i, x in enumerate(X):
        A, b, lab = cell_constraints(net, codes[i])       # the cell in all of R^d
        s = b - A @ x
        k = int(np.argmin(s))
        assert r.distance[i] == pytest.approx(s[k], abs=1e-10)
        assert tuple(r.facet[i]) in {tuple(l) for l, v in zip(lab, s) if v <= s[k] + 1e-10}
        rad = r.distance[i]
        # a ball just inside keeps the code ...
        U = rng.normal(size=(200, d))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        inside = x + (1 - 1e-6) * rad * U * rng.uniform(0, 1, size=(200, 1)) ** (1 / d)
        assert np.all(net.codes(inside) == codes[i])
        # ... and just beyond the nearest facet the code changes
        assert np.any(net.codes(x + (rad + 1e-6) * A[k]) != codes[i])


def test_region_distance_of_a_maxout_unit_in_closed_form():
    # max(x, y, -x - y + 1): cells meet where two of them are equal
    net = pr.Network.from_arrays([np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]),
                                  np.ones((1, 1))], [np.array([0.0, 0.0, 1.0]), [0.0]],
                                 activation=[MaxPool([[0, 1, 2]])])
    x = np.array([[2.0, 0.5]])                      # winner x; nearest: x = y
    r = pr.distance_to_region_boundary(net, x, details=True)
    assert r.distance[0] == pytest.approx(1.5 / np.sqrt(2), abs=1e-12)
    assert r.facet.tolist() == [[0, 0, 1]]           # window 0, position 1 (y) ties with x


# ---------------------------------------------------------------------------- plot
@pytest.mark.parametrize("name,make", NETS)
def test_polygons_of_a_2d_max_net(name, make):
    net = make(2, 5 + len(name))
    dom = pr.Box([-1.5, -1.0], [1.5, 2.0])
    rs = pr.enumerate_regions(net, dom)
    polys = pr.plot.polygons(rs)
    assert all(p is not None for p in polys)
    area = np.array([p.area for p in polys])
    assert np.all(area > 0) and area.sum() == pytest.approx(9.0, rel=1e-9)
    assert np.allclose(area, rs.volumes(), rtol=1e-7, atol=1e-12)
    cent = np.array([p.vertices.mean(axis=0) for p in polys])
    assert np.array_equal(net.codes(cent), rs.codes)
    # every edge drawn by a neuron lies on the hyperplane its label names
    for p in polys:
        mid = p.edges().mean(axis=1)
        pre, _ = _plain_forward(net, mid)
        for m, (l, unit, k) in enumerate(p.labels):
            if l < 0:
                continue
            act, u = net.activations[l], pre[l][m]
            if isinstance(act, MaxPool):
                win = list(act.windows[unit])
                assert u[win[k]] == pytest.approx(u[win].max(), abs=1e-9)
            else:
                assert u[unit] == pytest.approx(act.breakpoints[k], abs=1e-9)


def test_partition_draws_a_max_net():
    import matplotlib

    matplotlib.use("Agg")
    net = _pool_net(2, 3, K=3)
    rs = pr.enumerate_regions(net, pr.Box.cube(2, 1.5))
    ax = pr.plot.partition(rs, color_by="layer", decision_boundary=True)
    regions = [c for c in ax.collections if c.get_gid() == "polyregion-regions"][0]
    assert len(regions.get_paths()) == len(rs)
    segs = [c for c in ax.collections if c.get_gid() == "polyregion-decision-boundary"][0]
    mid = np.array(segs.get_segments()).mean(axis=1)
    assert len(mid)
    F = net.forward(mid)
    top2 = np.sort(F, axis=1)[:, -2:]
    assert np.allclose(top2[:, 0], top2[:, 1], atol=1e-9)   # a tie of the top two classes


# ---------------------------------------------------------------------------- decision boundary
@pytest.mark.parametrize("name,make,K", [("pool", lambda s, K: _pool_net(2, s, K=K), 1),
                                         ("pool", lambda s, K: _pool_net(2, s, K=K), 3),
                                         ("maxout", lambda s, K: _maxout_net(2, s, 3, K=K), 1)])
def test_decision_distance_of_a_2d_max_net_against_a_grid(name, make, K):
    net = make(11, K)
    dom = pr.Box.cube(2, 1.5)
    h = 3.0 / 600
    g = np.linspace(-1.5, 1.5, 601)
    G = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    shift = np.median(net.forward(G), axis=0)       # make every class occur in the box
    net = pr.Network(net.weights, net.biases[:-1] + [net.biases[-1] - shift],
                     list(net.activations))
    F = net.forward(G)
    pred = (F[:, 0] > 0).astype(int) if K == 1 else np.argmax(F, axis=1)
    assert len(np.unique(pred)) > 1
    X = np.random.default_rng(K).uniform(-1.4, 1.4, size=(8, 2))
    r = pr.distance_to_decision_boundary(net, X, dom, details=True)
    for i, x in enumerate(X):
        other = G[pred != r.predicted[i]]
        grid = np.linalg.norm(other - x, axis=1).min()
        assert r.distance[i] <= grid + 1e-9            # any other prediction bounds it
        assert r.distance[i] >= grid - 2 * h           # the grid resolves the boundary
        p = r.point[i]
        assert np.linalg.norm(p - x) == pytest.approx(r.distance[i], abs=1e-9)
        f = net.forward(p[None])[0]
        if K == 1:
            assert abs(f[0]) <= 1e-8
        else:
            assert f[r.other[i]] >= f[r.predicted[i]] - 1e-8


def test_slice_of_a_max_net_polygons_and_distances():
    net = _pool_net(4, 2)
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 2)))
    sl = pr.Slice(np.zeros(4), Q.T, pr.Box.cube(2, 1.5))
    rs = pr.enumerate_regions(net, sl)
    polys = pr.plot.polygons(rs)
    assert sum(p.area for p in polys) == pytest.approx(9.0, rel=1e-9)
    T = np.array([p.vertices.mean(axis=0) for p in polys])
    assert np.array_equal(net.codes(sl.to_input(T)), rs.codes)
    # t-space distances: the slice's cell of each centroid, from cell_constraints
    r = pr.distance_to_region_boundary(rs, T)
    for i, t in enumerate(T):
        A, b, _ = cell_constraints(rs.enum_net, rs.codes[i])
        assert r[i] == pytest.approx(np.min(b - A @ t), abs=1e-10)
        # the input-space point at that distance along the slice keeps its code inside
        U = np.random.default_rng(i).normal(size=(50, 2))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        assert np.all(net.codes(sl.to_input(t + (1 - 1e-6) * r[i] * U)) == rs.codes[i])
