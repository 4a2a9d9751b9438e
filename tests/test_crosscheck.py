"""Cross-checks of every enumeration method against independent oracles.

The reproducers of bugs found by an adversarial sweep (random and degenerate nets, all
activations, extreme weight scales, tiny and far-away domains) plus a small random sweep
of the same kind. The oracles never call the engine:

- ``exact_pwl_cells`` (tests/oracles.py): exact rational polygon splitting, any
  piecewise-linear activation, 1-D and 2-D bounded domains;
- ``brute_force_unit``: fresh HiGHS Chebyshev LPs on every side of every hyperplane;
- Zaslavsky's count for one generic layer on all of R^d;
- ``pr.certify``: each region's witness point is proved interior in exact arithmetic.

A cell that the exact oracle finds but whose size is below the feasibility tolerance is
not required (the engine counts a region only when it holds a ball of radius
``feasibility * scale``); everything else must agree code for code.
"""

import numpy as np
import pytest

import polyregion as pr
from oracles import brute_force_unit, cell_size, exact_pwl_cells, zaslavsky

ACTS = ["relu", "leaky_relu:0.1", "leaky_relu:-0.5", "abs", "hardtanh", "relu6"]


def methods_for(domain):
    return ("lp", "scipy", "planar") if domain.dim == 2 and domain.bounded else ("lp", "scipy")


def code_set(rs, cert=None):
    """The codes of ``rs``; a constant neuron whose label is rounding-dependent (reported
    by the certificate as ambiguous) gets its exact piece."""
    C = rs.codes.astype(int).copy()
    if cert is not None:
        for i, lst in cert.ambiguous.items():
            for neuron, q in lst:
                C[i, neuron] = q
    return set(map(tuple, C.tolist()))


def check_exact(net, domain, methods=None, thin=1e-9):
    """Every method against the exact oracle; returns the number of regions."""
    want = exact_pwl_cells(net, domain)
    scale = domain.scale
    need = {c for c, V in want.items() if cell_size(V) > thin * scale}
    n = None
    for m in methods or methods_for(domain):
        rs = pr.enumerate_regions(net, domain, method=m)
        cert = pr.certify(rs)
        assert cert.ok, (m, cert.reasons)
        got = code_set(rs, cert)
        assert need <= got, (m, "missing", sorted(need - got)[:3])
        assert got <= set(want), (m, "not a cell", sorted(got - set(want))[:3])
        n = len(got)
    return n


# ------------------------------------------------------------------ reproducers
def test_nonhomogeneous_layer_after_huge_weights():
    # A relu6 layer with weights 1e200 after a relu layer: the kernels' rows of the second
    # layer are ~1e200, whose squared norms overflowed to inf (relu6 layers were not
    # rescaled), so 2 of the 9 regions were lost. Non-homogeneous layers are now rescaled
    # too, with their breakpoints and intercepts.
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    W2 = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]) * 1e200
    net = pr.Network.from_arrays([W1, W2, np.ones((1, 2))],
                                 [np.array([0.5, -0.25, 0.0]), np.array([0.5, 3.0]),
                                  np.zeros(1)], activation=["relu", "relu6"])
    assert check_exact(net, pr.Box.cube(2)) == 9


@pytest.mark.parametrize("act", ["hardtanh", "relu6"])
@pytest.mark.parametrize("s", [1e-100, 1e100, 1e150])
def test_nonhomogeneous_extreme_scales(act, s):
    # every layer scaled by s: the breakpoints' slabs become thinner than the tolerance
    # (1e+100) or every hyperplane leaves the box (1e-100); no overflow, no wrong cell
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    W2 = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])
    net = pr.Network.from_arrays([W1 * s, W2 * s, np.ones((1, 2))],
                                 [np.array([0.5, -0.25, 0.0]) * s, np.array([0.5, -0.5]) * s,
                                  np.zeros(1)], activation=act)
    check_exact(net, pr.Box.cube(2))


def test_tiny_box_far_from_origin():
    # A 2e-7 box around (1.25, -0.75), every hyperplane through its centre. The centre,
    # rounded, sat 2e-11 (in units of the box) off one hyperplane: more than the
    # feasibility tolerance 1e-11, so it was kept as the witness of a region with
    # radius 3e-17, which does not survive the map back to float coordinates (the
    # point's exact code was another region's). Feasibility is now floored at the
    # coordinates' float resolution relative to the box (config.RESOLUTION).
    W = np.array([[0.0, 2.0], [-1.0, -2.0], [1.0, -1.0]])
    b = np.array([1.5, -0.25, -2.0])
    net = pr.Network.from_arrays([W, np.ones((1, 3))], [b, np.zeros(1)])
    c = np.array([1.25, -0.75])
    dom = pr.Box(c - 1.0325e-7, c + 1e-7)
    assert check_exact(net, dom) == 6
    rs = pr.enumerate_regions(net, dom)
    assert rs.tolerances.feasibility > pr.config.DEFAULT_TOLERANCES.feasibility


def test_tiny_boxes_far_from_origin_sweep():
    rng = np.random.default_rng(0)
    for _ in range(6):
        W = rng.integers(-3, 4, size=(3, 2)).astype(float)
        c = rng.integers(-4, 5, size=2) / 4.0 + 0.25
        net = pr.Network.from_arrays([W, np.ones((1, 3))], [-(W @ c), np.zeros(1)])
        w = 10.0 ** -rng.integers(5, 8)
        check_exact(net, pr.Box(c - w * (1 + 0.37 * rng.random()), c + w), methods=("lp",))


