"""The catalogue of degenerate and extreme cases (issue 8).

Every case has a count checked by hand (or by an independent formula: Zaslavsky for
generic and central arrangements, root finding in 1-D) and is run through every method
(``lp``, ``scipy`` and, on bounded 2-D domains, ``planar``), compared code for code with
the independent brute-force oracle (``oracles.brute_force_unit``) and certified in exact
arithmetic (``pr.certify``).
"""

from math import comb

import numpy as np
import pytest
from scipy.optimize import brentq

import polyregion as pr
from oracles import brute_force_unit, zaslavsky


def methods_for(domain):
    if domain.dim == 2 and domain.bounded:
        return ("lp", "scipy", "planar")
    return ("lp", "scipy")


def codes_of(rs):
    return [tuple(int(v) for v in c) for c in rs.codes]


def check(net, domain, expect=None, codes=None, oracle=True):
    """Run every method; compare with the oracle, the expected count and codes; certify."""
    results = {m: pr.enumerate_regions(net, domain, method=m) for m in methods_for(domain)}
    rs = results["lp"]
    for m, other in results.items():
        assert codes_of(other) == codes_of(rs), m
    if oracle:
        assert codes_of(rs) == brute_force_unit(net, domain)
    if expect is not None:
        assert len(rs) == expect
    if codes is not None:
        assert codes_of(rs) == sorted(codes)
    cert = pr.certify(rs)
    assert cert.ok, cert.reasons
    # the stored points really are interior points with their region's code
    X = domain.to_input(rs.points)
    assert np.array_equal(net.codes(X), rs.codes)
    return rs


def one_layer(W, b, activation="relu"):
    W = np.asarray(W, float)
    return pr.Network.from_arrays([W, np.ones((1, W.shape[0]))],
                                  [np.asarray(b, float), np.zeros(1)], activation=activation)


B2 = pr.Box.cube(2)
B3 = pr.Box.cube(3)


# ----------------------------------------------------------------- coincident hyperplanes
def test_identical_hyperplanes():
    # two copies of x = 0.3: the box is cut once; both neurons switch together
    net = one_layer([[1, 0], [1, 0]], [-0.3, -0.3])
    check(net, B2, 2, codes=[(0, 0), (1, 1)])
    # in 3-D, three copies of one plane plus one transversal plane: 4 regions
    net = one_layer([[1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 0, 1]], [0.1, 0.1, 0.1, 0])
    check(net, B3, 4)


def test_identical_hyperplanes_with_different_scales():
    # (w, b) and (3w, 3b) are the same hyperplane with the same orientation
    net = one_layer([[1, 2], [3, 6]], [0.5, 1.5])
    check(net, B2, 2, codes=[(0, 0), (1, 1)])


def test_opposite_hyperplanes():
    # (w, b) and (-w, -b): one hyperplane, the two neurons are never on together
    net = one_layer([[1, -1], [-1, 1]], [0.2, -0.2])
    check(net, B2, 2, codes=[(0, 1), (1, 0)])
    # opposite through the origin with hard-tanh: u = 2x and -2x share breakpoints at
    # x = +-0.5: three slabs, the codes mirror each other
    net = one_layer([[2, 0], [-2, 0]], [0, 0], "hardtanh")
    check(net, B2, 3, codes=[(0, 2), (1, 1), (2, 0)])


# ----------------------------------------------------------------- concurrent hyperplanes
@pytest.mark.parametrize("k", [3, 4, 5])
def test_k_lines_through_one_point_2d(k):
    # k distinct lines through p: 2k sectors (p is inside the box)
    p = np.array([0.1, -0.2])
    ang = np.pi * (np.arange(k) + 0.3) / k
    W = np.column_stack([np.cos(ang), np.sin(ang)])
    check(one_layer(W, -W @ p), B2, 2 * k)


@pytest.mark.parametrize("k", [3, 4, 5])
def test_k_planes_through_one_point_3d(k):
    # a generic central arrangement of k planes in R^3: 2 * sum_{i<3} C(k-1, i) cells
    rng = np.random.default_rng(k)
    p = np.array([0.2, -0.1, 0.05])
    W = rng.normal(size=(k, 3))
    expect = 2 * sum(comb(k - 1, i) for i in range(3))
    check(one_layer(W, -W @ p), B3, expect)


