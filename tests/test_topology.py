"""Topology of the partition (issue 22): face lattice, Betti numbers, persistence, CLI.

Checked against closed forms (hand-built ReLU nets of known topology, all degenerate
arrangements: concurrent and coincident hyperplanes, constant regions, level sets
through vertices and along facets), against an independent grid flood-fill estimate on
random 2-D nets, against a dense GF(2) rank, and the Betti curve of the persistence
against the Betti numbers at every critical value and between them.
"""

import argparse
import json
from functools import lru_cache

import numpy as np
import pytest
from scipy import ndimage

import polyregion as pr
from polyregion.topology import (TopologyError, face_lattice, gf2_rank, persistence,
                                 plot_components, plot_diagram, snap_values)
from polyregion.topology.cli import add_parser, run
from polyregion.topology.nets import shapes_net


# ----------------------------------------------------------------- nets
def with_outputs(net, rows, biases):
    """The same hidden layers with extra output rows (on the last hidden layer)."""
    W, b = [w.copy() for w in net.weights], [v.copy() for v in net.biases]
    W[-1] = np.vstack([W[-1]] + [np.atleast_2d(r) for r in rows])
    b[-1] = np.concatenate([b[-1], biases])
    return pr.Network.from_arrays(W, b)


def negated(net):
    W, b = [w.copy() for w in net.weights], [v.copy() for v in net.biases]
    W[-1], b[-1] = -W[-1], -b[-1]
    return pr.Network.from_arrays(W, b)


def random_net(d, widths, seed, n_out=1, bias=0.3):
    rng = np.random.default_rng(seed)
    dims = [d] + list(widths) + [n_out]
    W = [rng.normal(size=(dims[i + 1], dims[i])) * np.sqrt(2.0 / dims[i])
         for i in range(len(dims) - 1)]
    b = [rng.normal(size=dims[i + 1]) * bias for i in range(len(dims) - 1)]
    return pr.Network.from_arrays(W, b)


NETS = {
    "diamond2": (lambda: shapes_net(2, [("diamond", (0, 0), 1.0)], "min"), 2, 2.0),
    "annulus2": (lambda: shapes_net(2, [("annulus", (0, 0), 1.0, 2.0)], "min"), 2, 3.0),
    "bumps3": (lambda: shapes_net(2, [("diamond", (-2, 0), 1.0), ("diamond", (2, 0), 1.5),
                                      ("diamond", (0, 2.5), 0.7)]), 2, 4.0),
    "touching": (lambda: shapes_net(2, [("diamond", (-1, 0), 1.0), ("diamond", (1, 0), 1.0)]),
                 2, 2.5),
    "nested": (lambda: shapes_net(2, [("annulus", (0, 0), 2.0, 3.0), ("diamond", (0, 0), 1.0)]),
               2, 4.0),
    "diamond3": (lambda: shapes_net(3, [("diamond", (0, 0, 0), 1.0)], "min"), 3, 2.0),
    "shell3": (lambda: shapes_net(3, [("annulus", (0, 0, 0), 1.0, 2.0)], "min"), 3, 3.0),
    "torus3": (lambda: shapes_net(3, [("torus", (0, 0, 0), 1.0, 2.0, 1.0)], "min"), 3, 3.0),
    "nested3": (lambda: shapes_net(3, [("annulus", (0, 0, 0), 2.0, 3.0),
                                       ("diamond", (0, 0, 0), 1.0)]), 3, 3.5),
    "balls3": (lambda: shapes_net(3, [("diamond", (-1.5, 0, 0), 1.0),
                                      ("diamond", (1.5, 0, 0), 1.0)]), 3, 3.0),
}


@lru_cache(maxsize=None)
def regions(name, space=False):
    make, d, r = NETS[name]
    return pr.enumerate_regions(make(), pr.Space(d) if space else pr.Box.cube(d, radius=r))