def test_resolution_floor_leaves_ordinary_domains_alone():
    net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    for dom in (pr.Box.cube(2), pr.Box([100.0, 100.0], [101.0, 101.0]), pr.Space(2)):
        rs = pr.enumerate_regions(net, dom, method="lp")
        assert rs.tolerances == pr.config.DEFAULT_TOLERANCES


# ------------------------------------------------------------------ random sweeps
def _int_net(rng, d, widths, acts, frac=1):
    Ws, bs, n = [], [], d
    for w in list(widths) + [1]:
        W = rng.integers(-2 * frac, 2 * frac + 1, size=(w, n)) / frac
        b = rng.integers(-2 * frac, 2 * frac + 1, size=w) / frac
        if w >= 2 and rng.random() < 0.3:  # duplicate / opposite / scaled neuron
            i, j = rng.choice(w, 2, replace=False)
            f = [1.0, -1.0, 2.0, -0.5][rng.integers(4)]
            W[j], b[j] = f * W[i], f * b[i]
        if w >= 2 and rng.random() < 0.2:  # zero row, bias-only neuron
            W[rng.integers(w)] = 0.0
        Ws.append(W.astype(float))
        bs.append(b.astype(float))
        n = w
    return pr.Network.from_arrays(Ws, bs, activation=acts)


def _domain(rng, d):
    c = rng.integers(4)
    if c == 0:
        return pr.Box.cube(d)
    if c == 1:  # integer box: faces on hyperplanes
        lo = rng.integers(-2, 1, size=d).astype(float)
        return pr.Box(lo, lo + rng.integers(1, 3, size=d))
    if c == 2 and d == 2:  # polytope with a redundant face
        R = rng.integers(-2, 3, size=(2, d)).astype(float)
        R[np.all(R == 0, axis=1), 0] = 1.0
        A = np.vstack([np.eye(d), -np.eye(d), R, 2 * R[:1]])
        b = np.concatenate([np.ones(2 * d), [0.5, 1.0], [3.0]])
        return pr.Polytope(A, b)
    return pr.Box.cube(d, radius=2.0)


def _sweep_exact(seed, n, dims=(1, 2), max_regions=80):
    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        d = int(rng.choice(dims))
        depth = int(rng.integers(1, 4))
        widths = [int(rng.integers(1, 7 if d == 2 else 9)) for _ in range(depth)]
        acts = [ACTS[i] for i in rng.integers(len(ACTS), size=depth)]
        net = _int_net(rng, d, widths, acts, frac=int(rng.choice([1, 2])))
        dom = _domain(rng, d)
        try:
            pr.enumerate_regions(net, dom, max_regions=max_regions)
        except pr.errors.BudgetExceededError:
            continue
        check_exact(net, dom)
        done += 1


def test_random_degenerate_nets_exact():
    _sweep_exact(0, 12)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 9))
def test_random_degenerate_nets_exact_slow(seed):
    _sweep_exact(seed, 40, max_regions=300)


def _sweep_brute(seed, n, dims=(3, 4), max_regions=60):
    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        d = int(rng.choice(dims))
        depth = int(rng.integers(1, 3))
        widths = [int(rng.integers(1, 6)) for _ in range(depth)]
        acts = [ACTS[i] for i in rng.integers(len(ACTS), size=depth)]
        net = _int_net(rng, d, widths, acts)
        dom = pr.Box.cube(d) if rng.random() < 0.7 else pr.Space(d)
        try:
            rs = pr.enumerate_regions(net, dom, method="lp", max_regions=max_regions)
        except pr.errors.BudgetExceededError:
            continue
        want = brute_force_unit(net, dom)
        for m in methods_for(dom):
            r2 = rs if m == "lp" else pr.enumerate_regions(net, dom, method=m)
            assert sorted(map(tuple, r2.codes.astype(int).tolist())) == want, m
            assert pr.certify(r2).ok
        done += 1


def test_random_degenerate_nets_brute_force():
    _sweep_brute(0, 4)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 6))
def test_random_degenerate_nets_brute_force_slow(seed):
    _sweep_brute(seed, 20, dims=(3, 4, 5), max_regions=200)


def test_zaslavsky_generic_layer_on_space():
    rng = np.random.default_rng(3)
    for d, n in [(1, 5), (2, 7), (3, 6), (4, 6), (5, 7)]:
        W = rng.normal(size=(n, d))
        net = pr.Network.from_arrays([W, np.ones((1, n))], [rng.normal(size=n), np.zeros(1)],
                                     activation=ACTS[(d + n) % 4])
        assert len(pr.enumerate_regions(net, pr.Space(d), method="lp")) == zaslavsky(n, d)


def test_slice_of_integer_net_exact():
    # a 2-D slice with integer origin and directions of a 5-D integer net: the fold into
    # the first layer is exact, so the exact oracle applies to the enumeration network
    rng = np.random.default_rng(5)
    net = _int_net(rng, 5, [5, 4], ["hardtanh", "leaky_relu:-0.5"])
    dom = pr.Slice(np.array([0.0, 1.0, -1.0, 0.0, 0.5]),
                   np.array([[1.0, 0.0, 1.0, -1.0, 0.0], [0.0, 1.0, 1.0, 0.0, -1.0]]))
    check_exact(net, dom)
