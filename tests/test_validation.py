"""Input validation: every bad input ends in a typed error with a clear message (issue 8)."""

import json
import os
import zipfile

import numpy as np
import pytest

import polyregion as pr
from polyregion.errors import (FileFormatError, InvalidDomainError, InvalidInputError,
                               InvalidNetworkError)

I2, Z2 = np.eye(2), np.zeros(2)


def net2(**kw):
    return pr.Network.from_arrays([I2, np.ones((1, 2))], [Z2, np.zeros(1)], **kw)


# ----------------------------------------------------------------- networks
@pytest.mark.parametrize("bad,match", [
    (np.nan, r"`weights\[0\]` must be finite; it holds NaN or inf"),
    (np.inf, r"`weights\[0\]` must be finite"),
    (-np.inf, r"`weights\[0\]` must be finite"),
])
def test_network_nan_inf_weights(bad, match):
    W = I2.copy()
    W[0, 1] = bad
    with pytest.raises(InvalidNetworkError, match=match):
        pr.Network.from_arrays([W, np.ones((1, 2))], [Z2, np.zeros(1)])


def test_network_nan_bias():
    with pytest.raises(InvalidNetworkError, match=r"`biases\[1\]` must be finite"):
        pr.Network.from_arrays([I2, np.ones((1, 2))], [Z2, np.array([np.nan])])


@pytest.mark.parametrize("W,match", [
    (np.array([[1, None], [0, 1]], dtype=object), r"`weights\[0\]` must be a numeric array; got dtype object"),
    (np.array([["a", "b"], ["c", "d"]]), r"must be a numeric array; got dtype <U1"),
    (I2 * 1j, r"must be a numeric array; got dtype complex128"),
    ([[1.0, 2.0], [3.0]], r"`weights\[0\]` could not be read as an array"),
    (np.ones((2, 2, 1)), r"`weights\[0\]` must be 2-D; got shape \(2, 2, 1\)"),
    (np.ones(2), r"`weights\[0\]` must be 2-D; got shape \(2,\)"),
])
def test_network_bad_weight_arrays(W, match):
    with pytest.raises(InvalidNetworkError, match=match):
        pr.Network.from_arrays([W, np.ones((1, 2))], [Z2, np.zeros(1)])


def test_network_shapes():
    with pytest.raises(InvalidNetworkError, match=r"`biases\[0\]` must have shape \(2,\)"):
        pr.Network.from_arrays([I2, np.ones((1, 2))], [np.zeros(3), np.zeros(1)])
    with pytest.raises(InvalidNetworkError, match=r"`biases\[0\]` must be 1-D"):
        pr.Network.from_arrays([I2, np.ones((1, 2))], [np.zeros((2, 1)), np.zeros(1)])
    with pytest.raises(InvalidNetworkError, match="Shape mismatch between layers"):
        pr.Network.from_arrays([I2, np.ones((1, 3))], [Z2, np.zeros(1)])
    with pytest.raises(InvalidNetworkError, match="same length"):
        pr.Network.from_arrays([I2, np.ones((1, 2))], [Z2])
    with pytest.raises(InvalidNetworkError, match="at least one layer"):
        pr.Network.from_arrays([], [])
    with pytest.raises(InvalidNetworkError, match="lists of arrays"):
        pr.Network.from_arrays(np.ones((2, 2)), np.zeros(2))


def test_network_width_zero_layer():
    with pytest.raises(InvalidNetworkError, match=r"`weights\[0\]` has a zero dimension"):
        pr.Network.from_arrays([np.zeros((0, 2)), np.zeros((1, 0))], [np.zeros(0), np.zeros(1)])
    with pytest.raises(InvalidNetworkError, match=r"`weights\[0\]` has a zero dimension"):
        pr.Network.from_arrays([np.zeros((2, 0)), np.zeros((1, 2))], [Z2, np.zeros(1)])


@pytest.mark.parametrize("act,match", [
    ("tanh", r"Unknown `activation` 'tanh'; known: abs, hardtanh, relu, relu6"),
    ("sigmoid", r"Unknown `activation` 'sigmoid'"),
    ("leaky_relu:nan", "the leaky_relu slope must be a finite number"),
    ("leaky_relu:abc", "the leaky_relu slope must be a finite number"),
    ("leaky_relu:1", "the leaky_relu slope must be a finite number other than 1"),
    (5, r"`activation` must be a name or a list of names; got 5"),
    (["relu", "relu", "relu"], "lists 3 activations for 1 hidden layers"),
])
def test_unknown_or_bad_activation(act, match):
    with pytest.raises(InvalidNetworkError, match=match):
        net2(activation=act)


