"""Slow, obviously-correct oracles, independent of the engine under test.

- ``brute_force_codes``: recursive subdivision written from scratch: every candidate cell
  is tested with a fresh HiGHS Chebyshev LP on *both* sides of every hyperplane (no
  witness points, no warm starts, no shared code with polyregion.enumerate).
- ``sampled_codes``: activation codes seen on random points / a grid (a lower bound).
- ``zaslavsky``: number of cells of n generic hyperplanes in R^d.
"""

from __future__ import annotations

from math import comb

import numpy as np
from scipy.optimize import linprog


def zaslavsky(n: int, d: int) -> int:
    return sum(comb(n, i) for i in range(d + 1))


def he_net(widths, d, seed=0, bias_std=0.01, out=1, activation="relu"):
    """He-initialised network (the benchmark family)."""
    import polyregion as pr

    rng = np.random.default_rng(seed)
    Ws, bs, n = [], [], d
    for w in list(widths) + [out]:
        Ws.append(rng.normal(size=(w, n)) * np.sqrt(2.0 / n))
        bs.append(rng.normal(size=w) * bias_std)
        n = w
    return pr.Network.from_arrays(Ws, bs, activation=activation)


def _cheb(A, b):
    k = A.shape[1]
    if A.shape[0] == 0:
        return np.inf, np.zeros(k)
    nrm = np.linalg.norm(A, axis=1)
    c = np.zeros(k + 1)
    c[-1] = -1
    res = linprog(c, A_ub=np.hstack([A, nrm[:, None]]), b_ub=b,
                  bounds=[(None, None)] * k + [(None, 10.0)], method="highs")
    if res.status != 0:
        return -np.inf, None
    return -res.fun, res.x[:k]


def brute_force_codes(Ws, bs, breakpoints, slopes, intercepts, A0, b0, tol=1e-9):
    """All activation codes of full-dimensional cells of a CPA net on {A0 x <= b0}.

    ``breakpoints[l]``, ``slopes[l]``, ``intercepts[l]`` describe hidden layer l's
    activation. Returns a sorted list of code tuples.
    """
    d = Ws[0].shape[1]
    n_hidden = len(Ws) - 1
    results = []
    # state: constraints, layer, neuron, code list, affine map of layer input
    stack = [(A0, b0, 0, 0, [], np.eye(d), np.zeros(d), [])]
    while stack:
        A, b, l, j, code, M, c, layer_code = stack.pop()
        if l == n_hidden:
            results.append(tuple(code))
            continue
        W, bias = Ws[l], bs[l]
        if j == W.shape[0]:
            s = np.array([slopes[l][q] for q in layer_code])
            t = np.array([intercepts[l][q] for q in layer_code])
            G, g = W @ M, W @ c + bias
            stack.append((A, b, l + 1, 0, code, s[:, None] * G, s * g + t, []))
            continue
        a = W[j] @ M
        a0 = W[j] @ c + bias[j]
        bp = list(breakpoints[l])
        # piece q: bp[q-1] <= a.x + a0 <= bp[q]
        for q in range(len(bp) + 1):
            rows, rhs = [A], [b]
            if q > 0:
                rows.append(-a[None])
                rhs.append([a0 - bp[q - 1]])
            if q < len(bp):
                rows.append(a[None])
                rhs.append([bp[q] - a0])
            A2, b2 = np.vstack(rows), np.concatenate([np.atleast_1d(x) for x in rhs])
            keep = np.linalg.norm(A2, axis=1) > 1e-14
            if np.any(~keep & (b2 < -1e-12)):
                continue  # zero row violated: constant neuron on the wrong piece
            A2, b2 = A2[keep], b2[keep]
            r, _ = _cheb(A2, b2)
            if r > tol:
                stack.append((A2, b2, l, j + 1, code + [q], M, c, layer_code + [q]))
    return sorted(results)


def brute_force_net(net, domain, tol=1e-9):
    """brute_force_codes for a polyregion Network and Box/Polytope/Space domain."""
    enum = net.for_domain(domain)
    A0, b0 = domain.halfspaces()
    return brute_force_codes(
        enum.weights, enum.biases,
        [a.breakpoints for a in enum.activations],
        [a.slopes for a in enum.activations],
        [a.intercepts for a in enum.activations], A0, b0, tol=tol)


def sampled_codes(net, X):
    """Set of code tuples of the rows of X (a lower bound of the true set)."""
    return {tuple(c) for c in net.codes(X)}


