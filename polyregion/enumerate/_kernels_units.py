"""Numba kernel: the sub-problem of one first-layer cell (see :mod:`.scale`)."""

from __future__ import annotations

import numpy as np
from numba import njit


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
