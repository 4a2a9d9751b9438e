"""from_torch on image CNNs: BatchNorm2d (eval mode and training mode on a batch), max
pooling, and exact enumeration of small windows and 2-D slices around real digits.

Two CNNs, trained here in a fraction of a second on scikit-learn's digits (shipped with
scikit-learn, no download): ``conv 3x3 (4 ch, padding 1) -> BN2d -> ReLU -> max pool 2 ->
linear`` on the 8x8 images (64-D input), and ``conv 5x5 stride 2 (2 ch) -> BN2d -> ReLU ->
max pool 2 -> linear`` on the images upsampled to 28x28 (784-D input). The regions are
checked against the forward pass (witness codes, affine maps near the witnesses) and against
20,000 uniform samples (distinct sampled codes <= exact count, every sampled code
enumerated). Skipped without torch or scikit-learn.
"""

import copy

import numpy as np
import pytest

import polyregion as pr

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
nn, F = torch.nn, torch.nn.functional

RTOL = 1e-6  # outputs against torch's own forward pass, relative to max|output|


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models train 30x faster on one thread than fighting for a loaded machine's."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _train(model, X, y, epochs, seed=0, lr=1e-2, batch=64):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=g)
        for i in range(0, len(Xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            F.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return float((model(Xt).argmax(1) == yt).float().mean())


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.reshape(-1, 1, 8, 8) / 16.0, y


@pytest.fixture(scope="module")
def digits_cnn(digits):
    X, y = digits
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    acc = _train(m, X, y, epochs=5)
    return m, acc, X


@pytest.fixture(scope="module")
def cnn28(digits):
    X, y = digits
    X28 = F.interpolate(torch.as_tensor(X, dtype=torch.float32), size=(28, 28),
                        mode="bilinear", align_corners=False).clamp(0, 1).double().numpy()
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 5, stride=2), nn.BatchNorm2d(2), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 6 * 6, 10))
    acc = _train(m, X28, y, epochs=3)
    return m, acc, X28.reshape(len(X28), -1)


def _torch_out(module, X, train=False):
    """torch's own forward pass (float64 copy; BN in training mode on X if ``train``)."""
    m = copy.deepcopy(module).double()
    m.train(train)
    with torch.no_grad():
        return m(torch.as_tensor(X, dtype=torch.float64)).reshape(len(X), -1).numpy()


def _torch_codes(module, X, train=False):
    """Codes read off torch's pre-activations with hooks, and a mask of the entries that
    are away from a boundary (|pre-activation| > tol; a window's top two apart by > tol).

    ReLU/LeakyReLU: 1 where the input is > 0. MaxPool2d (no padding): the position of the
    maximum in its window, row-major (the order of ``pr.MaxPool`` windows)."""
    m = copy.deepcopy(module).double()
    m.train(train)
    codes, clear, hooks = [], [], []
    tol = 1e-7

    def relu_hook(mod, inp, out):
        u = inp[0].reshape(len(inp[0]), -1)
        codes.append((u > 0).numpy().astype(np.uint8))
        clear.append((u.abs() > tol).numpy())

    def pool_hook(mod, inp, out):
        u = inp[0]
        k, s = mod.kernel_size, mod.stride
        assert mod.padding == 0 and mod.dilation == 1
        _, idx = F.max_pool2d(u, k, s, return_indices=True)
        W = u.shape[-1]
        rows, cols = idx // W, idx % W
        i = torch.arange(idx.shape[-2]).reshape(-1, 1) * s
        j = torch.arange(idx.shape[-1]).reshape(1, -1) * s
        codes.append(((rows - i) * k + (cols - j)).reshape(len(u), -1).numpy().astype(np.uint8))
        win = F.unfold(u.reshape(-1, 1, *u.shape[-2:]), k, stride=s)  # (n*C, k*k, n_win)
        top = win.topk(2, dim=1).values
        gap = (top[:, 0] - top[:, 1]).reshape(len(u), -1)
        clear.append((gap > tol).numpy())

    for mod in m.modules():
        if isinstance(mod, (nn.ReLU, nn.LeakyReLU)):
            hooks.append(mod.register_forward_hook(relu_hook))
        elif isinstance(mod, nn.MaxPool2d):
            hooks.append(mod.register_forward_hook(pool_hook))
    with torch.no_grad():
        m(torch.as_tensor(X, dtype=torch.float64))
    for h in hooks:
        h.remove()
    return np.concatenate(codes, axis=1), np.concatenate(clear, axis=1)


