"""Distances to region boundaries and to the decision boundary, against independent oracles.

Oracles: closed forms (one hidden layer, a linear net), exact roots / breakpoints of 1-D
nets found by a dense scan plus bisection, rays from the point (the first exit from the
point's own convex cell by bisection on "same code"; the first change of prediction by
stepping plus bisection), grids (any grid point with another prediction bounds the
distance from above), and cvxpy projections over every region without pruning.
"""

import numpy as np
import pytest

import polyregion as pr
from polyregion.distances import _ldp
from polyregion.errors import BudgetExceededError, InvalidInputError
from polyregion.regions import cell_constraints


def _net(widths, d, seed, out=1, activation="relu", bias=0.3):
    rng = np.random.default_rng(seed)
    Ws, bs, n = [], [], d
    for w in list(widths) + [out]:
        Ws.append(rng.normal(size=(w, n)) / np.sqrt(n))
        bs.append(rng.normal(size=w) * bias)
        n = w
    return pr.Network.from_arrays(Ws, bs, activation=activation)


def _centred(net, dom, n=4000, seed=0):
    """The same net with output biases shifted so that every class occurs in ``dom``
    (the median of each output over random points of ``dom`` is removed)."""
    rng = np.random.default_rng(seed)
    lo, hi = dom.bounds()
    T = rng.uniform(lo, hi, size=(n, len(lo)))
    T = T[dom.contains(T)]
    if hasattr(dom, "to_input"):
        T = dom.to_input(T)
    F = net.forward(T)
    bs = [b.copy() for b in net.biases]
    bs[-1] = bs[-1] - np.median(F, axis=0)
    return pr.Network(net.weights, bs, list(net.activations))


def _pred(net, X):
    F = net.forward(np.atleast_2d(X))
    return (F[:, 0] > 0).astype(int) if F.shape[1] == 1 else np.argmax(F, axis=1)


# ---------------------------------------------------------------------------- oracles
def _first_along_rays(keep, x0, dirs, tmax, step):
    """Distance along each unit direction to the first point where ``keep`` (a
    vectorised predicate on points, True at x0) fails, found by stepping and then
    bisection between the last kept and the first failing step (inf if none)."""
    ts = np.arange(step, tmax + step, step)
    P = x0 + ts[None, :, None] * dirs[:, None, :]
    same = keep(P.reshape(-1, len(x0))).reshape(len(dirs), len(ts))
    hit = ~same.all(axis=1)
    j = np.argmin(same, axis=1)
    lo = np.where(j > 0, ts[np.maximum(j - 1, 0)], 0.0)
    hi = ts[j].astype(float)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        k = keep(x0 + mid[:, None] * dirs)
        lo, hi = np.where(k, mid, lo), np.where(k, hi, mid)
    return np.where(hit, hi, np.inf)


def _ray_exit(net, x0, dirs, tmax, step):
    """First exit from the cell of x0 along each ray (the cell is convex, so "same code"
    is monotone along a ray and the bisection finds the exit exactly)."""
    code = net.codes(x0[None])[0]
    return _first_along_rays(lambda P: np.all(net.codes(P) == code, axis=1), x0, dirs,
                             tmax, step)


def _ray_flip(net, x0, dirs, tmax, step):
    """First change of prediction found along each ray by stepping (then bisection): an
    upper bound on the distance to the decision boundary."""
    c = _pred(net, x0)[0]
    return _first_along_rays(lambda P: _pred(net, P) == c, x0, dirs, tmax, step)


def _circle(n):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([np.cos(a), np.sin(a)])


def _roots_1d(g, lo, hi, n=200_001):
    """Sign changes of a scalar function on [lo, hi] (dense scan + bisection)."""
    x = np.linspace(lo, hi, n)
    v = g(x)
    idx = np.flatnonzero((v[:-1] > 0) != (v[1:] > 0))
    roots = []
    for i in idx:
        a, b = x[i], x[i + 1]
        sa = g(np.array([a]))[0] > 0
        for _ in range(80):
            m = 0.5 * (a + b)
            if (g(np.array([m]))[0] > 0) == sa:
                a = m
            else:
                b = m
        roots.append(0.5 * (a + b))
    return np.array(roots)


