"""Linear regions of a small digits CNN with max pooling on the plane through three images.

Trains ``conv 3x3 (C channels) -> ReLU -> max pool 2x2 -> linear (10 classes)`` on
scikit-learn's 8x8 digits (shipped with scikit-learn, no download), takes three test
images of different classes, enumerates the exact partition of the plane through them
(``pr.Slice.through``; a region is a cell where every ReLU and every pooling window's
argmax is fixed), checks it against sampling (``pr.verify``) and in exact arithmetic
(``pr.certify``), and draws it with the decision boundary and the three digits marked.

With PyTorch installed the CNN is trained in torch and imported with
``pr.from_torch(model, input_shape=(1, 8, 8))`` (each ``MaxPool2d`` becomes a
``pr.MaxPool`` layer). Without torch (or with ``--numpy``) a numpy fallback builds the same
architecture directly: random He-initialised 3x3 filters, kept fixed, and a linear read-out
of the pooled features fitted by ridge least squares on one-hot targets; the network is
assembled with ``pr.Network.from_arrays`` from the unrolled convolution matrix, an identity
layer carrying the ``pr.MaxPool`` windows (computed in numpy) and the read-out.

    python docs/examples/digits_cnn_slice.py          # writes docs/figures/digits_cnn_slice.png
    python docs/examples/digits_cnn_slice.py --numpy  # the numpy fallback even with torch
    python docs/examples/digits_cnn_slice.py --quick  # numpy fallback, 2 channels, for tests
    python docs/examples/digits_cnn_slice.py --certify 0  # certify every region (minutes)

``pr.certify`` proves regions genuine in exact rational arithmetic; on these nets it costs
a few milliseconds per region (pooling windows over blank pixels hold exactly equal
entries, and every such tie is checked exactly); by default an evenly spread subset of 50
regions is certified, ``--certify 0`` certifies all.
``--quick`` (used by the tests, well under a minute) always takes the numpy fallback with 2
random channels (test accuracy about 0.8; 4 random channels about 0.9; the trained torch
CNN about 0.99;
importing and training torch alone can take longer than that on a loaded machine), a
smaller margin around the three digits, and certifies 12 regions.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import polyregion as pr
from digits_slice import load_digits  # the same data split as the MLP example

SIDE = 8  # digits are 8x8
K = 3  # convolution kernel


# ----------------------------------------------------------------------------- torch path
def train_torch(X, y, channels, epochs, seed):
    import torch

    torch.manual_seed(seed)
    n_pool = channels * ((SIDE - K + 1) // 2) ** 2
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, channels, K), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(n_pool, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    Xt = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, SIDE, SIDE)
    yt = torch.as_tensor(y)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        loss.backward()
        opt.step()
    # MaxPool2d -> a max layer; the import self-checks its forward pass against torch
    return pr.from_torch(model.eval(), input_shape=(1, SIDE, SIDE))


# ----------------------------------------------------------------------------- numpy path
def train_numpy(X, y, channels, seed, ridge=1e-2):
    """Fixed random filters, a least-squares read-out; the same architecture as torch's."""
    rng = np.random.default_rng(seed)
    o = SIDE - K + 1
    kernels = rng.normal(size=(channels, K, K)) * np.sqrt(2.0 / K**2)
    conv_b = np.repeat(rng.normal(size=channels) * 0.1, o * o)  # He-like small biases
    conv = pr.conv2d_matrix(kernels, (1, SIDE, SIDE))
    pool = pr.MaxPool.pool2d((channels, o, o), 2)
    feats = pool(np.maximum(X @ conv.T + conv_b, 0.0))  # (n, channels * (o // 2)**2)
    F = np.hstack([feats, np.ones((len(X), 1))])
    Y = np.eye(10)[y]
    coef = np.linalg.solve(F.T @ F + ridge * np.eye(F.shape[1]), F.T @ Y)  # ridge LSQ
    n_conv = conv.shape[0]
    return pr.Network.from_arrays(
        [conv, np.eye(n_conv), coef[:-1].T], [conv_b, np.zeros(n_conv), coef[-1]],
        activation=["relu", pool])  # conv -> ReLU, identity -> max pool, read-out


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "figures"))
    ap.add_argument("--quick", action="store_true",
                    help="numpy fallback, 2 channels, a smaller plane (for tests, < 60 s)")
    ap.add_argument("--numpy", action="store_true", help="the numpy fallback even with torch")
    ap.add_argument("--certify", type=int, default=None,
                    help="regions to certify (evenly spread; 0: all); default 50, --quick 12")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    Xtr, ytr, Xte, yte = load_digits()
    use_torch = False
    if not (args.numpy or args.quick):  # importing torch alone can take 10 s
        try:
            import torch  # noqa: F401
            use_torch = True
        except ImportError:
            pass
    channels = 2 if args.quick else 4
    margin = 0.05 if args.quick else 0.3
    t0 = time.perf_counter()
    if use_torch:
        net = train_torch(Xtr, ytr, channels, 200, args.seed)
    else:
        net = train_numpy(Xtr, ytr, channels, args.seed)
    acc = float(np.mean(net.forward(Xte).argmax(1) == yte))
    print(f"trained {net} with {'torch' if use_torch else 'numpy'} in "
          f"{time.perf_counter() - t0:.1f} s; test accuracy {acc:.3f}")

    # three test images of different classes: the first 0, 1 and 7 (as digits_slice.py)
    picks = [int(np.flatnonzero(yte == c)[0]) for c in (0, 1, 7)]
    P = Xte[picks]
    plane = pr.Slice.through(P[0], P[1], P[2], margin=margin)
    t0 = time.perf_counter()
    rs = pr.enumerate_regions(net, plane)
    n_exp = rs.stats.extra["expanded_cells"]
    print(f"{len(rs)} linear regions on the plane through digits 0, 1, 7 "
          f"({time.perf_counter() - t0:.2f} s, {rs.stats.method}; {n_exp} expanded cells "
          f"of the tournament network merged by argmax code, ratio {n_exp / len(rs):.2f})")

    t0 = time.perf_counter()
    rep = pr.verify(rs, n=20_000 if args.quick else 200_000, seed=0)
    print(f"verify ({time.perf_counter() - t0:.1f} s): "
          f"{'passed' if rep.passed else 'FAILED'}; {rep.n_missing} sampled points outside "
          f"the regions, {rep.share_hit:.0%} of the regions hit")
    # certify: exact rational arithmetic, one forward pass per region plus one exact
    # check per tie (a pooling window over blank pixels holds equal entries everywhere),
    # 0.2-1 s per region here; by default an evenly spread subset of the regions
    n_cert = args.certify if args.certify is not None else (12 if args.quick else 50)
    sub = rs
    if 0 < n_cert < len(rs):
        idx = np.linspace(0, len(rs) - 1, n_cert).round().astype(int)
        sub = pr.RegionSet(rs.net, rs.domain, rs.codes[idx], rs.points[idx], rs.radii[idx])
    t0 = time.perf_counter()
    cert = pr.certify(sub)
    print(f"certify ({time.perf_counter() - t0:.1f} s): {cert.n_certified} of {len(sub)} "
          f"regions{' (a subset)' if sub is not rs else ''} proved genuine in exact "
          "arithmetic")
    if not (rep.passed and cert.ok):
        print(rep)
        return 1

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "digits_cnn_slice.png")
    # the three digits are marked with their classes; color_by="layer" colours each
    # boundary by the layer that made it (the ReLU layer, or a pooling window's argmax)
    pr.plot.save_partition(rs, path, dpi=110, figsize=(7, 7), color_by="layer",
                           decision_boundary=True, points=P, linewidth=0.4,
                           point_labels=[str(yte[i]) for i in picks])
    print(f"picture: {os.path.normpath(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