def test_custom_activation_checks():
    with pytest.raises(InvalidNetworkError, match="breakpoints must be finite, sorted and distinct"):
        pr.Activation("x", (np.nan,), (0.0, 1.0), (0.0, 0.0))
    with pytest.raises(InvalidNetworkError, match="breakpoints must be finite, sorted and distinct"):
        pr.Activation("x", (1.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    with pytest.raises(InvalidNetworkError, match="is not continuous"):
        pr.Activation("x", (0.0,), (0.0, 1.0), (0.0, 1.0))
    with pytest.raises(InvalidNetworkError, match="slopes and intercepts must be finite"):
        pr.Activation("x", (0.0,), (0.0, np.inf), (0.0, 0.0))
    with pytest.raises(InvalidNetworkError, match="at most 254 breakpoints"):
        t = np.arange(300.0)
        pr.Activation("x", tuple(t), (0.0,) * 301, tuple(np.concatenate([[0.0], t])))


@pytest.mark.parametrize("bn,match", [
    ({"eps": -1e-5}, r"`bn\[0\]\['eps'\]` must be finite and >= 0; got -1e-05"),
    ({"eps": np.nan}, r"`bn\[0\]\['eps'\]` must be finite and >= 0"),
    ({"eps": "x"}, r"`bn\[0\]\['eps'\]` must be a number"),
    ({"var": np.nan}, r"`bn\[0\]\['var'\]` must be finite"),
    ({"var": -1.0}, r"`bn\[0\]\['var'\]` must be >= 0"),
    ({"var": 0.0, "eps": 0.0}, "var \\+ eps must be > 0"),
    ({"gamma": np.ones(3)}, r"must be a number or have shape \(2,\)"),
    ({"scale": 1.0}, "unknown keys"),
    (3, r"`bn\[0\]` must be a dict or None"),
])
def test_bn_validation(bn, match):
    with pytest.raises(InvalidNetworkError, match=match):
        net2(bn=[bn, None])


def test_negative_tolerances():
    with pytest.raises(InvalidInputError, match=r"Tolerance `feasibility` must be a float in \(0, 1\); got -1e-09"):
        pr.Tolerances(feasibility=-1e-9)
    with pytest.raises(InvalidInputError, match="Tolerance `zero_row`"):
        pr.Tolerances(zero_row=float("nan"))
    with pytest.raises(InvalidInputError, match="`max_simplex_iter` must be a positive int"):
        pr.Tolerances(max_simplex_iter=0)


# ----------------------------------------------------------------- points and codes
@pytest.mark.parametrize("X,match", [
    ([[np.nan, 0.0]], "`X` must be finite"),
    ([[np.inf, 0.0]], "`X` must be finite"),
    ([[0.0, 0.0, 0.0]], r"`X` must have shape \(n, 2\); got \(1, 3\)"),
    (np.zeros((1, 1, 2)), r"`X` must have shape \(n, 2\)"),
    (np.array([[0, None]], dtype=object), "`X` must be a numeric array; got dtype object"),
    (np.array([["a", "b"]]), "`X` must be a numeric array"),
])
def test_points_validation(X, match):
    with pytest.raises(InvalidInputError, match=match):
        net2().codes(X)
    with pytest.raises(InvalidInputError, match=match):
        net2().forward(X)


@pytest.mark.parametrize("code,match", [
    ([0], "`code` must have 2 entries; got 1"),
    ([0, 5], r"`code` has a piece index >= 2 in layer 0"),
    ([0, -1], "`code` must hold non-negative integer piece indices"),
    ([0.5, 1.0], "`code` must hold non-negative integer piece indices"),
])
def test_affine_map_code_validation(code, match):
    with pytest.raises(InvalidInputError, match=match):
        net2().affine_map(code)


def test_regionset_accessors():
    rs = pr.enumerate_regions(net2(), pr.Box.cube(2))
    with pytest.raises(InvalidInputError, match="Region index 99 out of range for 4 regions"):
        rs.halfspaces(99)
    with pytest.raises(InvalidInputError, match="Region index must be an int; got 'a'"):
        rs.affine_map("a")
    with pytest.raises(InvalidInputError, match=r"`x` must have 2 columns; got shape \(1, 3\)"):
        rs.locate([0.0, 0.0, 0.0])
    with pytest.raises(InvalidInputError, match="`x` must be a real numeric array"):
        rs.locate(["a", "b"])
    with pytest.raises(InvalidInputError, match="`X` must be finite"):
        rs.locate([np.nan, 0.0])
    with pytest.raises(InvalidInputError, match="`rs` must be a polyregion.RegionSet; got str"):
        pr.certify("rs")


# ----------------------------------------------------------------- domains
@pytest.mark.parametrize("lo,hi,match", [
    ([np.nan, 0], [1, 1], "`lo` must be finite"),
    ([0, 0], [np.inf, 1], "`hi` must be finite"),
    ([0, 0], [1, 1, 1], "must be 1-D arrays of the same non-zero length"),
    ([[0, 0]], [[1, 1]], "must be 1-D arrays of the same non-zero length"),
    ([], [], "must be 1-D arrays of the same non-zero length"),
    ([0, 1], [1, 0], r"The `hi` bound of Box must be greater than `lo` in every coordinate; got lo=\[0.0, 1.0\], hi=\[1.0, 0.0\]"),
    ([0, 0], [0, 1], "must be greater than `lo`"),
    (np.array([0, None], dtype=object), [1, 1], "`lo` must be a real numeric array; got dtype object"),
    ([0j, 0], [1, 1], "`lo` must be a real numeric array; got dtype complex128"),
    ("ab", "cd", "`lo` must be a real numeric array"),
    ([-1e308, 0], [1e308, 1], "extent `hi - lo` of Box must be finite"),
])
def test_box_validation(lo, hi, match):
    with pytest.raises(InvalidDomainError, match=match):
        pr.Box(lo, hi)


@pytest.mark.parametrize("kwargs,match", [
    (dict(d=0), "`d` must be a positive int; got 0"),
    (dict(d=2.0), "`d` must be a positive int; got 2.0"),
    (dict(d=True), "`d` must be a positive int; got True"),
    (dict(d=2, radius=-1.0), "`radius` must be a finite number > 0"),
    (dict(d=2, radius=np.nan), "`radius` must be a finite number > 0"),
    (dict(d=2, radius="1"), "`radius` must be a finite number > 0; got '1'"),
    (dict(d=2, center=[0, 0, 0]), r"`center` must have shape \(2,\); got \(3,\)"),
])
def test_cube_validation(kwargs, match):
    with pytest.raises(InvalidDomainError, match=match):
        pr.Box.cube(**kwargs)


def test_empty_polytopes():
    with pytest.raises(InvalidDomainError, match="must have a non-empty interior"):
        pr.Polytope([[1, 0], [-1, 0]], [-1, 0])            # x <= -1 and x >= 0
    with pytest.raises(InvalidDomainError, match="must have a non-empty interior"):
        pr.Polytope([[1, 0], [-1, 0]], [0, 0])             # the line x = 0
    with pytest.raises(InvalidDomainError, match="a zero row of `A` has b < 0"):
        pr.Polytope([[0, 0], [1, 0]], [-1, 1])
    with pytest.raises(InvalidDomainError, match=r"`A` of shape \(m, d\) and `b` of shape \(m,\)"):
        pr.Polytope([[1, 0]], [1, 2])
    with pytest.raises(InvalidDomainError, match="`A` must be finite"):
        pr.Polytope([[1, np.nan]], [1])


def test_space_validation():
    for d in (0, -1, 2.0, True, "2"):
        with pytest.raises(InvalidDomainError, match="`d` of Space must be a positive int"):
            pr.Space(d)


@pytest.mark.parametrize("D", [
    [[1, 0, 0], [2, 0, 0]],                 # parallel
    [[1, 0, 0], [1, 1e-17, 0]],             # numerically parallel
    [[1, 0, 0], [0, 1, 0], [1, 1, 0]],      # dependent triple
    [[0, 0, 0]],                            # zero direction
    np.eye(4)[:, :3],                       # more directions than dimensions
])
def test_slice_directions_not_independent(D):
    with pytest.raises(InvalidDomainError, match="`directions` of Slice must be linearly independent"):
        pr.Slice(np.zeros(3), D)


def test_slice_other_validation():
    with pytest.raises(InvalidDomainError, match=r"`inner` must have dimension 2 \(the number of directions\); got 3"):
        pr.Slice(np.zeros(3), np.eye(3)[:2], pr.Box.cube(3))
    with pytest.raises(InvalidDomainError, match="`inner` must be a Box, Polytope or Space"):
        pr.Slice(np.zeros(3), np.eye(3)[:2], pr.Slice(np.zeros(2), np.eye(2)))
    with pytest.raises(InvalidDomainError, match="`inner` must be a Box, Polytope or Space; got 'box'"):
        pr.Slice(np.zeros(3), np.eye(3)[:2], "box")
    with pytest.raises(InvalidDomainError, match=r"`origin` of shape \(d,\)"):
        pr.Slice(np.zeros((1, 3)), np.eye(3)[:2])
    with pytest.raises(InvalidDomainError, match="`directions` must be finite"):
        pr.Slice(np.zeros(3), [[np.nan, 0, 0]])


def test_domain_of_the_wrong_dimension():
    net = net2()
    with pytest.raises(InvalidDomainError, match="`domain` has input dimension 3 but the network takes 2 inputs"):
        pr.enumerate_regions(net, pr.Box.cube(3))
    with pytest.raises(InvalidDomainError, match="`domain` has input dimension 1"):
        pr.enumerate_regions(net, pr.Space(1))
    with pytest.raises(InvalidDomainError, match="`domain` has input dimension 3"):
        pr.enumerate_regions(net, pr.Slice(np.zeros(3), np.eye(3)[:2]))
    with pytest.raises(InvalidDomainError, match="`domain` must be a Box, Polytope, Space or Slice; got ndarray"):
        pr.enumerate_regions(net, np.ones(2))


def test_domain_too_thin_for_the_tolerance():
    with pytest.raises(InvalidDomainError, match="too thin for the feasibility tolerance"):
        pr.enumerate_regions(net2(), pr.Box([0, 0], [1e-13, 1]))
    with pytest.raises(InvalidDomainError, match="too thin for the feasibility tolerance"):
        pr.enumerate_regions(net2(), pr.Polytope([[1, 0], [-1, 0], [0, 1], [0, -1]],
                                                 [1e-13, 0, 1, 0]))


def test_enumerate_arguments():
    net, box = net2(), pr.Box.cube(2)
    with pytest.raises(InvalidInputError, match="`net` must be a polyregion.Network; got str"):
        pr.enumerate_regions("net", box)
    with pytest.raises(InvalidInputError, match=r"`method` must be one of .*; got 'LP'"):
        pr.enumerate_regions(net, box, method="LP")
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(InvalidInputError, match="`max_regions` must be a positive int"):
            pr.enumerate_regions(net, box, max_regions=bad)
    with pytest.raises(InvalidInputError, match="`tolerances` must be a polyregion.config.Tolerances"):
        pr.enumerate_regions(net, box, tolerances={"feasibility": 1e-9})
    with pytest.raises(InvalidInputError, match="`method`='planar' needs a bounded 2-D domain"):
        pr.enumerate_regions(net, pr.Space(2), method="planar")


# ----------------------------------------------------------------- network files
@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "net.npz"
    net2().save(path)
    return path


def test_network_file_roundtrip(saved):
    assert pr.load(saved) == net2()
    assert pr.load(str(saved)) == net2()


def test_network_file_missing_or_not_a_path(tmp_path):
    with pytest.raises(FileFormatError, match="No network file at"):
        pr.load(tmp_path / "nope.npz")
    with pytest.raises(InvalidInputError, match="`path` must be a str or os.PathLike; got int"):
        pr.load(3)
    with pytest.raises(FileFormatError, match="is not a readable npz file"):
        pr.load(tmp_path)


def test_network_file_truncated(saved, tmp_path):
    raw = saved.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 10, 30):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(raw[:cut])
        with pytest.raises(FileFormatError, match="not a (readable|valid) npz file"):
            pr.load(bad)


def test_network_file_corrupt(saved, tmp_path):
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(b"this is not a zip archive" * 10)
    with pytest.raises(FileFormatError, match="not a (readable|valid) npz file"):
        pr.load(bad)
    # a zip whose member is not an npy array
    bad = tmp_path / "member.npz"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("W0.npy", b"\x93NUMPY garbage")
    with pytest.raises(FileFormatError, match="npz file"):
        pr.load(bad)
    # a plain .npy file
    npy = tmp_path / "arr.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(FileFormatError, match="not a readable npz file"):
        pr.load(npy)


def test_network_file_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, W0=np.array([{"evil": 1}], dtype=object), b0=np.zeros(1))
    with pytest.raises(FileFormatError, match="holds pickled objects .* refused"):
        pr.load(path)
    # a raw pickle under an npz name
    import pickle

    path = tmp_path / "raw.npz"
    path.write_bytes(pickle.dumps({"W0": np.ones((1, 2))}))
    with pytest.raises(FileFormatError, match="refused"):
        pr.load(path)


