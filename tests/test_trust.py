"""Trust at the edges (issue 19): no silent wrong answer from failed LPs, extreme
magnitudes, huge budgets or interrupts. Every count is checked against an independent
oracle (brute force, positive homogeneity, a run on the unscaled net by another method)."""

import os
import signal
import subprocess
import threading

import numpy as np
import pytest

import polyregion as pr
from oracles import brute_force_unit, he_net
from polyregion.config import Tolerances


def _codes(rs):
    return [tuple(int(v) for v in c) for c in rs.codes]


# ------------------------------------------------------------- 1. failed LPs
@pytest.mark.parametrize("max_iter", [1, 2])
def test_failed_simplex_is_resolved_not_read_as_empty(max_iter):
    """With an iteration cap that makes most LPs fail, the result is still exact: each
    failed LP is re-solved (cold, then HiGHS) instead of being taken for an empty side
    (before: 1 and 697 regions instead of 819 on a 3-D net)."""
    net = he_net([6, 6], 2, seed=3)
    dom = pr.Box.cube(2)
    rs = pr.enumerate_regions(net, dom, method="lp",
                              tolerances=Tolerances(max_simplex_iter=max_iter))
    assert rs.stats.n_failed > 0  # the fallback was exercised
    assert _codes(rs) == brute_force_unit(net, dom)


def test_failed_simplex_3d_matches_reference():
    net = he_net([8, 8], 3, seed=0)
    dom = pr.Box.cube(3)
    ref = pr.enumerate_regions(net, dom, method="scipy")
    rs = pr.enumerate_regions(net, dom, method="lp", tolerances=Tolerances(max_simplex_iter=3))
    assert rs.stats.n_failed > 0
    assert _codes(rs) == _codes(ref)


def test_unsolvable_lp_raises_solver_error(monkeypatch):
    """When HiGHS fails as well, the enumeration stops with SolverError: no RegionSet."""
    import scipy.optimize

    class Failed:
        status, message, x = 4, "numerical difficulties (test)", None

    monkeypatch.setattr(scipy.optimize, "linprog", lambda *a, **k: Failed())
    net = he_net([6, 6], 2, seed=3)
    with pytest.raises(pr.SolverError, match="could not be solved"):
        pr.enumerate_regions(net, pr.Box.cube(2), method="lp",
                             tolerances=Tolerances(max_simplex_iter=2))
    with pytest.raises(pr.SolverError, match="could not be solved"):
        pr.enumerate_regions(net, pr.Box.cube(2), method="scipy")


# ------------------------------------------------------- 2. subnormal weights
@pytest.mark.parametrize("c", [1e-310, 2.0 ** -1040, 1e-300, 1e300])
@pytest.mark.parametrize("method", ["lp", "planar", "scipy"])
def test_extreme_first_layer_scale_keeps_the_partition(c, method):
    """A one-hidden-layer net's partition does not change when its first layer is scaled
    by c > 0 (positive homogeneity of relu); before, c = 1e-310 gave 1 region of 37."""
    net = he_net([8], 2, seed=0)
    W = [w.copy() for w in net.weights]
    b = [x.copy() for x in net.biases]
    W[0] = W[0] * c
    b[0] = b[0] * c
    scaled = pr.Network.from_arrays(W, b)
    dom = pr.Box.cube(2)
    rs = pr.enumerate_regions(scaled, dom, method=method)
    assert _codes(rs) == brute_force_unit(net, dom)
    assert pr.certify(rs).ok


def test_subnormal_deep_net_keeps_the_partition():
    """Scaling W0, b0 and b1 by 2**-1030 (exactly) keeps every code of a 3-D [16, 16]
    net (before: 65,536 regions)."""
    net = he_net([16, 16], 3, seed=0)
    W = [w.copy() for w in net.weights]
    b = [x.copy() for x in net.biases]
    c = 2.0 ** -1030
    W[0], b[0], b[1] = W[0] * c, b[0] * c, b[1] * c
    assert np.all(np.abs(W[0]) < 2.0 ** -1022)  # subnormal
    dom = pr.Box.cube(3)
    ref = pr.enumerate_regions(net, dom, method="scipy")
    rs = pr.enumerate_regions(pr.Network.from_arrays(W, b), dom)
    assert _codes(rs) == _codes(ref)