def test_planes_through_one_line_3d():
    # k planes containing the z-axis: 2k wedges
    k = 4
    ang = np.pi * (np.arange(k) + 0.1) / k
    W = np.column_stack([np.cos(ang), np.sin(ang), np.zeros(k)])
    check(one_layer(W, np.zeros(k)), B3, 2 * k)


def test_concurrent_lines_from_two_layers():
    # layer 1: x = 0 and y = 0; layer 2: relu(x) - relu(y) = 0 bends along x = y in the
    # quadrant x, y > 0 and lies on the axis rays elsewhere; by hand: 5 regions
    net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, -1.0]]), np.ones((1, 1))],
                                 [np.zeros(2), np.zeros(1), np.zeros(1)])
    check(net, B2, 5)


@pytest.mark.parametrize("eps,expect", [(1e-6, 4), (1e-9, 4), (1e-13, 2)])
def test_nearly_parallel_lines(eps, expect):
    """x = 0 and x + eps y = 0 cross at the origin: four thin wedges by hand, as long as
    the wedges' inscribed radius (~eps / 3 here) exceeds feasibility * scale ~ 1.4e-11.

    Only lp and planar are compared: HiGHS drops matrix entries below 1e-9, so the scipy
    path (and the HiGHS-based oracle) lose the eps = 1e-9 wedges.
    """
    net = one_layer([[1, 0], [1, eps]], [0, 0])
    rs = pr.enumerate_regions(net, B2, method="lp")
    assert len(rs) == expect
    assert codes_of(pr.enumerate_regions(net, B2, method="planar")) == codes_of(rs)
    assert pr.certify(rs).ok


@pytest.mark.parametrize("eps,expect", [(1e-6, 6), (1e-10, 6), (1e-11, 4), (1e-15, 4)])
def test_nearly_coincident_parallel_lines(eps, expect):
    """x = 0 and x = -eps bound a slab of width eps, a region iff eps / 2 > 1e-11 * sqrt(2)
    (the box's scale); y = -0.3 crosses both."""
    net = one_layer([[1, 0], [1, 0], [0, 1]], [0, eps, 0.3])
    rs = pr.enumerate_regions(net, B2, method="lp")
    assert len(rs) == expect
    for m in ("planar", "scipy"):
        assert codes_of(pr.enumerate_regions(net, B2, method=m)) == codes_of(rs), m
    assert pr.certify(rs).ok


# ----------------------------------------------------------------- domain corners and facets
def test_hyperplanes_through_domain_corners():
    check(one_layer([[1, 1]], [-2]), B2, 1, codes=[(0,)])         # touches (1, 1) only
    check(one_layer([[1, -1]], [0]), B2, 2)                        # the diagonal
    check(one_layer([[1, 1, 1]], [3]), B3, 1, codes=[(1,)])       # touches (-1, -1, -1)
    check(one_layer([[1, 1], [1, -1]], [0, 0]), B2, 4)             # both diagonals


def test_hyperplanes_along_domain_facets():
    # x = 1 and x = -1: on the boundary, not regions; the codes are the interior's
    check(one_layer([[1, 0]], [-1]), B2, 1, codes=[(0,)])
    check(one_layer([[1, 0]], [1]), B2, 1, codes=[(1,)])
    check(one_layer([[1, 0], [0, 1], [0, 1]], [-1, 1, 0]), B2, 2,
          codes=[(0, 1, 0), (0, 1, 1)])
    # a polytope's facet: the triangle x, y >= 0, x + y <= 1 with x + y = 1 and x = 0
    tri = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    check(one_layer([[1, 1], [1, 0]], [-1, 0]), tri, 1, codes=[(0, 1)])


# ----------------------------------------------------------------- constant neurons
def test_dead_and_always_on_neurons():
    # neuron 0 is dead (u <= -4), neuron 1 always on (u >= 4), neuron 2 cuts x = 0.25
    net = one_layer([[1, 1], [1, -1], [1, 0]], [-6, 6, -0.25])
    check(net, B2, 2, codes=[(0, 1, 0), (0, 1, 1)])


