"""Tests of polyregion.bn against independent computations.

Oracles: a plain-numpy training-mode BN forward pass written here from the formulas
(and torch.nn.BatchNorm1d when torch is installed), LP range oracles for the window
criterion, exact enumeration / the brute-force oracle of tests/oracles.py, line-arrangement
counts in a box (F = 1 + lines + crossings), and brute-force sampling as a lower bound.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

import polyregion as pr
from polyregion.errors import InvalidInputError, InvalidNetworkError
from oracles import brute_force_net, sampled_codes


# ---------------------------------------------------------------------------- oracles
ACT = {
    "relu": lambda u: np.maximum(u, 0),
    "leaky_relu:0.1": lambda u: np.where(u > 0, u, 0.1 * u),
    "hardtanh": lambda u: np.clip(u, -1, 1),
    "abs": np.abs,
}


def np_train_forward(Ws, bs, bn, act, batch, X=None):
    """Training-mode BN network forward, straight from the definition.

    ``bn[l]`` is None or (gamma, beta, eps). The statistics come from ``batch``; the
    returned outputs are for ``X`` (default: the batch itself). Hidden codes are not
    returned: only outputs and the per-layer pre-activations of X.
    """
    f = ACT[act]
    zb = batch
    zx = batch if X is None else X
    pre = []
    for l, (W, b) in enumerate(zip(Ws, bs)):
        ub = zb @ W.T + b
        ux = zx @ W.T + b
        if bn[l] is not None:
            gamma, beta, eps = bn[l]
            mu = ub.sum(axis=0) / ub.shape[0]
            var = ((ub - mu) ** 2).sum(axis=0) / ub.shape[0]
            ub = gamma * (ub - mu) / np.sqrt(var + eps) + beta
            ux = gamma * (ux - mu) / np.sqrt(var + eps) + beta
        pre.append(ux)
        if l < len(Ws) - 1:
            zb, zx = f(ub), f(ux)
        else:
            zx = ux
    return zx, pre


def random_bn_net(rng, d, widths, act="relu", out=1, gamma_scale=1.0, eps=1e-5,
                  all_layers=False):
    Ws, bs, bn, n = [], [], [], d
    sizes = list(widths) + [out]
    for l, w in enumerate(sizes):
        Ws.append(rng.normal(size=(w, n)) / np.sqrt(n))
        bs.append(rng.normal(size=w))
        if l < len(widths) or all_layers:
            bn.append((rng.normal(size=w) * gamma_scale, rng.normal(size=w) * 0.5, eps))
        else:
            bn.append(None)
        n = w
    net = pr.Network.from_arrays(
        Ws, bs, activation=act,
        bn=[None if x is None else dict(gamma=x[0], beta=x[1], eps=x[2],
                                        mean=rng.normal(size=len(x[0])),
                                        var=rng.uniform(0.5, 2, size=len(x[0])))
            for x in bn])
    return net, Ws, bs, bn


def lp_range(w, lo, hi):
    """min and max of w.x over the box [lo, hi] by HiGHS."""
    bounds = list(zip(lo, hi))
    a = linprog(w, bounds=bounds, method="highs")
    b = linprog(-w, bounds=bounds, method="highs")
    assert a.status == 0 and b.status == 0
    return a.fun, -b.fun


# ---------------------------------------------------------------------------- fold
@pytest.mark.parametrize("act", ["relu", "leaky_relu:0.1", "hardtanh", "abs"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fold_training_matches_numpy_forward(act, seed):
    rng = np.random.default_rng(seed)
    net, Ws, bs, bn = random_bn_net(rng, 3, [7, 6, 5], act=act, out=2, all_layers=seed == 2)
    batch = rng.normal(size=(40, 3)) * 2 + 1
    X = rng.normal(size=(25, 3)) * 3
    plain = pr.bn.fold(net, batch)
    assert not plain.has_bn
    ref_b, _ = np_train_forward(Ws, bs, bn, act, batch)
    ref_x, _ = np_train_forward(Ws, bs, bn, act, batch, X)
    np.testing.assert_allclose(plain.forward(batch), ref_b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(plain.forward(X), ref_x, rtol=0, atol=1e-10)


def test_fold_training_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    d, widths = 4, [8, 8]
    layers, mods = [], []
    n = d
    for w in widths:
        lin = torch.nn.Linear(n, w).double()
        bnm = torch.nn.BatchNorm1d(w, eps=1e-3).double()
        with torch.no_grad():
            bnm.weight.copy_(torch.tensor(rng.normal(size=w)))
            bnm.bias.copy_(torch.tensor(rng.normal(size=w)))
        mods += [lin, bnm, torch.nn.ReLU()]
        layers.append((lin, bnm))
        n = w
    head = torch.nn.Linear(n, 1).double()
    model = torch.nn.Sequential(*mods, head).train()
    batch = rng.normal(size=(64, d)) + 0.5
    with torch.no_grad():
        ref = model(torch.tensor(batch)).numpy()
    Ws = [l.weight.detach().numpy() for l, _ in layers] + [head.weight.detach().numpy()]
    bs = [l.bias.detach().numpy() for l, _ in layers] + [head.bias.detach().numpy()]
    bn = [dict(gamma=b.weight.detach().numpy(), beta=b.bias.detach().numpy(), eps=1e-3)
          for _, b in layers] + [None]
    net = pr.Network.from_arrays(Ws, bs, bn=bn)
    np.testing.assert_allclose(pr.bn.fold(net, batch).forward(batch), ref, rtol=0, atol=1e-10)


def test_fold_eval_mode_uses_running_stats():
    rng = np.random.default_rng(3)
    net, Ws, bs, _ = random_bn_net(rng, 2, [5, 4], out=1)
    X = rng.normal(size=(30, 2))
    z = X
    for l, (W, b) in enumerate(zip(Ws, bs)):
        u = z @ W.T + b
        p = net.bn[l]
        if p is not None:
            u = p.gamma * (u - p.mean) / np.sqrt(p.var + p.eps) + p.beta
        z = np.maximum(u, 0) if l < len(Ws) - 1 else u
    np.testing.assert_allclose(pr.bn.fold(net).forward(X), z, rtol=0, atol=1e-10)
    np.testing.assert_allclose(pr.bn.fold(net).forward(X), net.forward(X), rtol=0, atol=1e-12)


def test_statistics_are_pushed_layer_by_layer():
    """Layer 1 statistics must be those of the normalised layer-0 outputs."""
    rng = np.random.default_rng(4)
    net, Ws, bs, bn = random_bn_net(rng, 2, [6, 5])
    batch = rng.normal(size=(50, 2)) + 2
    _, pre = np_train_forward(Ws, bs, bn, "relu", batch)
    stats = pr.bn.batch_statistics(net, batch)
    g, be, eps = bn[1]
    u1 = (pre[1] - be) / g  # undo gamma/beta: standardised
    np.testing.assert_allclose(u1.mean(0), 0, atol=1e-10)
    z1 = np.maximum(pre[0], 0)
    u = z1 @ Ws[1].T + bs[1]
    np.testing.assert_allclose(stats[1][0], u.mean(0), atol=1e-12)
    np.testing.assert_allclose(stats[1][1], u.var(0), atol=1e-12)
    # statistics of raw (un-normalised) layer-0 outputs would be different
    z1_raw = np.maximum(batch @ Ws[0].T + bs[0], 0)
    assert not np.allclose(stats[1][0], (z1_raw @ Ws[1].T + bs[1]).mean(0))
    assert stats[2] is None


def test_gamma_zero_constant_neuron_and_region_count():
    rng = np.random.default_rng(7)
    W = rng.normal(size=(5, 2))
    gamma = np.array([1.0, 0.0, -2.0, 0.5, 0.0])
    beta = np.array([0.3, 0.7, -0.2, 0.0, -0.4])
    net = pr.Network.from_arrays([W, np.ones((1, 5))], [rng.normal(size=5), np.zeros(1)],
                                 bn=[dict(gamma=gamma, beta=beta), None])
    batch = rng.normal(size=(30, 2))
    plain = pr.bn.fold(net, batch)
    assert np.all(plain.weights[0][[1, 4]] == 0)
    np.testing.assert_array_equal(plain.biases[0][[1, 4]], beta[[1, 4]])
    codes = plain.codes(rng.normal(size=(200, 2)) * 5)
    assert np.all(codes[:, 1] == 1) and np.all(codes[:, 4] == 0)   # beta 0.7 > 0, -0.4 < 0
    # 3 remaining lines in general position meet a large box: 1 + 3 + 3 = 7 regions
    box = pr.Box.cube(2, radius=100.0)
    rs = pr.enumerate_regions(plain, box)
    assert len(rs) == 7
    assert set(map(tuple, rs.codes)) == set(brute_force_net(plain, box))
    h = pr.bn.hyperplanes(net, batch)
    assert h.constant.tolist() == [False, True, False, False, True]
    assert np.all(np.isnan(h.rhs[[1, 4]]))


def test_gamma_negative_swaps_sides():
    rng = np.random.default_rng(8)
    W = rng.normal(size=(4, 3))
    b = rng.normal(size=4)
    mk = lambda g: pr.Network.from_arrays([W, np.ones((1, 4))], [b, np.zeros(1)],
                                          bn=[dict(gamma=g, beta=0.0), None])
    batch = rng.normal(size=(40, 3))
    X = rng.normal(size=(300, 3))
    pos = pr.bn.fold(mk(np.ones(4)), batch).codes(X)
    neg = pr.bn.fold(mk(-np.ones(4)), batch).codes(X)
    np.testing.assert_array_equal(neg, 1 - pos)       # same hyperplane, sides swapped
    hp, hn = (pr.bn.hyperplanes(mk(g * np.ones(4)), batch) for g in (1.0, -1.0))
    np.testing.assert_allclose(hp.rhs, hn.rhs, atol=1e-12)
    # with beta != 0 the offset (t - beta)/gamma flips sign with gamma
    h2 = pr.bn.hyperplanes(pr.Network.from_arrays(
        [W, np.ones((1, 4))], [b, np.zeros(1)],
        bn=[dict(gamma=-2.0, beta=1.0), None]), batch)
    np.testing.assert_allclose(h2.offsets_std, 0.5)


def test_eps_enters_sigma():
    rng = np.random.default_rng(9)
    net, Ws, bs, bn = random_bn_net(rng, 2, [4], eps=0.7)
    batch = rng.normal(size=(20, 2)) * 0.3
    ref, _ = np_train_forward(Ws, bs, bn, "relu", batch)
    np.testing.assert_allclose(pr.bn.fold(net, batch).forward(batch), ref, atol=1e-10)
    h = pr.bn.hyperplanes(net, batch)
    u = batch @ Ws[0].T
    np.testing.assert_allclose(h.sigma, np.sqrt(u.var(0) + 0.7), atol=1e-12)


def test_zero_variance():
    rng = np.random.default_rng(10)
    W = rng.normal(size=(3, 2))
    beta = np.array([0.5, -0.5, 2.0])
    gamma = np.array([1.0, 3.0, 0.0])
    net = pr.Network.from_arrays([W, np.ones((1, 3))], [rng.normal(size=3), np.zeros(1)],
                                 bn=[dict(gamma=gamma, beta=beta, eps=1e-5), None])
    batch = np.tile([[0.3, -1.2]], (8, 1))        # one distinct value: variance 0
    plain = pr.bn.fold(net, batch)
    # on the batch, u - mu = 0 exactly: the output is beta -> relu -> sum
    np.testing.assert_allclose(plain.forward(batch), np.full((8, 1), 0.5 + 0 + 2.0), atol=1e-12)
    # scale gamma / sqrt(eps) for the non-constant neurons
    np.testing.assert_allclose(plain.weights[0][:2], W[:2] * (gamma[:2] / np.sqrt(1e-5))[:, None])
    # a single-row batch also has variance 0
    pr.bn.fold(net, batch[:1])
    # eps = 0 and variance 0: undefined, refused (unless gamma = 0)
    net0 = pr.Network.from_arrays([W, np.ones((1, 3))], [np.zeros(3), np.zeros(1)],
                                  bn=[dict(gamma=gamma, beta=beta, eps=0.0), None])
    with pytest.raises(InvalidInputError, match="variance is 0 for neurons \\[0, 1\\]"):
        pr.bn.fold(net0, batch)
    net00 = pr.Network.from_arrays([W, np.ones((1, 3))], [np.zeros(3), np.zeros(1)],
                                   bn=[dict(gamma=[0.0, 0.0, 0.0], beta=beta, eps=0.0), None])
    np.testing.assert_allclose(pr.bn.fold(net00, batch).forward(batch), 2.5)


def test_zero_variance_matches_numpy_oracle_off_batch():
    rng = np.random.default_rng(11)
    W = rng.normal(size=(3, 2))
    b = rng.normal(size=3)
    gamma, beta = np.array([1.0, -1.0, 2.0]), np.array([0.1, 0.2, 0.3])
    net = pr.Network.from_arrays([W, np.ones((1, 3))], [b, np.zeros(1)],
                                 bn=[dict(gamma=gamma, beta=beta, eps=1e-3), None])
    batch = np.tile([[1.0, 2.0]], (4, 1))
    X = rng.normal(size=(10, 2))
    ref, _ = np_train_forward([W, np.ones((1, 3))], [b, np.zeros(1)],
                              [(gamma, beta, 1e-3), None], "relu", batch, X)
    np.testing.assert_allclose(pr.bn.fold(net, batch).forward(X), ref, atol=1e-9)


def test_fold_result_enumerates_like_brute_force():
    rng = np.random.default_rng(12)
    net, *_ = random_bn_net(rng, 2, [5, 4], act="leaky_relu:0.1")
    batch = rng.normal(size=(16, 2)) + 1
    plain = pr.bn.fold(net, batch)
    box = pr.Box([-1, -1], [3, 3])
    rs = pr.enumerate_regions(plain, box)
    assert set(map(tuple, rs.codes)) == set(brute_force_net(plain, box))
    # every interior point's code in the BN net (numpy oracle pre-activations) = its code
    _, pre = np_train_forward(plain.weights, plain.biases, [None] * 3, "leaky_relu:0.1",
                              batch, rs.points)
    codes = np.hstack([(p > 0).astype(np.uint8) for p in pre[:-1]])
    np.testing.assert_array_equal(codes, rs.codes)


def test_errors():
    rng = np.random.default_rng(0)
    net, *_ = random_bn_net(rng, 2, [3, 3])
    with pytest.raises(InvalidInputError, match=r"`batch` must have shape \(n, 2\)"):
        pr.bn.fold(net, np.zeros((4, 3)))
    with pytest.raises(InvalidInputError, match="finite"):
        pr.bn.fold(net, np.full((4, 2), np.nan))
    with pytest.raises(InvalidInputError, match="`layer` must be a hidden layer index"):
        pr.bn.hyperplanes(net, np.zeros((4, 2)), layer=2)
    with pytest.raises(InvalidInputError, match="`region`.*required"):
        pr.bn.hyperplanes(net, rng.normal(size=(4, 2)), layer=1)
    with pytest.raises(InvalidInputError, match="at least 3 entries"):
        pr.bn.hyperplanes(net, rng.normal(size=(4, 2)), layer=1, region=[1, 0])
    plain = pr.bn.fold(net, rng.normal(size=(4, 2)))
    with pytest.raises(InvalidInputError, match="has no BN"):
        pr.bn.hyperplanes(plain, rng.normal(size=(4, 2)))
    with pytest.raises(InvalidInputError, match="`r` must be a number > 0"):
        pr.bn.local_density(net, np.zeros((2, 2)), -1.0)
    with pytest.raises(InvalidInputError, match="`r` must be a finite number > 0"):
        pr.bn.window_hits(net, None, [0.0, 0.0], 0.0)
    with pytest.raises(InvalidInputError, match="`r` must be finite and >= 0"):
        pr.bn.hyperplane_meets_box([1.0, 0.0], 0.0, [0.0, 0.0], -1.0)
    with pytest.raises(InvalidInputError, match="`batch_size` must be an int"):
        pr.bn.offset_jitter(net, rng.normal(size=(10, 2)), batch_size=11)
    with pytest.raises(InvalidInputError, match="`net` must be a polyregion.Network"):
        pr.bn.fold("net")
    with pytest.raises(InvalidNetworkError, match="variance 0 needs eps > 0"):
        pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)],
                               bn=[dict(var=0.0, eps=0.0), None])


# ---------------------------------------------------------------------------- hyperplanes
def test_hyperplanes_layer0_geometry():
    rng = np.random.default_rng(13)
    net, Ws, bs, bn = random_bn_net(rng, 3, [6, 4], act="hardtanh")
    batch = rng.normal(size=(30, 3)) * [1, 2, 0.5] + [3, -1, 2]
    h = pr.bn.hyperplanes(net, batch)
    xbar = batch.mean(0)
    np.testing.assert_allclose(h.centroid, xbar, atol=1e-12)
    np.testing.assert_allclose(h.normal @ xbar, h.level, atol=1e-10)   # through the centroid
    gamma, beta, eps = bn[0]
    np.testing.assert_allclose(h.offsets_std, (np.array([-1.0, 1.0])[None] - beta[:, None])
                               / gamma[:, None], atol=1e-12)
    # points on each switching hyperplane give pre-activation t in the oracle forward
    _, pre_b = np_train_forward(Ws, bs, bn, "hardtanh", batch)
    for k in range(6):
        for j, t in enumerate((-1.0, 1.0)):
            n_ = h.normal[k]
            x = rng.normal(size=3)
            x = x + (h.rhs[k, j] - n_ @ x) / (n_ @ n_) * n_
            _, pre = np_train_forward(Ws, bs, bn, "hardtanh", batch, x[None])
            assert abs(pre[0][0, k] - t) < 1e-9
            # signed distance from the reference hyperplane
            dist = (n_ @ x - h.level[k]) / np.linalg.norm(n_)
            assert abs(dist - h.offsets_input[k, j]) < 1e-9


def test_bias_cancels():
    rng = np.random.default_rng(14)
    net, Ws, bs, bn = random_bn_net(rng, 2, [5, 5, 3])
    batch = rng.normal(size=(25, 2))
    X = rng.normal(size=(40, 2))
    ref = pr.bn.fold(net, batch)
    h0 = pr.bn.hyperplanes(net, batch, layer=0)
    code = ref.codes(batch[:1])[0]
    h2 = pr.bn.hyperplanes(net, batch, layer=2, region=code)
    for s in range(3):
        bs2 = [b + rng.normal(size=b.shape) * 10 for b in bs[:-1]] + [bs[-1]]
        net2 = pr.Network.from_arrays(Ws, bs2, bn=[None if x is None else
                                                   dict(gamma=x[0], beta=x[1], eps=x[2])
                                                   for x in bn])
        assert pr.bn.fold(net2, batch) == ref            # bitwise: b never enters
        g0 = pr.bn.hyperplanes(net2, batch, layer=0)
        g2 = pr.bn.hyperplanes(net2, batch, layer=2, region=code)
        for a, b in ((h0, g0), (h2, g2)):
            np.testing.assert_array_equal(a.rhs, b.rhs)
            np.testing.assert_array_equal(a.offsets_input, b.offsets_input)
        # the oracle agrees: outputs independent of the biases of BN layers
        out, _ = np_train_forward(Ws, bs2, bn, "relu", batch, X)
        np.testing.assert_allclose(out, ref.forward(X), atol=1e-9)


def test_hyperplanes_deeper_layer_inside_region():
    rng = np.random.default_rng(15)
    net, Ws, bs, bn = random_bn_net(rng, 2, [6, 5, 4], act="relu")
    batch = rng.normal(size=(30, 2))
    plain = pr.bn.fold(net, batch)
    n_checked = 0
    for layer in (1, 2):
        off = sum(net.widths[:layer])
        for x0 in batch[:10]:
            code = plain.codes(x0[None])[0]
            h = pr.bn.hyperplanes(net, batch, layer=layer, region=code)
            np.testing.assert_allclose(h.centroid, np_centroid(Ws, bs, bn, batch, layer),
                                       atol=1e-10)
            for k in range(net.widths[layer]):
                if h.constant[k]:
                    continue
                n_ = h.normal[k]
                x = x0 + (h.rhs[k, 0] - n_ @ x0) / (n_ @ n_) * n_
                _, pre = np_train_forward(Ws, bs, bn, "relu", batch, x[None])
                parent = np.hstack([(p[0] > 0) for p in pre[:layer]])
                if not np.array_equal(parent, code[:off].astype(bool)):
                    continue      # the projection left the parent region: no claim there
                assert abs(pre[layer][0, k]) < 1e-8
                n_checked += 1
    assert n_checked >= 10


def np_centroid(Ws, bs, bn, batch, layer):
    _, pre = np_train_forward(Ws, bs, bn, "relu", batch)
    return np.maximum(pre[layer - 1], 0).mean(0)


def test_hyperplanes_eval_mode():
    rng = np.random.default_rng(16)
    net, Ws, bs, _ = random_bn_net(rng, 2, [4])
    h = pr.bn.hyperplanes(net, None)
    assert h.centroid is None
    p = net.bn[0]
    x = rng.normal(size=2)
    for k in range(4):
        n_ = h.normal[k]
        y = x + (h.rhs[k, 0] - n_ @ x) / (n_ @ n_) * n_
        u = Ws[0][k] @ y + bs[0][k]
        assert abs(p.gamma[k] * (u - p.mean[k]) / np.sqrt(p.var[k] + p.eps) + p.beta[k]) < 1e-9


# ---------------------------------------------------------------------------- windows
def test_hyperplane_meets_box_against_lp():
    rng = np.random.default_rng(17)
    n_bad = 0
    for _ in range(150):
        d = int(rng.integers(1, 5))
        w = rng.normal(size=d) * (rng.random(d) > 0.2)
        x0 = rng.normal(size=d)
        r = rng.uniform(0.05, 2)
        c = w @ x0 + rng.normal() * 2
        lo, hi = lp_range(w, x0 - r, x0 + r)
        oracle = lo - 1e-12 <= c <= hi + 1e-12
        n_bad += bool(pr.bn.hyperplane_meets_box(w, c, x0, r)) != oracle
    assert n_bad == 0
    # exact touching: closed counts, open does not
    assert pr.bn.hyperplane_meets_box([1.0, -1.0], 2.0, [0.0, 0.0], 1.0)
    assert not pr.bn.hyperplane_meets_box([1.0, -1.0], 2.0, [0.0, 0.0], 1.0, closed=False)
    # zero normal: meets iff c == 0
    assert pr.bn.hyperplane_meets_box([0.0, 0.0], 0.0, [1.0, 1.0], 1.0)
    assert not pr.bn.hyperplane_meets_box([0.0, 0.0], 0.5, [1.0, 1.0], 1.0)


@pytest.mark.parametrize("act", ["relu", "hardtanh"])
def test_window_hits_match_enumeration(act):
    """0 disagreements: a hyperplane cuts the window iff both pieces occur in it."""
    rng = np.random.default_rng(18)
    n_bad = n_hit = 0
    for trial in range(60):
        d = 2 if trial % 2 else 3
        net, *_ = random_bn_net(rng, d, [5], act=act)
        batch = rng.normal(size=(12, d)) * rng.uniform(0.3, 2)
        x0 = batch[trial % 12] + rng.normal(size=d) * 0.3
        r = rng.uniform(0.05, 1.0)
        hits = pr.bn.window_hits(net, batch, x0, r)
        rs = pr.enumerate_regions(pr.bn.fold(net, batch), pr.Box(x0 - r, x0 + r))
        nb = hits.shape[1]
        for k in range(5):
            pieces = set(rs.codes[:, k].tolist())
            for j in range(nb):
                cut = j in pieces and j + 1 in pieces
                n_bad += cut != hits[k, j]
                n_hit += cut
    assert n_bad == 0 and n_hit > 50


# ---------------------------------------------------------------------------- density
def _crossings_in_box(Nrm, c, lo, hi):
    n = 0
    for i, j in itertools.combinations(range(len(c)), 2):
        M = np.vstack([Nrm[i], Nrm[j]])
        if abs(np.linalg.det(M)) < 1e-12:
            continue
        p = np.linalg.solve(M, [c[i], c[j]])
        n += bool(np.all(p > lo) and np.all(p < hi))
    return n


def test_local_density_one_layer_arrangement_formula():
    """For lines in general position in a box: F = 1 + (lines cutting it) + crossings."""
    rng = np.random.default_rng(19)
    net, *_ = random_bn_net(rng, 2, [6])
    batch = rng.normal(size=(20, 2))
    X = batch[:12]
    r = np.linspace(0.1, 1.5, 12)
    got = pr.bn.local_density(net, X, r, batch=batch)
    h = pr.bn.hyperplanes(net, batch)
    for i, x0 in enumerate(X):
        cut = pr.bn.hyperplane_meets_box(h.normal, h.rhs[:, 0], x0, r[i], closed=False)
        F = 1 + cut.sum() + _crossings_in_box(h.normal, h.rhs[:, 0], x0 - r[i], x0 + r[i])
        assert got[i] == F


def test_local_density_deep_against_brute_force_and_sampling():
    rng = np.random.default_rng(20)
    net, *_ = random_bn_net(rng, 2, [5, 4], act="leaky_relu:0.1")
    batch = rng.normal(size=(20, 2))
    X, r = batch[:4], 0.4
    got = pr.bn.local_density(net, X, r, batch=batch)
    plain = pr.bn.fold(net, batch)
    for i, x0 in enumerate(X):
        box = pr.Box(x0 - r, x0 + r)
        assert got[i] == len(brute_force_net(plain, box))
        S = x0 + rng.uniform(-r, r, size=(4000, 2))
        assert len(sampled_codes(plain, S)) <= got[i]


def test_local_density_eval_mode_slice_and_executor():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(21)
    net, *_ = random_bn_net(rng, 5, [6, 4])
    X = rng.normal(size=(6, 5))
    D = np.linalg.qr(rng.normal(size=(5, 2)))[0].T
    a = pr.bn.local_density(net, X, 0.5, directions=D)
    for i, x0 in enumerate(X):
        dom = pr.Slice(x0, D, pr.Box.cube(2, radius=0.5))
        assert a[i] == len(pr.enumerate_regions(pr.bn.fold(net), dom))
    with ThreadPoolExecutor(2) as ex:
        b = pr.bn.local_density(net, X, 0.5, directions=D, executor=ex, chunk_size=2)
    np.testing.assert_array_equal(a, b)


def test_local_density_slice_against_brute_force():
    rng = np.random.default_rng(22)
    net, *_ = random_bn_net(rng, 4, [5, 3])
    batch = rng.normal(size=(16, 4))
    D = np.linalg.qr(rng.normal(size=(4, 2)))[0].T
    got = pr.bn.local_density(net, batch[:3], 0.6, batch=batch, directions=D)
    plain = pr.bn.fold(net, batch)
    for i, x0 in enumerate(batch[:3]):
        restricted = plain.restrict(x0, D)
        assert got[i] == len(brute_force_net(restricted, pr.Box.cube(2, radius=0.6)))


# ---------------------------------------------------------------------------- jitter, depth
def test_offset_jitter_against_direct_formula():
    rng = np.random.default_rng(23)
    W = rng.normal(size=(3, 2))
    net = pr.bn.with_bn(pr.Network.from_arrays([W, np.ones((1, 3))],
                                               [rng.normal(size=3), np.zeros(1)]))
    X = rng.normal(size=(200, 2)) * [2, 0.5]
    res = pr.bn.offset_jitter(net, X, batch_size=20, n_batches=30, seed=1)
    # redo the draws: with ReLU and beta = 0 each hyperplane passes through the batch mean
    rng2 = np.random.default_rng(1)
    unit = W / np.linalg.norm(W, axis=1)[:, None]
    for i in range(30):
        B = X[rng2.choice(200, size=20, replace=False)]
        np.testing.assert_allclose(res.positions[i, :, 0], unit @ B.mean(0), atol=1e-10)
    np.testing.assert_allclose(res.reference[:, 0], unit @ X.mean(0), atol=1e-10)
    np.testing.assert_allclose(res.spread, (X @ unit.T).std(0), atol=1e-12)
    assert np.all((res.code_changes >= 0) & (res.code_changes <= 1))
    assert res.code_changes.max() > 0


def test_depth_geometry_on_known_configuration():
    """Identity-like net: the batch is a cluster + one orthogonal far point by construction."""
    d = 6
    net = pr.Network.from_arrays([np.eye(d), np.ones((1, d))], [np.zeros(d), np.zeros(1)])
    batch = np.zeros((5, d))
    batch[:4, 0] = 1.0 + np.array([0, 1e-3, 2e-3, 3e-3])
    batch[4, 1] = 10.0
    g = pr.bn.depth_geometry(net, batch)
    assert g.odd[0] == 4
    assert abs(g.odd_cosine[0]) < 1e-12
    assert g.cluster_cosine[0] > 1 - 1e-9
    R = batch[:4]
    diam = np.linalg.norm(R[0] - R[3])
    np.testing.assert_allclose(g.spread_ratio[0], diam / np.linalg.norm(batch[4] - R.mean(0)))
    np.testing.assert_allclose(g.norm_ratio[0], 10.0 / np.linalg.norm(R, axis=1).mean())
    C = batch / np.linalg.norm(batch, axis=1)[:, None]
    np.testing.assert_allclose(g.cosines[0], C @ C.T, atol=1e-12)


def test_with_bn_roundtrip(tmp_path):
    rng = np.random.default_rng(24)
    net, *_ = random_bn_net(rng, 2, [3])
    plain = pr.bn.fold(net, rng.normal(size=(8, 2)))
    b = pr.bn.with_bn(plain, gamma=2.0, beta=-1.0, eps=1e-3)
    assert b.bn[0].eps == 1e-3 and np.all(b.bn[0].gamma == 2.0) and b.bn[1] is None
    b.save(tmp_path / "n.npz")
    assert pr.load(tmp_path / "n.npz") == b
    with pytest.raises(InvalidInputError, match="`layers` must hold layer indices"):
        pr.bn.with_bn(plain, layers=[5])


def test_bn_parameter_shape_is_checked():
    with pytest.raises(InvalidNetworkError, match=r"`bn\[0\]\['gamma'\]` must be a number or "
                                                  r"have shape \(2,\)"):
        pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)],
                               bn=[dict(gamma=[1.0, 2.0, 3.0]), None])


def test_fold_recentering_only():
    rng = np.random.default_rng(25)
    net, Ws, bs, bn = random_bn_net(rng, 3, [6, 5])
    batch = rng.normal(size=(20, 3)) + 1
    X = rng.normal(size=(10, 3))
    # oracle: y = gamma (u - mean_B u) + beta, layer by layer
    zb, zx = batch, X
    for l, (W, b) in enumerate(zip(Ws, bs)):
        ub, ux = zb @ W.T + b, zx @ W.T + b
        if bn[l] is not None:
            g, be, _ = bn[l]
            mu = ub.mean(0)
            ub, ux = g * (ub - mu) + be, g * (ux - mu) + be
        zb, zx = (np.maximum(ub, 0), np.maximum(ux, 0)) if l < 2 else (ub, ux)
    np.testing.assert_allclose(pr.bn.fold(net, batch, rescale=False).forward(X), zx,
                               atol=1e-10)
