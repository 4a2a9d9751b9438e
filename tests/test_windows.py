"""polyregion.windows: windows, local complexity, regions along a path.

Oracles (independent of the code under test):
- Zaslavsky's count ``1 + n + C(n, 2)`` for n lines in general position that all meet,
  and all cross inside, the window (lines tangent to a small circle around its centre);
- the HiGHS brute-force subdivision of tests/oracles.py on small 2-D nets;
- codes seen on a dense grid of the window (a lower bound);
- for paths: net.codes on 20,000 evenly spaced points of the segment (every sampled code
  change must fall in a piece boundary), the closed-form crossing parameters of a single
  hidden layer, and the 1-D slice enumeration of the LP engine (another algorithm).
"""

from __future__ import annotations

import numpy as np
import pytest

import polyregion as pr
from oracles import brute_force_net, he_net, sampled_codes, zaslavsky


def _tangent_lines_net(center, rho, n, rng):
    """One ReLU layer of n lines tangent to the circle (center, rho), normals at distinct
    angles in [0, pi/2): no two parallel, no three concurrent, every crossing within
    rho * sqrt(2) of the centre."""
    theta = np.sort(rng.uniform(0.0, np.pi / 2, size=n))
    assert np.min(np.diff(theta)) > 1e-3
    W = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    b = -(W @ center + rho)
    return pr.Network.from_arrays([W, np.ones((1, n))], [b, np.zeros(1)])


def _grid(lo, hi, k):
    g = [np.linspace(a, b, k + 2)[1:-1] for a, b in zip(lo, hi)]
    return np.stack([m.ravel() for m in np.meshgrid(*g)], axis=1)


# ---------------------------------------------------------------------------- window
def test_window_box_clipped_and_l1():
    w = pr.window([0.5, 0.95, 0.02], 0.1, within=(0, 1))
    np.testing.assert_allclose(w.lo, [0.4, 0.85, 0.0])
    np.testing.assert_allclose(w.hi, [0.6, 1.0, 0.12])
    w2 = pr.window([0.5, 0.95, 0.02], 0.1, within=pr.Box([0, 0, 0], [1, 1, 1]))
    np.testing.assert_array_equal(w.lo, w2.lo)
    ball = pr.window([0.0, 0.0, 0.0], 1.0, norm=1)
    assert isinstance(ball, pr.Polytope) and ball.A.shape == (8, 3)
    rng = np.random.default_rng(0)
    P = rng.uniform(-1, 1, size=(2000, 3))
    inside = np.abs(P).sum(axis=1) <= 1.0
    np.testing.assert_array_equal(ball.contains(P, tol=0.0), inside)
    clipped = pr.window([0.9, 0.5], 0.3, norm=1, within=(0, 1))
    P = rng.uniform(0.5, 1.3, size=(2000, 2))
    want = (np.abs(P - [0.9, 0.5]).sum(axis=1) <= 0.3) & np.all((P >= 0) & (P <= 1), axis=1)
    np.testing.assert_array_equal(clipped.contains(P), want)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(x=[np.nan, 0.0], r=1.0), pr.InvalidInputError, "`x` must be finite"),
    (dict(x=[[0.0, 0.0]], r=1.0), pr.InvalidInputError, "`x` must be a 1-D point"),
    (dict(x=["a", "b"], r=1.0), pr.InvalidInputError, "`x` must be a real numeric"),
    (dict(x=[0.0], r=0.0), pr.InvalidInputError, r"`r` must be a finite number > 0; got 0.0"),
    (dict(x=[0.0], r=np.inf), pr.InvalidInputError, "`r` must be a finite number > 0"),
    (dict(x=[0.0], r="1"), pr.InvalidInputError, "`r` must be a finite number > 0"),
    (dict(x=[0.0], r=1.0, norm=2), pr.InvalidInputError, r"`norm` must be 'inf' .* or 1; got 2"),
    (dict(x=[0.0], r=1.0, norm=True), pr.InvalidInputError, "`norm` must be"),
    (dict(x=np.zeros(17), r=1.0, norm=1), pr.InvalidInputError,
     r"`norm`=1 needs d <= 16: the l1 ball of R\^d has 2\^d facets .*got d=17"),
    (dict(x=[0.0, 0.0], r=1.0, within=pr.Box.cube(3)), pr.InvalidDomainError,
     "`within` must have dimension 2"),
    (dict(x=[0.0, 0.0], r=1.0, within=(1, 0)), pr.InvalidDomainError,
     "`within`: The `hi` bound of Box must be greater"),
    (dict(x=[0.0, 0.0], r=1.0, within=3.0), pr.InvalidDomainError,
     r"`within` must be a Box or a \(lo, hi\) pair"),
    (dict(x=[0.0, 0.0], r=1.0, within=pr.Space(2)), pr.InvalidDomainError,
     "`within` must be a Box or a"),
    (dict(x=[2.0, 0.5], r=0.5, within=(0, 1)), pr.InvalidDomainError,
     r"does not meet the interior of `within`: in coordinate 0, \[x - r, x \+ r\] = "
     r"\[1.5, 2.5\] and `within` = \[0, 1\]"),
    (dict(x=[1.5, 1.5], r=0.8, norm=1, within=(0, 1)), pr.InvalidDomainError,
     "does not meet the interior of `within`: the l1 distance from `x` to `within` is 1 >= r"),
])
def test_window_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        pr.window(**kwargs)