def _assert_close(y, y_ref):
    err = float(np.max(np.abs(y - y_ref)))
    assert err <= RTOL * float(np.max(np.abs(y_ref))), err


def _assert_codes_match(net, module, X, train=False, min_clear=0.8):
    ref, clear = _torch_codes(module, X, train)
    got = net.codes(X.reshape(len(X), -1))
    assert got.shape == ref.shape
    assert clear.mean() > min_clear  # the comparison is not vacuous
    assert np.array_equal(got[clear], ref[clear])


# ---------------------------------------------------------------------- BatchNorm2d
def _bn_cnn(seed):
    """Conv -> BN2d -> ReLU -> pool -> BN2d -> conv -> LeakyReLU -> linear, with BN
    parameters and running statistics far from the identity."""
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.BatchNorm2d(3, eps=1e-3), nn.Conv2d(3, 2, 2), nn.LeakyReLU(0.1),
                      nn.Flatten(), nn.Linear(2 * 2 * 2, 3))
    with torch.no_grad():
        for bn in (m[1], m[4]):
            bn.weight.uniform_(-2.0, 2.0)  # negative scales too
            bn.bias.normal_()
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.3, 3.0)
    return m


def test_batchnorm2d_eval_mode_matches_torch():
    m = _bn_cnn(0)
    net = pr.from_torch(m, input_shape=(1, 8, 8))
    assert net.widths == [108, 27, 8] and not net.has_bn  # per-channel BN folded
    X = np.random.default_rng(0).uniform(size=(300, 1, 8, 8))
    _assert_close(net.forward(X.reshape(300, -1)), _torch_out(m, X))
    _assert_codes_match(net, m, X)


def test_batchnorm2d_training_mode_on_a_batch_matches_torch():
    m = _bn_cnn(1)
    state, mode = copy.deepcopy(m.state_dict()), m.training
    B = np.random.default_rng(1).uniform(size=(48, 1, 8, 8)) * 2.0 - 0.5
    net = pr.from_torch(m, batch=B)
    y_train = _torch_out(m, B, train=True)  # torch in training mode on the same batch
    _assert_close(net.forward(B.reshape(len(B), -1)), y_train)
    _assert_codes_match(net, m, B, train=True)
    # conditioned on the batch, the net differs from the eval-mode one
    assert not np.allclose(y_train, _torch_out(m, B))
    # the user's module is untouched: mode and running statistics
    assert m.training == mode
    for k, v in m.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_batchnorm_per_channel_statistics_are_those_of_torch_training_mode():
    """Per channel over (N, H, W), biased variance: a single-channel image BN where a
    per-pixel statistic would give a different function."""
    torch.manual_seed(2)
    m = nn.Sequential(nn.BatchNorm2d(1), nn.Flatten(), nn.Linear(16, 2))
    B = np.random.default_rng(2).normal(size=(5, 1, 4, 4)) * np.arange(1, 17).reshape(4, 4)
    net = pr.from_torch(m, batch=B)
    mu, var = B.mean(), B.var()  # over N, H, W; biased
    Z = ((B - mu) / np.sqrt(var + 1e-5)).reshape(5, -1)
    w, b = (p.detach().double().numpy() for p in (m[2].weight, m[2].bias))
    assert np.allclose(net.forward(B.reshape(5, -1)), Z @ w.T + b, rtol=0, atol=1e-12)
    _assert_close(net.forward(B.reshape(5, -1)), _torch_out(m, B, train=True))


def test_batchnorm1d_over_channels_and_length():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Flatten(),
                      nn.Linear(3 * 6, 2))
    with torch.no_grad():
        m[1].running_mean.normal_()
        m[1].running_var.uniform_(0.5, 2.0)
    X = np.random.default_rng(3).normal(size=(40, 2, 8))
    _assert_close(pr.from_torch(m, input_shape=(2, 8)).forward(X.reshape(40, -1)),
                  _torch_out(m, X))
    _assert_close(pr.from_torch(m, batch=X).forward(X.reshape(40, -1)),
                  _torch_out(m, X, train=True))