def brute_force_unit(net, domain, tol=1e-9, zero_tol=1e-12):
    """Like :func:`brute_force_net`, but scale-free and exact on constant neurons.

    The enumeration coordinates are first mapped affinely so the domain's bounding box has
    half-diagonal 1 (unbounded domains: unchanged), which makes ``tol`` relative to the
    domain's size; each hidden layer's pre-activation rows are compared with ``zero_tol``
    times the largest row of the layer on the cell. A neuron that is constant on a cell
    (zero row) takes the one piece its value lies on (``searchsorted(..., "right")``,
    the convention of ``Network.codes``), instead of every piece whose closed constraint
    it satisfies. Returns a sorted list of code tuples.
    """
    enum = net.for_domain(domain)
    A0, b0 = domain.halfspaces()
    if domain.bounded:
        lo, hi = domain.bounds()
        center, scale = 0.5 * (lo + hi), float(0.5 * np.linalg.norm(hi - lo))
    else:
        center, scale = np.zeros(domain.dim), 1.0
    Ws = [np.array(W, float) for W in enum.weights]
    bs = [np.array(b, float) for b in enum.biases]
    bs[0] = bs[0] + Ws[0] @ center
    Ws[0] = Ws[0] * scale
    if A0.shape[0]:
        nrm = np.linalg.norm(A0, axis=1)
        A0, b0 = A0 / nrm[:, None], b0 / nrm
        b0 = (b0 - A0 @ center) / scale
    acts = enum.activations
    d = Ws[0].shape[1]
    n_hidden = len(Ws) - 1
    results = []
    stack = [(A0, b0, 0, 0, [], Ws[0].copy(), bs[0].copy(), [])]
    while stack:
        A, b, l, j, code, G, g, layer_code = stack.pop()
        if l == n_hidden:
            results.append(tuple(code))
            continue
        if j == G.shape[0]:
            s = np.array([acts[l].slopes[q] for q in layer_code])
            t = np.array([acts[l].intercepts[q] for q in layer_code])
            M, c = s[:, None] * G, s * g + t
            stack.append((A, b, l + 1, 0, code, Ws[l + 1] @ M, Ws[l + 1] @ c + bs[l + 1], []))
            continue
        bp = list(acts[l].breakpoints)
        gmax = float(np.abs(G).max())
        a, a0 = G[j], g[j]
        if not np.abs(a).max() > zero_tol * gmax:
            q = int(np.searchsorted(bp, a0, side="right"))
            stack.append((A, b, l, j + 1, code + [q], G, g, layer_code + [q]))
            continue
        na = float(np.linalg.norm(a / np.abs(a).max())) * np.abs(a).max()
        for q in range(len(bp) + 1):
            rows, rhs = [A], [b]
            if q > 0:  # unit rows keep HiGHS' absolute tolerances meaningful
                rows.append(-a[None] / na)
                rhs.append([(a0 - bp[q - 1]) / na])
            if q < len(bp):
                rows.append(a[None] / na)
                rhs.append([(bp[q] - a0) / na])
            A2 = np.vstack(rows).reshape(-1, d)
            b2 = np.concatenate([np.atleast_1d(x) for x in rhs])
            r = _cheb_tight(A2, b2)
            if r > tol:
                stack.append((A2, b2, l, j + 1, code + [q], G, g, layer_code + [q]))
    return sorted(results)


def _cheb_tight(A, b):
    """Chebyshev radius of {A x <= b} (unit rows), capped at 10, verified at the returned
    centre (HiGHS at its tightest tolerances; the radius is recomputed from the point)."""
    k = A.shape[1]
    if A.shape[0] == 0:
        return np.inf
    c = np.zeros(k + 1)
    c[-1] = -1
    res = linprog(c, A_ub=np.hstack([A, np.linalg.norm(A, axis=1)[:, None]]), b_ub=b,
                  bounds=[(None, None)] * k + [(None, 10.0)], method="highs",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        return -np.inf
    x = res.x[:k]
    return float(min(10.0, np.min((b - A @ x) / np.linalg.norm(A, axis=1))))


def exact_codes(net, X):
    """Activation codes of the rows of X in exact rational arithmetic (fractions), from
    the float64 values of the BN-free network and the points. Slow: for a few points."""
    from fractions import Fraction

    codes = []
    for x in np.atleast_2d(np.asarray(X, float)):
        z = [Fraction(float(v)) for v in x]
        code = []
        for l in range(net.n_layers - 1):
            W, b, act = net.weights[l], net.biases[l], net.activations[l]
            u = [sum((Fraction(float(w)) * zi for w, zi in zip(W[j], z)), Fraction(0))
                 + Fraction(float(b[j])) for j in range(W.shape[0])]
            t = [Fraction(float(v)) for v in act.breakpoints]
            q = [sum(1 for tv in t if tv <= uj) for uj in u]
            code += q
            z = [Fraction(float(act.slopes[qj])) * uj + Fraction(float(act.intercepts[qj]))
                 for qj, uj in zip(q, u)]
        codes.append(tuple(code))
    return codes
