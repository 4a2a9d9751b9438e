"""Linear regions of a digits classifier on the plane through three images.

Trains a small ReLU MLP (64 -> 32 -> 32 -> 10) on scikit-learn's 8x8 digits (shipped with
scikit-learn, no download), takes three test images of different classes, enumerates the
exact partition of the plane through them (``pr.Slice.through``) and draws it with the
decision boundary (where the predicted class changes) and the three digits marked.

Training uses PyTorch when it is installed (``pr.from_torch`` then imports the model),
else a numpy fallback: the same MLP trained by full-batch Adam on the cross-entropy, with
hand-written gradients. Either way the result is a ``pr.Network``.

    python docs/examples/digits_slice.py            # writes docs/figures/digits_slice.png
    python docs/examples/digits_slice.py --quick    # a smaller net trained by numpy, for tests
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import polyregion as pr


def load_digits():
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError:
        raise SystemExit("This example needs scikit-learn: pip install scikit-learn") from None
    d = _load()
    X, y = d.data / 16.0, d.target
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    n_train = int(0.8 * len(X))
    return X[idx[:n_train]], y[idx[:n_train]], X[idx[n_train:]], y[idx[n_train:]]


def train_torch(X, y, widths, epochs, seed):
    import torch

    torch.manual_seed(seed)
    layers, n = [], X.shape[1]
    for w in widths:
        layers += [torch.nn.Linear(n, w), torch.nn.ReLU()]
        n = w
    model = torch.nn.Sequential(*layers, torch.nn.Linear(n, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        loss.backward()
        opt.step()
    return pr.from_torch(model.eval())


def train_numpy(X, y, widths, epochs, seed):
    """Full-batch Adam on the softmax cross-entropy, gradients by hand."""
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1]] + list(widths) + [10]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(size=(b, a)) * np.sqrt(2.0 / a), np.zeros(b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    Y = np.eye(10)[y]
    for step in range(1, epochs + 1):
        zs, z = [X], X
        for i in range(0, len(params) - 2, 2):
            z = np.maximum(z @ params[i].T + params[i + 1], 0)
            zs.append(z)
        logits = z @ params[-2].T + params[-1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - Y) / len(X)
        grads = [None] * len(params)
        for i in range(len(params) - 2, -1, -2):
            grads[i], grads[i + 1] = g.T @ zs[i // 2], g.sum(0)
            if i:
                g = (g @ params[i]) * (zs[i // 2] > 0)
        for k, (p_, g_) in enumerate(zip(params, grads)):
            m[k] = 0.9 * m[k] + 0.1 * g_
            v[k] = 0.999 * v[k] + 0.001 * g_**2
            p_ -= 1e-2 * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
    return pr.Network.from_arrays(params[0::2], params[1::2])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "figures"))
    ap.add_argument("--quick", action="store_true",
                    help="small net, few epochs, numpy training (for tests)")
    ap.add_argument("--numpy", action="store_true", help="train with numpy even with torch")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    Xtr, ytr, Xte, yte = load_digits()
    widths, epochs = ((12, 12), 150) if args.quick else ((32, 32), 400)
    try:
        import torch  # noqa: F401
        use_torch = not (args.numpy or args.quick)
    except ImportError:
        use_torch = False
    t0 = time.perf_counter()
    net = (train_torch if use_torch else train_numpy)(Xtr, ytr, widths, epochs, args.seed)
    acc = float(np.mean(net.forward(Xte).argmax(1) == yte))
    print(f"trained {net} with {'torch' if use_torch else 'numpy'} in "
          f"{time.perf_counter() - t0:.1f} s; test accuracy {acc:.3f}")

    # three test images of different classes: the first 0, 1 and 7
    picks = [int(np.flatnonzero(yte == c)[0]) for c in (0, 1, 7)]
    P = Xte[picks]
    plane = pr.Slice.through(P[0], P[1], P[2], margin=0.3)
    t0 = time.perf_counter()
    rs = pr.enumerate_regions(net, plane)
    print(f"{len(rs)} linear regions on the plane through digits 0, 1, 7 "
          f"({time.perf_counter() - t0:.2f} s, {rs.stats.method})")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    fig = Figure(figsize=(7, 7))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    pr.plot.partition(rs, ax=ax, color_by="layer", decision_boundary=True, points=P,
                      point_labels=[str(yte[i]) for i in picks], linewidth=0.4)
    for t, img in zip(plane.anchors, P):
        box = AnnotationBbox(OffsetImage(img.reshape(8, 8), zoom=3, cmap="gray_r"), t,
                             xybox=(-28, -28), boxcoords="offset points", frameon=True)
        ax.add_artist(box)
    ax.set_title(f"digits MLP {list(net.widths)}: {len(rs)} regions on the plane "
                 "through three test digits", fontsize=9)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "digits_slice.png")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"picture: {os.path.normpath(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
