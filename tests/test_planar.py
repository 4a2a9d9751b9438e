"""The 2-D fast path (method="planar") against the LP path and independent oracles.

Oracles: ``brute_force_net`` (fresh HiGHS Chebyshev LPs on both sides of every line),
hand counts of degenerate arrangements, Euler's relation V - E + F = 1 and the total area
of the polygon complex rebuilt from each region's constraints (not from the kernel's
polygons), and scipy's Chebyshev LP for the exact inscribed circle.
"""

import numpy as np
import pytest
from scipy.optimize import linprog

import polyregion as pr
from oracles import brute_force_net, he_net, merge_close_points, sampled_codes
from polyregion.config import Tolerances
from polyregion.errors import BudgetExceededError, InvalidInputError

ACTS = ["relu", "leaky_relu:0.1", "abs", "hardtanh", "relu6"]
# activation -> (domain radius, weight scale) so that every breakpoint is reached
REACH = {"relu": (1.0, 1.0), "leaky_relu:0.1": (1.0, 1.0), "abs": (1.0, 1.0),
         "hardtanh": (2.0, 1.0), "relu6": (4.0, 2.0)}


def codes_of(rs):
    return [tuple(int(v) for v in c) for c in rs.codes]


def random_net(rng, d, widths, act, scale=1.0):
    Ws, bs, n = [], [], d
    for w in list(widths) + [1]:
        Ws.append(rng.normal(size=(w, n)) * scale)
        bs.append(rng.normal(size=w) * 0.5 * scale)
        n = w
    return pr.Network.from_arrays(Ws, bs, activation=act)


def random_polygon(rng, radius, m=7):
    """A random convex polygon around the origin as a Polytope."""
    ang = 2 * np.pi * np.arange(m) / m + rng.uniform(-0.3, 0.3, m)  # gaps < pi: bounded
    A = np.column_stack([np.cos(ang), np.sin(ang)])
    return pr.Polytope(A, radius * rng.uniform(0.5, 1.0, m))


def make_domain(kind, rng, radius):
    if kind == "box":
        return pr.Box(-radius * rng.uniform(0.6, 1.0, 2), radius * rng.uniform(0.6, 1.0, 2))
    if kind == "polytope":
        return random_polygon(rng, radius)
    # a 2-D slice of a 4-D input; the inner domain is a box
    D = rng.normal(size=(2, 4))
    D /= np.linalg.norm(D, axis=1)[:, None]
    return pr.Slice(rng.normal(size=4) * 0.1, D, pr.Box.cube(2, radius=radius))


def check_points(net, rs):
    """Interior points carry their region's code, and their certified disks do too."""
    enum = net.for_domain(rs.domain)
    assert np.array_equal(enum.codes(rs.points), rs.codes)
    assert np.all(rs.radii > 0) and np.all(rs.domain.contains(rs.points))
    ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ring = np.column_stack([np.cos(ang), np.sin(ang)])
    for i in range(len(rs)):
        X = rs.points[i] + 0.99 * rs.radii[i] * ring
        assert np.all(enum.codes(X) == rs.codes[i])


# ------------------------------------------------------------------ random nets
KINDS = ["box", "polytope", "slice"]


def run_random(act, kind, seed, widths_list):
    rng = np.random.default_rng(seed)
    radius, scale = REACH[act]
    for widths in widths_list:
        d = 4 if kind == "slice" else 2
        net = random_net(rng, d, widths, act, scale)
        dom = make_domain(kind, rng, radius)
        rs = pr.enumerate_regions(net, dom, method="planar")
        assert rs.stats.method == "planar"
        assert rs == pr.enumerate_regions(net, dom, method="lp")
        assert codes_of(rs) == brute_force_net(net, dom, tol=1e-9)
        check_points(net, rs)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("kind", KINDS)
def test_random_nets_match_lp_and_brute_force(act, kind):
    widths = [4, 3] if act in ("relu", "leaky_relu:0.1", "abs") else [3, 3]
    run_random(act, kind, ACTS.index(act) * 10 + KINDS.index(kind), [widths])


