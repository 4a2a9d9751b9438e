"""Numba kernel: the sub-problem of one first-layer cell (see :mod:`.scale`)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_engine import enumerate_lp
from ._kernels_planar import enumerate_planar


@njit(cache=True)
def unit_arrays(code0, A0, b0, An, bn, nrm, live, t, W0, bias0, slopes0, icpt0, W1, bias1,
                tail_W, tail_b):
    """Constraints ``A x <= b`` of the cell and the flattened remaining net."""
    n0 = code0.shape[0]
    nb = t.shape[0]
    k = A0.shape[1]
    m = A0.shape[0]
    for j in range(n0):
        if live[j]:
            if code0[j] > 0:
                m += 1
            if code0[j] < nb:
                m += 1
    A = np.empty((m, k))
    b = np.empty(m)
    A[:A0.shape[0]] = A0
    b[:A0.shape[0]] = b0
    r = A0.shape[0]
    for j in range(n0):
        if not live[j]:
            continue
        q = code0[j]
        if q > 0:
            for c in range(k):
                A[r, c] = -An[j, c]
            b[r] = bn[j] - t[q - 1] / nrm[j]
            r += 1
        if q < nb:
            for c in range(k):
                A[r, c] = An[j, c]
            b[r] = t[q] / nrm[j] - bn[j]
            r += 1
    n1 = W1.shape[0]
    M = np.empty((n0, k))
    cvec = np.empty(n0)
    for j in range(n0):
        s = slopes0[code0[j]]
        for c in range(k):
            M[j, c] = s * W0[j, c]
        cvec[j] = s * bias0[j] + icpt0[code0[j]]
    G1 = W1 @ M
    g1 = W1 @ cvec + bias1
    W_flat = np.empty(n1 * k + tail_W.shape[0])
    W_flat[:n1 * k] = G1.ravel()
    W_flat[n1 * k:] = tail_W
    b_flat = np.empty(n1 + tail_b.shape[0])
    b_flat[:n1] = g1
    b_flat[n1:] = tail_b
    return A, b, W_flat, b_flat


@njit(cache=True)
def _collect(code0, c, p, r, out_c, out_p, out_r):
    n0 = code0.shape[0]
    for i in range(len(c)):
        full = np.empty(n0 + c[i].shape[0], np.uint8)
        full[:n0] = code0
        full[n0:] = c[i]
        out_c.append(full)
        out_p.append(p[i].copy())
        out_r.append(r[i])
    return len(c)


@njit(cache=True)
def _batch(kernel_id, codes0, A0, b0, An, bn, nrm, live, t, W0, bias0, slopes0, icpt0, W1,
           bias1, tail_W, tail_b, W_off, b_off, dims, n_bp, bps, slopes, intercepts, tol,
           zero_tol, piv_tol, opt_tol, max_iter):
    """All units of a batch in one call: regions with their first-layer prefix."""
    out_c = [np.empty(0, np.uint8) for _ in range(0)]
    out_p = [np.empty(0) for _ in range(0)]
    out_r = [0.0 for _ in range(0)]
    sizes = np.zeros(codes0.shape[0], np.int64)
    st_sum = np.zeros(16, np.int64)
    for u in range(codes0.shape[0]):
        code0 = codes0[u]
        A, b, W_flat, b_flat = unit_arrays(code0, A0, b0, An, bn, nrm, live, t, W0, bias0,
                                           slopes0, icpt0, W1, bias1, tail_W, tail_b)
        if kernel_id == 0:
            c, p, r, st, _ = enumerate_lp(W_flat, W_off, b_flat, b_off, dims, n_bp, bps,
                                          slopes, intercepts, A, b, tol, zero_tol, piv_tol,
                                          opt_tol, max_iter, 0)
            sizes[u] = _collect(code0, c, p, r, out_c, out_p, out_r)
        else:
            c2, p2, r2, st, _ = enumerate_planar(W_flat, W_off, b_flat, b_off, dims, n_bp,
                                                 bps, slopes, intercepts, A, b, tol,
                                                 zero_tol, 0)
            sizes[u] = _collect(code0, c2, p2, r2, out_c, out_p, out_r)
        for s in range(min(st.shape[0], 16)):
            st_sum[s] += st[s]
    return out_c, out_p, out_r, sizes, st_sum