def test_dead_layer_makes_next_layer_constant():
    # every neuron of layer 1 is dead on the box: layer 2 sees the constant 0 and its
    # neuron (bias 0.5) is on everywhere
    net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2)), np.ones((1, 1))],
                                 [np.full(2, -5.0), np.array([0.5]), np.zeros(1)])
    check(net, B2, 1, codes=[(0, 0, 1)])


def test_deeper_neuron_cancelling_exactly_at_its_breakpoint_takes_the_upper_piece():
    # first layer: six lines through (0.3, -0.2); where all six are active, the first
    # row of layer 2 is x + y - (x+y) - (x-y) + (2x+y) - (x+2y) = 0 with offset 0, exactly
    # the breakpoint: the upper piece (code 1) in every engine, whatever sign the
    # rounding of the cancellation leaves (it differed between engines before)
    W1 = np.array([[1, 0], [0, 1], [1, 1], [1, -1], [2, 1], [1, 2]], float)
    W2 = np.array([[1, 1, -1, -1, 1, -1], [0.3, -0.5, 0.2, 0.1, 0.7, -0.4]])
    net = pr.Network.from_arrays([W1, W2, np.ones((1, 2))],
                                 [-W1 @ np.array([0.3, -0.2]), np.zeros(2), np.zeros(1)])
    results = {m: pr.enumerate_regions(net, B2, method=m) for m in methods_for(B2)}
    for m, rs in results.items():
        assert codes_of(rs) == codes_of(results["planar"]), m
        on = [c for c in codes_of(rs) if c[:6] == (1,) * 6]
        assert on and all(c[6] == 1 for c in on), (m, on)
        cert = pr.certify(rs)
        assert cert.ok and not cert.ambiguous, (m, cert)


def cancelling_layer_net(d, seed):
    """Three planes through a common point (d = 2) or line (d = 3), rows ``a``, ``b`` and
    ``fl(a + b)``, then one neuron ``u = relu(p) + relu(q) - relu(p + q)``: every row of
    layer 2 cancels to rounding where all three are on (``a + b - fl(a + b)`` is a
    rounding residual, not zero). In exact arithmetic ``u >= 0`` everywhere (``u = 0``
    where ``p, q`` have one sign, ``-q`` or ``p`` where they differ), so layer 2 never
    splits a cell and always takes its upper piece: the six sectors of the planes."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-0.5, 0.5, d)
    a, b = rng.normal(size=d), rng.normal(size=d)
    W1 = np.array([a, b, a + b])
    b1 = np.array([-a @ x0, -b @ x0, 0.0])
    b1[2] = b1[0] + b1[1]
    return pr.Network.from_arrays([W1, np.array([[1.0, 1.0, -1.0]]), np.ones((1, 1))],
                                  [b1, np.zeros(1), np.zeros(1)])


@pytest.mark.parametrize("d,seed", [(2, s) for s in range(10)] + [(3, s) for s in range(4)])
def test_layer_whose_every_row_cancels_to_rounding_is_constant(d, seed):
    # before the term-size scale of the constant-row test, the residual rows were taken
    # for hyperplanes of random direction: spurious regions, engines disagreeing and
    # certificates failing on about half of these nets
    net = cancelling_layer_net(d, seed)
    box = B2 if d == 2 else B3
    sectors = sorted([(1, 1, 1, 1), (0, 0, 0, 1), (1, 0, 1, 1), (1, 0, 0, 1), (0, 1, 1, 1),
                      (0, 1, 0, 1)])
    for m in methods_for(box):
        rs = pr.enumerate_regions(net, box, method=m)
        assert codes_of(rs) == sectors, m
        cert = pr.certify(rs)
        assert cert.ok, (m, cert.reasons)
        # the forward pass gives the stored codes at the stored points (the rounding
        # sign of u there does not pick the piece)
        assert np.array_equal(net.codes(rs.points), rs.codes), m
    # each sector touches the two next to it: a cycle of six facets
    G = rs.adjacency()
    assert sorted(dict(G.degree()).values()) == [2] * 6
    report = pr.verify(rs, n=20000, seed=seed)
    assert report.passed, report


def test_forward_pass_of_a_cancelling_row_takes_the_upper_piece():
    # points of the cell where all three first-layer neurons are on, where u is a
    # rounding residual of either sign: always the upper piece, in Network.codes and in
    # the sampler's forward pass
    from polyregion.sampling import _forward_codes

    net = cancelling_layer_net(2, 9)
    W1, b1 = net.weights[0], net.biases[0]
    x0 = np.linalg.solve(W1[:2], -b1[:2])
    PQ = np.random.default_rng(0).uniform(0.0, 0.05, (5000, 2))  # p, q > 0
    X = x0 + np.linalg.solve(W1[:2], PQ.T).T
    h = np.maximum(X @ W1.T + b1, 0.0)
    u = h @ net.weights[1][0]
    assert np.all(h > 0) and (u < 0).sum() > 100 and (u > 0).sum() > 100  # both signs
    C = net.codes(X)
    assert np.all(C == 1)
    assert np.array_equal(_forward_codes(net.effective_layers(), net.activations, X), C)


def slice_in_hyperplane(seed, n_other):
    """A 2-D Slice of 3-D input lying in the hyperplane of first-layer neuron 0 (its
    directions orthogonal to the row by float QR, so the composed row is a rounding
    residual), ``n_other`` generic first-layer neurons, then a layer of two."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=3)
    Q, _ = np.linalg.qr(np.column_stack([w, rng.normal(size=(3, 2))]))
    x0 = rng.normal(size=3)
    W1 = np.vstack([w, rng.normal(size=(n_other, 3))])
    b1 = np.concatenate([[-w @ x0], rng.normal(size=n_other) * 0.1])
    W2, b2 = rng.normal(size=(2, 1 + n_other)), rng.normal(size=2) * 0.1
    net = pr.Network.from_arrays([W1, W2, rng.normal(size=(1, 2))], [b1, b2, np.zeros(1)])
    return net, pr.Slice(x0, Q[:, 1:].T, B2), (W1[1:], b1[1:], W2[:, 1:], b2)


