"""Numba kernels: which neurons are constant on a cell, the same rule in every engine.

On a cell, neuron ``i`` of layer ``l`` has the pre-activation ``u_i = G_i . x + g_i`` with

    G_i = sum_j W_ij M_j,    g_i = sum_j W_ij c_j + b_i,

where ``z_j = M_j . x + c_j`` is the previous layer's output on the cell (the first layer:
``G = W``, ``g = b``). The neuron is *constant* when its row is zero up to rounding:

    ||G_i|| <= zero_tol * zs,    zs = max(max_i ||G_i||, max_i sum_j |W_ij| ||M_j||).

The first term is the layer's largest row (a row negligible beside its layer); the second
is the size of the terms that were summed into the rows, so that a row which cancels to
rounding is constant even when *every* row of the layer cancels (a one-neuron layer that
computes ``relu(a.x) + relu(b.x) - relu((a+b).x)`` on the cell where all three are on:
there the largest row is itself a rounding residual, and without the second term the
residual would be taken for a hyperplane of random direction). For the first layer
``zs = max_i ||W_i||``.

The second term costs ``O(n_l n_{l-1})`` per cell and layer, as much as the map itself;
it is only computed when it can change a decision: the cheap bound
``ub = max_i sum_j |W_ij| * max_j ||M_j|| >= zs`` decides every row whose norm is not in
``(zero_tol max_i ||G_i||, zero_tol ub]`` (:func:`needs_term_scale`).

A constant neuron whose offset is within the margin

    zero_tol * (max(max_i ||G_i||, ub) + max(max_i |g_i|, max_i sum_j |W_ij| max_j |c_j| + max_i |b_i|))

below a breakpoint takes the upper piece (an exact cancellation leaves a residual offset
whose rounding sign would otherwise pick the piece, differently in each engine).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def layer_norms(W_flat, W_off, b_flat, b_off, dims):
    """``winf[l] = max_i sum_j |W_l[i, j]|`` and ``bmax[l] = max_i |b_l[i]|`` of every
    affine layer (``W_flat`` row-major)."""
    L = dims.shape[0] - 1
    winf = np.zeros(L)
    bmax = np.zeros(L)
    for l in range(L):
        n_in = dims[l]
        for i in range(dims[l + 1]):
            s = 0.0
            w0 = W_off[l] + i * n_in
            for j in range(n_in):
                s += abs(W_flat[w0 + j])
            winf[l] = max(winf[l], s)
            bmax[l] = max(bmax[l], abs(b_flat[b_off[l] + i]))
    return winf, bmax


@njit(cache=True)
def term_row_scale(W_flat, w0, n_out, n_in, mn):
    """``max_i sum_j |W_ij| mn_j`` for the row-major block of ``W_flat`` at ``w0``."""
    best = 0.0
    for i in range(n_out):
        s = 0.0
        r0 = w0 + i * n_in
        for j in range(n_in):
            s += abs(W_flat[r0 + j]) * mn[j]
        best = max(best, s)
    return best


@njit(cache=True)
def needs_term_scale(nrm, gmax, ub, zero_tol):
    """Does a row norm lie in ``(zero_tol gmax, zero_tol ub]`` (where the term scale can
    change the decision)?"""
    if not ub > gmax:
        return False
    lo = zero_tol * gmax
    hi = zero_tol * ub
    for i in range(nrm.shape[0]):
        if nrm[i] > lo and nrm[i] <= hi:
            return True
    return False


@njit(cache=True)
def layer_margin(g, gmax, ub, vb, zero_tol):
    """The constant-neuron margin of a layer with offsets ``g`` (module docstring);
    ``ub``, ``vb``: the row and offset bounds (``0`` for the first layer)."""
    big = 0.0
    for i in range(g.shape[0]):
        big = max(big, abs(g[i]))
    return zero_tol * (max(gmax, ub) + max(big, vb))


@njit(cache=True)
def deeper_layer_scales(nrm, gmax, g, W_flat, w0, n_in, mn, mmax, cmax, winf, bmax,
                        zero_tol):
    """``(zthr, margin)`` of a layer ``l >= 1`` on a cell: rows of norm at most ``zthr``
    are constant, at their piece with ``margin`` (module docstring). ``nrm``, ``gmax``,
    ``g``: the layer's row norms, largest row norm and offsets; ``W_flat[w0:]``: its
    row-major weights; ``mn``, ``mmax``, ``cmax``: the row norms, largest row norm and
    largest offset of its input map; ``winf``, ``bmax``: :func:`layer_norms` of the layer."""
    ub = winf * mmax
    zs = gmax
    if needs_term_scale(nrm, gmax, ub, zero_tol):
        zs = max(gmax, term_row_scale(W_flat, w0, nrm.shape[0], n_in, mn))
    return zero_tol * zs, layer_margin(g, gmax, ub, winf * cmax + bmax, zero_tol)


@njit(cache=True)
def near_rows(u, bps, reach):
    """Rows of ``u`` with a value within ``reach[row]`` of one of the breakpoints ``bps``
    (one pass, no temporaries): where the forward pass must look at the term sizes."""
    n, w = u.shape
    out = np.empty(n, np.int64)
    c = 0
    for i in range(n):
        r = reach[i]
        hit = False
        for j in range(w):
            v = u[i, j]
            for t in bps:
                if abs(v - t) <= r:
                    hit = True
                    break
            if hit:
                break
        if hit:
            out[c] = i
            c += 1
    return out[:c]