def test_network_file_newer_format_version(tmp_path):
    path = tmp_path / "v99.npz"
    np.savez(path, W0=np.ones((1, 2)), b0=np.zeros(1), format_version=np.array(99))
    with pytest.raises(FileFormatError, match="has format_version 99, newer than this polyregion understands .*upgrade"):
        pr.load(path)


@pytest.mark.parametrize("arrays,match", [
    (dict(format_version=np.array("x")), "`format_version` must hold one integer"),
    (dict(format_version=np.zeros(0, int)), "`format_version` must hold one integer"),
    (dict(activation=np.array(1.0)), "`activation` must be a string array"),
    (dict(bn0_gamma=np.ones(2)), "incomplete BN arrays of layer 0"),
    (dict(bn0_gamma=np.ones(2), bn0_beta=np.ones(2), bn0_mean=np.ones(2), bn0_var=np.ones(2),
          bn0_eps=np.array("x")), "`bn0_eps` must hold one number"),
])
def test_network_file_bad_fields(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    base = dict(W0=np.ones((2, 2)), b0=np.zeros(2), W1=np.ones((1, 2)), b1=np.zeros(1))
    np.savez(path, **(base | arrays))
    with pytest.raises(FileFormatError, match=match):
        pr.load(path)


def test_network_file_bad_layers(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, b0=np.zeros(1))
    with pytest.raises(FileFormatError, match="holds no layer: expected arrays W0, b0"):
        pr.load(path)
    np.savez(path, W0=np.ones((1, 2)))
    with pytest.raises(FileFormatError, match="array W0 has no matching b0"):
        pr.load(path)
    np.savez(path, W0=np.array([["a", "b"]]), b0=np.zeros(1))
    with pytest.raises(InvalidNetworkError, match=r"`weights\[0\]` must be a numeric array"):
        pr.load(path)
    np.savez(path, W0=np.full((1, 2), np.nan), b0=np.zeros(1))
    with pytest.raises(InvalidNetworkError, match=r"`weights\[0\]` must be finite"):
        pr.load(path)
    np.savez(path, W0=np.ones((2, 2)), b0=np.zeros(2), W1=np.ones((1, 2)), b1=np.zeros(1),
             activation=np.array("tanh"))
    with pytest.raises(InvalidNetworkError, match="Unknown `activation` 'tanh'"):
        pr.load(path)


def _npy_bytes(arr):
    """The bytes of ``arr`` as a .npy file (an independent writer: numpy's own)."""
    import io

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _record_opens(monkeypatch):
    """The names of the zip members opened from now on."""
    opened = []
    real = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_network_file_text_named_npz(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("W0 = [[1, 2]]\n")
    with pytest.raises(FileFormatError, match=r"not an npz \(zip\) archive") as exc:
        pr.load(path)
    assert "pickle" not in str(exc.value)


def test_network_file_layer_numbers_without_gaps(tmp_path):
    path = tmp_path / "gap.npz"
    np.savez(path, W0=np.ones((2, 2)), b0=np.zeros(2), W2=np.ones((1, 2)), b2=np.zeros(1))
    with pytest.raises(FileFormatError, match=r"found arrays of layers \[0, 2\], layer 1 "
                                              r"\(W1, b1\) is missing"):
        pr.load(path)
    np.savez(path, W0=np.ones((2, 2)), b0=np.zeros(2), W1=np.ones((1, 2)), b1=np.zeros(1),
             b2=np.zeros(1))
    with pytest.raises(FileFormatError, match="array b2 has no matching W2"):
        pr.load(path)
    np.savez(path, W0=np.ones((2, 2)), b0=np.zeros(2), W1=np.ones((1, 2)), b1=np.zeros(1),
             bn4_gamma=np.ones(2))
    with pytest.raises(FileFormatError, match="array bn4_gamma names a layer the file does not"):
        pr.load(path)


def test_network_file_unused_members_are_never_decompressed(tmp_path, monkeypatch):
    path = tmp_path / "extra.npz"
    net2().save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("junk.npy", _npy_bytes(np.zeros(10**6)))  # 8 MB, a few kB compressed
        z.writestr("notes.txt", b"x" * 1000)
    from polyregion.io import formats

    monkeypatch.setattr(formats, "MAX_NPZ_BYTES", 10**5)  # junk alone is over the limit
    opened = _record_opens(monkeypatch)
    assert pr.load(path) == net2()
    assert opened and "junk.npy" not in opened and "notes.txt" not in opened


def test_network_file_over_the_size_limit_is_refused_before_decompression(tmp_path,
                                                                          monkeypatch):
    from polyregion.io import formats

    path = tmp_path / "big.npz"
    np.savez_compressed(path, W0=np.ones((2, 1000)), b0=np.zeros(2))  # W0: 16 kB
    monkeypatch.setattr(formats, "MAX_NPZ_BYTES", 10_000)
    opened = _record_opens(monkeypatch)
    with pytest.raises(FileFormatError, match=r"more than the limit of 10000 bytes .*'W0.npy'"
                                              r".*MAX_NPZ_BYTES"):
        pr.load(path)
    assert opened == []
    with pytest.raises(FileFormatError, match="more than the limit of 100 bytes"):
        formats.read_npz(path, max_bytes=100)
    monkeypatch.setattr(formats, "MAX_NPZ_BYTES", 10**6)
    assert pr.load(path).widths == []


def test_network_file_member_header_disagrees_with_its_size(tmp_path):
    path = tmp_path / "cut.npz"
    whole = _npy_bytes(np.ones((4, 2)))
    with zipfile.ZipFile(path, "w") as z:  # a valid zip whose W0 lost its last row
        z.writestr("W0.npy", whole[:-16])
        z.writestr("b0.npy", _npy_bytes(np.zeros(4)))
    with pytest.raises(FileFormatError, match=r"member 'W0.npy' is truncated or padded: its "
                                              r"header declares shape \(4, 2\)"):
        pr.load(path)
    with zipfile.ZipFile(path, "w") as z:  # and one with bytes to spare
        z.writestr("W0.npy", whole + b"\0" * 8)
        z.writestr("b0.npy", _npy_bytes(np.zeros(4)))
    with pytest.raises(FileFormatError, match="'W0.npy' is truncated or padded"):
        pr.load(path)


def test_torch_files_are_refused_with_a_conversion_hint(tmp_path):
    import pickle

    hint = r"pr\.from_torch\(model\)\.save\(\"net\.npz\"\)"
    path = tmp_path / "model.pt"  # the layout of torch.save (a zip holding data.pkl)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model/data.pkl", pickle.dumps({"weight": [1.0]}))
        z.writestr("model/version", b"3\n")
    with pytest.raises(FileFormatError, match="is a PyTorch file .*refused.*" + hint):
        pr.load(path)
    path = tmp_path / "legacy.pth"  # the legacy format: a pickle stream
    path.write_bytes(pickle.dumps({"weight": [1.0]}, protocol=2))
    with pytest.raises(FileFormatError, match="holds pickled objects .*refused.*" + hint):
        pr.load(path)


def test_real_torch_save_is_refused_with_a_conversion_hint(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 1).state_dict(), path)
    with pytest.raises(FileFormatError, match=r"pr\.from_torch\(model\)"):
        pr.load(path)


# ----------------------------------------------------------------- RegionSet files
@pytest.fixture
def saved_rs(tmp_path):
    rs = pr.enumerate_regions(net2(), pr.Box.cube(2))
    path = tmp_path / "rs.npz"
    rs.save(path)
    return rs, path


def rewrite(path, tmp_path, **changes):
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    data.update(changes)
    out = tmp_path / "changed.npz"
    np.savez(out, **data)
    return out


def test_regionset_file_roundtrip(saved_rs):
    rs, path = saved_rs
    back = pr.RegionSet.load(path)
    assert back == rs and np.array_equal(back.points, rs.points)
    assert pr.certify(back).ok


def test_regionset_file_truncated_and_corrupt(saved_rs, tmp_path):
    _, path = saved_rs
    raw = path.read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FileFormatError, match="not a readable npz file"):
        pr.RegionSet.load(bad)
    with pytest.raises(FileFormatError, match="No file at"):
        pr.RegionSet.load(tmp_path / "missing.npz")