@pytest.mark.parametrize("seed,n_other", [(s, s % 3) for s in range(6)])
def test_slice_lying_in_a_first_layer_hyperplane(seed, n_other):
    # neuron 0 is zero on the whole slice (up to rounding): constant at its breakpoint,
    # the upper piece; the regions are those of the net without it. Before, its residual
    # row (~1e-17) was a hyperplane of random direction when it was alone in its layer,
    # and the sampler's forward pass gave it a random piece at each point
    net, dom, (W1, b1, W2, b2) = slice_in_hyperplane(seed, n_other)
    if n_other:
        rest = pr.Network.from_arrays([W1, W2, np.ones((1, 2))], [b1, b2, np.zeros(1)])
        expect = sorted((1,) + c for c in brute_force_unit(rest, dom))  # the oracle
    else:  # layer 2 sees the constant 0: one region
        expect = [(1,) + tuple(int(v) for v in (b2 >= 0))]
    for m in methods_for(dom):
        rs = pr.enumerate_regions(net, dom, method=m)
        assert codes_of(rs) == expect, m
        cert = pr.certify(rs)
        assert cert.ok, (m, cert.reasons)
        # in the slice's coordinates the row is exactly zero (Network.restrict); in the
        # input space the points lie on neuron 0's hyperplane up to rounding, where the
        # float forward pass cannot tell the side
        assert np.array_equal(net.for_domain(dom).codes(rs.points), rs.codes), m
    report = pr.verify(rs, n=20000, seed=seed)
    assert report.passed, report