# ---------------------------------------------------------------------------- region boundary
@pytest.mark.parametrize("activation", ["relu", "hardtanh", "leaky_relu:0.1"])
def test_region_one_layer_closed_form(activation):
    net = _net([7], 3, seed=1, activation=activation)
    X = np.random.default_rng(2).normal(size=(200, 3))
    W, b = net.weights[0], net.biases[0]
    t = np.asarray(net.activations[0].breakpoints)
    u = X @ W.T + b
    want = (np.abs(u[:, :, None] - t) / np.linalg.norm(W, axis=1)[None, :, None]).min(axis=(1, 2))
    got = pr.distance_to_region_boundary(net, X)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_region_1d_breakpoints():
    net = _net([6, 6, 5], 1, seed=3, activation="leaky_relu:0.05")
    xs = np.linspace(-3, 3, 400_001)
    C = net.codes(xs[:, None])
    change = np.flatnonzero(np.any(C[1:] != C[:-1], axis=1))
    bps = []
    for i in change:  # bisection on "code equals the left code"
        a, b = xs[i], xs[i + 1]
        ca = C[i]
        for _ in range(60):
            m = 0.5 * (a + b)
            if np.all(net.codes(np.array([[m]]))[0] == ca):
                a = m
            else:
                b = m
        bps.append(0.5 * (a + b))
    bps = np.array(bps)
    assert len(bps) >= 5
    X = np.random.default_rng(4).uniform(-2.5, 2.5, size=(300, 1))
    want = np.abs(X[:, 0, None] - bps[None, :]).min(axis=1)
    got = pr.distance_to_region_boundary(net, X)
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_region_2d_rays_and_constraints():
    net = _net([8, 8, 8], 2, seed=5)
    X = np.random.default_rng(6).uniform(-1, 1, size=(12, 2))
    res = pr.distance_to_region_boundary(net, X, details=True)
    dirs = _circle(720)
    enum_net = net.for_domain(pr.Space(2))
    for i, x in enumerate(X):
        # independent: min slack of the cell's constraint rows (neuron rows) ...
        A, b, lab = cell_constraints(enum_net, net.codes(x[None])[0], None)
        slack = b - A @ x
        assert res.distance[i] == pytest.approx(slack.min(), abs=1e-12)
        # ... and the first exits along 720 rays: min over rays >= d >= min * cos(pi/720)
        ray = _ray_exit(net, x, dirs, tmax=4.0, step=0.05).min()
        d = res.distance[i]
        assert d <= ray + 1e-9
        assert ray * np.cos(np.pi / 720) <= d + 1e-9
        # the nearest facet's label is a neuron row with that slack
        k = [j for j in range(len(lab)) if tuple(lab[j]) == tuple(res.facet[i])]
        assert k and slack[k[0]] == pytest.approx(d, abs=1e-12)


def test_region_regionset_slice_and_domain_distance():
    net = _net([6, 6], 4, seed=7)
    rng = np.random.default_rng(8)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 2)))
    dom = pr.Slice(rng.normal(size=4) * 0.1, Q.T, pr.Box.cube(2, 1.5))
    rs = pr.enumerate_regions(net, dom)
    T = rng.uniform(-1.4, 1.4, size=(10, 2))
    a = pr.distance_to_region_boundary(rs, T, details=True)
    b = pr.distance_to_region_boundary(net, T, dom)
    np.testing.assert_array_equal(a.distance, b)
    np.testing.assert_allclose(a.domain_distance, (1.5 - np.abs(T)).min(axis=1), atol=1e-12)
    # rays in t (orthonormal directions: t-distances are input distances)
    restricted = net.for_domain(dom)
    for i, t in enumerate(T[:4]):
        ray = _ray_exit(restricted, t, _circle(360), tmax=5.0, step=0.05).min()
        assert a.distance[i] <= ray + 1e-9 and ray * np.cos(np.pi / 360) <= a.distance[i] + 1e-9
    assert np.all(a.boundary_distance == np.minimum(a.distance, a.domain_distance))