def test_regionset_file_pickled_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, format_version=np.array(1), codes=np.array([object()], dtype=object))
    with pytest.raises(FileFormatError, match="holds pickled objects .* refused"):
        pr.RegionSet.load(path)


def test_regionset_file_newer_version(saved_rs, tmp_path):
    _, path = saved_rs
    with pytest.raises(FileFormatError, match="format_version 2, newer than this polyregion understands .*upgrade"):
        pr.RegionSet.load(rewrite(path, tmp_path, format_version=np.array(2)))
    with pytest.raises(FileFormatError, match="is not a RegionSet file of format version 1"):
        pr.RegionSet.load(rewrite(path, tmp_path, format_version=np.array("one")))


def test_regionset_file_network_file_is_not_a_regionset(tmp_path):
    path = tmp_path / "net.npz"
    net2().save(path)
    with pytest.raises(FileFormatError, match="not a valid RegionSet file"):
        pr.RegionSet.load(path)


@pytest.mark.parametrize("field,value,match", [
    ("codes", np.zeros((4, 3), np.uint8), r"`codes` must be an integer array of shape \(n, 2\)"),
    ("codes", np.full((4, 2), 0.5), "`codes` must be an integer array"),
    ("codes", np.full((4, 2), 5, np.uint8), r"`codes` of layer 0 must be piece indices in \[0, 2\)"),
    ("points", np.zeros((3, 2)), r"`points` must be a finite float array of shape \(4, 2\)"),
    ("points", np.full((4, 2), np.nan), "`points` must be a finite float array"),
    ("radii", -np.ones(4), "`radii` must be a float array"),
    ("stats", np.array("{not json"), "not a valid RegionSet file"),
    ("domain_kind", np.array("sphere"), "Unknown domain kind 'sphere'"),
    ("domain_lo", np.array([2.0, 2.0]), "must be greater than `lo`"),
])
def test_regionset_file_bad_fields(saved_rs, tmp_path, field, value, match):
    _, path = saved_rs
    with pytest.raises(FileFormatError, match=match):
        pr.RegionSet.load(rewrite(path, tmp_path, **{field: value}))