# (net, which, threshold, betti): each in closed form
CLOSED_FORM = [
    # f = 1 - |x|_1: a diamond; its level sets are l1 circles; at t = 1 the single peak
    ("diamond2", "above", 0.0, (1, 0)),
    ("diamond2", "boundary", 0.0, (1, 1)),
    ("diamond2", "below", 0.0, (1, 1)),
    ("diamond2", "above", 1.0, (1, 0)),
    ("diamond2", "boundary", 1.0, (1, 0)),
    ("diamond2", "above", 1.5, (0, 0)),
    ("diamond2", "below", -10.0, (0, 0)),
    ("diamond2", "below", 10.0, (1, 0)),
    # min(2 - n, n - 1): an annulus; at its top t = 0.5 the set is the circle n = 1.5
    ("annulus2", "above", 0.0, (1, 1)),
    ("annulus2", "boundary", 0.0, (2, 2)),
    ("annulus2", "below", 0.0, (2, 1)),
    ("annulus2", "above", 0.5, (1, 1)),
    ("annulus2", "boundary", 0.5, (1, 1)),
    ("annulus2", "above", 0.25, (1, 1)),
    # sum of three relu bumps: three components; at t = 0 the level set is the box
    # minus three open diamonds (a full-dimensional level set)
    ("bumps3", "above", 0.5, (3, 0)),
    ("bumps3", "boundary", 0.5, (3, 3)),
    ("bumps3", "below", 0.5, (1, 3)),
    ("bumps3", "above", 0.0, (1, 0)),
    ("bumps3", "boundary", 0.0, (1, 3)),
    ("bumps3", "below", 0.0, (1, 3)),
    ("bumps3", "above", 0.8, (2, 0)),
    ("bumps3", "above", 1.2, (1, 0)),
    # two diamonds touching at the origin
    ("touching", "above", 1e-3, (2, 0)),
    ("touching", "boundary", 0.0, (1, 2)),
    ("touching", "below", 0.5, (1, 2)),
    # an annulus around a disk
    ("nested", "above", 0.25, (2, 1)),
    ("nested", "below", 0.25, (2, 2)),
    ("nested", "boundary", 0.25, (3, 3)),
    # 3-D: a ball and its sphere, a shell, a solid torus and its torus
    ("diamond3", "above", 0.0, (1, 0, 0)),
    ("diamond3", "boundary", 0.0, (1, 0, 1)),
    ("diamond3", "below", 0.0, (1, 0, 1)),
    ("shell3", "above", 0.0, (1, 0, 1)),
    ("shell3", "boundary", 0.0, (2, 0, 2)),
    ("shell3", "below", 0.0, (2, 0, 1)),
    ("torus3", "above", 0.0, (1, 1, 0)),
    ("torus3", "boundary", 0.0, (1, 2, 1)),
    ("torus3", "below", 0.0, (1, 1, 1)),
    ("torus3", "above", 0.5, (1, 1, 0)),
    # a ball inside a shell; two balls (and their complement: two cavities)
    ("nested3", "above", 0.25, (2, 0, 1)),
    ("nested3", "boundary", 0.25, (3, 0, 3)),
    ("balls3", "above", 0.5, (2, 0, 0)),
    ("balls3", "below", 0.5, (1, 0, 2)),
    ("balls3", "boundary", 0.0, (1, 0, 2)),
]


@pytest.mark.parametrize("name,which,t,expect", CLOSED_FORM)
def test_betti_numbers_closed_form(name, which, t, expect):
    rs = regions(name)
    assert pr.betti_numbers(rs, which, threshold=t) == expect


@pytest.mark.parametrize("which,expect", [("above", (1, 0)), ("boundary", (1, 1)),
                                          ("below", (1, 1))])
def test_unbounded_domain_is_compactified_by_a_box(which, expect):
    rs = regions("diamond2", space=True)
    top = pr.decision_topology(rs, which)
    assert top.betti == expect
    assert top.compactification is not None and top.compactification >= 2.0
    # the box holds every vertex of the complex of the l1 diamond (|x|_inf <= 1)
    assert np.max(np.abs(top.lattice.vertices)) == pytest.approx(top.compactification)


def test_class_regions_of_a_three_output_net():
    # outputs (annulus g, 0, -1): argmax 0 is {g >= 0}, argmax 1 {g <= 0}, 2 never
    base = NETS["annulus2"][0]()
    net = with_outputs(base, [np.zeros(base.weights[-1].shape[1])] * 2, [0.0, -1.0])
    rs = pr.enumerate_regions(net, pr.Box.cube(2, 3.0))
    assert pr.betti_numbers(rs, "class", output=0) == (1, 1)
    assert pr.betti_numbers(rs, "class", output=1) == (2, 1)
    assert pr.betti_numbers(rs, "class", output=2) == (0, 0)