def test_batchnorm2d_errors():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.BatchNorm2d(2), nn.Linear(72, 1))
    with pytest.raises(pr.InvalidNetworkError, match=r"'2' \(BatchNorm2d over 2 channels\) "
                                                     r"receives features of shape \(72,\)"):
        pr.from_torch(m, input_shape=(1, 8, 8))
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(3))
    with pytest.raises(pr.InvalidNetworkError, match=r"needs \(C, H, W\) per sample with C = 3"):
        pr.from_torch(m, input_shape=(1, 8, 8))
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats=False),
                      nn.ReLU(), nn.Flatten(), nn.Linear(72, 1))
    with pytest.raises(pr.InvalidNetworkError, match="keeps no running statistics"):
        pr.from_torch(m, input_shape=(1, 8, 8))
    B = np.random.default_rng(0).normal(size=(4, 1, 8, 8))
    _assert_close(pr.from_torch(m, batch=B).forward(B.reshape(4, -1)),
                  _torch_out(m, B, train=True))


# ---------------------------------------------------------------------- trained CNNs
def test_digits_cnn_trains_and_imports(digits_cnn):
    m, acc, X = digits_cnn
    assert acc > 0.9
    net = pr.from_torch(m, input_shape=(1, 8, 8))
    assert net.input_dim == 64 and net.widths == [256, 64]
    _assert_close(net.forward(X.reshape(len(X), -1)), _torch_out(m, X))
    # codes on the real images (blank pixels: ~20% of the pooling windows are exact ties,
    # skipped by the mask; every ReLU is clear)
    _assert_codes_match(net, m, X[:300], min_clear=0.9)
    U = np.random.default_rng(0).uniform(size=(300, 1, 8, 8))
    _assert_codes_match(net, m, U)
    # training mode conditioned on a batch of 64 digits
    B = X[:64]
    net_b = pr.from_torch(m, batch=B)
    _assert_close(net_b.forward(B.reshape(64, -1)), _torch_out(m, B, train=True))
    _assert_codes_match(net_b, m, B, train=True, min_clear=0.9)


def test_cnn28_trains_and_imports(cnn28):
    m, acc, X = cnn28
    assert acc > 0.8
    net = pr.from_torch(m, input_shape=(1, 28, 28))
    assert net.input_dim == 784 and net.widths == [288, 72]
    _assert_close(net.forward(X), _torch_out(m, X.reshape(-1, 1, 28, 28)))
    _assert_codes_match(net, m, X[:300].reshape(-1, 1, 28, 28), min_clear=0.9)
    B = X[:64].reshape(-1, 1, 28, 28)
    net_b = pr.from_torch(m, batch=B)
    _assert_close(net_b.forward(X[:64]), _torch_out(m, B, train=True))
    _assert_codes_match(net_b, m, B, train=True, min_clear=0.9)


# ---------------------------------------------------------------------- exact regions
def _distinct(C):
    """Distinct rows of a uint8 code array (a void view: fast for long codes)."""
    C = np.ascontiguousarray(C)
    return np.unique(C.view(np.dtype((np.void, C.shape[1]))).ravel())


def _codes(net, dom, T, chunk=5000):
    """Forward-pass codes of the points ``T`` of ``dom`` (in chunks: 784-D inputs)."""
    return np.concatenate([net.codes(dom.to_input(T[i:i + chunk]))
                           for i in range(0, len(T), chunk)])


def _check_regions(net, dom, rs, n_samples=20_000, max_ball=2000, max_affine=200, seed=0):
    """(a) witnesses and affine maps against the forward pass; (b) sampling lower bound."""
    rng = np.random.default_rng(seed)
    n = len(rs)
    assert n >= 1
    # (a) every witness's forward code is its region's code
    assert np.array_equal(_codes(net, dom, rs.points), rs.codes)
    # ... and so is the code of 3 random points of its inscribed ball (at half its radius),
    # where the region's affine map is the network (up to max_ball and max_affine regions,
    # evenly spread)
    idx = np.unique(np.linspace(0, n - 1, min(n, max_ball)).round().astype(int))
    D = rng.normal(size=(len(idx), 3, dom.dim))
    D *= (0.5 * rs.radii[idx])[:, None, None] / np.linalg.norm(D, axis=2, keepdims=True)
    T = (rs.points[idx, None, :] + D).reshape(3 * len(idx), dom.dim)
    assert np.array_equal(_codes(net, dom, T), np.repeat(rs.codes[idx], 3, axis=0))
    for k in np.unique(np.linspace(0, len(idx) - 1, min(len(idx), max_affine)).round()
                       .astype(int)):
        Tk = T[3 * k:3 * k + 3]
        yk = net.forward(dom.to_input(Tk))
        M, c = rs.affine_map(idx[k])
        assert np.allclose(Tk @ M.T + c, yk, rtol=1e-9, atol=1e-9 * (1 + np.abs(yk).max()))
    # (b) uniform samples: distinct codes <= the exact count, each one enumerated
    C = _codes(net, dom, dom.sample(n_samples, rng))
    assert np.all(rs.index_of_codes(C) >= 0)
    n_seen = len(_distinct(C))
    assert 1 <= n_seen <= n
    return n_seen