def cancelling_net(seed):
    """A random net built to cancel: three random first-layer rows and three integer
    combinations of them (computed in float64, so their sums cancel only up to
    rounding), then a layer of integer combinations of the first layer (rows that cancel
    where their neurons are on, often the whole layer), sometimes with one Gaussian row."""
    rng = np.random.default_rng(seed)
    base, bb = rng.normal(size=(3, 2)), rng.normal(size=3) * 0.3
    C = rng.integers(-1, 2, size=(3, 3))
    W1, b1 = np.vstack([base, C @ base]), np.concatenate([bb, C @ bb])
    W2 = rng.integers(-1, 2, size=(rng.integers(1, 4), 6)).astype(float)
    if rng.random() < 0.5:
        W2 = np.vstack([W2, rng.normal(size=(1, 6))])
    b2 = np.where(rng.random(len(W2)) < 0.5, 0.0, rng.normal(size=len(W2)) * 0.1)
    act = ["relu", "leaky_relu", "hardtanh", "abs"][seed % 4]
    return pr.Network.from_arrays([W1, W2, rng.normal(size=(1, len(W2)))],
                                  [b1, b2, np.zeros(1)], activation=act)


def check_cancelling(seed):
    net = cancelling_net(seed)
    results = {m: pr.enumerate_regions(net, B2, method=m) for m in methods_for(B2)}
    for m, rs in results.items():
        assert codes_of(rs) == codes_of(results["lp"]), m
        cert = pr.certify(rs)
        assert cert.ok, (m, cert.reasons)
    rs = results["lp"]
    assert np.array_equal(net.codes(rs.points), rs.codes)
    # sampled patterns are regions (before the term-size rule: 4 of the first 100 nets
    # failed here or in certify)
    report = pr.verify(rs, n=20000, seed=seed)
    assert report.passed, report
    assert rs.adjacency().graph["stats"]["n_one_sided"] == 0


@pytest.mark.parametrize("seed", range(8))
def test_random_cancelling_nets(seed):
    check_cancelling(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8, 120))
def test_random_cancelling_nets_long(seed):
    check_cancelling(seed)


@pytest.mark.parametrize("bias,code", [(0.5, 1), (-0.5, 0), (0.0, 1)])
def test_zero_weight_rows(bias, code):
    # a zero row is a constant neuron; at exactly the breakpoint it takes the upper piece
    # (searchsorted(..., side="right")), like Network.codes
    net = one_layer([[0, 0], [1, 0]], [bias, 0])
    check(net, B2, 2, codes=[(code, 0), (code, 1)])


@pytest.mark.parametrize("bias,code", [(-1.0, 1), (1.0, 2), (0.3, 1), (-7.0, 0)])
def test_zero_weight_rows_hardtanh(bias, code):
    net = one_layer([[0, 0], [2, 0]], [bias, 0], "hardtanh")
    check(net, B2, 3, codes=[(code, 0), (code, 1), (code, 2)])


