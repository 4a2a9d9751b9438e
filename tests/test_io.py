"""Importers: PyTorch and ONNX round trips (skipped without the extras)."""

import numpy as np
import pytest

import polyregion as pr
from polyregion.io._chain import assemble, check_close, clip_ops


# ---------------------------------------------------------------------- the chain assembler
@pytest.mark.parametrize("lo,hi", [(0, 6), (-1, 1), (0, np.inf), (-2, 0.5), (1, np.inf),
                                   (-np.inf, -0.5), (-np.inf, np.inf)])
def test_clip_ops_compute_clip_exactly(lo, hi):
    u = np.linspace(-8, 8, 1601)[:, None]
    net = assemble([("affine", np.eye(1), np.zeros(1))] + clip_ops(lo, hi), 1)
    assert np.allclose(net.forward(u).ravel(), np.clip(u.ravel(), lo, hi), atol=1e-12)


def test_assemble_keeps_bn_before_activation_and_folds_it_elsewhere():
    rng = np.random.default_rng(0)
    g, be, m, v = rng.uniform(0.5, 2, 3), rng.normal(size=3), rng.normal(size=3), rng.uniform(1, 2, 3)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    net = assemble([("affine", W, b), ("bn", g, be, m, v, 1e-5), ("act", "relu")], 2)
    assert net.bn[0] is not None
    net2 = assemble([("affine", W, b), ("bn", g, be, m, v, 1e-5),
                     ("affine", np.ones((1, 3)), np.zeros(1))], 2)
    assert net2.bn == [None] and net2.n_layers == 1
    X = rng.normal(size=(5, 2))
    y = (g * (X @ W.T + b - m) / np.sqrt(v + 1e-5) + be).sum(axis=1, keepdims=True)
    assert np.allclose(net2.forward(X), y)


def test_assemble_elementwise_scale_per_feature():
    """A ("scale", s, t) with one entry per feature (a per-channel BN) folds into the
    affine map before it; a length that fits neither 1 nor the width is refused."""
    rng = np.random.default_rng(1)
    W, b, s, t = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    net = assemble([("affine", W, b), ("scale", s, t), ("act", "relu")], 3)
    X = rng.normal(size=(6, 3))
    assert np.allclose(net.codes(X), s * (X @ W.T + b) + t >= 0)
    assert np.allclose(net.weights[0], s[:, None] * W) and np.allclose(net.biases[0], s * b + t)
    with pytest.raises(pr.InvalidNetworkError, match="elementwise affine map over 3 features "
                                                     "follows 4 features"):
        assemble([("affine", W, b), ("scale", s[:3], 0.0)], 3)


def test_check_close_raises_on_mismatch():
    with pytest.raises(pr.InvalidNetworkError, match="self-check failed"):
        check_close(np.zeros((2, 1)), np.ones((2, 1)), "x")


# ---------------------------------------------------------------------- torch
def _torch():
    return pytest.importorskip("torch")


def _ref(module, X):
    import copy

    torch = _torch()
    m = copy.deepcopy(module).double().eval()
    with torch.no_grad():
        return m(torch.as_tensor(X)).reshape(len(X), -1).numpy()


def test_torch_mlp_all_layer_types():
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                      nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.2)), nn.Linear(8, 6),
                      nn.Hardtanh(-2.0, 0.5), nn.Linear(6, 5), nn.ReLU6(), nn.Identity(),
                      nn.Hardtanh(), nn.Flatten(), nn.Linear(5, 2))
    with torch.no_grad():
        m[1].running_mean.normal_()
        m[1].running_var.uniform_(0.5, 2.0)
    net = pr.from_torch(m)
    assert net.bn[0] is not None  # BN kept as the layer's BN (bn module sees it)
    X = np.random.default_rng(5).normal(size=(200, 3)) * 3
    assert np.allclose(net.forward(X), _ref(m, X), atol=1e-10)
    assert [a.name for a in net.activations][:3] == ["relu", "leaky_relu:0.2", "hardtanh"]


