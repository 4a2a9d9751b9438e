"""Shared helpers of the BN reproduction scripts (docs/bn.md): nets, data, distances."""

from __future__ import annotations

import os
import sys

import numpy as np

import polyregion as pr
from polyregion.regions import cell_constraints

FIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "figures")


def random_net(d, widths, seed, activation="leaky_relu:0.1", out=1):
    """Random initialisation: He-normal weights, PyTorch-default biases U(+-1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    Ws, bs, n = [], [], d
    for w in list(widths) + [out]:
        Ws.append(rng.normal(size=(w, n)) * np.sqrt(2.0 / n))
        bs.append(rng.uniform(-1, 1, size=w) / np.sqrt(n))
        n = w
    return pr.Network.from_arrays(Ws, bs, activation=activation)


def moons(n, seed, noise=0.1, shift=(0.0, 0.0)):
    """Two interleaved half circles (standardised), then shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    k = n // 2
    t1, t2 = rng.uniform(0, np.pi, k), rng.uniform(0, np.pi, n - k)
    X = np.vstack([np.c_[np.cos(t1), np.sin(t1)], np.c_[1 - np.cos(t2), 0.5 - np.sin(t2)]])
    X += rng.normal(size=X.shape) * noise
    X = (X - X.mean(0)) / X.std(0)
    return X + np.asarray(shift)


def blobs(n, d, seed, k=3, spread=0.3, shift=0.0):
    """k Gaussian clusters in R^d with unit-scale centres, shifted by ``shift`` (scalar)."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(k, d))
    lab = rng.integers(0, k, size=n)
    return C[lab] + rng.normal(size=(n, d)) * spread + shift


def boundary_distance(plain, X):
    """Exact l2 distance from each row of X to the boundary of its own region in R^d.

    For x inside the convex cell {A y <= b} (unit rows, all neuron constraints), the
    distance to the cell's boundary is min_i (b_i - A_i x): a redundant row is never closer
    than the boundary. ``plain`` must be a network without BN (see pr.bn.fold).
    """
    out = np.empty(X.shape[0])
    codes = plain.codes(X)
    for i, (x, code) in enumerate(zip(X, codes)):
        A, b, _ = cell_constraints(plain, code)
        out[i] = np.min(b - A @ x) if A.shape[0] else np.inf
    return out


def table(rows, header):
    """A markdown table as a string."""
    fmt = lambda v: f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def quick_flag():
    return "--quick" in sys.argv[1:]


def no_fig_flag():
    return "--no-fig" in sys.argv[1:]


def train_forward(net, batch, X):
    """Training-mode BN forward pass of ``net`` on X, straight from the definition
    (statistics of ``batch``, biases included; independent of pr.bn.fold)."""
    zb, zx = batch, X
    for l, (W, b, bn) in enumerate(zip(net.weights, net.biases, net.bn)):
        ub, ux = zb @ W.T + b, zx @ W.T + b
        if bn is not None:
            mu, sd = ub.mean(0), np.sqrt(ub.var(0) + bn.eps)
            ub = bn.gamma * (ub - mu) / sd + bn.beta
            ux = bn.gamma * (ux - mu) / sd + bn.beta
        if l < net.n_layers - 1:
            act = net.activations[l]
            zb, zx = act(ub), act(ux)
        else:
            zx = ux
    return zx