def test_region_edge_cases():
    lin = pr.Network.from_arrays([np.array([[1.0, 2.0]])], [np.array([0.5])])
    assert np.all(np.isinf(pr.distance_to_region_boundary(lin, [[0.0, 0.0], [1.0, 1.0]])))
    net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    assert pr.distance_to_region_boundary(net, [[0.0, 0.7]])[0] == 0.0  # on a hyperplane
    with pytest.raises(InvalidInputError, match=r"`X` must have shape \(n, 2\)"):
        pr.distance_to_region_boundary(net, np.zeros((3, 3)))
    with pytest.raises(InvalidInputError, match="must be finite"):
        pr.distance_to_region_boundary(net, [[np.nan, 0.0]])
    with pytest.raises(InvalidInputError, match="must be a polyregion.Network or RegionSet"):
        pr.distance_to_region_boundary("net", [[0.0, 0.0]])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    with pytest.raises(InvalidInputError, match="`domain` must be None"):
        pr.distance_to_region_boundary(rs, [[0.0, 0.0]], pr.Box.cube(2))


# ---------------------------------------------------------------------------- projections
def test_ldp_against_cvxpy():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(9)
    n_inf = 0
    for trial in range(40):
        d = int(rng.integers(2, 5))
        m = int(rng.integers(d + 1, 12))
        A = rng.normal(size=(m, d))
        A /= np.linalg.norm(A, axis=1)[:, None]
        b = rng.normal(size=m) * (0.2 if trial % 4 else -1.0)
        x0 = rng.normal(size=d) * 2
        dist, x, ok = _ldp(A, b, x0, 1e-9)
        y = cp.Variable(d)
        prob = cp.Problem(cp.Minimize(cp.sum_squares(y - x0)), [A @ y <= b])
        prob.solve(solver=cp.CLARABEL)
        if prob.status == "infeasible":
            n_inf += 1
            assert dist == np.inf
            continue
        assert ok
        assert dist == pytest.approx(np.linalg.norm(y.value - x0), abs=1e-6)
        assert np.all(A @ x <= b + 1e-9)
    assert 0 < n_inf < 40


# ---------------------------------------------------------------------------- decision boundary
def test_decision_linear_nets():
    rng = np.random.default_rng(10)
    w, b = rng.normal(size=3), 0.3
    lin = pr.Network.from_arrays([w[None, :]], [np.array([b])])
    X = rng.uniform(-1, 1, size=(30, 3))
    dom = pr.Box.cube(3, 10.0)  # the foot of every perpendicular lies inside
    np.testing.assert_allclose(pr.distance_to_decision_boundary(lin, X, dom),
                               np.abs(X @ w + b) / np.linalg.norm(w), rtol=1e-12, atol=1e-14)
    # a ReLU net whose neurons are all on in the domain is affine there: f = v.(W x + c) + e
    W, c, v = rng.normal(size=(5, 3)), np.full(5, 100.0), rng.normal(size=5)
    net = pr.Network.from_arrays([W, v[None, :]], [c, np.array([-v @ c])])
    weff = v @ W
    got = pr.distance_to_decision_boundary(net, X, dom)
    np.testing.assert_allclose(got, np.abs(X @ weff) / np.linalg.norm(weff), rtol=1e-12)


def test_decision_1d_roots():
    dom = pr.Box([-3.0], [3.0])
    X = np.random.default_rng(11).uniform(-2.9, 2.9, size=(60, 1))
    for seed in (12, 13):
        net = _net([8, 8], 1, seed=seed, bias=0.8)
        roots = _roots_1d(lambda x: net.forward(x[:, None])[:, 0], -3, 3)
        assert len(roots) >= 1
        want = np.abs(X[:, 0, None] - roots[None, :]).min(axis=1)
        for method in ("global", "local"):
            got = pr.distance_to_decision_boundary(net, X, dom, method=method)
            if method == "local":  # points with no other prediction in X would be NaN
                assert not np.any(np.isnan(got))
            np.testing.assert_allclose(got, want, atol=1e-12)
    # three classes: the prediction changes where argmax changes
    net = _net([8, 8], 1, seed=15, out=3, bias=0.8)
    cls = lambda x: np.argmax(net.forward(x[:, None]), axis=1)  # noqa: E731
    xs = np.linspace(-3, 3, 200_001)
    cs = cls(xs)
    ch = np.flatnonzero(cs[1:] != cs[:-1])
    roots = []
    for i in ch:
        a, b = xs[i], xs[i + 1]
        for _ in range(80):
            m = 0.5 * (a + b)
            if cls(np.array([m]))[0] == cs[i]:
                a = m
            else:
                b = m
        roots.append(0.5 * (a + b))
    assert len(roots) >= 1
    want = np.abs(X[:, 0, None] - np.array(roots)[None, :]).min(axis=1)
    got = pr.distance_to_decision_boundary(net, X, dom, details=True)
    np.testing.assert_allclose(got.distance, want, atol=1e-12)