def test_torch_traced_module_and_functional_activations():
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 6), nn.Linear(6, 1)

        def forward(self, x):
            return self.b(F.leaky_relu(self.a(x), 0.1))

    torch.manual_seed(1)
    m = Net()
    net = pr.from_torch(m)
    X = np.random.default_rng(0).normal(size=(50, 2))
    assert np.allclose(net.forward(X), _ref(m, X), atol=1e-12)

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)

        def forward(self, x):
            return x + self.a(x)

    with pytest.raises(pr.InvalidNetworkError, match="plain chain"):
        pr.from_torch(Residual())


def test_torch_conv_avgpool_unrolled():
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(2)
    m = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, stride=2), nn.ReLU(), nn.AvgPool2d(2),
                      nn.Flatten(), nn.Linear(12, 4), nn.ReLU(), nn.Linear(4, 1))
    net = pr.from_torch(m, input_shape=(1, 8, 8))
    assert net.input_dim == 64 and net.widths == [48, 4]
    X = np.random.default_rng(0).normal(size=(20, 1, 8, 8))
    assert np.allclose(net.forward(X.reshape(20, -1)), _ref(m, X), atol=1e-10)
    with pytest.raises(pr.InvalidInputError, match="input_shape"):
        pr.from_torch(m)


def test_torch_batchnorm_training_mode_matches_bn_fold_and_torch():
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(3)
    m = nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 4),
                      nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    B = np.random.default_rng(1).normal(size=(32, 2)) + 1.5
    net = pr.from_torch(m, batch=B)
    # torch itself, in training mode, on the batch (on a copy: running stats untouched)
    import copy

    mt = copy.deepcopy(m).double().train()
    with torch.no_grad():
        y = mt(torch.as_tensor(B)).numpy()
    assert np.allclose(net.forward(B), y, atol=1e-10)
    # the BN adapter conditioned on the same batch gives the same function
    folded = pr.bn.fold(pr.from_torch(m), B)
    X = np.random.default_rng(2).normal(size=(30, 2))
    assert np.allclose(folded.forward(X), net.forward(X), atol=1e-10)
    assert float(m[1].running_mean.abs().max()) == 0.0  # the user's module is untouched


def test_torch_maxpool_pairs_exact_partition():
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Unflatten(1, (1, 2, 2)),
                      nn.MaxPool2d((1, 2)), nn.Flatten(), nn.Linear(2, 1))
    net = pr.from_torch(m)
    X = np.random.default_rng(0).normal(size=(100, 2)) * 3
    assert np.allclose(net.forward(X), _ref(m, X), atol=1e-12)
    rs = pr.enumerate_regions(net, pr.Box.cube(2, radius=3))
    # oracle: distinct (ReLU pattern, argmax of each pair) on a fine grid
    W, b = m[0].weight.detach().double().numpy(), m[0].bias.detach().double().numpy()
    g = np.linspace(-3, 3, 500)
    U = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2) @ W.T + b
    keys = [np.where(U[:, p].max(1) > 0, U[:, p].argmax(1), -1) for p in ((0, 1), (2, 3))]
    patterns = np.column_stack([U > 0] + keys)
    assert len(np.unique(patterns, axis=0)) == len(rs)


@pytest.mark.parametrize("relu_first", [True, False])
def test_torch_maxpool_2x2_exact_on_a_slice(relu_first):
    """Conv -> (ReLU) -> MaxPool2d(2) with windows of 4 (and overlapping windows of 9 with
    stride 1): the import computes the module's function, and the regions on a 2-D slice
    through three inputs are those of an independent depth-first oracle."""
    from oracles import brute_force_max

    torch = _torch()
    nn = torch.nn
    torch.manual_seed(1 if relu_first else 2)
    layers = [nn.Conv2d(1, 2, 2), nn.ReLU()] if relu_first else [nn.Conv2d(1, 2, 2)]
    pool = nn.MaxPool2d(2) if relu_first else nn.MaxPool2d(3, stride=1)
    m = nn.Sequential(*layers, pool, nn.Flatten(), nn.Linear(2 if relu_first else 8, 1))
    shape = (1, 3, 3) if relu_first else (1, 5, 5)
    net = pr.from_torch(m, input_shape=shape)
    assert any(isinstance(a, pr.MaxPool) for a in net.activations)
    X = np.random.default_rng(0).normal(size=(200, net.input_dim))
    assert np.allclose(net.forward(X), _ref(m, X.reshape((-1,) + shape)), atol=1e-12)
    dom = pr.Slice.through(X[0], X[1], X[2], margin=0.5)
    rs = pr.enumerate_regions(net, dom)
    assert sorted(map(tuple, rs.codes.tolist())) == brute_force_max(net, dom)
    assert np.array_equal(net.codes(dom.to_input(rs.points)), rs.codes)


