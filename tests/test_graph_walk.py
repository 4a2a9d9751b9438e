"""Tests of the fast facet paths on bounded 2-D/3-D domains: the trie walk, and in 2-D the
polygons kept by the planar enumeration.

Oracle: the per-region facet kernel (``region_facets``, itself tested against HiGHS, Euler's
formula and brute-force neighbours in tests/test_graph.py) must give the same facets,
labels, neighbours, rows and radii; in 2-D also the same facet points. In 3-D the
Chebyshev centre of a face is not always unique (a rectangle face), so there the point is
checked to lie on the facet's plane, inside the region's closure, with the facet's radius.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyregion as pr
from oracles import he_net
from polyregion import graph
from polyregion.graph import complex as gcx
from test_graph import _clip_cases


def _blocks(rs, path):
    """Facet blocks by ``path``: "fast" (what the graph uses: the planar polygons when the
    RegionSet has them, else the walk), "walk" (the polygons dropped) or "region"
    (the per-region kernel)."""
    ctx = gcx._context(rs)
    if path == "region":
        (ptr, fa, fb, fc, fr, nbr, lptr, labs), _ = gcx._run_facets(
            rs, ctx["flat"], ctx["codes"], ctx["pts"], np.arange(len(rs)))
        n_redo = None
    else:
        polygons = rs._cache.pop("planar_polygons", None) if path == "walk" else None
        try:
            (ptr, fa, fb, fc, fr, nbr, lptr, labs), _, n_redo = gcx._facet_blocks(rs, ctx)
        finally:
            if polygons is not None:
                rs._cache["planar_polygons"] = polygons
    out = []
    for i in range(len(rs)):
        rows = {}
        for f in range(ptr[i], ptr[i + 1]):
            key = (int(nbr[f]), tuple(sorted(map(tuple, labs[lptr[f]:lptr[f + 1]].tolist()))))
            assert key not in rows
            rows[key] = (fa[f], fb[f], fc[f], fr[f])
        out.append(rows)
    return out, n_redo


def _check_same(rs, path="fast"):
    """The facets of ``path`` (see :func:`_blocks`) equal the per-region kernel's;
    returns the number of regions the fast path left to it."""
    walk, n_redo = _blocks(rs, path)
    ref, _ = _blocks(rs, "region")
    d = rs.dim
    for i, (W, R) in enumerate(zip(walk, ref)):
        assert W.keys() == R.keys(), f"region {i}"
        A, b, _ = rs.constraints(i)
        flat = gcx._context(rs)["flat"]
        for key in W:
            (aw, bw, cw, rw), (ar, br, cr, rr) = W[key], R[key]
            assert np.allclose(aw, ar, atol=1e-12) and abs(bw - br) < 1e-12
            assert abs(rw - rr) < 1e-9
            if d == 2:
                assert np.allclose(cw, cr, atol=1e-9)
            else:  # on the plane, in the closure (enumeration coordinates)
                c = flat.to_enum(cw)
                a, beta = flat.row_to_enum(aw, bw)
                assert abs(a @ c - beta) < 1e-9
                assert np.all(A @ c <= b + 1e-9)
    return n_redo


@pytest.mark.parametrize("widths,d,seed,act", [
    ([8, 8], 2, 1, "relu"), ([5, 5, 4], 2, 22, "relu"), ([16, 16], 2, 0, "relu"),
    ([6, 5], 2, 3, "hardtanh"), ([6, 5], 2, 3, "relu6"), ([6, 5], 2, 3, "leaky_relu:0.1"),
    ([6, 5], 3, 23, "relu"), ([6, 6], 3, 2, "abs"), ([5, 4], 3, 3, "hardtanh"),
])
def test_walk_equals_per_region_kernel(widths, d, seed, act):
    net = he_net(widths, d, seed=seed, bias_std=0.3 if seed % 2 else 0.01, activation=act)
    rs = pr.enumerate_regions(net, pr.Box.cube(d))
    assert ("planar_polygons" in rs._cache) == (d == 2)
    for path in ("fast", "walk") if d == 2 else ("fast",):
        # generic nets: the polygons (2-D) and the walk decide every region
        assert _check_same(rs, path) == 0


@pytest.mark.parametrize("case", range(3, 7))
def test_walk_degenerate_cases_fall_back(case):
    # coincident neurons, three lines through a point, a deeper neuron constant at its
    # breakpoint: the polygon path and the walk hand these regions to the per-region
    # kernel, same result
    net, d = _clip_cases()[case]
    rs = pr.enumerate_regions(net, pr.Box.cube(d))
    for path in ("fast", "walk") if d == 2 else ("fast",):
        assert _check_same(rs, path) > 0


def test_polygon_path_on_random_and_degenerate_nets():
    # random nets with duplicated, negated and rescaled neurons, lines through shared
    # points and hardtanh/relu6 breakpoints: the polygons give the per-region kernel's
    # facets, also where they must leave regions to it
    rng = np.random.default_rng(7)
    redone = 0
    for trial in range(12):
        act = ("relu", "hardtanh", "leaky_relu:0.1", "abs")[trial % 4]
        net = he_net([6, 5], 2, seed=100 + trial, bias_std=0.3, activation=act)
        W0, b0 = net.weights[0].copy(), net.biases[0].copy()
        W0[1], b0[1] = -2.0 * W0[0], -2.0 * b0[0]  # the same line, negated and rescaled
        W0[2] = rng.normal(size=2)
        b0[2] = -W0[2] @ np.linalg.solve(W0[3:5], -b0[3:5])  # through rows 3, 4's point
        net = pr.Network.from_arrays([W0] + list(net.weights[1:]), [b0] + list(net.biases[1:]),
                                     activation=act)
        rs = pr.enumerate_regions(net, pr.Box.cube(2))
        assert "planar_polygons" in rs._cache
        redone += _check_same(rs, "fast")
        _check_same(rs, "walk")
    assert redone > 0


def test_walk_on_slices():
    net = he_net([8, 6], 5, seed=4, bias_std=0.3)
    rng = np.random.default_rng(0)
    for d in (2, 3):
        sl = pr.Slice(rng.normal(size=5) * 0.1, rng.normal(size=(d, 5)), pr.Box.cube(d, 0.8))
        _check_same(pr.enumerate_regions(net, sl))


def test_edge_list_matches_graph():
    rs = pr.enumerate_regions(he_net([6, 5], 3, seed=5, bias_std=0.3), pr.Box.cube(3))
    G = rs.adjacency()
    el = rs.adjacency(as_networkx=False)
    assert isinstance(el, graph.EdgeList) and el.n_nodes == len(rs)
    assert len(el) == G.number_of_edges() and np.all(el.u < el.v)
    for e in range(len(el)):
        u, v = int(el.u[e]), int(el.v[e])
        att = G.edges[u, v]
        assert att["neurons"] == tuple(map(tuple, el.neurons[el.neuron_ptr[e]:el.neuron_ptr[e + 1]].tolist()))
        assert np.array_equal(att["hyperplane"][0], el.a[e]) and att["hyperplane"][1] == el.b[e]
        assert np.array_equal(att["point"], el.point[e]) and att["radius"] == el.radius[e]
        # the smaller region lies on the negative side of the hyperplane
        assert el.a[e] @ rs.points[u] < el.b[e] < el.a[e] @ rs.points[v]
    assert el.stats["n_one_sided"] == 0


def test_codes_sorted_against_lexsort():
    from polyregion.graph._kernels_codes import codes_sorted

    rng = np.random.default_rng(0)
    for _ in range(50):
        c = rng.integers(0, 3, size=(int(rng.integers(2, 8)), 3)).astype(np.uint8)
        ref = np.array_equal(np.lexsort(c.T[::-1]), np.arange(len(c))) and \
            len(np.unique(c, axis=0)) == len(c)
        assert codes_sorted(c) == ref


def test_planar_polygons_tile_the_domain():
    # the kept polygons: counter-clockwise, inside their region's H-representation, around
    # its interior point, and their areas sum to the domain's
    net = he_net([8, 8], 2, seed=11, bias_std=0.3)
    dom = pr.Box([-0.5, -1.0], [1.5, 0.25])
    rs = pr.enumerate_regions(net, dom)
    pg = rs._cache["planar_polygons"]
    flat = gcx._context(rs)["flat"]
    total = 0.0
    for i in range(len(rs)):
        P = pg["polys"][pg["pptr"][i]:pg["pptr"][i + 1]]
        V = flat.to_enum(P[:, :2])
        x, y = V[:, 0], V[:, 1]
        area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
        assert area > 0
        total += area
        A, b, _ = rs.constraints(i)
        assert np.all(A @ V.T <= b[:, None] + 1e-9)
        # the interior point is strictly inside every edge
        a, beta = flat.row_to_enum(P[:, 2:4], P[:, 4])
        assert np.all(a @ rs.points[i] < beta)
    assert total == pytest.approx(2.0 * 1.25, rel=1e-12)


def test_graph_without_polygons_is_the_same(monkeypatch):
    # too many vertices to keep: the enumeration drops the polygons, the walk takes over
    from polyregion.enumerate import engine

    net = he_net([8, 8], 2, seed=12, bias_std=0.3)
    with_pg = pr.enumerate_regions(net, pr.Box.cube(2))
    monkeypatch.setattr(engine, "MAX_POLYGON_VERTICES", 50)
    without = pr.enumerate_regions(net, pr.Box.cube(2))
    assert "planar_polygons" in with_pg._cache and "planar_polygons" not in without._cache
    a, b = with_pg.adjacency(as_networkx=False), without.adjacency(as_networkx=False)
    assert "planar_polygons" not in with_pg._cache  # freed once used
    assert np.array_equal(a.u, b.u) and np.array_equal(a.v, b.v)
    assert np.array_equal(a.neurons, b.neurons)
    assert np.allclose(a.a, b.a, atol=1e-12) and np.allclose(a.point, b.point, atol=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_neighbour_lookup_under_hash_collisions(monkeypatch, d):
    """The hash table of the neighbour lookup compares the codes, not only their hashes:
    with Zobrist keys of 2 bits (most codes collide, long probe chains) the polygons and
    the walk still give the per-region kernel's neighbours (binary search of the codes)."""
    rng = np.random.default_rng(7)
    monkeypatch.setattr(gcx, "_zobrist", lambda n, q: rng.integers(
        0, 4, size=(n, q), dtype=np.uint64))
    net = he_net([8, 8] if d == 2 else [5, 5], d, seed=4, bias_std=0.3)
    rs = pr.enumerate_regions(net, pr.Box.cube(d))
    assert len(rs) > 40
    paths = ["fast", "walk"] if d == 2 else ["fast"]
    for path in paths:
        assert _check_same(rs, path) == 0