@pytest.mark.slow
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(1, 6))
def test_random_nets_match_lp_and_brute_force_long(act, kind, seed):
    run_random(act, kind, 1000 * seed + ACTS.index(act) * 10 + KINDS.index(kind),
               [[6], [5, 4], [3, 3, 3]])


@pytest.mark.parametrize("act", ACTS)
def test_random_deeper_nets_match_lp(act):
    rng = np.random.default_rng(100 + ACTS.index(act))
    radius, scale = REACH[act]
    for widths in ([6, 5, 4], [8, 8]):
        for kind in ("box", "polytope", "slice"):
            d = 4 if kind == "slice" else 2
            net = random_net(rng, d, widths, act, scale)
            dom = make_domain(kind, rng, radius)
            rs = pr.enumerate_regions(net, dom, method="planar")
            assert rs == pr.enumerate_regions(net, dom, method="lp")
            lo, hi = dom.bounds()
            X = rng.uniform(lo, hi, size=(4000, 2))
            X = X[dom.contains(X)]
            assert sampled_codes(net.for_domain(dom), X) <= set(codes_of(rs))
    # one three-layer net against the brute-force oracle as well
    net = random_net(rng, 2, [3, 3, 2] if act in ("relu", "abs") else [3, 2, 2], act, scale)
    dom = pr.Box.cube(2, radius=radius)
    rs = pr.enumerate_regions(net, dom, method="planar")
    assert codes_of(rs) == brute_force_net(net, dom, tol=1e-9)


@pytest.mark.parametrize("widths", [[8, 8], [16, 16], [12, 12, 12]])
def test_he_nets_match_lp(widths):
    # He init with tiny biases: genuine cells with radii down to ~1e-9
    net = he_net(widths, 2, seed=sum(widths))
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    assert rs.stats.method == "planar"
    assert rs == pr.enumerate_regions(net, pr.Box.cube(2), method="lp")
    check_points(net, rs)


def test_he_net_matches_scipy_reference():
    net = he_net([4, 4], 2, seed=3)
    rs = pr.enumerate_regions(net, pr.Box.cube(2), method="planar")
    assert rs == pr.enumerate_regions(net, pr.Box.cube(2), method="scipy")
    assert codes_of(rs) == brute_force_net(net, pr.Box.cube(2), tol=1e-11)


# ------------------------------------------------------------------ degenerate, hand-checked
def net_of(W, b, act="relu"):
    W = np.asarray(W, float)
    return pr.Network.from_arrays([W, np.ones((1, W.shape[0]))], [np.asarray(b, float),
                                                                  np.zeros(1)], activation=act)


def both(net, dom=None):
    dom = pr.Box.cube(2) if dom is None else dom
    rs = pr.enumerate_regions(net, dom, method="planar")
    assert rs == pr.enumerate_regions(net, dom, method="lp")
    check_points(net, rs)
    return rs


def test_lines_through_corners_and_along_facets():
    # x + y = 2 touches only the corner (1, 1); x - y = 0 is the diagonal through two
    # corners; x = 1 and y = -1 are facets; x = -1 + 1e-3 cuts a thin strip
    net = net_of([[1, 1], [1, -1], [1, 0], [0, 1], [1, 0]], [-2, 0, -1, 1, 1 - 1e-3])
    rs = both(net)
    assert codes_of(rs) == brute_force_net(net, pr.Box.cube(2))
    assert len(rs) == 4  # the diagonal and the thin strip's line, crossing inside
    # a triangle domain, a line through one of its vertices and one along an edge
    tri = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    net = net_of([[1, -1], [1, 1], [0, 1]], [0, -1, -0.5])
    rs = both(net, tri)
    assert codes_of(rs) == brute_force_net(net, tri) and len(rs) == 3


@pytest.mark.parametrize("k", [3, 4, 7])
def test_lines_through_one_point(k):
    ang = np.linspace(0, np.pi, k, endpoint=False) + 0.1
    c = np.array([0.3, -0.2])
    W = np.column_stack([np.cos(ang), np.sin(ang)])
    rs = both(net_of(W, -W @ c))
    assert len(rs) == 2 * k
    # three lines through a box corner: 4 regions inside the box
    W = np.array([[1.0, -2.0], [2.0, -1.0], [1.0, -1.0]])
    rs = both(net_of(W, -W @ np.array([1.0, 1.0])))
    assert len(rs) == 4