def _rewrite_rows(path, tmp_path, fn):
    """The RegionSet file with its (codes, points, radii) replaced by ``fn`` of them."""
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    data["codes"], data["points"], data["radii"] = fn(data["codes"], data["points"],
                                                      data["radii"])
    out = tmp_path / "rows.npz"
    np.savez(out, **data)
    return out


def test_regionset_file_duplicate_codes(saved_rs, tmp_path):
    _, path = saved_rs
    bad = _rewrite_rows(path, tmp_path, lambda c, p, r: (np.vstack([c, c[:1]]),
                                                         np.vstack([p, p[:1]]), np.append(r, r[0])))
    with pytest.raises(FileFormatError, match="must hold each region once; regions 0 and 4 have "
                                              "the same code"):
        pr.RegionSet.load(bad)


def test_regionset_file_codes_disagree_with_points(saved_rs, tmp_path):
    _, path = saved_rs
    bad = _rewrite_rows(path, tmp_path, lambda c, p, r: (c, p[[1, 0, 2, 3]], r[[1, 0, 2, 3]]))
    with pytest.raises(FileFormatError, match=r"the file's codes disagree with its points: .* "
                                              r"\(2 of 4 regions checked disagree\)"):
        pr.RegionSet.load(bad)


def test_regionset_file_codes_disagree_with_points_in_a_large_file(tmp_path):
    from oracles import he_net

    rs = pr.enumerate_regions(he_net([12, 12], 2, seed=3), pr.Box.cube(2))
    assert len(rs) > 256  # only a sample is checked
    path = tmp_path / "big.npz"
    rs.save(path)
    assert pr.RegionSet.load(path) == rs
    # every region's code moved to its neighbour in the list: each sampled one disagrees
    bad = _rewrite_rows(path, tmp_path, lambda c, p, r: (np.roll(c, 1, axis=0), p, r))
    with pytest.raises(FileFormatError, match=r"codes disagree with its points: .* \(256 of "
                                              r"256 regions checked disagree\)"):
        pr.RegionSet.load(bad)