def test_class_region_with_two_competitors_3d():
    # outputs (ball 1 - |x|_1, 0, x_3 - 2): argmax 0 is the ball; argmax 2 is empty in the
    # cube of radius 2 except for its top face region above x_3 = 2 ... i.e. empty
    base = NETS["diamond3"][0]()
    H = base.weights[-1].shape[1]
    net = with_outputs(base, [np.zeros(H), np.zeros(H)], [0.0, -2.0])
    rs = pr.enumerate_regions(net, pr.Box.cube(3, 2.0))
    assert pr.betti_numbers(rs, "class", output=0) == (1, 0, 0)
    assert pr.betti_numbers(rs, "class", output=1) == (1, 0, 1)


# ----------------------------------------------------------------- face lattice
def one_layer(W, b):
    W = np.asarray(W, float)
    return pr.Network.from_arrays([W, np.ones((1, W.shape[0]))], [np.asarray(b, float),
                                                                 np.zeros(1)])


@pytest.mark.parametrize("W,b,fvec", [
    ([[1, 0], [0, 1]], [0, 0], (9, 12, 4)),                           # two lines
    ([[1, 0], [0, 1], [2, 0], [0, -3]], [0, 0, 0, 0], (9, 12, 4)),    # coincident pairs
    ([[1, 0], [0, 1], [1, 1], [1, -1]], [0, 0, 0, 0], (9, 16, 8)),    # 4 lines, 2 via corners
    ([[1, 0], [1, 0]], [0.5, -0.5], (8, 10, 3)),                      # parallel
])
def test_face_lattice_f_vectors_2d(W, b, fvec):
    rs = pr.enumerate_regions(one_layer(W, b), pr.Box.cube(2))
    L = face_lattice(rs)
    assert L.f_vector == fvec
    assert L.euler_characteristic == 1
    assert sorted(L.cell_region.tolist()) == list(range(len(rs)))


def test_face_lattice_three_planes_through_a_point_3d():
    rs = pr.enumerate_regions(one_layer(np.eye(3), np.zeros(3)), pr.Box.cube(3))
    L = face_lattice(rs)
    assert L.f_vector == (27, 54, 36, 8)          # the 3 x 3 x 3 grid of the cube
    centre = int(np.argmin(np.linalg.norm(L.vertices, axis=1)))
    assert L.regions_of(0, centre).tolist() == list(range(8))
    # the boundary matrices: every square has 4 edges, every edge 2 vertices, ∂∂ = 0
    assert set(np.diff(L.boundary_ptr[2]).tolist()) == {4}
    assert set(np.diff(L.boundary_ptr[1]).tolist()) == {2}
    B1, B2, B3 = (L.boundary(k).astype(int) for k in (1, 2, 3))
    assert not np.any((B1 @ B2).toarray() % 2) and not np.any((B2 @ B3).toarray() % 2)
    assert B3.shape == (36, 8)