# ---------------------------------------------------------------------------- local_complexity
def test_local_complexity_zaslavsky_tangent_lines():
    rng = np.random.default_rng(1)
    center, rho, n = np.array([0.3, -0.2]), 0.1, 9
    net = _tangent_lines_net(center, rho, n, rng)
    X = np.tile(center, (4, 1))
    r = np.array([1.5, 2.0, 5.0, 40.0]) * rho   # every crossing is within rho*sqrt(2) < r
    lc = pr.local_complexity(net, X, r)
    assert lc.counts.dtype == np.int64 and lc.counts.shape == (4,)
    assert np.all(lc.counts == zaslavsky(n, 2)) and np.all(lc.complete)
    assert zaslavsky(n, 2) == 1 + n + n * (n - 1) // 2
    # a window inside the circle's disc meets no line: one region
    assert pr.local_complexity(net, center, 0.5 * rho).counts.tolist() == [1]


def test_local_complexity_against_brute_force_and_grid():
    rng = np.random.default_rng(2)
    net = pr.Network.from_arrays(
        [rng.normal(size=(6, 2)), rng.normal(size=(5, 6)) / 2, rng.normal(size=(1, 5))],
        [rng.normal(size=6) * 0.5, rng.normal(size=5) * 0.3, np.zeros(1)],
        activation="leaky_relu:0.1")
    X = rng.uniform(-1, 1, size=(4, 2))
    r = np.array([0.3, 0.6, 1.0, 1.5])
    lc = pr.local_complexity(net, X, r)
    for i in range(4):
        box = pr.Box(X[i] - r[i], X[i] + r[i])
        exact = len(brute_force_net(net, box))
        assert lc.counts[i] == exact
        assert lc.counts[i] == len(pr.enumerate_regions(net, box))
        seen = sampled_codes(net, _grid(box.lo, box.hi, 300))
        assert len(seen) <= lc.counts[i]
    # clipped to the valid range: the same as enumerating the clipped box
    lcc = pr.local_complexity(net, X, r, within=(-1.0, 1.0))
    for i in range(4):
        lo, hi = np.maximum(X[i] - r[i], -1.0), np.minimum(X[i] + r[i], 1.0)
        assert lcc.counts[i] == len(brute_force_net(net, pr.Box(lo, hi)))
        assert lcc.counts[i] <= lc.counts[i]


