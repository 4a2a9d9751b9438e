import numpy as np
import pytest

import polyregion as pr
from polyregion.errors import FileFormatError, InvalidInputError, InvalidNetworkError
from polyregion.network import ACTIVATIONS, get_activation


def simple_net(act="relu"):
    W = [np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 2.0, 3.0]])]
    b = [np.array([0.0, -0.5, 0.25]), np.array([0.1])]
    return pr.Network.from_arrays(W, b, activation=act)


def reference_forward(W, b, f, X):
    z = X
    for l in range(len(W) - 1):
        z = f(z @ W[l].T + b[l])
    return z @ W[-1].T + b[-1]


@pytest.mark.parametrize("name,f", [
    ("relu", lambda u: np.maximum(u, 0)),
    ("leaky_relu:0.1", lambda u: np.where(u > 0, u, 0.1 * u)),
    ("abs", np.abs),
    ("hardtanh", lambda u: np.clip(u, -1, 1)),
    ("relu6", lambda u: np.clip(u, 0, 6)),
])
def test_forward_matches_numpy(name, f, rng):
    W = [rng.normal(size=(7, 3)) * 3, rng.normal(size=(5, 7)), rng.normal(size=(2, 5))]
    b = [rng.normal(size=7), rng.normal(size=5), rng.normal(size=2)]
    net = pr.Network.from_arrays(W, b, activation=name)
    X = rng.normal(size=(200, 3)) * 3
    np.testing.assert_allclose(net.forward(X), reference_forward(W, b, f, X), atol=1e-12)


def test_codes_and_affine_map(rng):
    W = [rng.normal(size=(6, 2)), rng.normal(size=(4, 6)), rng.normal(size=(1, 4))]
    b = [rng.normal(size=6), rng.normal(size=4), rng.normal(size=1)]
    net = pr.Network.from_arrays(W, b, activation="hardtanh")
    X = rng.normal(size=(50, 2)) * 2
    codes = net.codes(X)
    assert codes.shape == (50, 10) and codes.dtype == np.uint8
    # independent: hardtanh code = (u > -1) + (u > 1) layer by layer
    z = X
    ref = []
    for l in range(2):
        u = z @ W[l].T + b[l]
        ref.append((u >= -1).astype(int) + (u >= 1).astype(int))
        z = np.clip(u, -1, 1)
    assert np.array_equal(codes, np.hstack(ref))
    for x, c in zip(X, codes):
        M, cc = net.affine_map(c)
        np.testing.assert_allclose(M @ x + cc, net.forward(x[None])[0], atol=1e-12)


def test_properties():
    net = simple_net()
    assert net.input_dim == 2 and net.widths == [3] and net.n_neurons == 3
    assert net.output_dim == 1 and "relu" in repr(net)


def test_activation_table_is_continuous_and_extensible():
    for a in ACTIVATIONS.values():
        t = np.asarray(a.breakpoints)
        np.testing.assert_allclose(a(t - 1e-12), a(t + 1e-12), atol=1e-9)
    custom = pr.Activation("step_ramp", (0.0, 1.0), (0.0, 2.0, 0.5), (0.0, 0.0, 1.5))
    net = pr.Network.from_arrays([np.eye(1), np.eye(1)], [np.zeros(1), np.zeros(1)],
                                 activation=custom)
    assert net.forward([[2.0]])[0, 0] == pytest.approx(2.5)
    with pytest.raises(InvalidNetworkError, match="not continuous"):
        pr.Activation("bad", (0.0,), (0.0, 1.0), (0.0, 1.0))


def test_leaky_default_and_parse():
    assert get_activation("leaky_relu").slopes[0] == 0.01
    assert get_activation("Leaky_ReLU:0.2").slopes[0] == 0.2
    with pytest.raises(InvalidNetworkError, match="Unknown `activation` 'sigmoid'"):
        get_activation("sigmoid")
    with pytest.raises(InvalidNetworkError, match="slope"):
        get_activation("leaky_relu:abc")


def test_save_load_roundtrip(tmp_path):
    net = simple_net("relu6")
    net.save(tmp_path / "n.npz")
    net2 = pr.load(tmp_path / "n.npz")
    assert net2 == net
    bn = [dict(gamma=np.array([1.0, -2.0, 0.5]), beta=np.array([0.1, 0.2, 0.3]),
               mean=np.array([0.0, 1.0, 2.0]), var=np.array([1.0, 4.0, 0.0]), eps=1e-3), None]
    netb = pr.Network.from_arrays(simple_net().weights, simple_net().biases, bn=bn)
    netb.save(tmp_path / "b.npz")
    assert pr.load(tmp_path / "b.npz") == netb


def test_bn_eval_forward(rng):
    W = [rng.normal(size=(4, 2)), rng.normal(size=(1, 4))]
    b = [rng.normal(size=4), rng.normal(size=1)]
    g, be, mu, var = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4)
    net = pr.Network.from_arrays(W, b, bn=[dict(gamma=g, beta=be, mean=mu, var=var, eps=1e-5), None])
    X = rng.normal(size=(30, 2))
    u = X @ W[0].T + b[0]
    z = np.maximum(g * (u - mu) / np.sqrt(var + 1e-5) + be, 0)
    np.testing.assert_allclose(net.forward(X), z @ W[1].T + b[1], atol=1e-12)
    np.testing.assert_allclose(net.fold_bn().forward(X), net.forward(X), atol=1e-12)


@pytest.mark.parametrize("W,b,match", [
    ([np.array([[np.nan, 1.0]])], [np.zeros(1)], "finite"),
    ([np.array([[np.inf, 1.0]])], [np.zeros(1)], "finite"),
    ([np.ones((3, 2)), np.ones((1, 4))], [np.zeros(3), np.zeros(1)], "Shape mismatch"),
    ([np.ones((3, 2))], [np.zeros(2)], r"biases\[0\]"),
    ([np.ones(3)], [np.zeros(3)], "2-D"),
    ([], [], "at least one layer"),
    ([np.ones((0, 2))], [np.zeros(0)], "zero dimension"),
    ([np.array([["a", "b"]])], [np.zeros(1)], "numeric"),
    ([np.ones((2, 2))], [np.zeros(2), np.zeros(2)], "same length"),
])
def test_bad_networks(W, b, match):
    with pytest.raises(InvalidNetworkError, match=match):
        pr.Network.from_arrays(W, b)


def test_bad_forward_input():
    with pytest.raises(InvalidInputError, match=r"shape \(n, 2\)"):
        simple_net().forward(np.ones((3, 5)))


def test_load_errors(tmp_path):
    with pytest.raises(FileFormatError, match="No network file"):
        pr.load(tmp_path / "missing.npz")
    p = tmp_path / "bad.npz"
    p.write_bytes(b"not a zip file")
    with pytest.raises(FileFormatError):
        pr.load(p)
    np.savez(tmp_path / "pickled.npz", W0=np.array([object()], dtype=object), b0=np.zeros(1))
    with pytest.raises(FileFormatError, match="pickled"):
        pr.load(tmp_path / "pickled.npz")
    np.savez(tmp_path / "new.npz", W0=np.ones((1, 1)), b0=np.zeros(1), format_version=np.array(99))
    with pytest.raises(FileFormatError, match="newer"):
        pr.load(tmp_path / "new.npz")