def _check_2d(net, dom, X, res, n_rays=360, step=1e-2, grid=301):
    """res.distance is attained by a boundary point and is <= every oracle upper bound."""
    lo, hi = dom.bounds()
    g = np.linspace(lo[0], hi[0], grid)
    G = np.stack(np.meshgrid(g, np.linspace(lo[1], hi[1], grid)), -1).reshape(-1, 2)
    gp = _pred(net, G)
    F = net.forward(res.point)
    for i, x in enumerate(X):
        d, y = res.distance[i], res.point[i]
        c = res.predicted[i]
        assert np.linalg.norm(y - x) == pytest.approx(d, abs=1e-12)
        assert np.all(dom.contains(y[None], tol=1e-9))
        if F.shape[1] == 1:
            assert abs(F[i, 0]) <= 1e-9 * max(1.0, np.abs(F).max())
        else:
            assert F[i, c] == pytest.approx(F[i, res.other[i]], abs=1e-9)
            assert F[i, c] >= F[i].max() - 1e-9
        grid_ub = np.linalg.norm(G[gp != c] - x, axis=1).min()
        dirs = _circle(n_rays)
        tmax = np.max(np.abs(hi - lo)) * 1.5
        ts = _ray_flip(net, x, dirs, tmax, step)
        fin = np.isfinite(ts)
        inside = fin & dom.contains(x + np.where(fin, ts, 0.0)[:, None] * dirs, tol=1e-12)
        ray_ub = ts[inside].min()
        assert d <= grid_ub + 1e-9
        assert d <= ray_ub + 1e-9
        assert d >= 0.98 * ray_ub - 1e-9  # oracle quality, not exactness


def test_decision_2d_one_output_rays_and_grid():
    dom = pr.Box.cube(2, 2.0)
    net = _centred(_net([8, 8], 2, seed=15), dom)
    X = np.random.default_rng(16).uniform(-1.8, 1.8, size=(10, 2))
    res = pr.distance_to_decision_boundary(net, X, dom, details=True)
    assert res.method == "global" and res.n_fallback == 0
    assert np.all(np.isfinite(res.distance))
    _check_2d(net, dom, X, res)
    loc = pr.distance_to_decision_boundary(net, X, dom, method="local", details=True)
    np.testing.assert_allclose(loc.distance, res.distance, atol=1e-10)
    assert np.all(loc.n_regions <= res.n_regions)


def test_decision_2d_multiclass_rays_and_grid():
    dom = pr.Box.cube(2, 2.0)
    net = _centred(_net([10, 10], 2, seed=17, out=3), dom)
    X = np.random.default_rng(18).uniform(-1.8, 1.8, size=(8, 2))
    res = pr.distance_to_decision_boundary(net, X, dom, details=True)
    assert len(set(res.predicted.tolist())) >= 2
    _check_2d(net, dom, X, res)


def test_decision_against_cvxpy_every_region():
    cp = pytest.importorskip("cvxpy")
    dom = pr.Box.cube(2, 1.5)
    net = _centred(_net([6, 6], 2, seed=19), dom)
    rs = pr.enumerate_regions(net, dom)
    X = np.random.default_rng(20).uniform(-1.4, 1.4, size=(3, 2))
    got = rs.distance_to_decision_boundary(X)
    for x, d in zip(X, got):
        s = 1.0 if net.forward(x[None])[0, 0] > 0 else -1.0
        best = np.inf
        for i in range(len(rs)):  # no pruning: every region
            A, b, _ = rs.constraints(i)
            M, c = rs.affine_map(i)
            y = cp.Variable(2)
            prob = cp.Problem(cp.Minimize(cp.sum_squares(y - x)),
                              [A @ y <= b, s * (M[0] @ y + c[0]) <= 0])
            prob.solve(solver=cp.CLARABEL)
            if prob.status == "optimal":
                best = min(best, float(np.linalg.norm(y.value - x)))
        assert d == pytest.approx(best, abs=1e-6)