def test_regionset_file_points_outside_the_domain_and_bad_radii(saved_rs, tmp_path):
    _, path = saved_rs

    def outside(c, p, r):
        p = p.copy()
        p[2] = [3.0, 0.5]
        return c, p, r

    with pytest.raises(FileFormatError, match="`points` must lie inside the domain; point 2 is "
                                              "outside it by 2"):
        pr.RegionSet.load(_rewrite_rows(path, tmp_path, outside))
    for radii in (np.zeros(4), np.full(4, np.inf)):
        with pytest.raises(FileFormatError, match=r"`radii` must be a float array of shape "
                                                  r"\(4,\) with finite values > 0"):
            pr.RegionSet.load(_rewrite_rows(path, tmp_path, lambda c, p, r: (c, p, radii)))


def test_regionset_file_truncated_rows(saved_rs, tmp_path):
    _, path = saved_rs
    with pytest.raises(FileFormatError, match=r"`points` must be a finite float array of shape "
                                              r"\(4, 2\); got dtype float64, shape \(3, 2\)"):
        pr.RegionSet.load(_rewrite_rows(path, tmp_path, lambda c, p, r: (c, p[:3], r)))
    with pytest.raises(FileFormatError, match=r"`radii` must be a float array of shape \(4,\)"):
        pr.RegionSet.load(_rewrite_rows(path, tmp_path, lambda c, p, r: (c, p, r[:3])))