@pytest.mark.parametrize("d,seed", [(2, 0), (2, 1), (3, 0)])
def test_face_lattice_matches_the_facet_complex(d, seed):
    rs = pr.enumerate_regions(random_net(d, [8, 8], seed), pr.Box.cube(d))
    L = face_lattice(rs)
    assert L.euler_characteristic == 1
    assert L.f_vector[d] == len(rs)
    # interior (d-1)-faces (two cofaces) are exactly the adjacency graph's edges
    ncof = np.bincount(L.boundary_idx[d], minlength=L.f_vector[d - 1])
    pairs = set()
    for f in np.flatnonzero(ncof == 2):
        pairs.add(tuple(sorted(L.regions_of(d - 1, int(f)).tolist())))
    G = rs.adjacency()
    assert pairs == {tuple(sorted(e)) for e in G.edges}
    # every vertex of a region (graph module) is a vertex of its cell
    for c in range(0, len(rs), max(1, len(rs) // 25)):
        i = int(L.cell_region[c])
        Vi = rs.vertices(i)
        Vc = L.vertices[L.faces[d][c]]
        dist = np.min(np.linalg.norm(Vi[:, None, :] - Vc[None, :, :], axis=2), axis=1)
        assert np.all(dist < 1e-7)


def test_face_lattice_errors():
    rs = pr.enumerate_regions(one_layer(np.eye(5), np.zeros(5)), pr.Box.cube(5))
    with pytest.raises(pr.InvalidInputError, match="dimension <= 4"):
        face_lattice(rs)
    L = face_lattice(regions("diamond2"))
    with pytest.raises(pr.InvalidInputError, match="`k` must be in 1..2"):
        L.boundary(3)
    assert issubclass(TopologyError, pr.PolyregionError)


# ----------------------------------------------------------------- GF(2) ranks
def dense_gf2_rank(M):
    M = M.copy() % 2
    r = 0
    for c in range(M.shape[1]):
        piv = np.flatnonzero(M[r:, c])
        if len(piv) == 0:
            continue
        p = r + piv[0]
        M[[r, p]] = M[[p, r]]
        for i in np.flatnonzero(M[:, c]):
            if i != r:
                M[i] ^= M[r]
        r += 1
        if r == M.shape[0]:
            break
    return r


@pytest.mark.parametrize("seed", range(6))
def test_gf2_rank_against_dense_elimination(seed):
    rng = np.random.default_rng(seed)
    M = (rng.random((30, 40)) < [0.05, 0.1, 0.2, 0.5, 0.08, 0.3][seed]).astype(np.int64)
    M[:, 5] = M[:, 1] ^ M[:, 2]             # a dependent column
    cols = [np.flatnonzero(M[:, j]).tolist() for j in range(M.shape[1])]
    assert gf2_rank(cols) == dense_gf2_rank(M)


# ----------------------------------------------------------------- grid oracle
def grid_values(net, lo, hi, n=801):
    xs = np.linspace(lo, hi, n)
    X = np.stack(np.meshgrid(xs, xs, indexing="ij"), axis=-1).reshape(-1, 2)
    return net.forward(X).reshape(n, n, -1)


def grid_betti(F, which, t=0.0, output=0):
    """Independent estimate in 2-D from the outputs ``F`` on a fine grid: components of
    the set (8-connected) and holes = components of the complement (4-connected) that
    do not touch the border."""
    if which == "class":
        mask = F[..., output] >= F.max(axis=-1)
    elif which == "above":
        mask = F[..., output] >= t
    else:
        mask = F[..., output] <= t
    _, b0 = ndimage.label(mask, structure=np.ones((3, 3)))
    lab, nc = ndimage.label(~mask)
    border = set(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]).tolist()) - {0}
    return b0, nc - len(border)


def generic_thresholds(rs, net, k=3):
    """Midpoints of the ``k`` widest gaps between the values of ``f`` at the vertices of
    the regions (graph module, not the lattice), within the middle 60% of them: there
    ``|f - t|`` is at least half a gap at every vertex, so no feature of the set is
    thinner than that over the gradient (the grid can see it)."""
    V = np.vstack([rs.vertices(i) for i in range(len(rs))])
    vals = np.unique(net.forward(V)[:, 0])
    lo, hi = np.quantile(vals, [0.2, 0.8])
    v = vals[(vals >= lo) & (vals <= hi)]
    gaps = np.argsort(np.diff(v))[::-1][:k]
    return [float(0.5 * (v[g] + v[g + 1])) for g in gaps]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_2d_nets_against_grid_flood_fill(seed):
    net = random_net(2, [10, 10], seed)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    F = grid_values(net, -1, 1)
    for t in generic_thresholds(rs, net):
        for which in ("above", "below"):
            assert pr.betti_numbers(rs, which, threshold=t) == \
                grid_betti(F, which, t), (which, t)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_class_regions_against_grid_flood_fill(seed):
    net = random_net(2, [10, 10], seed + 10, n_out=3)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    F = grid_values(net, -1, 1)
    for k in range(3):
        assert pr.betti_numbers(rs, "class", output=k) == grid_betti(F, "class", output=k), k


# ----------------------------------------------------------------- persistence
def thresholds(P):
    cv = P.critical_values
    return np.concatenate([cv, 0.5 * (cv[1:] + cv[:-1]), [cv[0] - 1.0, cv[-1] + 1.0]])


@pytest.mark.parametrize("name", ["annulus2", "nested", "bumps3", "touching", "torus3"])
def test_betti_curve_equals_betti_numbers_at_every_threshold(name):
    rs = regions(name)
    P = persistence(rs)
    for t in thresholds(P):
        assert P.betti_curve(float(t)) == pr.betti_numbers(rs, "below", threshold=float(t)), t


