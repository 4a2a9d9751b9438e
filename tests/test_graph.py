"""Tests of polyregion.graph: facets, adjacency, linear regions, decision boundary, export.

Oracles: Euler's formula for 2-D complexes, scipy/HiGHS LPs on pairs of regions (an
all-pairs adjacency oracle written independently of the kernels), sampling just across
each facet, hand-made degenerate arrangements with known graphs.
"""

from __future__ import annotations

import itertools
import os

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import linprog

import polyregion as pr
from oracles import he_net, merge_close_points
from polyregion.graph import load_edges, read_graphml, save_edges, split_facet, write_graphml


def _net(widths, d, seed, bias_std=0.3, out=1, activation="relu"):
    return he_net(widths, d, seed=seed, bias_std=bias_std, out=out, activation=activation)


# --------------------------------------------------------------------------- helpers
def euler_counts(rs, tol=1e-9):
    """(V, E, F, edge multiplicities) of a bounded 2-D RegionSet from its polygons."""
    polys = [rs.vertices(i) for i in range(len(rs))]
    allv = np.vstack(polys)
    vid, _ = merge_close_points(allv, tol)  # a vertex computed in several regions
    edges = {}
    pos = 0
    for P in polys:
        n = len(P)
        loop = vid[pos:pos + n]
        pos += n
        for t in range(n):
            e = tuple(sorted((int(loop[t]), int(loop[(t + 1) % n]))))
            assert e[0] != e[1], "zero-length polygon edge"
            edges[e] = edges.get(e, 0) + 1
    return int(vid.max()) + 1, len(edges), len(rs), edges


def in_plane_radius(A, b, a, beta):
    """Chebyshev radius of {A x <= b, a.x = beta} inside the hyperplane (scipy)."""
    d = A.shape[1]
    Pn = np.eye(d) - np.outer(a, a)
    nr = np.linalg.norm(A @ Pn, axis=1)
    c = np.zeros(d + 1)
    c[-1] = -1
    res = linprog(c, A_ub=np.hstack([A, nr[:, None]]), b_ub=b,
                  A_eq=np.hstack([a, [0.0]])[None, :], b_eq=[beta],
                  bounds=[(None, None)] * d + [(None, 10.0)], method="highs")
    return -res.fun if res.status == 0 else -1.0


def brute_adjacency(rs, tol=1e-7):
    """All-pairs oracle: P, Q adjacent iff some row of P is the reverse of a row of Q and
    the closures meet in a (d-1)-ball of radius > tol inside that hyperplane."""
    H = [rs.halfspaces(i) for i in range(len(rs))]
    E = set()
    for i, j in itertools.combinations(range(len(rs)), 2):
        Ai, bi = H[i]
        Aj, bj = H[j]
        for r in range(len(Ai)):
            m = np.flatnonzero((Aj @ Ai[r] < -1 + 1e-9) & (np.abs(bj + bi[r]) < 1e-9))
            if len(m) == 0:
                continue
            A = np.vstack([Ai, Aj])
            b = np.concatenate([bi, bj])
            keep = np.abs(A @ Ai[r]) < 1 - 1e-9
            if in_plane_radius(A[keep], b[keep], Ai[r], bi[r]) > tol:
                E.add((i, j))
            break
    return E


# --------------------------------------------------------------------------- 2-D complexes
@pytest.mark.parametrize("widths,seed", [([6], 0), ([8, 8], 1), ([5, 5, 5], 2), ([10, 6], 3)])
def test_euler_random_2d(widths, seed):
    rs = pr.enumerate_regions(_net(widths, 2, seed), pr.Box.cube(2))
    V, E, F, mult = euler_counts(rs)
    assert V - E + F == 1
    assert set(mult.values()) <= {1, 2}
    G = rs.adjacency()
    assert G.graph["stats"]["n_one_sided"] == 0
    assert sum(1 for m in mult.values() if m == 2) == G.number_of_edges()


def test_euler_slice():
    net = _net([8, 6], 5, seed=4)
    rng = np.random.default_rng(0)
    sl = pr.Slice(rng.normal(size=5) * 0.1, rng.normal(size=(2, 5)), pr.Box.cube(2, 0.8))
    rs = pr.enumerate_regions(net, sl)
    V, E, F, mult = euler_counts(rs)
    assert V - E + F == 1
    assert set(mult.values()) <= {1, 2}