def test_local_complexity_l1_ball():
    rng = np.random.default_rng(3)
    net = he_net([8, 6], 3, seed=3, bias_std=0.3)
    X = rng.uniform(-0.5, 0.5, size=(2, 3))
    inf = pr.local_complexity(net, X, 0.8)
    l1 = pr.local_complexity(net, X, 0.8, norm=1)
    assert l1.norm == "l1" and inf.norm == "inf"
    signs = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], float)
    for i in range(2):
        ball = pr.Polytope(signs, 0.8 + signs @ X[i])
        assert l1.counts[i] == len(brute_force_net(net, ball))
        assert l1.counts[i] <= inf.counts[i]   # the l1 ball lies in the l-inf window
        P = X[i] + rng.uniform(-0.8, 0.8, size=(20000, 3))
        P = P[np.abs(P - X[i]).sum(axis=1) < 0.8]
        assert len(sampled_codes(net, P)) <= l1.counts[i]


def test_local_complexity_budget_flags_partial_counts():
    net = he_net([16, 16], 2, seed=4, bias_std=0.1)
    X = np.array([[0.0, 0.0], [0.2, -0.1], [5.0, 5.0]])
    exact = pr.local_complexity(net, X, 1.0)
    assert np.all(exact.complete) and not exact.lower_bound
    assert exact.counts[0] > 20 and exact.counts[1] > 20
    small = int(exact.counts[2]) + 1      # the third window fits the budget
    lc = pr.local_complexity(net, X, 1.0, max_regions=max(small, 10))
    assert lc.lower_bound and not lc.complete[0] and not lc.complete[1]
    assert np.all(lc.counts[:2] <= exact.counts[:2]) and np.all(lc.counts[:2] >= 1)
    assert lc.complete[2] and lc.counts[2] == exact.counts[2]
    assert "stopped by a budget" in repr(lc) and "lower bounds" in repr(lc)
    ls = pr.local_complexity(net, X, 1.0, max_seconds=1e-6)
    assert np.all(ls.counts <= exact.counts)
    assert np.all(ls.counts[ls.complete] == exact.counts[ls.complete])


def test_local_complexity_executors_equal_serial():
    from concurrent.futures import ThreadPoolExecutor

    net = he_net([10, 8], 3, seed=5, bias_std=0.2)
    X = np.random.default_rng(5).uniform(-1, 1, size=(7, 3))
    serial = pr.local_complexity(net, X, 0.5)
    procs = pr.local_complexity(net, X, 0.5, executor=2, chunk_size=2)
    np.testing.assert_array_equal(serial.counts, procs.counts)
    np.testing.assert_array_equal(serial.complete, procs.complete)
    with ThreadPoolExecutor(2) as ex:
        threads = pr.local_complexity(net, X, 0.5, executor=ex)
    np.testing.assert_array_equal(serial.counts, threads.counts)
    budget = pr.local_complexity(net, X, 0.5, executor=2, max_regions=3)
    serial_budget = pr.local_complexity(net, X, 0.5, max_regions=3)
    np.testing.assert_array_equal(budget.complete, serial_budget.complete)
    np.testing.assert_array_equal(budget.counts, serial_budget.counts)


@pytest.mark.slow
def test_local_complexity_dask_equals_serial():
    distributed = pytest.importorskip("dask.distributed")
    net = he_net([10, 8], 3, seed=5, bias_std=0.2)
    X = np.random.default_rng(6).uniform(-1, 1, size=(5, 3))
    serial = pr.local_complexity(net, X, 0.5)
    with distributed.Client(n_workers=1, threads_per_worker=1, processes=False) as client:
        got = pr.local_complexity(net, X, 0.5, executor=client)
    np.testing.assert_array_equal(serial.counts, got.counts)