def test_betti_curve_on_a_random_net():
    rs = pr.enumerate_regions(random_net(2, [8, 8], 5), pr.Box.cube(2))
    P = persistence(rs)
    ts = thresholds(P)
    pick = ts[np.linspace(0, len(ts) - 1, 24).astype(int)]
    curve = P.betti_curve(pick)
    for t, row in zip(pick, curve):
        assert tuple(row) == pr.betti_numbers(rs, "below", threshold=float(t)), t


def test_persistence_of_bumps_closed_form():
    # f = sum of relu bumps of heights 1, 1.5, 0.7 on a flat floor 0: the floor is born at
    # 0 with three holes, each filled when t reaches its bump's height
    P = persistence(regions("bumps3"))
    assert P.diagram(0).tolist() == [[0.0, np.inf]]
    assert np.allclose(P.diagram(1), [[0.0, 0.7], [0.0, 1.0], [0.0, 1.5]])
    # -f: three peaks born at -h; the two lower die at 0 when the floor joins them
    Q = persistence(pr.enumerate_regions(negated(NETS["bumps3"][0]()), pr.Box.cube(2, 4.0)))
    assert np.allclose(Q.diagram(0), [[-1.5, np.inf], [-1.0, 0.0], [-0.7, 0.0]])
    assert len(Q.diagram(1)) == 0


def test_persistence_of_the_shell_3d():
    # min(2 - n, n - 1) in the cube of radius 3: sublevel sets grow from the corners and
    # the centre; the cavity (beta_2) between n = 1 and n = 2 closes at the top 0.5
    P = persistence(regions("shell3"))
    D2 = P.diagram(2)
    assert len(D2) == 1 and D2[0, 1] == pytest.approx(0.5)
    assert P.betti_curve(0.0) == pr.betti_numbers(regions("shell3"), "below", threshold=0.0)


@pytest.mark.parametrize("name,expect", [
    # R^2: the outside of the annulus is there for every t (a circle: born at -inf) and
    # fills at the top 0.5; the inner disk is born at the centre's -1
    ("annulus2", [[[-np.inf, 0.5]], [[-1.0, 0.5], [-np.inf, np.inf]]]),
    ("diamond2", [[[-np.inf, 1.0]], [[-np.inf, np.inf]]]),
    # R^3: the shell's cavity is the outside's sphere, born at -inf
    ("shell3", [[[-np.inf, 0.5]], [[-1.0, 0.5], [-np.inf, np.inf]]]),
])
def test_persistence_in_unbounded_domains(name, expect):
    rs = regions(name, space=True)
    P = persistence(rs)
    top = P.dim - 1
    assert sorted(P.diagram(top).tolist()) == sorted(expect[0])
    assert sorted(P.diagram(0).tolist()) == sorted(expect[1])
    cv = P.critical_values
    for t in np.concatenate([cv, 0.5 * (cv[1:] + cv[:-1]), [cv[0] - 50.0, cv[-1] + 50.0]]):
        assert P.betti_curve(float(t)) == pr.betti_numbers(rs, "below", threshold=float(t)), t
    plot_diagram(P)


def test_snap_values_merges_rounding_only():
    v = snap_values([0.5, 0.5 - 1e-16, 0.4, 0.0])
    assert v[0] == v[1] == 0.5 - 1e-16 and v[2] == 0.4


def test_persistence_errors():
    with pytest.raises(pr.InvalidInputError, match="`output`"):
        persistence(regions("diamond2"), output=1)


# ----------------------------------------------------------------- argument errors
@pytest.mark.parametrize("kw,match", [
    (dict(which="inside"), "`which` must be one of"),
    (dict(output=1), r"`output` must be an int in \[0, 1\)"),
    (dict(output=True), "`output` must be an int"),
    (dict(threshold=np.nan), "`threshold` must be finite"),
    (dict(threshold="a"), "`threshold` must be a real number"),
    (dict(which="class"), "at least 2 outputs"),
])
def test_betti_numbers_errors(kw, match):
    with pytest.raises(pr.InvalidInputError, match=match):
        pr.betti_numbers(regions("diamond2"), **kw)