def test_regionset_file_of_each_kind_loads(tmp_path):
    from oracles import he_net

    rng = np.random.default_rng(0)
    pool = pr.Network.from_arrays([rng.normal(size=(8, 2)), rng.normal(size=(1, 4))],
                                  [rng.normal(size=8), np.zeros(1)],
                                  activation=[pr.MaxPool.groups(8, 2)])
    bn = pr.Network.from_arrays(
        [rng.normal(size=(6, 2)), rng.normal(size=(1, 6))], [rng.normal(size=6), np.zeros(1)],
        bn=[dict(gamma=rng.uniform(0.5, 2, 6), beta=rng.normal(size=6),
                 mean=rng.normal(size=6), var=rng.uniform(1, 2, 6)), None])
    cases = [
        (he_net([8, 6], 3, seed=4, bias_std=0.3, activation="hardtanh"), pr.Box.cube(3)),
        (he_net([6], 5, seed=1), pr.Slice.through(*rng.normal(size=(3, 5)))),
        (he_net([6, 6], 2, seed=3), pr.Space(2)),
        (he_net([6, 6], 2, seed=3), pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])),
        (he_net([8], 2, seed=5), pr.Box([1e4, 1e4], [1e4 + 1e-3, 1e4 + 1e-3])),
        (pool, pr.Box.cube(2)),
        (bn, pr.Box.cube(2)),
    ]
    for net, dom in cases:
        rs = pr.enumerate_regions(net, dom)
        rs.save(tmp_path / "k.npz")
        back = pr.RegionSet.load(tmp_path / "k.npz")
        assert back == rs and np.array_equal(back.points, rs.points)
        assert np.array_equal(back.locate(rs.points), np.arange(len(rs)))


