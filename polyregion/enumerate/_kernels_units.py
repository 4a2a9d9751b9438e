"""Numba kernels: work units (see :mod:`.scale`): the constraints of a unit's cell and a
whole batch of units in one call."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_engine import enumerate_lp
from ._kernels_planar import enumerate_planar


@njit(cache=True)
def unit_rows(code0, A0, b0, An, bn, nrm, live, t):
    """``A x <= b``: the domain plus the rows of the first ``len(code0)`` neurons."""
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
    return A, b


@njit(cache=True)
def _collect(c, p, r, out_c, out_p, out_r):
    for i in range(len(c)):
        out_c.append(c[i].copy())
        out_p.append(p[i].copy())
        out_r.append(r[i])
    return len(c)


@njit(cache=True)
def _batch(kernel_id, codes0, A0, b0, An, bn, nrm, live, t, W_flat, W_off, b_flat, b_off,
           dims, n_bp, bps, slopes, intercepts, tol, zero_tol, piv_tol, opt_tol, max_iter):
    """All units of a batch in one call (kernel 0: LP path, 1: planar path)."""
    out_c = [np.empty(0, np.uint8) for _ in range(0)]
    out_p = [np.empty(0) for _ in range(0)]
    out_r = [0.0 for _ in range(0)]
    sizes = np.zeros(codes0.shape[0], np.int64)
    st_sum = np.zeros(16, np.int64)
    for u in range(codes0.shape[0]):
        A, b = unit_rows(codes0[u], A0, b0, An, bn, nrm, live, t)
        if kernel_id == 0:
            c, p, r, st, _ = enumerate_lp(W_flat, W_off, b_flat, b_off, dims, n_bp, bps,
                                          slopes, intercepts, A, b, tol, zero_tol, piv_tol,
                                          opt_tol, max_iter, 0)
            sizes[u] = _collect(c, p, r, out_c, out_p, out_r)
        else:
            c2, p2, r2, st, _ = enumerate_planar(W_flat, W_off, b_flat, b_off, dims, n_bp,
                                                 bps, slopes, intercepts, A, b, tol,
                                                 zero_tol, 0)
            sizes[u] = _collect(c2, p2, r2, out_c, out_p, out_r)
        for s in range(min(st.shape[0], 16)):
            st_sum[s] += st[s]
    return out_c, out_p, out_r, sizes, st_sum