def test_certify_refuses_a_wrong_code_on_a_subnormal_net():
    """A region whose code is wrong must fail certification however small the weights
    are (before, the cancelling-row test underflowed to 0 <= 0 and accepted it)."""
    net = he_net([8], 2, seed=0)
    W = [w.copy() for w in net.weights]
    b = [x.copy() for x in net.biases]
    W[0], b[0] = W[0] * 1e-310, b[0] * 1e-310
    tiny = pr.Network.from_arrays(W, b)
    rs = pr.enumerate_regions(tiny, pr.Box.cube(2))
    have = set(_codes(rs))
    codes = rs.codes.copy()
    for i in range(len(rs)):
        for j in range(codes.shape[1]):
            c = codes[i].copy()
            c[j] ^= 1
            if tuple(int(v) for v in c) not in have:
                codes[i] = c
                break
        else:
            continue
        break
    bad = pr.RegionSet(tiny, rs.domain, codes, rs.points, rs.radii, sort=True)
    cert = pr.certify(bad)
    assert not cert.ok
    assert len(cert.failed) == 1


def test_network_beyond_float64_range_is_refused():
    """Magnitudes that cannot be rescaled into float64 give a typed error, not a count."""
    W = [np.array([[1e-300, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0]])]
    b = [np.array([0.0, 0.0]), np.zeros(1)]
    net = pr.Network.from_arrays(W, b, activation="hardtanh")
    W2 = [np.array([[1e-310], [1e-310]]), np.array([[1.0, 1.0]])]
    net2 = pr.Network.from_arrays(W2, [np.zeros(2), np.zeros(1)], activation="hardtanh")
    # the first is fine (the layer's largest entry is 1), the second cannot be scaled
    assert len(pr.enumerate_regions(net, pr.Box.cube(2), method="lp")) >= 1
    with pytest.raises(pr.InvalidNetworkError, match="float64"):
        pr.enumerate_regions(net2, pr.Box.cube(1), method="lp")


# ------------------------------------------------------- 9. huge budgets, Ctrl-C
@pytest.mark.parametrize("cap", [10 ** 30, 2 ** 64, 2 ** 63 - 1, 2 ** 63])
@pytest.mark.parametrize("method", ["lp", "planar"])
def test_huge_max_regions_is_no_limit(cap, method):
    net = he_net([8], 2, seed=0)
    ref = pr.enumerate_regions(net, pr.Box.cube(2), method=method)
    rs = pr.enumerate_regions(net, pr.Box.cube(2), method=method, max_regions=cap)
    assert rs == ref


def test_ctrl_c_in_a_kernel_is_a_keyboard_interrupt():
    """A SIGINT during a long kernel surfaces as KeyboardInterrupt (before: SystemError
    'CPUDispatcher(...) returned a result with an exception set')."""
    if not hasattr(signal, "pthread_kill"):
        pytest.skip("needs POSIX signals")
    net = he_net([32, 32], 4, seed=0)
    pr.enumerate_regions(he_net([3], 4), pr.Box.cube(4), method="lp")  # compiled
    # the signal comes from another process after 2 s, well inside the kernel's loop
    # (about 20 s on this net): a Python thread (threading.Timer) needs the GIL, which the
    # kernel holds, so its signal could come only after the kernel ended
    killer = subprocess.Popen(["sh", "-c", f"sleep 2; kill -INT {os.getpid()}"])
    finished = False
    try:
        with pytest.raises(KeyboardInterrupt):
            pr.enumerate_regions(net, pr.Box.cube(4), method="lp")
            finished = True
    finally:
        killer.kill()
        killer.wait()
    assert not finished


# ------------------------------------------------------- 7. witness points
def _near_concurrent_net(seed):
    """First-layer lines all within 1e-8 of the origin: cells of radius ~1e-11 there."""
    net = he_net([16, 16], 2, seed=seed, bias_std=0.1)
    W = [w.copy() for w in net.weights]
    b = [x.copy() for x in net.biases]
    b[0] = b[0] * 1e-8
    return pr.Network.from_arrays(W, b)


@pytest.mark.parametrize("seed", [5, 7])
@pytest.mark.parametrize("method", ["lp", "planar"])
def test_witnesses_lie_inside_their_own_cells(seed, method):
    """Every witness is certified in exact arithmetic, and its claimed ball holds: points
    at 0.999 times its radius in 16 directions have the region's code (before: a witness
    of seed 5 lay 5.6e-12 beyond a hyperplane its cell was decided not to cross, and
    radii of seed 7 overstated their balls by up to 1e-11)."""
    net = _near_concurrent_net(seed)
    rs = pr.enumerate_regions(net, pr.Box.cube(2), method=method)
    cert = pr.certify(rs)
    assert cert.ok, cert.reasons
    rng = np.random.default_rng(0)
    U = rng.normal(size=(16, 2))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    X = (rs.points[:, None, :] + 0.999 * rs.radii[:, None, None] * U[None]).reshape(-1, 2)
    codes = net.codes(X).reshape(len(rs), 16, -1)
    assert np.all(codes == rs.codes[:, None, :])
