"""Pictures of 2-D partitions (polyregion.plot) and slices through data (Slice.through)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import polyregion as pr  # noqa: E402
from oracles import he_net, zaslavsky  # noqa: E402


def _lines_net(n, seed=0):
    rng = np.random.default_rng(seed)
    return pr.Network.from_arrays([rng.normal(size=(n, 2)), rng.normal(size=(1, n))],
                                  [rng.normal(size=n) * 0.3, np.zeros(1)])


def _euler(polys, tol=1e-9):
    """V - E + F of the planar complex drawn by the polygons (vertices merged by rounding)."""
    def key(p):
        return tuple(np.round(np.asarray(p) / tol).astype(np.int64))

    V, E = set(), set()
    for P in polys:
        ks = [key(v) for v in P.vertices]
        V.update(ks)
        for a, b in zip(ks, ks[1:] + ks[:1]):
            E.add((min(a, b), max(a, b)))
    return len(V) - len(E) + len(polys)


def test_polygons_tile_the_box_one_layer_zaslavsky():
    net = _lines_net(7)
    # a box large enough to hold every intersection point of the 7 lines
    rs = pr.enumerate_regions(net, pr.Box.cube(2, radius=200.0))
    assert len(rs) == zaslavsky(7, 2)  # all intersections inside
    polys = pr.plot.polygons(rs)
    assert all(p is not None for p in polys)
    assert sum(p.area for p in polys) == pytest.approx(400.0**2, rel=1e-9)


def test_polygons_euler_area_and_interior_points():
    net = he_net([8, 8], 2, seed=3)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    polys = pr.plot.polygons(rs)
    assert len(polys) == len(rs) and all(p is not None for p in polys)
    assert sum(p.area for p in polys) == pytest.approx(4.0, rel=1e-9)
    # the polygons form a planar complex of the square: V - E + F = 1 ...
    # (only when no vertex lies in the interior of another polygon's edge, so use the
    # areas and a containment check as the main oracle, Euler with subdivided edges)
    from matplotlib.path import Path

    for i, P in enumerate(polys):
        assert P.area > 0
        assert Path(P.vertices).contains_point(rs.points[i], radius=-1e-12) or \
            rs.radii[i] < 1e-6
    # every edge label names a real hyperplane: the interior points of the two sides differ
    layers = {int(l) for P in polys for l in P.labels[:, 0]}
    assert layers <= {-1, 0, 1} and {-1, 0, 1} <= layers


def test_euler_characteristic_single_layer():
    net = _lines_net(6, seed=1)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    assert _euler(pr.plot.polygons(rs)) == 1


def test_partition_png_is_written(tmp_path):
    net = he_net([6, 6], 2, seed=1)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    path = tmp_path / "p.png"
    pr.plot.save_partition(rs, path, decision_boundary=True,
                           points=[[0.1, 0.2], [-0.5, 0.5]], point_labels=["a", "b"])
    assert path.stat().st_size > 5000
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_partition_has_one_polygon_per_region_for_every_color_by():
    import matplotlib.pyplot as plt

    net = he_net([6, 6], 2, seed=1)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    for color_by in pr.plot.COLOR_BY:
        ax = pr.plot.partition(rs, color_by=color_by)
        faces = [c for c in ax.collections if c.get_gid() == "polyregion-regions"]
        assert len(faces) == 1 and len(faces[0].get_paths()) == len(rs), color_by
        plt.close("all")


def _identity_net(bias):
    """f(x) = x + bias through one hidden ReLU layer: relu(x) - relu(-x) = x."""
    W0 = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    W1 = np.array([[1.0, -1, 0, 0], [0, 0, 1, -1]])
    return pr.Network.from_arrays([W0, W1], [np.zeros(4), np.asarray(bias, float)])


def _db_segments(ax):
    (db,) = [c for c in ax.collections if c.get_gid() == "polyregion-decision-boundary"]
    return np.array(db.get_segments())


def test_decision_boundary_one_output_is_the_zero_set():
    import matplotlib.pyplot as plt

    W0 = np.array([[1.0, 0], [-1, 0]])
    net = pr.Network.from_arrays([W0, np.array([[1.0, -1.0]])], [np.zeros(2), [-0.3]])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    segs = _db_segments(pr.plot.partition(rs, decision_boundary=True))
    assert np.allclose(segs[:, :, 0], 0.3)                       # f = x1 - 0.3 = 0
    assert np.sum(np.abs(segs[:, 1, 1] - segs[:, 0, 1])) == pytest.approx(2.0)
    plt.close("all")


def test_decision_boundary_two_classes_is_the_diagonal():
    import matplotlib.pyplot as plt

    rs = pr.enumerate_regions(_identity_net([0.0, 0.0]), pr.Box.cube(2))
    segs = _db_segments(pr.plot.partition(rs, decision_boundary=True))
    assert np.allclose(segs[:, :, 0], segs[:, :, 1])            # argmax(x1, x2) flips at x1 = x2
    length = np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1).sum()
    assert length == pytest.approx(2 * np.sqrt(2))
    plt.close("all")


def test_partition_errors():
    net = he_net([4], 3, seed=0)
    rs3 = pr.enumerate_regions(net, pr.Box.cube(3))
    with pytest.raises(pr.InvalidInputError, match="2-D RegionSet"):
        pr.plot.partition(rs3)
    rs = pr.enumerate_regions(he_net([4], 2), pr.Box.cube(2))
    with pytest.raises(pr.InvalidInputError, match="color_by"):
        pr.plot.partition(rs, color_by="rainbow")
    with pytest.raises(pr.InvalidInputError, match="points"):
        pr.plot.partition(rs, points=np.zeros((2, 5)))
    with pytest.raises(pr.InvalidInputError, match="window"):
        pr.plot.polygons(rs, window=(1, 0, 0, 1))
    with pytest.raises(pr.InvalidInputError, match="RegionSet"):
        pr.plot.polygons("not a region set")


# ---------------------------------------------------------------------- Slice.through
def test_slice_through_orthonormal_places_the_points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 10))
    s = pr.Slice.through(*X)
    D = s.directions
    assert np.allclose(D @ D.T, np.eye(2))
    assert np.allclose(s.to_input(s.anchors), X)
    assert np.allclose(s.project(X), s.anchors)
    # distances in t are distances in the input space
    assert np.linalg.norm(s.anchors[1] - s.anchors[2]) == pytest.approx(np.linalg.norm(X[1] - X[2]))
    assert s.anchors[0].tolist() == [0, 0] and s.anchors[1][1] == 0 and s.anchors[2][1] > 0
    lo, hi = s.inner.lo, s.inner.hi
    assert np.all(lo < s.anchors.min(0)) and np.all(hi > s.anchors.max(0))


def test_slice_through_affine_parametrisation_and_margin():
    X = np.array([[1.0, 1, 1], [2, 1, 1], [1, 3, 1]])
    s = pr.Slice.through(*X, margin=0.25, orthonormal=False)
    assert s.anchors.tolist() == [[0, 0], [1, 0], [0, 1]]
    assert np.allclose(s.to_input(s.anchors), X)
    assert s.inner.lo.tolist() == [-0.25, -0.25] and s.inner.hi.tolist() == [1.25, 1.25]


def test_slice_through_errors():
    with pytest.raises(pr.InvalidDomainError, match="collinear"):
        pr.Slice.through([0, 0, 0], [1, 1, 1], [2, 2, 2])
    with pytest.raises(pr.InvalidDomainError, match="collinear"):
        pr.Slice.through([0, 0], [0, 0], [1, 0])
    with pytest.raises(pr.InvalidDomainError, match="same length"):
        pr.Slice.through([0, 0], [1, 0, 0], [0, 1])
    with pytest.raises(pr.InvalidDomainError, match="margin"):
        pr.Slice.through([0, 0], [1, 0], [0, 1], margin=-1)


def test_slice_picture_projects_input_points(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 6))
    net = he_net([8], 6, seed=2)
    rs = pr.enumerate_regions(net, pr.Slice.through(*X))
    # regions of the slice = codes seen on a dense grid of the slice (lower bound) ...
    lo, hi = rs.domain.inner.lo, rs.domain.inner.hi
    g = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300)),
                 -1).reshape(-1, 2)
    seen = {c.tobytes() for c in net.codes(rs.domain.to_input(g))}
    assert seen <= {c.tobytes() for c in rs.codes}
    ax = pr.plot.partition(rs, points=X, point_labels=[0, 1, 2])
    offsets = ax.collections[-1].get_offsets()
    assert np.allclose(offsets, rs.domain.anchors)
    import matplotlib.pyplot as plt

    plt.close("all")