def test_duplicate_opposite_and_dead_neurons():
    # x, x (duplicate), -x (opposite), y: the 4 quadrants
    rs = both(net_of([[1, 0], [1, 0], [-1, 0], [0, 1]], [0, 0, 0, 0]))
    assert codes_of(rs) == [(0, 0, 1, 0), (0, 0, 1, 1), (1, 1, 0, 0), (1, 1, 0, 1)]
    # zero rows with positive / negative bias, a neuron dead on the whole box, one line
    rs = both(net_of([[0, 0], [0, 0], [1, 0], [0, 1]], [1, -1, -5, 0.3]))
    assert codes_of(rs) == [(1, 0, 0, 0), (1, 0, 0, 1)]
    # a second layer constant where the first layer is off; a second-layer line that
    # coincides with a first-layer line (relu(x) - 0 switches where x does)
    W = [np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 0.0]]),
         np.ones((1, 2))]
    net = pr.Network.from_arrays(W, [np.zeros(2), np.array([0.0, 0.5]), np.zeros(1)])
    # (where x < 0 the first unit of layer 2 is the constant 0, exactly at its breakpoint:
    # code 1 by the searchsorted convention; the brute-force oracle is ambiguous there)
    rs = both(net)
    assert codes_of(rs) == [(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)]


def test_two_breakpoints_sequential():
    # hardtanh(2x): pieces x < -0.5, -0.5 < x < 0.5, x > 0.5 -> 3 strips
    rs = both(net_of([[2.0, 0.0]], [0.0], "hardtanh"))
    assert codes_of(rs) == [(0,), (1,), (2,)]
    # relu6(8x + 2): breakpoints x = -0.25, 0.5; relu6(8y - 2): y = 0.25 and y = 1 (a facet)
    net = net_of([[8.0, 0.0], [0.0, 8.0]], [2.0, -2.0], "relu6")
    rs = both(net)
    assert codes_of(rs) == brute_force_net(net, pr.Box.cube(2))
    assert len(rs) == 3 * 2
    # both breakpoints of one neuron meet the box corner only
    rs = both(net_of([[0.5, 0.5]], [0.0], "hardtanh"))
    assert codes_of(rs) == [(1,)]


def test_slice_with_constant_neuron():
    # a neuron whose weight row is orthogonal to the slice is constant on it
    W = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, -1.0]])
    net = pr.Network.from_arrays([W, np.ones((1, 4))], [np.array([0.1, -0.2, 0.3, 0.4]),
                                                        np.zeros(1)])
    sl = pr.Slice(np.zeros(4), np.eye(4)[:2], pr.Box.cube(2))
    rs = both(net, sl)
    assert codes_of(rs) == [(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)]
    assert codes_of(rs) == brute_force_net(net, sl)


# ------------------------------------------------------------------ thin pieces
def corner_sliver_net(delta):
    # the line through (-1, 1) and (1, 1 - delta): above it a right triangle with legs
    # 2 and delta, inscribed radius (2 + delta - sqrt(4 + delta^2)) / 2
    a = np.array([-delta, -2.0])
    return net_of([-a], [a @ np.array([-1.0, 1.0])]), (2 + delta - np.hypot(2, delta)) / 2


@pytest.mark.parametrize("ratio,kept", [(0.9, True), (0.98, True), (1.02, False), (1.5, False)])
def test_thin_triangle_decided_exactly(ratio, kept):
    net, r_star = corner_sliver_net(0.01)
    box = pr.Box.cube(2)
    tol = Tolerances(feasibility=ratio * r_star / box.scale)
    rs = pr.enumerate_regions(net, box, method="planar", tolerances=tol)
    assert rs == pr.enumerate_regions(net, box, method="lp", tolerances=tol)
    assert codes_of(rs) == brute_force_net(net, box, tol=ratio * r_star)
    assert len(rs) == (2 if kept else 1)
    if 0.67 < ratio < 1.0:  # the centroid certifies only ~2/3 of the radius: exact solve
        assert rs.stats.n_lps >= 1