# ----------------------------------------------------------------- components, plots
def test_components_and_holes_2d():
    top = pr.decision_topology(regions("nested"), "above", threshold=0.25)
    lab, n = top.components()
    assert n == 2 and set(lab[lab >= 0].tolist()) == {0, 1}
    holes = top.holes()
    assert len(holes) == 1                                 # the moat between the shapes
    # the hole's cells lie between the disk (n <= 0.75) and the annulus (n >= 2.25)
    C = top.lattice.centroids(2)[holes[0]]
    assert np.all((np.abs(C).sum(axis=1) > 0.75) & (np.abs(C).sum(axis=1) < 2.25))


def test_plots():
    import matplotlib

    matplotlib.use("Agg")
    top = pr.decision_topology(regions("nested"), "above", threshold=0.25)
    ax = plot_components(top)
    faces = ax.collections[0].get_facecolors()
    assert len({tuple(c) for c in faces.round(6)}) == 3    # two components and white
    ax = plot_diagram(persistence(regions("bumps3")))
    assert ax.get_xlabel() == "birth" and len(ax.collections) == 2
    with pytest.raises(pr.InvalidInputError, match="2-D"):
        plot_components(pr.decision_topology(regions("diamond3"), "above"))


# ----------------------------------------------------------------- CLI
def parser():
    p = argparse.ArgumentParser(prog="polyregion")
    add_parser(p.add_subparsers(dest="command"))
    return p


def test_cli_json(tmp_path, capsys):
    path = str(tmp_path / "net.npz")
    NETS["annulus2"][0]().save(path)
    args = parser().parse_args(["topology", path, "--box", "-3", "3", "--json",
                                "--persistence"])
    assert run(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["betti"] == [1, 1] and data["n_components"] == 1 and data["n_holes"] == 1
    assert data["euler_characteristic"] == 0 and data["compactification"] is None
    # the loop of the outer part closes at t = -1 (edge midpoints, n = 3) and fills at 0.5
    assert data["persistence"]["diagram"][1] == [[-1.0, 0.5]]
    args = parser().parse_args(["topology", path, "--box", "-3", "3", "--which", "boundary"])
    assert run(args) == 0
    assert "Betti numbers (2, 2)" in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    args = parser().parse_args(["topology", str(tmp_path / "none.npz"), "--box", "0", "1"])
    assert run(args) == 2
    assert "No network file" in capsys.readouterr().err
    path = str(tmp_path / "net.npz")
    NETS["diamond2"][0]().save(path)
    args = parser().parse_args(["topology", path, "--box", "-2", "2", "--output", "3"])
    assert run(args) == 2
    assert "`output`" in capsys.readouterr().err


# ----------------------------------------------------------------- other activations, domains
def test_one_dimensional():
    # f = 1 - |x| on [-2, 2]: an interval, its two end points, the two outer pieces
    net = pr.Network.from_arrays([np.array([[1.0], [-1.0]]), -np.ones((1, 2))],
                                 [np.zeros(2), np.ones(1)])
    rs = pr.enumerate_regions(net, pr.Box([-2.0], [2.0]))
    assert pr.betti_numbers(rs, "above") == (1,)
    assert pr.betti_numbers(rs, "boundary") == (2,)
    assert pr.betti_numbers(rs, "below") == (2,)
    assert pr.betti_numbers(rs, "above", threshold=1.0) == (1,)     # the peak alone
    assert face_lattice(rs).f_vector == (3, 2)


def test_abs_and_hardtanh_activations():
    # abs: f = 1 - |x| - |y| in one layer
    net = pr.Network.from_arrays([np.eye(2), -np.ones((1, 2))], [np.zeros(2), np.ones(1)],
                                 activation="abs")
    rs = pr.enumerate_regions(net, pr.Box.cube(2, 2.0))
    assert [pr.betti_numbers(rs, w) for w in ("above", "boundary", "below")] == \
        [(1, 0), (1, 1), (1, 1)]
    # hardtanh: f = h(2x) + h(2y) has plateaus; {f = 2} is the corner square [.5, 2]^2,
    # {f = 0} the cross-shaped... a connected union of two segments and a square
    net = pr.Network.from_arrays([2 * np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)],
                                 activation="hardtanh")
    rs = pr.enumerate_regions(net, pr.Box.cube(2, 2.0))
    assert pr.betti_numbers(rs, "boundary", threshold=2.0) == (1, 0)
    assert pr.betti_numbers(rs, "above", threshold=1.5) == (1, 0)
    assert pr.betti_numbers(rs, "boundary", threshold=0.0) == (1, 0)
    assert pr.betti_numbers(rs, "above", threshold=2.5) == (0, 0)


