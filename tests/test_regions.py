import numpy as np
import pytest

import polyregion as pr
from oracles import he_net
from polyregion.errors import FileFormatError, InvalidInputError


@pytest.fixture(scope="module")
def quadrants():
    # lines x = 0, y = 0 and a redundant-for-some-cells line x = 0.5
    W = [np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.ones((1, 3))]
    net = pr.Network.from_arrays(W, [np.array([0.0, 0.0, -0.5]), np.zeros(1)])
    return pr.enumerate_regions(net, pr.Box.cube(2))


def test_halfspaces_irredundant_hand_checked(quadrants):
    rs = quadrants
    assert len(rs) == 6
    i = rs.locate([-0.5, -0.5])
    A, b = rs.halfspaces(i)
    # quadrant x<0, y<0 of the box: facets x<=0, y<=0, x>=-1, y>=-1 (x<=0.5 is redundant)
    rows = {tuple(np.round(np.append(a, c), 12)) for a, c in zip(A, b)}
    assert rows == {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 1.0), (0.0, -1.0, 1.0)}
    A, b, labels = rs.halfspaces(i, with_labels=True)
    assert sorted(l for grp in labels for l in grp if l[0] >= 0) == [(0, 0, 0), (0, 1, 0)]


def test_halfspaces_contain_point_and_match_sampling(rng):
    net = he_net([6, 5], 3, seed=3)
    rs = pr.enumerate_regions(net, pr.Box.cube(3))
    X = rng.uniform(-1, 1, size=(3000, 3))
    idx = rs.locate(X)
    assert np.all(idx >= 0)
    for i in rng.choice(len(rs), size=8, replace=False):
        A, b = rs.halfspaces(int(i))
        assert np.all(A @ rs.points[i] < b)
        inside = np.all(X @ A.T <= b + 1e-12, axis=1)
        # points inside the H-representation are exactly the points located in region i
        assert np.array_equal(inside, idx == i)


def test_affine_map_matches_forward(rng):
    net = he_net([5, 5], 2, seed=1)
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    for i in range(len(rs)):
        M, c = rs.affine_map(i)
        np.testing.assert_allclose(M @ rs.points[i] + c, net.forward(rs.points[i][None])[0],
                                   atol=1e-10)


def test_locate_outside_and_errors(quadrants):
    assert quadrants.locate([5.0, 0.0]) == -1
    out = quadrants.locate(np.array([[0.1, 0.1], [9.0, 9.0]]))
    assert out.tolist()[1] == -1 and out[0] >= 0
    with pytest.raises(InvalidInputError, match="columns"):
        quadrants.locate(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="out of range"):
        quadrants.halfspaces(100)


def test_save_load_roundtrip(tmp_path, rng):
    net = he_net([6, 4], 4, seed=2)
    sl = pr.Slice(rng.normal(size=4), rng.normal(size=(2, 4)), pr.Box.cube(2))
    rs = pr.enumerate_regions(net, sl)
    rs.save(tmp_path / "r.npz")
    back = pr.RegionSet.load(tmp_path / "r.npz")
    assert back == rs
    np.testing.assert_array_equal(back.points, rs.points)
    np.testing.assert_array_equal(back.radii, rs.radii)
    assert back.net == net and back.stats.n_lps == rs.stats.n_lps
    assert back.locate(rs.points[3]) == 3
    net.save(tmp_path / "n.npz")
    with pytest.raises(FileFormatError, match="RegionSet"):
        pr.RegionSet.load(tmp_path / "n.npz")


def test_canonical_order_and_equality():
    net = he_net([8], 2, seed=4)
    a = pr.enumerate_regions(net, pr.Box.cube(2), method="lp")
    b = pr.enumerate_regions(net, pr.Box.cube(2), method="scipy")
    assert a == b
    keys = [tuple(c) for c in a.codes]
    assert keys == sorted(keys)
    assert "RegionSet(n_regions=" in repr(a) and "n_lps" in repr(a.stats)