def test_local_complexity_progress_and_empty(capsys):
    net = he_net([4], 2, seed=7)
    seen = []
    lc = pr.local_complexity(net, np.zeros((3, 2)), 0.5, progress=seen.append)
    assert [s["windows_done"] for s in seen] == [1, 2, 3]
    assert all(s["windows_total"] == 3 for s in seen)
    pr.local_complexity(net, np.zeros((2, 2)), 0.5, progress=True)
    assert len(lc) == 3 and lc.seconds.shape == (3,) and lc.n_lps.dtype == np.int64
    empty = pr.local_complexity(net, np.zeros((0, 2)), 0.5)
    assert len(empty) == 0 and repr(empty) == "LocalComplexity(n=0)"


def test_local_density_still_counts_windows():
    net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    got = pr.bn.local_density(net, [[0.0, 0.0], [0.5, 2.0], [3.0, 3.0]], 1.0)
    assert got.dtype == np.int64 and got.tolist() == [4, 2, 1]


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(X=np.zeros((2, 3)), r=0.5), pr.InvalidInputError, r"`X` must have shape \(n, 2\)"),
    (dict(X=np.zeros((2, 2)), r=[0.5]), pr.InvalidInputError,
     "`r` must be a number > 0 or an array of 2 finite numbers > 0"),
    (dict(X=np.zeros((2, 2)), r=-1.0), pr.InvalidInputError, "`r` must be a finite number > 0"),
    (dict(X=np.zeros((2, 2)), r=0.5, executor="threads"), pr.InvalidInputError,
     "`executor` must be None, 'serial', 'processes'"),
    (dict(X=np.zeros((2, 2)), r=0.5, executor=0), pr.InvalidInputError,
     "number of processes must be >= 1; got 0"),
    (dict(X=np.zeros((2, 2)), r=0.5, max_regions=0), pr.InvalidInputError,
     "`max_regions` must be a positive int; got 0"),
    (dict(X=np.zeros((2, 2)), r=0.5, max_seconds=-1), pr.InvalidInputError,
     "`max_seconds` must be a finite number > 0; got -1"),
    (dict(X=np.zeros((2, 2)), r=0.5, progress="yes"), pr.InvalidInputError,
     "`progress` must be a bool or a callable"),
    (dict(X=np.zeros((2, 2)), r=0.5, tolerances=1e-9), pr.InvalidInputError,
     "`tolerances` must be a polyregion.Tolerances"),
    (dict(X=[[0.0, 0.0], [3.0, 3.0]], r=0.5, within=(0, 1)), pr.InvalidDomainError,
     "Row 1 of `X`: The window of radius r=0.5 around `x` does not meet"),
])
def test_local_complexity_errors(kwargs, err, match):
    net = he_net([3], 2, seed=8)
    with pytest.raises(err, match=match):
        pr.local_complexity(net, **kwargs)


def test_local_complexity_refuses_l1_in_high_dimension_and_non_networks():
    with pytest.raises(pr.InvalidInputError, match="`norm`=1 needs input_dim <= 16"):
        pr.local_complexity(he_net([3], 17, seed=9), np.zeros((1, 17)), 0.5, norm=1)
    with pytest.raises(pr.InvalidInputError, match="`net` must be a polyregion.Network"):
        pr.local_complexity("net", np.zeros((1, 2)), 0.5)


# ---------------------------------------------------------------------------- regions_along
def _check_against_sampling(net, x0, x1, p, n=20000):
    t = np.linspace(0.0, 1.0, n)
    C = np.concatenate([net.codes(x0 + t[s:s + 2000, None] * (x1 - x0))
                        for s in range(0, n, 2000)])
    change = np.flatnonzero(np.any(C[1:] != C[:-1], axis=1))
    bp = p.breakpoints
    assert np.all(np.diff(bp) > 0) and (bp.size == 0 or (bp[0] > 0 and bp[-1] < 1))
    for k in change:   # every sampled change lies in one boundary interval [t_k, t_k+1]
        assert np.count_nonzero((bp >= t[k]) & (bp <= t[k + 1])) >= 1
    assert p.n_pieces >= change.size + 1
    mids = net.codes(x0 + p.midpoints[:, None] * (x1 - x0))
    np.testing.assert_array_equal(mids, p.codes)
    assert np.all(np.any(p.codes[1:] != p.codes[:-1], axis=1))
    # the codes at the sample points are the codes of their pieces
    piece = np.searchsorted(p.edges, t, side="right") - 1
    piece = np.minimum(piece, p.n_pieces - 1)
    far = np.min(np.abs(t[:, None] - bp[None, :]), axis=1, initial=np.inf) > 1e-9
    np.testing.assert_array_equal(C[far], p.codes[piece[far]])
    return change.size