def test_max_layer():
    # f = max(x, y, -x, -y) = |x|_inf: {f <= 1} a square, {f = 1} its boundary
    net = pr.Network.from_arrays([np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1]]),
                                  np.ones((1, 1))], [np.zeros(4), np.zeros(1)],
                                 activation=[pr.MaxPool([[0, 1, 2, 3]])])
    rs = pr.enumerate_regions(net, pr.Box.cube(2, 2.0))
    assert pr.betti_numbers(rs, "below", threshold=1.0) == (1, 0)
    assert pr.betti_numbers(rs, "boundary", threshold=1.0) == (1, 1)
    assert pr.betti_numbers(rs, "above", threshold=1.0) == (1, 1)


def test_polytope_and_slice_domains():
    net = NETS["annulus2"][0]()
    tri = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [3, 3, 3])
    rs = pr.enumerate_regions(net, tri)
    assert pr.betti_numbers(rs, "above") == (1, 1)
    assert pr.betti_numbers(rs, "boundary") == (2, 2)
    # x + y <= 1.5 only thins the annulus; x + y <= 0.5 cuts it open: an arc
    thin = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [3, 3, 1.5])
    assert pr.betti_numbers(pr.enumerate_regions(net, thin), "above") == (1, 1)
    cut = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [3, 3, 0.5])
    assert pr.betti_numbers(pr.enumerate_regions(net, cut), "above") == (1, 0)
    # the plane z = 0 through the 3-D shell is an annulus
    net3 = NETS["shell3"][0]()
    sl = pr.Slice(np.zeros(3), np.array([[1.0, 0, 0], [0, 1, 0]]), pr.Box.cube(2, 3.0))
    rs = pr.enumerate_regions(net3, sl)
    assert [pr.betti_numbers(rs, w) for w in ("above", "boundary", "below")] == \
        [(1, 1), (2, 2), (2, 1)]


@pytest.mark.parametrize("box", [pr.Box.cube(2, 1e5), pr.Box.cube(2, 1e-3, center=[1e3, 0]),
                                 pr.Box.cube(2, 2e-3)])
def test_scales(box):
    # the l1 annulus scaled to the box: tolerances follow the domain's scale and the
    # coordinates' magnitude
    r = float(box.hi[0] - box.lo[0]) / 6
    c = tuple(0.5 * (box.lo + box.hi))
    rs = pr.enumerate_regions(shapes_net(2, [("annulus", c, r, 2 * r)], "min"), box)
    assert pr.betti_numbers(rs, "above") == (1, 1)
    assert pr.betti_numbers(rs, "boundary") == (2, 2)
    assert pr.betti_numbers(rs, "below") == (2, 1)


def test_four_dimensional_sphere():
    net = shapes_net(4, [("diamond", (0, 0, 0, 0), 1.0)], "min")
    rs = pr.enumerate_regions(net, pr.Box.cube(4, 2.0))
    assert pr.betti_numbers(rs, "boundary") == (1, 0, 0, 1)
    assert pr.betti_numbers(rs, "below") == (1, 0, 0, 1)
    assert face_lattice(rs).euler_characteristic == 1


@pytest.mark.parametrize("name", ["shell3", "torus3"])
def test_crossing_vertices_change_nothing_on_face_to_face_partitions(name):
    from polyregion.topology import build_lattice

    rs = regions(name)
    a, b = build_lattice(rs, crossing=False), build_lattice(rs, crossing=True)
    assert a.f_vector == b.f_vector
    assert b.stats["n_crossing_pairs"] > 0