def test_decision_slice_and_polytope():
    rng = np.random.default_rng(22)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 2)))
    dom = pr.Slice(np.zeros(3), Q.T, pr.Polytope([[-1, 0], [0, -1], [1, 1]], [1.5, 1.5, 1.5]))
    net = _centred(_net([6, 6], 3, seed=21), dom)
    T = np.array([[0.0, 0.0], [-1.0, 0.5], [0.5, -1.2], [0.2, 0.2]])
    g = pr.distance_to_decision_boundary(net, T, dom, details=True)
    lo = pr.distance_to_decision_boundary(net, T, dom, method="local")
    np.testing.assert_allclose(lo[np.isfinite(lo)], g.distance[np.isfinite(lo)], atol=1e-10)
    restricted = net.for_domain(dom)
    for i, t in enumerate(T):
        if not np.isfinite(g.distance[i]):
            continue
        y = g.point[i]
        assert abs(restricted.forward(y[None])[0, 0]) <= 1e-9
        ts = _ray_flip(restricted, t, _circle(360), 6.0, 4e-3)
        fin = np.isfinite(ts)
        ok = fin & dom.contains(t + np.where(fin, ts, 0.0)[:, None] * _circle(360), tol=1e-12)
        assert g.distance[i] <= ts[ok].min() + 1e-9


def test_decision_budget_local_fallback_and_nan():
    dom = pr.Box.cube(2, 2.0)
    net = _centred(_net([8, 8], 2, seed=23), dom)
    X = np.random.default_rng(24).uniform(-1.8, 1.8, size=(6, 2))
    full = pr.distance_to_decision_boundary(net, X, dom)
    rs = pr.enumerate_regions(net, dom)
    budget = len(rs) - 1  # the whole box is over budget, the local boxes are not
    res = pr.distance_to_decision_boundary(net, X, dom, max_regions=budget, details=True)
    assert res.method == "local" and np.all(res.n_regions <= budget)
    np.testing.assert_allclose(res.distance, full, atol=1e-10)
    with pytest.raises(BudgetExceededError):
        pr.distance_to_decision_boundary(net, X, dom, method="global", max_regions=budget)
    np.testing.assert_allclose(rs.distance_to_decision_boundary(X), full, atol=1e-12)
    # one class only among X: local mode has no boundary point to start from -> NaN
    same = X[_pred(net, X) == _pred(net, X[:1])[0]]
    assert np.all(np.isnan(pr.distance_to_decision_boundary(net, same, dom, method="local")))
    # Space: local only
    d = pr.distance_to_decision_boundary(net, X, pr.Space(2), method="auto")
    assert np.all(d <= full + 1e-10)  # boundary outside the box may be nearer


def test_decision_on_boundary_and_constant_prediction():
    net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, 1.0]])],
                                 [np.zeros(2), np.array([-1.0])])
    dom = pr.Box.cube(2, 3.0)
    assert pr.distance_to_decision_boundary(net, [[0.25, 0.75]], dom)[0] == 0.0
    pos = pr.Network.from_arrays([np.eye(2), np.array([[1.0, 1.0]])],
                                 [np.zeros(2), np.array([1.0])])  # f >= 1 everywhere
    assert np.isinf(pr.distance_to_decision_boundary(pos, [[0.0, 0.0]], dom)[0])


def test_decision_errors():
    net = _net([4], 2, seed=25)
    dom = pr.Box.cube(2)
    with pytest.raises(InvalidInputError, match="`domain` is required"):
        pr.distance_to_decision_boundary(net, [[0.0, 0.0]])
    with pytest.raises(InvalidInputError, match="must lie inside `domain`"):
        pr.distance_to_decision_boundary(net, [[0.0, 5.0]], dom)
    with pytest.raises(InvalidInputError, match="`method` must be"):
        pr.distance_to_decision_boundary(net, [[0.0, 0.0]], dom, method="fast")
    with pytest.raises(InvalidInputError, match="needs a bounded domain"):
        pr.distance_to_decision_boundary(net, [[0.0, 0.0]], pr.Space(2), method="global")
    with pytest.raises(InvalidInputError, match="`max_regions` must be a positive int"):
        pr.distance_to_decision_boundary(net, [[0.0, 0.0]], dom, max_regions=0)