def test_regionset_file_unused_members_are_never_decompressed(saved_rs, tmp_path, monkeypatch):
    rs, path = saved_rs
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("junk.npy", _npy_bytes(np.zeros(1000)))
    opened = _record_opens(monkeypatch)
    assert pr.RegionSet.load(path) == rs
    assert "codes.npy" in opened and "junk.npy" not in opened


def test_regionset_file_with_a_neuron_constant_at_its_tolerances_loads(tmp_path):
    # the third neuron's row (1e-8) is below zero_row=1e-6: the engines take it as constant
    # (upper piece, its value at the centre is 0), while the plain forward pass puts the
    # points with x < 0 on its lower piece; the file is valid and must load
    net = pr.Network.from_arrays([np.array([[1.0, 0.0], [0.0, 1.0], [1e-8, 0.0]]),
                                  np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
    rs = pr.enumerate_regions(net, pr.Box.cube(2), tolerances=pr.Tolerances(zero_row=1e-6))
    assert rs.codes[:, 2].tolist() == [1, 1, 1, 1]
    assert not np.array_equal(net.codes(rs.points), rs.codes)
    rs.save(tmp_path / "c.npz")
    back = pr.RegionSet.load(tmp_path / "c.npz")
    assert back == rs and back.tolerances == rs.tolerances
