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


def unit_scaled(net, domain):
    """``(Ws, bs, A0, b0, activations)`` of ``net`` in coordinates where the domain's
    bounding box has half-diagonal 1 (unbounded domains: unchanged), unit domain rows."""
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
    return Ws, bs, A0, b0, enum.activations


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
    Ws, bs, A0, b0, acts = unit_scaled(net, domain)
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


# ---------------------------------------------------------------- exact 2-D oracle
# Exact rational 2-D enumeration of the regions of a ReLU MLP in the box [-1, 1]^2,
# independent of polyregion: float64 weights are dyadic rationals, so everything is done
# in Python integers (homogeneous coordinates) and every sign test is exact. A cell is kept
# exactly when both sides of a split have a vertex strictly on them (positive area).
from fractions import Fraction  # noqa: E402

def dyadic(A):
    """A (float64 array) == Aint / 2**K exactly; returns (object int array, K)."""
    fr = [Fraction(float(v)) for v in np.ravel(A)]
    K = max(f.denominator.bit_length() - 1 for f in fr)
    ints = [f.numerator * ((1 << K) // f.denominator) for f in fr]
    return np.array(ints, dtype=object).reshape(np.shape(A)), K

def cross(L, E):
    X = L[1] * E[2] - L[2] * E[1]
    Y = L[2] * E[0] - L[0] * E[2]
    Z = L[0] * E[1] - L[1] * E[0]
    if Z < 0:
        X, Y, Z = -X, -Y, -Z
    return (X, Y, Z)

def sgn(L, v):
    s = L[0] * v[0] + L[1] * v[1] + L[2] * v[2]
    return (s > 0) - (s < 0)

def split(poly, L):
    """poly: list of (vertex, edge_after). Returns (pos_piece, neg_piece, flag):
    flag +1 / -1 if the polygon lies on one side (then pieces None)."""
    k = len(poly)
    s = [sgn(L, v) for v, _ in poly]
    if min(s) >= 0:
        return None, None, 1 if max(s) > 0 else 0
    if max(s) <= 0:
        return None, None, -1
    pos, neg = [], []
    for i in range(k):
        v, E = poly[i]; si = s[i]; sj = s[(i + 1) % k]
        if si >= 0:
            pos.append((v, L if (si == 0 and sj < 0) else E))
        if si <= 0:
            neg.append((v, L if (si == 0 and sj > 0) else E))
        if si * sj < 0:
            p = cross(L, E)
            if si > 0:
                pos.append((p, L)); neg.append((p, E))
            else:
                neg.append((p, L)); pos.append((p, E))
    return pos, neg, 2

def box_poly(r=1):
    V = [(-r, -r, 1), (r, -r, 1), (r, r, 1), (-r, r, 1)]
    E = [(0, 1, r), (1, 0, -r), (0, 1, -r), (1, 0, r)]
    return list(zip(V, E))

def exact_relu_2d_codes(Ws, bs, poly=None, return_polys=False):
    """Codes (uint8, lexicographically sorted) of all full-dimensional cells."""
    layers = []
    for W, b in zip(Ws[:-1], bs[:-1]):
        Wi, Kw = dyadic(W); bi, Kb = dyadic(b)
        K = max(Kw, Kb)
        layers.append((Wi * (1 << (K - Kw)), bi * (1 << (K - Kb)), K))
    d = Ws[0].shape[1]
    M0 = np.array([[1, 0, 0], [0, 1, 0]], dtype=object)
    cells = [(poly if poly is not None else box_poly(), [], M0, 0)]
    for Wi, bi, K in layers:
        new_cells = []
        for poly0, code, M, D in cells:
            U = Wi.dot(M)
            U[:, 2] = U[:, 2] + bi * (1 << D)
            sub = [(poly0, [])]
            for j in range(U.shape[0]):
                L = (U[j, 0], U[j, 1], U[j, 2])
                nxt = []
                for p, bits in sub:
                    pos, neg, flag = split(p, L)
                    if flag == 2:
                        nxt.append((pos, bits + [1])); nxt.append((neg, bits + [0]))
                    elif flag == 1:
                        nxt.append((p, bits + [1]))
                    elif flag == -1:
                        nxt.append((p, bits + [0]))
                    else:  # neuron identically zero on the cell: u = 0 -> piece 1 (side="right")
                        nxt.append((p, bits + [1]))
                sub = nxt
            for p, bits in sub:
                s = np.array(bits, dtype=object)
                M2 = U * s[:, None]
                new_cells.append((p, code + bits, M2, D + K))
        cells = new_cells
    codes = np.array([c for _, c, _, _ in cells], dtype=np.uint8)
    order = np.lexsort(codes.T[::-1])
    if return_polys:
        return codes[order], [cells[i][0] for i in order]
    return codes[order]



def brute_force_max(net, domain, tol=1e-9, zero_tol=1e-12):
    """Codes of every full-dimensional region of a network with max layers.

    Depth-first over hidden units: a scalar activation branches on its pieces, a window
    of a max layer on which entry is the maximum (``u_j <= u_p`` for every other entry;
    an entry identical to ``u_p`` on the cell loses only if it comes first, the "last
    maximal position" tie rule). A branch is kept when HiGHS' Chebyshev LP finds a ball
    of radius > ``tol`` (relative to the domain's size). Written from the definition,
    independently of the engine's tournament expansion.
    """
    from polyregion.network import MaxPool

    Ws, bs, A0, b0, acts = unit_scaled(net, domain)
    n_hidden = len(Ws) - 1

    def feasible(A, b):
        return _cheb(A, b)[0] > tol

    results = []
    stack = [(A0, b0, 0, 0, [], Ws[0].copy(), bs[0].copy(), [])]
    while stack:
        A, b, l, j, code, G, g, sel = stack.pop()
        if l == n_hidden:
            results.append(tuple(code))
            continue
        act = acts[l]
        n_units = act.n_out if isinstance(act, MaxPool) else G.shape[0]
        if j == n_units:  # layer done: sel holds the output rows (M, c)
            M = np.array([m for m, _ in sel]).reshape(-1, G.shape[1])
            c = np.array([v for _, v in sel])
            stack.append((A, b, l + 1, 0, code, Ws[l + 1] @ M, Ws[l + 1] @ c + bs[l + 1], []))
            continue
        gmax = float(np.abs(G).max()) if G.size else 0.0
        if isinstance(act, MaxPool):
            win = act.windows[j]
            for p, i in enumerate(win):
                rows, rhs, ok = [A], [b], True
                for q, jj in enumerate(win):
                    if q == p:
                        continue
                    a, a0 = G[jj] - G[i], g[i] - g[jj]   # u_jj <= u_i
                    if not np.abs(a).max() > zero_tol * gmax:
                        if a0 < 0 or (a0 == 0 and q > p):
                            ok = False
                            break
                        continue
                    n = np.linalg.norm(a)
                    rows.append(a[None] / n)
                    rhs.append([a0 / n])
                if not ok:
                    continue
                A2, b2 = np.vstack(rows), np.concatenate(rhs)
                if feasible(A2, b2):
                    stack.append((A2, b2, l, j + 1, code + [p], G, g, sel + [(G[i], g[i])]))
            continue
        bp = list(act.breakpoints)
        a, a0 = G[j], g[j]
        if not np.abs(a).max() > zero_tol * gmax:
            q = int(np.searchsorted(bp, a0, side="right"))
            stack.append((A, b, l, j + 1, code + [q], G, g,
                          sel + [(act.slopes[q] * a, act.slopes[q] * a0 + act.intercepts[q])]))
            continue
        na = np.linalg.norm(a)
        for q in range(len(bp) + 1):
            rows, rhs = [A], [b]
            if q > 0:
                rows.append(-a[None] / na)
                rhs.append([(a0 - bp[q - 1]) / na])
            if q < len(bp):
                rows.append(a[None] / na)
                rhs.append([(bp[q] - a0) / na])
            A2, b2 = np.vstack(rows), np.concatenate(rhs)
            if feasible(A2, b2):
                stack.append((A2, b2, l, j + 1, code + [q], G, g,
                              sel + [(act.slopes[q] * a, act.slopes[q] * a0 + act.intercepts[q])]))
    return sorted(results)


# ---------------------------------------------------------- exact 1-D / 2-D oracle, any PWL
def _frac_vertices(domain):
    """Exact vertices (tuples of Fractions, cyclic order in 2-D) of a bounded 1-D or 2-D
    Box or Polytope (a Slice's inner domain), from its float64 data taken exactly."""
    import math

    import polyregion as pr

    inner = getattr(domain, "inner", domain)
    if isinstance(inner, pr.Box):
        lo = [Fraction(float(v)) for v in inner.lo]
        hi = [Fraction(float(v)) for v in inner.hi]
        if len(lo) == 1:
            return [(lo[0],), (hi[0],)]
        return [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
    A, b = inner.halfspaces()
    A = [[Fraction(float(v)) for v in row] for row in A]
    b = [Fraction(float(v)) for v in b]
    if len(A[0]) == 1:
        lo = max(bb / a for (a,), bb in zip(A, b) if a < 0)
        hi = min(bb / a for (a,), bb in zip(A, b) if a > 0)
        return [(lo,), (hi,)]
    pts = set()
    for i in range(len(A)):
        for j in range(i + 1, len(A)):
            det = A[i][0] * A[j][1] - A[i][1] * A[j][0]
            if det == 0:
                continue
            x = (b[i] * A[j][1] - A[i][1] * b[j]) / det
            y = (A[i][0] * b[j] - b[i] * A[j][0]) / det
            if all(r[0] * x + r[1] * y <= c for r, c in zip(A, b)):
                pts.add((x, y))
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    return sorted(pts, key=lambda p: math.atan2(float(p[1] - cy), float(p[0] - cx)))


def _split_cell(V, s):
    """Pieces ``({f <= 0}, {f >= 0})`` of a convex polygon / interval ``V`` cut by an
    affine function with exact values ``s`` at the vertices (both sides must hold a vertex
    strictly)."""
    if len(V) == 2 and len(V[0]) == 1:
        t = s[0] / (s[0] - s[1])
        p = (V[0][0] + t * (V[1][0] - V[0][0]),)
        return ([V[0], p], [p, V[1]]) if s[0] < 0 else ([p, V[1]], [V[0], p])
    neg, pos = [], []
    n = len(V)
    for i in range(n):
        j = (i + 1) % n
        if s[i] <= 0:
            neg.append(V[i])
        if s[i] >= 0:
            pos.append(V[i])
        if (s[i] < 0 < s[j]) or (s[j] < 0 < s[i]):
            t = s[i] / (s[i] - s[j])
            p = tuple(a + t * (c - a) for a, c in zip(V[i], V[j]))
            neg.append(p)
            pos.append(p)
    return neg, pos


def cell_size(V):
    """``2 * area / perimeter`` of a convex polygon (between its inradius and twice it), or
    half the length of an interval: a float measure of how thin a cell is."""
    import math

    if len(V[0]) == 1:
        return float(abs(V[1][0] - V[0][0])) / 2.0
    n = len(V)
    area2 = abs(sum(V[i][0] * V[(i + 1) % n][1] - V[(i + 1) % n][0] * V[i][1]
                    for i in range(n)))
    per = sum(math.hypot(float(V[i][0] - V[(i + 1) % n][0]), float(V[i][1] - V[(i + 1) % n][1]))
              for i in range(n))
    return float(area2) / per if per > 0 else 0.0


def exact_pwl_cells(net, domain):
    """Every positive-measure cell of a BN-free CPA net with any piecewise-linear
    activations on a bounded 1-D or 2-D domain (Box, Polytope, or Slice of them), in exact
    rational arithmetic (the float64 enumeration network ``net.for_domain(domain)`` taken
    exactly). Independent of polyregion's engine: cells are convex polygons (intervals)
    split by each breakpoint of each neuron in turn; a piece is kept when a vertex lies
    strictly on its side. A neuron constant on a cell takes the piece of its value
    (``searchsorted(..., side="right")``, the convention of ``Network.codes``).

    Returns ``{code tuple: vertices}``. Slow (Fractions): for small nets.
    """
    enum = net.for_domain(domain)
    d = domain.dim
    Wf = [[[Fraction(float(w)) for w in row] for row in W] for W in enum.weights]
    bf = [[Fraction(float(v)) for v in b] for b in enum.biases]
    eye = [[Fraction(int(i == j)) for j in range(d)] for i in range(d)]
    cells = [(_frac_vertices(domain), [], eye, [Fraction(0)] * d)]
    for l, act in enumerate(enum.activations):
        bps = [Fraction(float(t)) for t in act.breakpoints]
        sl = [Fraction(float(v)) for v in act.slopes]
        ic = [Fraction(float(v)) for v in act.intercepts]
        W, b = Wf[l], bf[l]
        new = []
        for V, code, M, c in cells:
            G = [[sum((W[j][i] * M[i][t] for i in range(len(M))), Fraction(0))
                  for t in range(d)] for j in range(len(W))]
            g = [sum((W[j][i] * c[i] for i in range(len(M))), Fraction(0)) + b[j]
                 for j in range(len(W))]
            sub = [(V, [])]
            for j in range(len(W)):
                nxt = []
                for P, bits in sub:
                    pieces = [(P, 0)]  # the last piece is the one with u >= t_{q-1}
                    for q, t in enumerate(bps):
                        if pieces[-1][1] != q:
                            break
                        P2, _ = pieces.pop()
                        s = [sum((G[j][e] * v[e] for e in range(d)), Fraction(0)) + g[j] - t
                             for v in P2]
                        if min(s) >= 0:  # (a constant u == t lands here: upper piece)
                            pieces.append((P2, q + 1))
                        elif max(s) <= 0:
                            pieces.append((P2, q))
                        else:
                            neg, pos = _split_cell(P2, s)
                            pieces += [(neg, q), (pos, q + 1)]
                    nxt += [(P2, bits + [q]) for P2, q in pieces]
                sub = nxt
            for P, bits in sub:
                M2 = [[sl[q] * G[j][e] for e in range(d)] for j, q in enumerate(bits)]
                c2 = [sl[q] * g[j] + ic[q] for j, q in enumerate(bits)]
                new.append((P, code + bits, M2, c2))
        cells = new
    return {tuple(code): V for V, code, _, _ in cells}


def merge_close_points(P, tol):
    """Vertex ids for the rows of ``P``: rows closer than ``tol`` (transitively) share an
    id (union-find over close pairs). Returns ``(vid, V)``, ``V`` one row per id."""
    from scipy.spatial import cKDTree

    parent = np.arange(len(P))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in cKDTree(P).query_pairs(tol):
        parent[find(i)] = find(j)
    roots = np.array([find(i) for i in range(len(P))])
    uniq, first, vid = np.unique(roots, return_index=True, return_inverse=True)
    return vid, P[first]


def cell_constraints_loop(enum_net, code, domain=None, zero_row=1e-13):
    """The rows of one cell by a plain loop over layers and neurons: an independent
    reference for the package's vectorised row builder (``polyregion._rows.cell_rows``,
    behind ``regions.cell_constraints``). Unit rows, labels ``(layer, unit, breakpoint)``,
    domain facets ``(-1, i, 0)`` first; rows of neurons constant on the cell (norm at most
    ``zero_row`` times the layer's row scale) are left out."""
    from polyregion.network import MaxPool, constant_row_scale

    k = enum_net.input_dim
    code = np.asarray(code).ravel()
    rows, rhs, labels = [], [], []
    if domain is not None:
        A, b = domain.halfspaces()
        for i in range(A.shape[0]):
            rows.append(A[i])
            rhs.append(b[i])
            labels.append((-1, i, 0))
    M, c = np.eye(k), np.zeros(k)
    off = 0
    n_hidden = enum_net.n_layers - 1
    for l in range(n_hidden):
        W, bias = enum_net.weights[l], enum_net.biases[l]
        G, g = W @ M, W @ c + bias
        act = enum_net.activations[l]
        # the constant-row scale (as in every engine): the largest row, and for deeper
        # layers the size of the terms summed into the rows
        gmax = constant_row_scale(G, W, M) if l > 0 else constant_row_scale(G)
        if isinstance(act, MaxPool):
            w = act.n_out
            win = act.winners(code[off:off + w])
            for u in range(w):
                i = win[u]
                for p, j in enumerate(act.windows[u]):
                    D = G[j] - G[i]
                    nrm = np.linalg.norm(D)
                    if j == i or nrm <= zero_row * gmax or nrm == 0:
                        continue
                    rows.append(D)  # u_j <= u_i
                    rhs.append(g[i] - g[j])
                    labels.append((l, u, p))
            M, c = G[win], g[win]
            off += w
            continue
        t = np.asarray(act.breakpoints)
        piece = code[off:off + W.shape[0]].astype(int)
        for j in range(W.shape[0]):
            nrm = np.linalg.norm(G[j])
            if nrm <= zero_row * gmax or nrm == 0:
                continue
            q = piece[j]
            if q > 0:  # u >= t[q-1]:  -G x <= g - t
                rows.append(-G[j])
                rhs.append(g[j] - t[q - 1])
                labels.append((l, j, q - 1))
            if q < len(t):  # u <= t[q]:  G x <= t - g
                rows.append(G[j])
                rhs.append(t[q] - g[j])
                labels.append((l, j, q))
        s = np.asarray(act.slopes)[piece]
        M, c = s[:, None] * G, s * g + np.asarray(act.intercepts)[piece]
        off += W.shape[0]
    A = np.array(rows, float).reshape(-1, k)
    b = np.array(rhs, float)
    if A.shape[0]:
        nrm = np.linalg.norm(A, axis=1)
        A, b = A / nrm[:, None], b / nrm
    return A, b, np.array(labels, dtype=np.int64).reshape(-1, 3)