def test_torch_unsupported_layers_are_named():
    torch = _torch()
    nn = torch.nn
    with pytest.raises(pr.InvalidNetworkError, match="'1' \\(Tanh\\)"):
        pr.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)))
    with pytest.raises(pr.InvalidInputError, match="torch.nn.Module"):
        pr.from_torch("model")


# ---------------------------------------------------------------------- ONNX
def _onnx_model(nodes, inits, d_in, d_out, opset=13):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, d_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, d_out])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def _ort(model, X):
    import onnxruntime as ort

    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": X.astype(np.float32)})[0]


def test_onnx_all_operators(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import helper

    rng = np.random.default_rng(0)
    inits = {"W1": rng.normal(size=(6, 3)), "b1": rng.normal(size=6),
             "g": rng.uniform(0.5, 2, 6), "be": rng.normal(size=6), "mu": rng.normal(size=6),
             "var": rng.uniform(0.5, 2, 6), "W2": rng.normal(size=(6, 5)), "b2": rng.normal(size=5),
             "lo": np.array(-0.5), "hi": np.array(2.0), "W3": rng.normal(size=(5, 2))}
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h1"], transB=1, alpha=0.5),
             helper.make_node("BatchNormalization", ["h1", "g", "be", "mu", "var"], ["h2"]),
             helper.make_node("Relu", ["h2"], ["h3"]),
             helper.make_node("MatMul", ["h3", "W2"], ["h4"]),
             helper.make_node("Add", ["h4", "b2"], ["h5"]),
             helper.make_node("LeakyRelu", ["h5"], ["h6"], alpha=0.1),
             helper.make_node("Clip", ["h6", "lo", "hi"], ["h7"]),
             helper.make_node("Flatten", ["h7"], ["h8"]),
             helper.make_node("MatMul", ["h8", "W3"], ["y"])]
    model = _onnx_model(nodes, inits, 3, 2)
    path = tmp_path / "m.onnx"
    import onnx

    onnx.save(model, path)
    net = pr.from_onnx(path)
    assert net.bn[0] is not None
    X = rng.normal(size=(100, 3)).astype(np.float32)
    assert np.allclose(net.forward(X.astype(float)), _ort(model, X), rtol=1e-4, atol=1e-4)


def test_onnx_errors(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import helper

    model = _onnx_model([helper.make_node("Tanh", ["x"], ["y"])], {}, 2, 2)
    with pytest.raises(pr.InvalidNetworkError, match="unsupported ONNX operator 'Tanh'"):
        pr.from_onnx(model)
    with pytest.raises(pr.FileFormatError, match="No ONNX file"):
        pr.from_onnx(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(pr.FileFormatError, match="not a readable ONNX"):
        pr.from_onnx(tmp_path / "junk.onnx")


def test_torch_to_onnx_round_trip(tmp_path):
    torch = _torch()
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import warnings

    nn = torch.nn
    torch.manual_seed(4)
    m = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4),
                      nn.ReLU6(), nn.Linear(4, 1)).eval()
    path = str(tmp_path / "t.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(m, torch.randn(2, 3), path, dynamo=False, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "n"}})
        except Exception as exc:  # exporter dependencies missing
            pytest.skip(f"torch.onnx.export unavailable: {exc}")
    a, b = pr.from_onnx(path), pr.from_torch(m)
    X = np.random.default_rng(0).normal(size=(50, 3))
    assert np.allclose(a.forward(X), b.forward(X), atol=1e-5)
    dom = pr.Box.cube(3)
    assert pr.enumerate_regions(a, dom) == pr.enumerate_regions(b, dom)
