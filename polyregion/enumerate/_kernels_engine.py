"""Numba kernel: layer-by-layer recursive hyperplane subdivision (the LP path).

Input is a flattened CPA network already restricted to the enumeration coordinates and
rescaled so the domain has unit scale (the Python driver does that). The kernel keeps an
explicit work stack of cells. A cell carries its constraint rows (only the hyperplanes
that actually cut one of its ancestors, plus the domain), a strictly interior witness
point ``p`` with a certified ball radius ``r`` (the ball lies in the cell), the simplex
basis of its last LP (warm start), its partial activation code, and the pre-activation
map ``u = G x + g`` of the layer being processed.

Splitting by the hyperplane ``{u_j = t_q}``: if ``p`` is farther than ``tol`` from it,
the side holding ``p`` is a region (it holds a ball of radius ``min(r, dist) > tol``) and
only the other side needs an LP; otherwise both sides get an LP. A side is kept when its
Chebyshev radius exceeds ``tol``. When the other side is empty, the hyperplane does not cut
the cell and adds no row. Cost: one LP per (cell, candidate hyperplane) that the witness
does not decide, each warm-started from the parent's basis.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_lp import LP_OPTIMAL, cheb_lp, cold_basis


@njit(cache=True)
def _append_row(A, b, m, a_new, b_new):
    A2 = np.empty((m + 1, A.shape[1]))
    b2 = np.empty(m + 1)
    A2[:m] = A[:m]
    b2[:m] = b[:m]
    A2[m] = a_new
    b2[m] = b_new
    return A2, b2


@njit(cache=True)
def _max_row_norm(G):
    best = 0.0
    for j in range(G.shape[0]):
        s = 0.0
        for t in range(G.shape[1]):
            s += G[j, t] * G[j, t]
        if s > best:
            best = s
    return np.sqrt(best)


@njit(cache=True)
def _side(A, b, m, basis, a_new, b_new, tol, piv_tol, opt_tol, max_iter, stats):
    """LP for the cell plus one row. Returns (nonempty, A2, b2, x, r, basis)."""
    A2, b2 = _append_row(A, b, m, a_new, b_new)
    stats[0] += 1
    st, obj, rp, x, bas = cheb_lp(A2, b2, m + 1, basis, tol, piv_tol, opt_tol, max_iter)
    if st == LP_OPTIMAL and not (rp > tol) and obj > tol:
        # inconsistent primal/dual answers: retry from the cold basis
        stats[1] += 1
        st, obj, rp, x, bas = cheb_lp(A2, b2, m + 1, cold_basis(A.shape[1]), tol, piv_tol,
                                      opt_tol, max_iter)
    if st != LP_OPTIMAL and st != 1:
        stats[2] += 1  # failed solve: counted, side treated by its primal certificate
    nonempty = st == LP_OPTIMAL and rp > tol
    return nonempty, A2, b2, x, rp, bas


@njit(cache=True)
def enumerate_lp(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts,
                 A0, b0, tol, zero_tol, piv_tol, opt_tol, max_iter, max_regions):
    """Enumerate all regions. ``dims = [k, n_1, ..., n_L]`` (layer widths incl. output).

    Returns ``(codes, points, radii, stats, complete)`` where
    ``stats = [n_lps, n_retries, n_failed]``.
    """
    k = dims[0]
    L = dims.shape[0] - 1  # affine layers
    n_hidden = L - 1
    n_neurons = 0
    neuron_off = np.zeros(L, np.int64)
    for l in range(n_hidden):
        neuron_off[l] = n_neurons
        n_neurons += dims[l + 1]
    stats = np.zeros(3, np.int64)

    out_codes = []
    out_points = []
    out_radii = []

    # root cell
    m0 = A0.shape[0]
    st, obj, rp, x, basis = cheb_lp(A0, b0, m0, cold_basis(k), -np.inf, piv_tol, opt_tol,
                                    max_iter)
    stats[0] += 1
    complete = True
    if n_hidden == 0:
        out_codes.append(np.zeros(0, np.uint8))
        out_points.append(x.copy())
        out_radii.append(rp)
        return out_codes, out_points, out_radii, stats, complete

    W = W_flat[W_off[0]:W_off[1]].reshape(dims[1], dims[0])
    G0 = np.ascontiguousarray(W.copy())
    g0 = b_flat[b_off[0]:b_off[1]].copy()
    stack = [(A0.copy(), b0.copy(), basis, x.copy(), rp, np.zeros(n_neurons, np.uint8),
              G0, g0, 0, 0)]
    while len(stack) > 0:
        A, b, basis, p, r, code, G, g, l, h = stack.pop()
        m = A.shape[0]
        gmax = _max_row_norm(G)
        while True:
            nb = n_bp[l]
            n_h = dims[l + 1] * nb
            if h == n_h:
                if l == n_hidden - 1:
                    out_codes.append(code)
                    out_points.append(p)
                    out_radii.append(r)
                    break
                # move to the next layer: z = s * u + c on this cell
                off = neuron_off[l]
                nl = dims[l + 1]
                M = np.empty((nl, k))
                c = np.empty(nl)
                for j in range(nl):
                    piece = code[off + j]
                    s = slopes[l, piece]
                    for t in range(k):
                        M[j, t] = s * G[j, t]
                    c[j] = s * g[j] + intercepts[l, piece]
                Wn = W_flat[W_off[l + 1]:W_off[l + 2]].reshape(dims[l + 2], dims[l + 1])
                G = Wn @ M
                g = Wn @ c + b_flat[b_off[l + 1]:b_off[l + 2]]
                l += 1
                h = 0
                gmax = _max_row_norm(G)
                continue
            j = h // nb
            q = h - j * nb
            h += 1
            idx = neuron_off[l] + j
            if code[idx] != q:
                continue
            t_q = bps[l, q]
            nrm = 0.0
            for t in range(k):
                nrm += G[j, t] * G[j, t]
            nrm = np.sqrt(nrm)
            if nrm <= zero_tol * gmax:
                if g[j] >= t_q:
                    code[idx] = q + 1
                continue
            a = G[j] / nrm
            beta = (t_q - g[j]) / nrm  # below: a.x <= beta ; above: -a.x <= -beta
            s = 0.0
            for t in range(k):
                s += a[t] * p[t]
            s -= beta  # > 0: p above
            if s > tol:
                ne, A2, b2, x2, r2, bas2 = _side(A, b, m, basis, a, beta, tol, piv_tol,
                                                 opt_tol, max_iter, stats)
                if ne:
                    stack.append((A2, b2, bas2, x2, r2, code.copy(), G, g, l, h))
                    A, b = _append_row(A, b, m, -a, -beta)
                    m += 1
                    r = min(r, s)
                code[idx] = q + 1
            elif s < -tol:
                ne, A2, b2, x2, r2, bas2 = _side(A, b, m, basis, -a, -beta, tol, piv_tol,
                                                 opt_tol, max_iter, stats)
                if ne:
                    c2 = code.copy()
                    c2[idx] = q + 1
                    stack.append((A2, b2, bas2, x2, r2, c2, G, g, l, h))
                    A, b = _append_row(A, b, m, a, beta)
                    m += 1
                    r = min(r, -s)
            else:
                neb, Ab, bb, xb, rb, basb = _side(A, b, m, basis, a, beta, tol, piv_tol,
                                                  opt_tol, max_iter, stats)
                nea, Aa, ba, xa, ra, basa = _side(A, b, m, basis, -a, -beta, tol, piv_tol,
                                                  opt_tol, max_iter, stats)
                if neb and nea:
                    c2 = code.copy()
                    c2[idx] = q + 1
                    stack.append((Aa, ba, basa, xa, ra, c2, G, g, l, h))
                    A, b, m, p, r, basis = Ab, bb, m + 1, xb, rb, basb
                elif nea or (not neb and ra > rb):
                    # the cell lies above (or, as a tolerance artefact, is too thin on
                    # both sides: it stays whole on its thicker side)
                    code[idx] = q + 1
                    if nea:
                        p, r, basis = xa, ra, basa
                elif neb:
                    p, r, basis = xb, rb, basb
        if max_regions > 0 and len(out_codes) >= max_regions and len(stack) > 0:
            complete = False
            break
    return out_codes, out_points, out_radii, stats, complete