@pytest.mark.parametrize("ratio,kept", [(0.99, True), (1.01, False)])
def test_thin_strip_decided_exactly(ratio, kept):
    w = 1e-3  # a strip of width w along the facet x = 1: inscribed radius w / 2
    net = net_of([[1.0, 0.0]], [-(1 - w)])
    box = pr.Box.cube(2)
    tol = Tolerances(feasibility=ratio * (w / 2) / box.scale)
    rs = pr.enumerate_regions(net, box, method="planar", tolerances=tol)
    assert rs == pr.enumerate_regions(net, box, method="lp", tolerances=tol)
    assert len(rs) == (2 if kept else 1)


def test_inradius_matches_chebyshev_lp():
    from polyregion.enumerate._kernels_planar import _clip, domain_polygon, inradius

    rng = np.random.default_rng(0)
    for _ in range(100):
        m = rng.integers(3, 9)
        ang = np.sort(rng.uniform(0, 2 * np.pi, m))
        A = np.column_stack([np.cos(ang), np.sin(ang)])
        b = rng.uniform(0.05, 0.5, m) * rng.choice([1.0, 1e-3], m)
        # make sure the polygon is bounded: add a far box
        A = np.vstack([A, np.eye(2), -np.eye(2)])
        b = np.concatenate([b, 0.9 * np.ones(4)])
        P = domain_polygon(A, b)
        r, x, y = inradius(P, 0.0, 0.0)
        res = linprog([0, 0, -1], A_ub=np.hstack([A, np.ones((len(b), 1))]), b_ub=b,
                      bounds=[(None, None)] * 3, method="highs")
        assert abs(r + res.fun) <= 1e-12
        assert np.all(A @ [x, y] + r <= b + 1e-12)
    assert callable(_clip)


# ------------------------------------------------------------------ the polygon complex
def polygon_of(A, b, tol=1e-9):
    """Vertices (counter-clockwise) of {A x <= b} by pairwise line intersections."""
    i, j = np.triu_indices(len(b), 1)
    det = A[i, 0] * A[j, 1] - A[i, 1] * A[j, 0]
    ok = np.abs(det) > 1e-12
    i, j, det = i[ok], j[ok], det[ok]
    pts = np.column_stack([(b[i] * A[j, 1] - b[j] * A[i, 1]) / det,
                           (A[i, 0] * b[j] - A[j, 0] * b[i]) / det])
    pts = pts[np.all(pts @ A.T <= b + tol, axis=1)]
    keep = np.ones(len(pts), bool)
    for t in range(len(pts)):
        if keep[t]:
            dup = np.linalg.norm(pts[t + 1:] - pts[t], axis=1) < 1e-9
            keep[t + 1:][dup] = False
    pts = pts[keep]
    c = pts.mean(0)
    return pts[np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))]


def euler_and_area(rs):
    polys = [polygon_of(*rs.constraints(i)[:2]) for i in range(len(rs))]
    allv = np.vstack(polys)
    vid, V = merge_close_points(allv, 1e-8)
    edges = set()
    off = 0
    area = 0.0
    for P in polys:
        n = len(P)
        ids = vid[off:off + n]
        off += n
        x, y = P[:, 0], P[:, 1]
        area += 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
        for t in range(n):
            u, w = ids[t], ids[(t + 1) % n]
            p, q = V[u], V[w]
            # split the edge at every vertex lying on it (T-junctions)
            dvec = q - p
            L2 = dvec @ dvec
            s = (V - p) @ dvec / L2
            dist = np.abs((V - p) @ np.array([-dvec[1], dvec[0]])) / np.sqrt(L2)
            on = np.flatnonzero((dist < 1e-8) & (s > 1e-9) & (s < 1 - 1e-9))
            chain = [u] + list(on[np.argsort(s[on])]) + [w]
            for e0, e1 in zip(chain[:-1], chain[1:]):
                edges.add((min(e0, e1), max(e0, e1)))
    return len(V) - len(edges) + len(rs), area


