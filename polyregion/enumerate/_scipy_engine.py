"""The reference LP path: the subdivision of :mod:`._kernels_engine` in Python, with
``scipy.optimize.linprog(method="highs")`` for every Chebyshev LP. Slow (about 1 ms per
LP); it is the baseline of the benchmarks and a cross-check in the tests.
"""

from __future__ import annotations

import numpy as np
from ..network import constant_row_scale
from ._highs import HIGHS_OPTIONS, cheb_highs  # noqa: F401  (re-exported for callers)


def cheb_scipy(A, b):
    """Chebyshev radius (capped at 1) and centre of {A x <= b} with unit rows A.

    HiGHS' dual simplex, then its interior-point method (:func:`._highs.cheb_highs`);
    raises :class:`~polyregion.errors.SolverError` when neither solves the LP: a failed
    solve is never read as an empty cell.
    """
    return cheb_highs(A, b, A.shape[0])


def enumerate_scipy(prep, tol, max_regions=None):
    k = int(prep.dims[0])
    feas = tol.feasibility
    Ws, bs = prep.Ws, prep.bs
    n_hidden = len(Ws) - 1
    widths = [W.shape[0] for W in Ws[:-1]]
    offs = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    n_neurons = int(sum(widths))
    out_c, out_p, out_r = [], [], []
    r0, x0 = cheb_scipy(prep.A0, prep.b0)
    n_lps = 1
    if n_hidden == 0:
        return [np.zeros(0, np.uint8)], [x0], [r0], n_lps, True
    winf = [np.abs(W).sum(axis=1).max() for W in Ws]
    bmax = [np.abs(b_).max(initial=0.0) for b_ in bs]

    def scales(G, g, W=None, M=None, c=None, l=0):
        # zero-row threshold and constant margin of a layer map (see _kernels_const)
        gmax = np.linalg.norm(G, axis=1).max()
        if W is None:
            return tol.zero_row * gmax, tol.zero_row * (gmax + np.abs(g).max())
        ub, vb = winf[l] * np.linalg.norm(M, axis=1).max(), winf[l] * np.abs(c).max() + bmax[l]
        return (tol.zero_row * constant_row_scale(G, W, M),
                tol.zero_row * (max(gmax, ub) + max(np.abs(g).max(), vb)))

    G0, g0 = Ws[0].copy(), bs[0].copy()
    stack = [(prep.A0.copy(), prep.b0.copy(), x0, r0, np.zeros(n_neurons, np.uint8),
              G0, g0, scales(G0, g0), 0, 0)]

    def side(A, b, a, beta):
        nonlocal n_lps
        A2, b2 = np.vstack([A, a[None]]), np.append(b, beta)
        n_lps += 1
        r, x = cheb_scipy(A2, b2)
        return r > feas, A2, b2, x, r

    while stack:
        A, b, p, r, code, G, g, sc, l, h = stack.pop()
        zthr, cmarg = sc
        while True:
            nb = int(prep.n_bp[l])
            if h == widths[l] * nb:
                if l == n_hidden - 1:
                    out_c.append(code)
                    out_p.append(p)
                    out_r.append(r)
                    break
                piece = code[offs[l]:offs[l + 1]]
                s = prep.slopes[l, piece]
                M = s[:, None] * G
                c = s * g + prep.intercepts[l, piece]
                G, g = Ws[l + 1] @ M, Ws[l + 1] @ c + bs[l + 1]
                sc = scales(G, g, Ws[l + 1], M, c, l + 1)
                zthr, cmarg = sc
                l, h = l + 1, 0
                continue
            j, q = divmod(h, nb)
            h += 1
            idx = offs[l] + j
            if code[idx] != q:
                continue
            t_q = prep.bps[l, q]
            nrm = np.linalg.norm(G[j])
            if nrm <= zthr or nrm == 0:
                # constant: within the rounding margin of the breakpoint counts as on it
                if g[j] >= t_q - cmarg:
                    code[idx] = q + 1
                continue
            a, beta = G[j] / nrm, (t_q - g[j]) / nrm
            s = a @ p - beta
            if s > feas:
                ne, A2, b2, x2, r2 = side(A, b, a, beta)
                if ne:
                    stack.append((A2, b2, x2, r2, code.copy(), G, g, sc, l, h))
                    A, b = np.vstack([A, -a[None]]), np.append(b, -beta)
                r = min(r, s)  # a no-cut leaves a sliver beyond: the ball stops at the plane
                code[idx] = q + 1
            elif s < -feas:
                ne, A2, b2, x2, r2 = side(A, b, -a, -beta)
                if ne:
                    c2 = code.copy()
                    c2[idx] = q + 1
                    stack.append((A2, b2, x2, r2, c2, G, g, sc, l, h))
                    A, b = np.vstack([A, a[None]]), np.append(b, beta)
                r = min(r, -s)
            else:
                neb, Ab, bb, xb, rb = side(A, b, a, beta)
                nea, Aa, ba, xa, ra = side(A, b, -a, -beta)
                if neb and nea:
                    c2 = code.copy()
                    c2[idx] = q + 1
                    stack.append((Aa, ba, xa, ra, c2, G, g, sc, l, h))
                    A, b, p, r = Ab, bb, xb, rb
                elif nea or (not neb and ra > rb):
                    code[idx] = q + 1
                    if nea or ra > 0:  # the witness moves to the side of the code
                        p, r = xa, ra
                elif neb or rb > 0:
                    p, r = xb, rb
        if max_regions is not None and len(out_c) > max_regions and stack:
            return out_c, out_p, out_r, n_lps, False
    return out_c, out_p, out_r, n_lps, True