def test_halfspaces_keep_a_facet_carried_twice_with_one_ulp_apart_normals():
    # x - y = 0 is carried by rows [1, -1] and [3, -3], whose unit normals differ in the last
    # bit, and x + y sorts between them: the facet must be kept once, with both labels.
    from scipy.optimize import linprog

    W0 = np.array([[1.0, -1.0], [3.0, -3.0], [1.0, 1.0]])
    net = pr.Network.from_arrays([W0, np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2))
    assert len(rs) == 4
    for i in range(len(rs)):
        A, b, labels = rs.halfspaces(i, with_labels=True)
        assert len(A) == 3  # each region is a triangle: two neuron lines and a box side
        for c in np.vstack([np.eye(2), -np.eye(2)]):  # bounded, and inside the box
            res = linprog(-c, A_ub=A, b_ub=b, bounds=[(None, None)] * 2, method="highs")
            assert res.status == 0 and -res.fun <= 1 + 1e-9
        units = sorted(sorted(int(u) for _, u, _ in g) for g in labels if g[0][0] == 0)
        assert units == [[0, 1], [2]]


def test_constructor_checks_lengths_widths_and_dtypes(quadrants):
    rs = quadrants
    net, dom = rs.net, rs.domain
    c, p, r = rs.codes, rs.points, rs.radii
    with pytest.raises(InvalidInputError, match=r"`points` must have shape \(6, 2\) .*got \(5, 2\)"):
        pr.RegionSet(net, dom, c, p[:5], r)
    with pytest.raises(InvalidInputError, match=r"`radii` must have shape \(6,\) .*got \(7,\)"):
        pr.RegionSet(net, dom, c, p, np.append(r, 1.0))
    with pytest.raises(InvalidInputError, match=r"`codes` must have shape \(n, 3\) .*got \(6, 2\)"):
        pr.RegionSet(net, dom, c[:, :2], p, r)
    with pytest.raises(InvalidInputError, match="`codes` must hold integer piece indices .*float64"):
        pr.RegionSet(net, dom, c + 0.5, p, r)
    big = c.astype(np.int64)
    big[0, 0] = 257  # was cast to 1: a valid-looking code
    with pytest.raises(InvalidInputError, match=r"entry \[0, 0\] = 257 is not in \[0, 2\)"):
        pr.RegionSet(net, dom, big, p, r)
    same = pr.RegionSet(net, dom, c.astype(np.int64).tolist(), p.tolist(), r.tolist())
    assert same == rs and same.codes.dtype == np.uint8


def test_index_of_codes_refuses_what_is_not_a_code(quadrants, tmp_path):
    rs = quadrants
    assert rs.index_of_codes(rs.codes.astype(np.int64)).tolist() == list(range(len(rs)))
    disk = pr.enumerate_regions(he_net([6, 4], 2, seed=2), pr.Box.cube(2), out=tmp_path / "d")
    for target in (rs, disk):
        n = target.net.n_neurons
        ok = np.asarray(target.codes[:2]).astype(np.int64)
        assert target.index_of_codes(ok).tolist() == [0, 1]
        for bad, match in [
            (np.full((1, n), 256), r"entry \[0, 0\] = 256 is not in \[0, 2\)"),  # was 0
            (np.full((1, n), -1), r"entry \[0, 0\] = -1 is not in \[0, 2\)"),
            (np.full((1, n), 2), r"entry \[0, 0\] = 2 is not in \[0, 2\)"),
            (np.full((1, n), 0.7), "integer piece indices .*float64"),  # was 0
            (np.ones((1, n + 1), np.uint8), r"must have shape \(n, %d\)" % n),
        ]:
            with pytest.raises(InvalidInputError, match=match):
                target.index_of_codes(bad)
    # the example: [[256, 1]] and [[0.7, 1.2]] matched region [0, 1]
    two = pr.enumerate_regions(pr.Network.from_arrays([np.eye(2), np.ones((1, 2))],
                                                      [np.zeros(2), np.zeros(1)]), pr.Box.cube(2))
    assert two.index_of_codes([[0, 1]]).tolist() == [1]
    for bad in ([[256, 1]], [[0.7, 1.2]]):
        with pytest.raises(InvalidInputError, match="`codes`"):
            two.index_of_codes(bad)