@pytest.mark.parametrize("d, widths, act", [
    (5, [12, 10], "relu"), (5, [8, 8, 6], "leaky_relu:0.2"), (64, [32, 32, 32], "relu"),
    (64, [24, 16], "hardtanh")])
def test_regions_along_against_dense_sampling(d, widths, act):
    net = he_net(widths, d, seed=d + len(widths), bias_std=0.2, activation=act)
    rng = np.random.default_rng(10 + d)
    for _ in range(2):
        x0, x1 = rng.normal(size=(2, d)) * 1.5
        p = pr.regions_along(net, x0, x1)
        changes = _check_against_sampling(net, x0, x1, p)
        assert changes >= 3   # the test sees real crossings
        assert p.n_regions == p.n_pieces   # a segment meets a convex region once


def test_regions_along_bn_and_maxout_nets():
    rng = np.random.default_rng(11)
    bnet = pr.bn.with_bn(he_net([10, 8], 6, seed=11, bias_std=0.3), gamma=1.7, beta=0.4)
    x0, x1 = rng.normal(size=(2, 6)) * 2
    _check_against_sampling(bnet, x0, x1, pr.regions_along(bnet, x0, x1))
    W = [rng.normal(size=(12, 6)), rng.normal(size=(5, 4)), np.ones((1, 5))]
    mnet = pr.Network.from_arrays(W, [rng.normal(size=12), rng.normal(size=5), np.zeros(1)],
                                  activation=[pr.MaxPool.groups(12, 3), "relu"])
    x0, x1 = rng.normal(size=(2, 6)) * 3
    p = pr.regions_along(mnet, x0, x1)
    assert _check_against_sampling(mnet, x0, x1, p) >= 2


def test_regions_along_one_layer_closed_form():
    rng = np.random.default_rng(12)
    d, n = 64, 40
    W, b = rng.normal(size=(n, d)), rng.normal(size=n)
    net = pr.Network.from_arrays([W, np.ones((1, n))], [b, np.zeros(1)])
    x0, x1 = rng.normal(size=(2, d)) * 0.3
    t = -(W @ x0 + b) / (W @ (x1 - x0))            # where neuron i switches
    want = np.sort(t[(t > 0) & (t < 1)])
    p = pr.regions_along(net, x0, x1)
    assert want.size > 3
    np.testing.assert_allclose(p.breakpoints, want, rtol=0, atol=1e-12)
    # the codes: neuron i is on where W_i x + b_i > 0
    mid = x0 + p.midpoints[:, None] * (x1 - x0)
    np.testing.assert_array_equal(p.codes, (mid @ W.T + b > 0).astype(np.uint8))


def test_regions_along_equals_one_dimensional_enumeration():
    for d, widths in [(5, [16, 16]), (64, [32, 32])]:
        net = he_net(widths, d, seed=13, bias_std=0.2)
        x0, x1 = np.random.default_rng(d).normal(size=(2, d))
        p = pr.regions_along(net, x0, x1)
        rs = pr.enumerate_regions(net, pr.Slice(x0, (x1 - x0)[None], pr.Box([0.0], [1.0])))
        assert len(rs) == p.n_pieces
        assert {tuple(c) for c in rs.codes} == {tuple(c) for c in p.codes}