# ----------------------------------------------------------------- nerve oracle
def nerve_betti(rs, which, t=0.0, eps=1e-9):
    """Independent oracle (no face lattice): the set is the union of the closed convex
    pieces ``P ∩ {f >= t}`` (or ``<=``) of the regions ``P``; by the nerve theorem it has
    the homology of the nerve of these pieces. Non-empty intersections by HiGHS LPs (rows
    relaxed by ``eps``), simplices up to dimension ``d`` (subsets of ``d + 1`` pieces),
    ranks by dense GF(2) elimination."""
    from itertools import combinations

    from scipy.optimize import linprog

    d = rs.dim
    sgn = -1.0 if which == "above" else 1.0
    pieces = []
    for i in range(len(rs)):
        A, b = rs.halfspaces(i)
        M, c = rs.affine_map(i)
        row, off = sgn * M[0], sgn * (t - c[0])          # sgn * (f - t) <= 0
        n = np.linalg.norm(row)
        if n > 0:
            A, b = np.vstack([A, row / n]), np.concatenate([b, [off / n]])
        elif sgn * (c[0] - t) > eps:
            continue                                      # constant on the wrong side
        pieces.append((A, b))

    def meets(S):
        A = np.vstack([pieces[k][0] for k in S])
        b = np.concatenate([pieces[k][1] for k in S])
        r = linprog(np.zeros(d), A_ub=A, b_ub=b + eps, bounds=[(None, None)] * d,
                    method="highs")
        return r.status == 0

    alive = [k for k in range(len(pieces)) if meets((k,))]
    simplices = [[(k,) for k in alive]]
    for q in range(1, d + 1):
        nxt = []
        prev = set(simplices[-1])
        edges = set(simplices[1]) if q > 1 else None
        for S in simplices[-1]:
            for k in alive:
                if k <= S[-1]:
                    continue
                T = S + (k,)
                if q > 1 and not all((s, k) in edges for s in S):
                    continue
                if all(tuple(x for x in T if x != y) in prev for y in T[:-1]) and meets(T):
                    nxt.append(T)
        simplices.append(nxt)
    index = [{S: j for j, S in enumerate(level)} for level in simplices]
    rank = [0] * (d + 2)
    for q in range(1, d + 1):
        if not simplices[q] or not simplices[q - 1]:
            continue
        B = np.zeros((len(simplices[q - 1]), len(simplices[q])), np.int64)
        for j, S in enumerate(simplices[q]):
            for y in S:
                B[index[q - 1][tuple(x for x in S if x != y)], j] = 1
        rank[q] = dense_gf2_rank(B)
    return tuple(len(simplices[q]) - rank[q] - rank[q + 1] for q in range(d))


@pytest.mark.parametrize("name,which,t", [
    ("diamond3", "below", 0.0), ("shell3", "above", 0.25), ("nested", "below", 0.25),
    ("touching", "below", 0.5),
])
def test_nerve_oracle_on_hand_built_nets(name, which, t):
    rs = regions(name)
    assert pr.betti_numbers(rs, which, threshold=t) == nerve_betti(rs, which, t)


@pytest.mark.parametrize("d,widths,seed", [
    (3, [5, 5], 0),
    pytest.param(3, [6, 4], 1, marks=pytest.mark.slow),
    pytest.param(2, [8, 8], 2, marks=pytest.mark.slow),
    pytest.param(3, [6, 6], 3, marks=pytest.mark.slow),
])
def test_nerve_oracle_on_random_nets(d, widths, seed):
    net = random_net(d, widths, seed)
    rs = pr.enumerate_regions(net, pr.Box.cube(d))
    for which in ("above", "below"):
        t = float(np.median(net.forward(rs.points)[:, 0]))
        assert pr.betti_numbers(rs, which, threshold=t) == nerve_betti(rs, which, t), which


def test_which_aliases():
    rs = regions("annulus2")
    assert pr.betti_numbers(rs, "superlevel") == pr.betti_numbers(rs, "above") == (1, 1)
    assert pr.betti_numbers(rs, "level_set") == (2, 2)
    assert pr.decision_topology(rs, "sublevel").which == "below"


def test_cli_standalone_main_and_class(tmp_path, capsys):
    from polyregion.topology.cli import main

    base = NETS["annulus2"][0]()
    net = with_outputs(base, [np.zeros(base.weights[-1].shape[1])], [0.0])
    path = str(tmp_path / "net3.npz")
    net.save(path)
    assert main([path, "--box", "-3", "3", "--which", "class", "--output", "1",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["betti"] == [2, 1] and data["which"] == "class"
    assert main([path, "--box", "-3", "3", "--which", "nowhere"]) == 2