@pytest.mark.parametrize("seed", range(4))
def test_euler_relation_and_area(seed):
    rng = np.random.default_rng(seed)
    act = ACTS[seed % len(ACTS)]
    radius, scale = REACH[act]
    net = random_net(rng, 2, [6, 5], act, scale)
    dom = pr.Box.cube(2, radius=radius) if seed % 2 else random_polygon(rng, radius)
    rs = pr.enumerate_regions(net, dom, method="planar")
    chi, area = euler_and_area(rs)
    assert chi == 1
    Pd = polygon_of(*dom.halfspaces())
    x, y = Pd[:, 0], Pd[:, 1]
    dom_area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    assert abs(area - dom_area) <= 1e-9 * dom_area


def test_euler_degenerate_fan():
    # 5 lines through the centre plus the diagonal (through two box corners and the centre)
    ang = np.linspace(0, np.pi, 5, endpoint=False) + 0.2
    W = np.vstack([np.column_stack([np.cos(ang), np.sin(ang)]), [[1.0, -1.0]]])
    rs = both(net_of(W, np.zeros(6)))
    chi, area = euler_and_area(rs)
    assert chi == 1 and abs(area - 4.0) < 1e-9 and len(rs) == 12


# ------------------------------------------------------------------ dispatch and errors
def test_auto_picks_planar_on_bounded_2d_only():
    net = he_net([4], 2, seed=0)
    assert pr.enumerate_regions(net, pr.Box.cube(2)).stats.method == "planar"
    tri = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    assert pr.enumerate_regions(net, tri).stats.method == "planar"
    half = pr.Polytope([[1.0, 0.0]], [0.5])  # unbounded
    assert pr.enumerate_regions(net, half).stats.method == "lp"
    assert pr.enumerate_regions(net, pr.Space(2)).stats.method == "lp"
    net4 = he_net([4], 4, seed=0)
    sl = pr.Slice(np.zeros(4), np.eye(4)[:2], pr.Box.cube(2))
    assert pr.enumerate_regions(net4, sl).stats.method == "planar"
    assert pr.enumerate_regions(net4, pr.Slice(np.zeros(4), np.eye(4)[:2], pr.Space(2))
                                ).stats.method == "lp"
    assert pr.enumerate_regions(he_net([4], 3), pr.Box.cube(3)).stats.method == "lp"


def test_planar_rejects_unbounded_or_other_dimension():
    with pytest.raises(InvalidInputError, match="planar.*bounded 2-D domain.*Space"):
        pr.enumerate_regions(he_net([4], 2), pr.Space(2), method="planar")
    with pytest.raises(InvalidInputError, match="planar.*bounded 2-D domain"):
        pr.enumerate_regions(he_net([4], 3), pr.Box.cube(3), method="planar")


def test_budget_and_no_hidden_layer():
    net = he_net([16, 16], 2, seed=0)
    with pytest.raises(BudgetExceededError) as exc:
        pr.enumerate_regions(net, pr.Box.cube(2), method="planar", max_regions=10)
    part = exc.value.partial
    full = pr.enumerate_regions(net, pr.Box.cube(2), method="planar")
    assert 10 <= len(part) < len(full)
    assert set(codes_of(part)) <= set(codes_of(full))
    net0 = pr.Network.from_arrays([np.ones((1, 2))], [np.zeros(1)])
    rs = pr.enumerate_regions(net0, pr.Box([0, 0], [2, 1]), method="planar")
    assert len(rs) == 1 and rs.codes.shape == (1, 0)
    assert np.allclose(rs.points[0], [1.0, 0.5]) and np.isclose(rs.radii[0], 0.5)


def test_far_and_tiny_boxes():
    net = he_net([6, 6], 2, seed=5)
    for box in (pr.Box([1e6 - 1, -1], [1e6 + 1, 1]), pr.Box.cube(2, radius=1e-6)):
        rs = pr.enumerate_regions(net, box, method="planar")
        assert rs == pr.enumerate_regions(net, box, method="lp")
        assert codes_of(rs) == brute_force_net(net, box, tol=1e-12 * box.scale)
