import numpy as np
import pytest

import polyregion as pr
from polyregion.errors import InvalidDomainError


def test_box():
    b = pr.Box([0, -1], [2, 1])
    A, c = b.halfspaces()
    assert b.dim == 2 and A.shape == (4, 2)
    assert b.contains([[1, 0]])[0] and not b.contains([[3, 0]])[0]
    assert b.volume() == 4.0
    cube = pr.Box.cube(3, radius=2.0, center=[1, 1, 1])
    np.testing.assert_array_equal(cube.lo, [-1, -1, -1])


@pytest.mark.parametrize("lo,hi,match", [
    ([0, 1], [1, 0], r"greater than `lo`.*lo=\[0.0, 1.0\], hi=\[1.0, 0.0\]"),
    ([0, 0], [1], "same non-zero length"),
    ([np.nan], [1], "finite"),
])
def test_bad_box(lo, hi, match):
    with pytest.raises(InvalidDomainError, match=match):
        pr.Box(lo, hi)


def test_polytope():
    tri = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    assert tri.bounded
    np.testing.assert_allclose(tri.bounds()[1], [1, 1], atol=1e-9)
    assert tri.contains(tri.interior_point()[None])[0]
    with pytest.raises(InvalidDomainError, match="non-empty interior"):
        pr.Polytope([[1, 0], [-1, 0]], [0, 0])  # a line
    with pytest.raises(InvalidDomainError, match="non-empty interior"):
        pr.Polytope([[1, 0], [-1, 0]], [-1, -1])  # empty
    half = pr.Polytope([[1.0, 0.0]], [0.0])
    assert not half.bounded


def test_space_and_slice():
    assert pr.Space(3).dim == 3
    with pytest.raises(InvalidDomainError, match="positive int"):
        pr.Space(0)
    s = pr.Slice(np.ones(4), [[1, 0, 0, 0], [0, 1, 0, 0]], pr.Box.cube(2))
    np.testing.assert_allclose(s.to_input([[1, 2]]), [[2, 3, 1, 1]])
    with pytest.raises(InvalidDomainError, match="linearly independent"):
        pr.Slice(np.zeros(3), [[1, 0, 0], [2, 0, 0]])
    with pytest.raises(InvalidDomainError, match="dimension 2"):
        pr.Slice(np.zeros(3), [[1, 0, 0], [0, 1, 0]], pr.Box.cube(3))


def test_domain_dimension_checked():
    net = pr.Network.from_arrays([np.ones((2, 3)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    with pytest.raises(InvalidDomainError, match="input dimension 2 but the network takes 3"):
        pr.enumerate_regions(net, pr.Box.cube(2))
    with pytest.raises(InvalidDomainError, match="must be a Box"):
        pr.enumerate_regions(net, [[0, 1]])