def test_regions_along_3072d():
    net = he_net([64, 64, 32], 3072, seed=14, bias_std=0.1)
    rng = np.random.default_rng(14)
    x0, x1 = rng.uniform(0, 1, size=(2, 3072))
    p = pr.regions_along(net, x0, x1)
    assert p.n_pieces > 10
    mids = net.codes(x0 + p.midpoints[:, None] * (x1 - x0))
    np.testing.assert_array_equal(mids, p.codes)
    rs = pr.enumerate_regions(net, pr.Slice(x0, (x1 - x0)[None], pr.Box([0.0], [1.0])))
    assert {tuple(c) for c in rs.codes} == {tuple(c) for c in p.codes}
    np.testing.assert_allclose(p.lengths().sum(), np.linalg.norm(x1 - x0))


def test_regions_along_polyline_is_the_concatenation():
    net = he_net([12, 10], 5, seed=15, bias_std=0.2)
    V = np.random.default_rng(15).normal(size=(4, 5)) * 1.5
    poly = pr.regions_along(net, V)
    assert poly.n_segments == 3
    starts, codes = [], []
    for k in range(3):
        seg = pr.regions_along(net, V[k], V[k + 1])
        starts.append(seg.edges[:-1] + k)
        codes.append(seg.codes)
    starts, codes = np.concatenate(starts), np.concatenate(codes)
    keep = np.concatenate([[True], np.any(codes[1:] != codes[:-1], axis=1)])
    np.testing.assert_array_equal(poly.codes, codes[keep])
    np.testing.assert_allclose(poly.breakpoints, starts[keep][1:], rtol=0, atol=0)
    np.testing.assert_allclose(poly.points(np.arange(4.0)), V)
    np.testing.assert_allclose(poly.lengths().sum(),
                               np.linalg.norm(np.diff(V, axis=0), axis=1).sum())


def test_regions_along_there_and_back_counts_pieces_and_regions():
    net = he_net([12, 10], 5, seed=16, bias_std=0.2)
    a, b = np.random.default_rng(16).normal(size=(2, 5)) * 1.5
    one = pr.regions_along(net, a, b)
    back = pr.regions_along(net, [a, b, a])
    assert one.n_pieces >= 3
    assert back.n_pieces == 2 * one.n_pieces - 1     # the last piece is visited once
    assert back.n_regions == one.n_regions == one.n_pieces
    np.testing.assert_array_equal(back.codes[:one.n_pieces], one.codes)
    np.testing.assert_array_equal(back.codes[one.n_pieces - 1:], one.codes[::-1])
    idx = back.region_index
    assert idx[0] == 0 and idx.max() == one.n_pieces - 1 and np.array_equal(idx, idx[::-1])


@pytest.mark.parametrize("args, err, match", [
    (([0.0, 0.0],), pr.InvalidInputError,
     r"`x0` alone must be a polyline of shape \(m \+ 1, 2\) with m >= 1"),
    (([[0.0, 0.0]],), pr.InvalidInputError, "`x0` must hold at least 2 row"),
    (([0.0, 0.0], [1.0, 1.0, 1.0]), pr.InvalidInputError, r"`x1` must have shape \(n, 2\)"),
    (([0.0, np.nan], [1.0, 1.0]), pr.InvalidInputError, "`x0` must be finite"),
    (([1.0, 1.0], [1.0, 1.0]), pr.InvalidInputError,
     "Consecutive points of the path must differ .* points 0 and 1 are equal"),
    (([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]],), pr.InvalidInputError, "points 1 and 2 are equal"),
    (([[0.0, 0.0], [1.0, 1.0]], [2.0, 2.0]), pr.InvalidInputError,
     "`x0` and `x1` must be single points"),
])
def test_regions_along_errors(args, err, match):
    net = he_net([3], 2, seed=17)
    with pytest.raises(err, match=match):
        pr.regions_along(net, *args)


def test_path_points_refuses_parameters_off_the_path():
    p = pr.regions_along(he_net([3], 2, seed=18), [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(pr.InvalidInputError, match=r"`s` must lie in \[0, 1\]"):
        p.points(1.5)