def test_single_layer_zaslavsky_and_flips():
    # generic lines in the plane: Zaslavsky count; each edge flips its one neuron
    rng = np.random.default_rng(5)
    n = 7
    W = rng.normal(size=(n, 2))
    b = rng.uniform(-0.2, 0.2, size=n)
    net = pr.Network.from_arrays([W, np.ones((1, n))], [b, np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Space(2))
    assert len(rs) == 1 + n + n * (n - 1) // 2
    G = rs.adjacency()
    for u, v, d in G.edges(data=True):
        differ = set(np.flatnonzero(rs.codes[u] != rs.codes[v]).tolist())
        assert differ == {unit for (layer, unit, q) in d["neurons"]}
        assert len(d["neurons"]) == 1
        a, beta = d["hyperplane"]
        assert abs(a @ d["point"] - beta) < 1e-9
        assert rs.locate(d["point"] - 1e-6 * a) == u and rs.locate(d["point"] + 1e-6 * a) == v
    # interior edges of an arrangement of n lines in general position: n^2
    assert G.number_of_edges() == n * n


def test_adjacency_matches_all_pairs_oracle_2d_3d():
    for widths, d, seed in [([5, 4], 2, 7), ([4, 3], 3, 8)]:
        rs = pr.enumerate_regions(_net(widths, d, seed), pr.Box.cube(d))
        G = rs.adjacency()
        E = {tuple(sorted(e)) for e in G.edges()}
        assert E == brute_adjacency(rs)


def test_neighbour_sampling_oracle_3d():
    rs = pr.enumerate_regions(_net([6, 6], 3, seed=9), pr.Box.cube(3))
    rng = np.random.default_rng(1)
    cx = pr.graph.complex_of(rs)
    for i in range(len(rs)):
        F = rs.facets(i)
        for f in range(len(F)):
            a, beta, c, r = F.A[f], F.b[f], F.points[f], F.radii[f]
            if all(lab[0] < 0 for lab in F.labels[f]):
                assert F.neighbours[f] == -1
                continue
            # random points of the facet's inscribed (d-1)-ball, stepped across
            found = set()
            for _ in range(8):
                v = rng.normal(size=3)
                v -= (v @ a) * a
                p = c + 0.9 * r * rng.uniform() * v / np.linalg.norm(v)
                found.add(int(rs.locate(p + 1e-7 * r * a)))
            assert found == {int(F.neighbours[f])}
    assert cx.stats["n_unmatched"] == 0


def test_facets_match_scipy_halfspaces():
    rs = pr.enumerate_regions(_net([7, 5], 2, seed=10), pr.Box.cube(2))
    for i in range(len(rs)):
        A, b, labels = rs.halfspaces(i, with_labels=True)
        F = rs.facets(i)
        assert len(F) == len(A)
        key = lambda M, v: sorted(np.round(np.column_stack([M, v]), 8).tolist())  # noqa: E731
        assert np.allclose(key(F.A, F.b), key(A, b), atol=1e-7)
        assert sorted(map(sorted, F.labels)) == sorted(map(sorted, labels))


def test_pieces_matched_3d():
    rs = pr.enumerate_regions(_net([5, 5], 3, seed=11), pr.Box.cube(3))
    cx = pr.graph.complex_of(rs)
    pc = cx.pieces
    seen = {}
    for P, Q, f in zip(pc["region"], pc["neighbour"], pc["facet"]):
        assert Q >= 0
        seen[(int(P), int(Q))] = int(f)
    for (P, Q), f in seen.items():
        g = seen[(Q, P)]  # seen from the other side
        assert np.allclose(cx.A[f], -cx.A[g]) and abs(cx.b[f] + cx.b[g]) < 1e-9
        assert abs(cx.radii[f] - cx.radii[g]) < 1e-7
    assert cx.stats["n_split"] == 0


# --------------------------------------------------------------------------- degenerate
def test_three_lines_through_a_point():
    ang = np.array([0.0, 1.0, 2.0]) * np.pi / 3
    W = np.column_stack([np.cos(ang), np.sin(ang)])
    net = pr.Network.from_arrays([W, np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    assert len(rs) == 6
    G = rs.adjacency()
    assert nx.is_isomorphic(G, nx.cycle_graph(6))
    # opposite sectors (codes complementary) meet only at the origin: not adjacent
    for u in range(6):
        v = int(np.flatnonzero((rs.codes == 1 - rs.codes[u]).all(axis=1))[0])
        assert not G.has_edge(u, v)
    V, E, F, mult = euler_counts(rs)
    assert (V, E, F) == (11, 16, 6) and V - E + F == 1


def test_duplicate_neurons_one_facet_two_labels():
    W = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    b = np.array([0.1, 0.2, 0.0])  # neurons 0 and 1: the same line x = -0.1
    net = pr.Network.from_arrays([W, np.ones((1, 3))], [b, np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    assert len(rs) == 4
    G = rs.adjacency()
    dup = [d for _, _, d in G.edges(data=True) if len(d["neurons"]) == 2]
    assert len(dup) == 2
    for d in dup:
        assert sorted(u for _, u, _ in d["neurons"]) == [0, 1]
    for i in range(len(rs)):
        F = rs.facets(i)
        assert sum(len(l) == 2 for l in F.labels) == 1


def test_neuron_on_a_domain_face_has_no_neighbour():
    # neurons' hyperplanes on faces of the box (2-D: the hardtanh neuron of -y has its
    # breakpoints -y = +-1 on the faces y = -+1; 3-D: a random integer net where it
    # happened): one facet with both labels, on the boundary, no neighbour, nothing
    # unmatched; the graph is the all-pairs oracle's and, in 2-D, Euler's formula holds
    W = np.array([[1.0, 0.0], [0.0, -1.0], [1.0, 1.0]])
    net = pr.Network.from_arrays([W, np.ones((1, 3))], [np.array([-1.0, 0.0, 0.2]),
                                                        np.zeros(1)], activation="hardtanh")
    data = np.load(os.path.join(os.path.dirname(__file__), "data",
                                "graph_neuron_on_domain_face.npz"))
    net3 = pr.Network.from_arrays([data["W0"], data["W1"], data["W2"]],
                                  [data["b0"], data["b1"], data["b2"]], activation="hardtanh")
    for net, d in ((net, 2), (net3, 3)):
        rs = pr.enumerate_regions(net, pr.Box.cube(d))
        cx = pr.graph.complex_of(rs)
        assert cx.stats["n_unmatched"] == 0 and cx.stats["n_split"] == 0
        both = [f for f in range(len(cx.A)) if {l[0] >= 0 for l in cx.facet_labels(f)} ==
                {True, False}]
        assert both  # facets carrying a domain row and a neuron
        G = rs.adjacency()
        assert G.graph["stats"]["n_one_sided"] == 0
        assert {tuple(sorted(e)) for e in G.edges()} == brute_adjacency(rs)
        if d == 2:
            V, E, F, mult = euler_counts(rs)
            assert V - E + F == 1


def test_deeper_neuron_constant_at_breakpoint():
    # layer-1 neuron u = -relu(x) is identically 0 (its breakpoint) left of x = 0 and
    # negative right of it: crossing x = 0 flips two neurons, in two layers
    W0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    W1 = np.array([[-1.0, 0.0], [0.0, 1.0]])
    net = pr.Network.from_arrays([W0, W1, np.ones((1, 2))], [np.zeros(2), np.zeros(2), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    G = rs.adjacency()
    assert G.graph["stats"]["n_one_sided"] == 0 and G.graph["stats"]["n_unmatched"] == 0
    assert nx.is_isomorphic(G, nx.cycle_graph(4))
    V, E, F, _ = euler_counts(rs)
    assert V - E + F == 1


def test_split_facet_bricks():
    # a facet x = 1, 0 <= y <= 1, seen by three bricks split at y = 0.2 and y = 0.7
    A = np.array([[0.0, 1.0], [0.0, -1.0]])
    b = np.array([1.0, 0.0])
    cuts = [0.2, 0.7]

    def find(p, r):
        k = int(np.searchsorted(cuts, p[1]))
        rows, rhs = [], []
        if k > 0:
            rows.append([0.0, -1.0]), rhs.append(-cuts[k - 1])
        if k < len(cuts):
            rows.append([0.0, 1.0]), rhs.append(cuts[k])
        return k, np.array(rows), np.array(rhs)

    out = split_facet(A, b, np.array([1.0, 0.0]), 1.0, find, 1e-9)
    got = sorted((q, round(r, 9)) for q, p, r in out)
    assert got == [(0, 0.1), (1, 0.25), (2, 0.15)]


def test_one_dimensional_path():
    net = pr.Network.from_arrays([np.array([[1.0], [1.0], [-1.0]]), np.ones((1, 3))],
                                 [np.array([0.5, -0.2, 0.0]), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box([-1.0], [1.0]))
    G = rs.adjacency()
    assert len(rs) == 4 and nx.is_isomorphic(G, nx.path_graph(4))
    assert rs.vertices(0).shape == (2, 1)


def test_vertices_unbounded_raises():
    net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Space(2))
    assert nx.is_isomorphic(rs.adjacency(), nx.cycle_graph(4))
    with pytest.raises(pr.InvalidInputError, match="unbounded"):
        rs.vertices(0)


# --------------------------------------------------------------------------- linear regions
def test_linear_regions_zero_outgoing_weight():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(5, 2))
    b = rng.uniform(-0.3, 0.3, size=5)
    v = rng.normal(size=(1, 5))
    full = pr.enumerate_regions(pr.Network.from_arrays([W, v], [b, np.zeros(1)]), pr.Box.cube(2))
    lr = full.linear_regions()
    assert lr.n_linear == lr.n_activation == len(full)
    v0 = v.copy()
    v0[0, 2] = 0.0  # neuron 2 no longer matters: its line merges pairs of regions
    rs = pr.enumerate_regions(pr.Network.from_arrays([W, v0], [b, np.zeros(1)]), pr.Box.cube(2))
    lr0 = rs.linear_regions()
    # oracle: the arrangement without line 2
    keep = [0, 1, 3, 4]
    ref = pr.enumerate_regions(pr.Network.from_arrays([W[keep], v[:, keep]], [b[keep], np.zeros(1)]),
                               pr.Box.cube(2))
    assert lr0.n_activation == len(rs) and lr0.n_linear == len(ref) < len(rs)
    # regions merged together have equal affine maps
    for i, j in itertools.combinations(range(len(rs)), 2):
        if lr0.labels[i] == lr0.labels[j]:
            assert np.allclose(rs.affine_map(i)[0], rs.affine_map(j)[0])


# --------------------------------------------------------------------------- decision boundary
def test_decision_regions_against_vertex_signs():
    net = _net([6, 6], 2, seed=12)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    db = rs.decision_regions()
    for i in range(len(rs)):
        fv = net.forward(rs.vertices(i))[:, 0]
        crosses = fv.min() < -1e-9 and fv.max() > 1e-9
        assert crosses == (i in set(db.regions.tolist()))
    assert np.allclose(net.forward(db.points)[:, 0], 0.0, atol=1e-9)
    assert set(db.graph.nodes()) == set(db.regions.tolist())
    with pytest.raises(pr.InvalidInputError, match="one output"):
        pr.enumerate_regions(_net([3], 2, seed=0, out=2), pr.Box.cube(2)).decision_regions()


# --------------------------------------------------------------------------- export
def _same_graph(G, H):
    assert sorted(G.nodes()) == sorted(H.nodes())
    assert {tuple(sorted(e)) for e in G.edges()} == {tuple(sorted(e)) for e in H.edges()}
    for n in G.nodes():
        assert np.array_equal(G.nodes[n]["code"], H.nodes[n]["code"])
        assert np.array_equal(G.nodes[n]["point"], H.nodes[n]["point"])
    for u, v, d in G.edges(data=True):
        e = H.edges[u, v]
        assert tuple(map(tuple, d["neurons"])) == tuple(map(tuple, e["neurons"]))
        assert np.array_equal(d["hyperplane"][0], e["hyperplane"][0])
        assert d["hyperplane"][1] == e["hyperplane"][1]
        assert np.array_equal(d["point"], e["point"]) and d["radius"] == e["radius"]


def test_export_round_trips(tmp_path):
    rs = pr.enumerate_regions(_net([5, 4], 2, seed=13), pr.Box.cube(2))
    G = rs.adjacency()
    write_graphml(G, tmp_path / "g.graphml")
    _same_graph(G, read_graphml(tmp_path / "g.graphml"))
    save_edges(G, tmp_path / "g.npz")
    _same_graph(G, load_edges(tmp_path / "g.npz"))
    np.savez(tmp_path / "bad.npz", u=np.zeros(1))
    with pytest.raises(pr.FileFormatError, match="edge list"):
        load_edges(tmp_path / "bad.npz")


# --------------------------------------------------------------------------- clipping path
def _facet_blocks(rs, box_mode):
    from polyregion.graph.complex import _context, _run_facets

    ctx = _context(rs)
    (ptr, fa, fb, fc, fr, nbr, lptr, labs), st = _run_facets(
        rs, ctx["flat"], ctx["codes"], ctx["pts"], np.arange(len(rs)), box_mode=box_mode)
    blocks = []
    for i in range(len(rs)):
        rows = {}
        for f in range(ptr[i], ptr[i + 1]):
            key = (int(nbr[f]), tuple(np.round(fa[f], 7)), round(float(fb[f]), 9))
            rows[key] = (float(fr[f]), fc[f], sorted(map(tuple, labs[lptr[f]:lptr[f + 1]].tolist())))
        blocks.append(rows)
    return blocks, st


def _clip_cases():
    W = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    dup2 = pr.Network.from_arrays([W, np.ones((1, 3))], [np.array([0.1, 0.2, 0.0]), np.zeros(1)])
    ang = np.array([0.0, 1.0, 2.0]) * np.pi / 3
    star = pr.Network.from_arrays([np.column_stack([np.cos(ang), np.sin(ang)]), np.ones((1, 3))],
                                  [np.zeros(3), np.zeros(1)])
    W3 = np.array([[1.0, 0, 0], [2.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 1.0],
                   [1.0, -1.0, 0.0]])
    dup3 = pr.Network.from_arrays([W3, np.ones((1, 6))],
                                  [np.array([0.1, 0.2, 0.0, 0.0, 0.0, 0.0]), np.zeros(1)])
    W0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    W1 = np.array([[-1.0, 0.0], [0.0, 1.0]])
    deep = pr.Network.from_arrays([W0, W1, np.ones((1, 2))], [np.zeros(2), np.zeros(2), np.zeros(1)])
    return [(_net([6, 5], 2, seed=21), 2), (_net([5, 5, 4], 2, seed=22), 2),
            (_net([6, 5], 3, seed=23), 3), (dup2, 2), (star, 2), (dup3, 3), (deep, 2)]


@pytest.mark.parametrize("case", range(7))
def test_clipping_path_equals_lp_path(case):
    # the polygon/polytope clipping screen (box_mode=2) and the LP screen (box_mode=1)
    # decide every row by the same rule: same facets, labels, neighbours, radii
    net, d = _clip_cases()[case]
    rs = pr.enumerate_regions(net, pr.Box.cube(d))
    lp, _ = _facet_blocks(rs, 1)
    cl, st = _facet_blocks(rs, 2)
    assert st[1] == 0  # no box LPs on the clipping path
    for P, Q in zip(lp, cl):
        assert P.keys() == Q.keys()
        for key in P:
            assert abs(P[key][0] - Q[key][0]) < 1e-9
            assert P[key][2] == Q[key][2]


def test_clipping_radii_against_scipy_3d():
    # every facet's radius on the clipping path is the in-plane Chebyshev radius (HiGHS)
    rs = pr.enumerate_regions(_net([5, 4], 3, seed=24), pr.Box.cube(3))
    cx = pr.graph.complex_of(rs)
    assert cx.stats["box_lps"] == 0 and cx.stats["polytope_cuts"] > 0
    for i in range(len(rs)):
        A, b, _ = rs.constraints(i)
        for f in range(cx.ptr[i], cx.ptr[i + 1]):
            a, beta = cx.A[f], cx.b[f]
            keep = np.abs(A @ a) < 1 - 1e-9
            assert abs(in_plane_radius(A[keep], b[keep], a, beta) - cx.radii[f]) < 1e-7
            # the centre lies on the facet's plane and inside the region's closure
            assert abs(a @ cx.points[f] - beta) < 1e-9
            assert np.all(A @ cx.points[f] <= b + 1e-9)


def test_graph_is_plain_networkx():
    # the bulk-built graph behaves like one built by add_edges_from
    rs = pr.enumerate_regions(_net([5, 4], 2, seed=25), pr.Box.cube(2))
    G = rs.adjacency()
    H = nx.Graph()
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from(G.edges(data=True))
    assert sorted(G.nodes()) == sorted(H.nodes()) == list(range(len(rs)))
    assert {frozenset(e) for e in G.edges()} == {frozenset(e) for e in H.edges()}
    assert dict(G.degree()) == dict(H.degree())
    # and in the same neighbour order as add_edges_from over the edge list
    el = rs.adjacency(as_networkx=False)
    H2 = nx.Graph()
    H2.add_nodes_from(range(len(rs)))
    H2.add_edges_from(zip(el.u.tolist(), el.v.tolist()))
    assert all(list(G.adj[u]) == list(H2.adj[u]) for u in G)
    assert all(G.adj[u][v] is G.adj[v][u] for u, v in G.edges())  # one dict per edge
    assert all(G.has_edge(v, u) for u, v in G.edges())
    G.add_edge(0, len(rs) + 5)  # still mutable through the public API
    assert G.has_edge(len(rs) + 5, 0) and len(G) == len(rs) + 1