def test_all_zero_first_layer():
    net = pr.Network.from_arrays([np.zeros((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
    check(net, B2, 1, codes=[(1, 1, 1)])


def test_no_hyperplane_meets_the_domain():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 2))
    # every hyperplane w.x = -b sits at distance >= 3 ||w|| from the origin: it misses
    # the unit box (which lies in the ball of radius sqrt(2))
    b = 3.0 * np.linalg.norm(W, axis=1) * rng.choice([-1.0, 1.0], size=6)
    net = one_layer(W, b)
    rs = check(net, B2, 1)
    assert np.array_equal(rs.codes[0], net.codes(np.zeros((1, 2)))[0])


def test_no_hidden_layer_is_one_region():
    net = pr.Network.from_arrays([np.ones((1, 2))], [np.zeros(1)])
    rs = pr.enumerate_regions(net, B2)
    assert len(rs) == 1 and rs.codes.shape == (1, 0)
    assert pr.certify(rs).ok


# ----------------------------------------------------------------- extreme magnitudes
def base_net(activation="relu"):
    rng = np.random.default_rng(3)
    Ws = [rng.normal(size=(4, 2)), rng.normal(size=(3, 4)), rng.normal(size=(1, 3))]
    bs = [rng.normal(size=4) * 0.4, rng.normal(size=3) * 0.4, np.zeros(1)]
    return Ws, bs


SCALES = [1e-8, 1e8, 1e-100, 1e100, 1e-150, 1e150]


@pytest.mark.parametrize("s,activation", [(s, "relu") for s in SCALES] + [
    (1e-100, "abs"), (1e150, "leaky_relu:0.1"),
    *[pytest.param(s, a, marks=pytest.mark.slow) for s in SCALES
      for a in ("abs", "leaky_relu:0.1")]])
def test_scaled_weights_and_biases(s, activation):
    """Scaling every layer of a positively homogeneous net keeps its partition.

    Layer l's bias scales like the product of the first l + 1 weight scales. Beyond
    about 1e+-77 the squared row norms of the second layer under/overflow in float64;
    the engine rescales such layers by exact powers of two first (the regression).
    """
    Ws, bs = base_net()
    ref = pr.enumerate_regions(pr.Network.from_arrays(Ws, bs, activation=activation), B2)
    net = pr.Network.from_arrays([Ws[0] * s, Ws[1] * s, Ws[2]],
                                 [bs[0] * s, bs[1] * s * s, bs[2]], activation=activation)
    with np.errstate(over="ignore", under="ignore"):
        for m in methods_for(B2):
            assert codes_of(pr.enumerate_regions(net, B2, method=m)) == codes_of(ref), m
    if 1e-10 <= s <= 1e10 and activation == "relu":
        assert codes_of(ref) == brute_force_unit(net, B2)
    assert pr.certify(pr.enumerate_regions(net, B2)).ok


def test_hardtanh_with_large_weights_has_thin_slabs():
    # weights 1e8 make hard-tanh slabs |u| <= 1 of width ~1e-8: genuine thin regions.
    # (The scipy path lost one of them with HiGHS' default 1e-7 tolerances.)
    Ws, bs = base_net()
    s = 1e8
    net = pr.Network.from_arrays([Ws[0] * s, Ws[1] * s, Ws[2]], [bs[0] * s, bs[1] * s * s, bs[2]],
                                 activation=["hardtanh", "relu"])
    rs = check(net, B2)
    assert rs.radii.min() < 1e-7


def test_float32_inputs():
    Ws, bs = base_net()
    W32 = [W.astype(np.float32) for W in Ws]
    b32 = [b.astype(np.float32) for b in bs]
    net32 = pr.Network.from_arrays(W32, b32)
    net64 = pr.Network.from_arrays([W.astype(np.float64) for W in W32],
                                   [b.astype(np.float64) for b in b32])
    assert all(W.dtype == np.float64 for W in net32.weights)
    rs = check(net32, B2)
    assert codes_of(rs) == codes_of(pr.enumerate_regions(net64, B2))
    # float32 domain bounds too
    box = pr.Box(np.array([-1, -1], np.float32), np.array([1, 1], np.float32))
    assert codes_of(pr.enumerate_regions(net32, box)) == codes_of(rs)


@pytest.mark.parametrize("center,side", [((0.0, 0.0), 1e-9), ((1e6, -1e6), 2.0),
                                         ((1e6, 1e6), 1e-3), ((-3.0, 7.0), 1e-9)])
def test_tiny_and_far_boxes(center, side):
    """g(x) = f((x - c) / r) on c + [-r, r]^2 has the partition of f on [-1, 1]^2."""
    Ws, bs = base_net()
    c, r = np.array(center), side / 2
    ref = pr.enumerate_regions(pr.Network.from_arrays(Ws, bs), B2)
    W0 = Ws[0] / r
    net = pr.Network.from_arrays([W0] + Ws[1:], [bs[0] - W0 @ c] + bs[1:])
    box = pr.Box.cube(2, radius=r, center=c)
    rs = check(net, box, len(ref))
    assert codes_of(rs) == codes_of(ref)
    assert np.all(rs.radii > 0) and np.all(np.abs(rs.points - c) <= r)


def test_domain_thinner_than_the_tolerance_is_refused():
    net = one_layer([[0, 1]], [-0.5])
    with pytest.raises(pr.InvalidDomainError, match="too thin for the feasibility tolerance"):
        pr.enumerate_regions(net, pr.Box([0, 0], [1e-13, 1]))
    # a smaller tolerance accepts it, and the line y = 0.5 still cuts it
    rs = pr.enumerate_regions(net, pr.Box([0, 0], [1e-13, 1]),
                              tolerances=pr.Tolerances(feasibility=1e-15))
    assert len(rs) == 2


def test_width_zero_layers_rejected():
    with pytest.raises(pr.InvalidNetworkError, match=r"`weights\[0\]` has a zero dimension"):
        pr.Network.from_arrays([np.zeros((0, 2)), np.zeros((1, 0))], [np.zeros(0), np.zeros(1)])
    with pytest.raises(pr.InvalidNetworkError, match=r"`weights\[1\]` has a zero dimension"):
        pr.Network.from_arrays([np.eye(2), np.zeros((0, 2)), np.zeros((1, 0))],
                               [np.zeros(2), np.zeros(0), np.zeros(1)])


# ----------------------------------------------------------------- 1-D nets
def switch_points_1d(net, lo, hi, n_grid=20001):
    """Distinct points of (lo, hi) where some neuron's pre-activation crosses one of its
    breakpoints, by sign changes on a fine grid refined with brentq (independent of the
    engine: only Network.forward-style arithmetic on points)."""
    def preacts(x):
        z = np.atleast_2d(x).reshape(-1, 1)
        out = []
        for l, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
            u = z @ W.T + b
            out.append((u, net.activations[l]))
            z = net.activations[l](u)
        return out

    xs = np.linspace(lo, hi, n_grid)
    roots = []
    for layer, (u, act) in enumerate(preacts(xs)):
        for j in range(u.shape[1]):
            for t in act.breakpoints:
                v = u[:, j] - t
                for i in np.flatnonzero(np.sign(v[:-1]) * np.sign(v[1:]) < 0):
                    f = lambda x: preacts(np.array([x]))[layer][0][0, j] - t  # noqa: E731
                    roots.append(brentq(f, xs[i], xs[i + 1], xtol=1e-14))
    roots = np.sort(np.array(roots))
    if len(roots):
        roots = roots[np.concatenate([[True], np.diff(roots) > 1e-9])]
    return roots


@pytest.mark.parametrize("activation", ["relu", "abs", "hardtanh", "relu6", "leaky_relu:0.2"])
@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_one_d_nets_by_root_finding(activation, seed):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(size=(5, 1)) * 3, rng.normal(size=(4, 5)), rng.normal(size=(1, 4))]
    bs = [rng.normal(size=5), rng.normal(size=4), np.zeros(1)]
    net = pr.Network.from_arrays(Ws, bs, activation=activation)
    roots = switch_points_1d(net, -2.0, 2.0)
    rs = check(net, pr.Box([-2.0], [2.0]), len(roots) + 1)
    # the code on each interval between consecutive switch points is one region's code
    edges = np.concatenate([[-2.0], roots, [2.0]])
    mids = 0.5 * (edges[:-1] + edges[1:])
    assert sorted(map(tuple, net.codes(mids[:, None]).tolist())) == codes_of(rs)


def test_one_d_distinct_breakpoints():
    # n distinct breakpoints -b/w inside the interval: n + 1 regions; duplicates count once
    w = np.array([1.0, -2.0, 4.0, 1.0, 0.5])
    b = np.array([-0.5, 0.2, 1.0, -0.5, 0.0])   # breakpoints 0.5, 0.1, -0.25, 0.5, 0
    check(one_layer(w[:, None], b), pr.Box([-1.0], [1.0]), 5)


# ----------------------------------------------------------------- higher dimensions
def test_eight_d_central_arrangement():
    # 6 generic hyperplanes through the centre of an 8-D box: all 2^6 sign patterns
    rng = np.random.default_rng(8)
    W = rng.normal(size=(6, 8))
    c = np.full(8, 0.1)
    rs = pr.enumerate_regions(one_layer(W, -W @ c), pr.Box.cube(8, center=c))
    assert len(rs) == 2 ** 6
    assert pr.certify(rs).ok


def test_eight_d_two_layers_lp_equals_oracle():
    rng = np.random.default_rng(88)
    net = pr.Network.from_arrays([rng.normal(size=(3, 8)), rng.normal(size=(2, 3)),
                                  rng.normal(size=(1, 2))],
                                 [rng.normal(size=3) * 0.3, rng.normal(size=2) * 0.3, np.zeros(1)])
    rs = check(net, pr.Box.cube(8))
    assert len(rs) >= 8


@pytest.mark.parametrize("n,d", [(6, 2), (5, 3), (6, 4), (9, 8)])
def test_space_zaslavsky(n, d):
    rng = np.random.default_rng(100 + n + d)
    net = one_layer(rng.normal(size=(n, d)), rng.normal(size=n))
    rs = pr.enumerate_regions(net, pr.Space(d))
    assert len(rs) == zaslavsky(n, d) == sum(comb(n, i) for i in range(d + 1))
    if d <= 3:
        assert codes_of(pr.enumerate_regions(net, pr.Space(d), method="scipy")) == codes_of(rs)
    assert pr.certify(rs).ok


# ----------------------------------------------------------------- unbounded polytopes
def test_unbounded_quadrant():
    # x, y >= 0 cut by x = 1, y = 1 and the diagonal x = y: 6 regions (by hand)
    quad = pr.Polytope([[-1, 0], [0, -1]], [0, 0])
    assert not quad.bounded
    check(one_layer([[1, 0], [0, 1], [1, -1]], [-1, -1, 0]), quad, 6)


def test_unbounded_half_plane_generic():
    # n generic lines, half-plane y <= 0.1: add the boundary line to the arrangement;
    # the regions below it are Zaslavsky(n + 1, 2) minus those above it
    rng = np.random.default_rng(5)
    n = 5
    W, b = rng.normal(size=(n, 2)), rng.normal(size=n)
    half = pr.Polytope([[0, 1]], [0.1])
    rs = check(one_layer(W, b), half)
    above = pr.enumerate_regions(one_layer(W, b), pr.Polytope([[0, -1]], [-0.1]))
    assert len(rs) + len(above) == zaslavsky(n + 1, 2)


# ----------------------------------------------------------------- two-breakpoint neurons
def test_hardtanh_both_breakpoints_in_the_cell():
    check(one_layer([[2, 0]], [0], "hardtanh"), B2, 3, codes=[(0,), (1,), (2,)])
    check(one_layer([[2, 0], [0, 2]], [0, 0], "hardtanh"), B2, 9)
    # only one breakpoint meets the box: u = 2x + 1.5 = -1 at x = -1.25 (outside)
    check(one_layer([[2, 0]], [1.5], "hardtanh"), B2, 2, codes=[(1,), (2,)])


def test_relu6_both_breakpoints_in_the_cell():
    check(one_layer([[12, 0]], [0], "relu6"), B2, 3, codes=[(0,), (1,), (2,)])
    # u1 = 6(x + y), u2 = 6(x - y): lines x + y = 0, 1 and x - y = 0, 1; of their four
    # crossings, (1, 0) lies on the box's boundary: 1 + 4 lines + 3 crossings = 8
    check(one_layer([[6, 6], [6, -6]], [0, 0], "relu6"), B2, 8)


def test_hardtanh_breakpoints_through_one_point_and_a_corner():
    # u1 = x + y: lines x + y = -1 and x + y = 1; u2 = x - y + 1: breakpoint -1 is
    # y = x + 2 (touches the corner (-1, 1) only), breakpoint 1 is y = x, which crosses
    # u1's lines at (-0.5, -0.5) and (0.5, 0.5): 1 + 3 lines + 2 crossings = 6
    net = one_layer([[1, 1], [1, -1]], [0, 1], "hardtanh")
    check(net, B2, 6)


def test_second_layer_hardtanh_with_two_cuts():
    # layer 2 computes 3 relu(x): its hard-tanh breakpoints are x = -1/3 and 1/3, but only
    # 1/3 is reachable (relu >= 0); hand count: x < 0 | 0 < x < 1/3 | x > 1/3 -> 3 regions
    net = pr.Network.from_arrays([np.array([[1.0, 0.0]]), np.array([[3.0]]), np.ones((1, 1))],
                                 [np.zeros(1), np.zeros(1), np.zeros(1)],
                                 activation=["relu", "hardtanh"])
    check(net, B2, 3, codes=[(0, 1), (1, 1), (1, 2)])