def _window(x0, r):
    """The l-inf ball of radius r around an image, clipped to pixel values [0, 1]."""
    return pr.Box(np.clip(x0 - r, 0.0, 1.0), np.clip(x0 + r, 0.0, 1.0))


# Measured sizes (trained nets below; 2 shared cores, seconds of enumerate_regions only,
# which vary 2-5x with the load):
#   64-D  image 0  r = 1e-3, 2e-3, 4e-3, 6e-3: 24, 64, 256, 16392 regions (0.8, 0.9, 0.6-1.4,
#         58 s); r = 1e-2 did not finish in 16 min. r = 2e-3: image 1 192 regions (1024
#         expanded cells, 1.2-6.7 s), image 3 32, image 4 6 (256 expanded cells, 4 s),
#         image 5 512 (0.7-4 s).
#   784-D image 0  r = 6e-4, 8e-4: 2, 16 regions (0.3, 1.2-3 s); image 2 r = 6e-4: 4 regions
#         (19 LPs, 8-9 s); image 1 r = 3e-4: 512 regions (2048 expanded cells, 97 s).
#   slices through the first 0, 1, 7 (margin 0): 15385 regions (64-D, 2.5-3.7 s), 20816
#         (784-D, 3.7-4 s).
DIGIT_WINDOWS = [(0, 2e-3), (0, 4e-3), (3, 2e-3),
                 pytest.param(5, 2e-3, marks=pytest.mark.slow),
                 pytest.param(1, 2e-3, marks=pytest.mark.slow)]


@pytest.mark.parametrize("image,r", DIGIT_WINDOWS)
def test_digits_cnn_windows(digits_cnn, image, r):
    m, _, X = digits_cnn
    net = pr.from_torch(m, input_shape=(1, 8, 8))
    x0 = X[image].ravel()
    dom = _window(x0, r)
    rs = pr.enumerate_regions(net, dom)
    assert len(rs) > 1  # the window is cut
    _check_regions(net, dom, rs)


# 784-D: the LP engine costs 0.05-0.5 s per LP here, so the windows are tiny
CNN28_WINDOWS = [(0, 6e-4), (0, 8e-4), pytest.param(2, 6e-4, marks=pytest.mark.slow)]


@pytest.mark.parametrize("image,r", CNN28_WINDOWS)
def test_cnn28_windows(cnn28, image, r):
    m, _, X = cnn28
    net = pr.from_torch(m, input_shape=(1, 28, 28))
    dom = _window(X[image], r)
    rs = pr.enumerate_regions(net, dom)
    assert len(rs) > 1
    _check_regions(net, dom, rs)


@pytest.mark.parametrize("which", ["digits", "cnn28"])
def test_cnn_slice_through_three_digits(digits, digits_cnn, cnn28, which):
    """The plane through the first 0, 1 and 7 (about 15,000 and 21,000 regions)."""
    _, y = digits
    m, _, X = digits_cnn if which == "digits" else cnn28
    X = X.reshape(len(X), -1)
    net = pr.from_torch(m, input_shape=(1, 8, 8) if which == "digits" else (1, 28, 28))
    p = [int(np.flatnonzero(y == c)[0]) for c in (0, 1, 7)]
    plane = pr.Slice.through(X[p[0]], X[p[1]], X[p[2]], margin=0.0)
    rs = pr.enumerate_regions(net, plane)
    assert len(rs) > 1000
    n_seen = _check_regions(net, plane, rs)
    assert n_seen > len(rs) // 4  # 20,000 samples meet a good share of the regions
