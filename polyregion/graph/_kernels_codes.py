"""Numba kernels of the graph: layer maps along a code, the code across a facet, code look-up.

All kernels work in the engine's unit-scale coordinates on the flattened network
(:class:`polyregion.graph.complex._Flat`: the engine's
:class:`~polyregion.enumerate.engine.Prepared` and its ``FlatNet``).

Neighbours. In a continuous piecewise-linear network, every neuron's pre-activation on
the region ``Q`` across a facet ``F`` of ``P`` differs from its expression on ``P`` by a
multiple of the facet's hyperplane function, so ``Q`` shares exactly ``F`` with ``P``
and its code is ``P``'s code with the neurons carrying ``F`` moved to the adjacent piece.
That code is looked up by binary search in the sorted codes (:func:`find_code`) or by a
Zobrist hash (:func:`code_hashes`, the walk). When it is not a region (neurons constant on
``P`` at a breakpoint, nearly coincident hyperplanes), a forward pass of value and tangent
at ``(centre, normal)`` (:func:`code_across`) gives the code of the points
``centre + eps * normal`` for infinitesimal ``eps``.

Cost: a layer map is ``O(n_l d)`` per neuron; :func:`code_across` one forward pass;
:func:`find_code` ``O(log n)`` code comparisons.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import TANGENT_RTOL
from ..enumerate._kernels_const import (
    deeper_layer_scales, layer_margin, layer_norms, term_row_scale,
)

# --------------------------------------------------------------------------- helpers
@njit(cache=True)
def _dot(a, b):
    """``a . b`` (a plain loop: inlined by Numba, no BLAS call for short vectors)."""
    s = 0.0
    for t in range(a.shape[0]):
        s += a[t] * b[t]
    return s


@njit(cache=True)
def _grow2(arr, n):
    """``arr`` if it has room for row ``n``, else a copy with twice the rows (at least 16)."""
    if n < arr.shape[0]:
        return arr
    out = np.empty((max(2 * arr.shape[0], 16), arr.shape[1]), arr.dtype)
    out[:arr.shape[0]] = arr
    return out


@njit(cache=True)
def _grow1(arr, n):
    """``arr`` if it has room for entry ``n``, else a copy twice as long (at least 16)."""
    if n < arr.shape[0]:
        return arr
    out = np.empty(max(2 * arr.shape[0], 16), arr.dtype)
    out[:arr.shape[0]] = arr
    return out


@njit(cache=True)
def _layer_maps(W_flat, W_off, b_flat, b_off, dims, slopes, intercepts, code, Gc, gc, zc,
                start):
    """Fill ``Gc[l], gc[l]`` (pre-activation map ``u = G x + g`` of hidden layer ``l``) and
    ``zc[l]`` (its constant-row scale, :mod:`._kernels_const`) for ``l >= start``; layers
    below ``start`` are reused (they depend only on the codes of earlier layers)."""
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    off = 0
    for l in range(start):
        off += dims[l + 1]
    for l in range(start, n_hidden):
        n_in = dims[l]
        n_out = dims[l + 1]
        W = W_flat[W_off[l]:W_off[l + 1]].reshape(n_out, n_in)
        bias = b_flat[b_off[l]:b_off[l + 1]]
        if l == 0:
            for j in range(n_out):
                for t in range(k):
                    Gc[0, j, t] = W[j, t]
                gc[0, j] = bias[j]
            zc[0] = 0.0
        else:
            n_prev = dims[l]
            # M = diag(s) G_prev, c = s g_prev + intercept (previous layer's pieces)
            M = np.empty((n_prev, k))
            c = np.empty(n_prev)
            mn = np.empty(n_prev)
            poff = off - n_prev
            for i in range(n_prev):
                pc = code[poff + i]
                sl = slopes[l - 1, pc]
                sq = 0.0
                for t in range(k):
                    M[i, t] = sl * Gc[l - 1, i, t]
                    sq += M[i, t] * M[i, t]
                mn[i] = np.sqrt(sq)
                c[i] = sl * gc[l - 1, i] + intercepts[l - 1, pc]
            G = W @ M
            g = W @ c
            for j in range(n_out):
                for t in range(k):
                    Gc[l, j, t] = G[j, t]
                gc[l, j] = g[j] + bias[j]
            zc[l] = term_row_scale(W_flat, W_off[l], n_out, n_in, mn)
        gmax = 0.0
        for j in range(n_out):
            sq = 0.0
            for t in range(k):
                sq += Gc[l, j, t] * Gc[l, j, t]
            gmax = max(gmax, sq)
        zc[l] = max(zc[l], np.sqrt(gmax))
        off += n_out


@njit(cache=True)
def _rows_from_maps(dims, n_bp, bps, A0, b0, code, Gc, gc, zc, zero_tol):
    """A region's unit rows and labels ``(A, b, lab)``: the domain's rows ``A0, b0`` (label
    ``(-1, i, 0)``), then the rows of every live neuron from the layer maps ``Gc, gc`` of
    :func:`_layer_maps` (a row of norm at most ``zero_tol * zc[l]`` is a constant neuron,
    no row), at most two per neuron (the breakpoints around its piece)."""
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    mmax = A0.shape[0]
    for l in range(n_hidden):
        mmax += dims[l + 1] * min(n_bp[l], 2)
    A = np.empty((mmax, k))
    b = np.empty(mmax)
    lab = np.empty((mmax, 3), np.int64)
    m = 0
    for i in range(A0.shape[0]):
        A[m] = A0[i]
        b[m] = b0[i]
        lab[m, 0] = -1
        lab[m, 1] = i
        lab[m, 2] = 0
        m += 1
    off = 0
    for l in range(n_hidden):
        n_out = dims[l + 1]
        zthr = zero_tol * zc[l]
        nb = n_bp[l]
        for j in range(n_out):
            p = code[off + j]
            s = 0.0
            for t in range(k):
                s += Gc[l, j, t] * Gc[l, j, t]
            nrm = np.sqrt(s)
            if nrm <= zthr or nrm == 0.0:
                continue
            if p > 0:
                for t in range(k):
                    A[m, t] = -Gc[l, j, t] / nrm
                b[m] = (gc[l, j] - bps[l, p - 1]) / nrm
                lab[m, 0] = l
                lab[m, 1] = j
                lab[m, 2] = p - 1
                m += 1
            if p < nb:
                for t in range(k):
                    A[m, t] = Gc[l, j, t] / nrm
                b[m] = (bps[l, p] - gc[l, j]) / nrm
                lab[m, 0] = l
                lab[m, 1] = j
                lab[m, 2] = p
                m += 1
        off += n_out
    return A[:m], b[:m], lab[:m]


@njit(cache=True)
def _map_cache(dims, k):
    """Buffers for :func:`_layer_maps`: ``G (L, n_max, k)``, ``g (L, n_max)`` and the
    constant-row scales ``(L,)``."""
    n_hidden = dims.shape[0] - 2
    nmax = 1
    for l in range(n_hidden):
        nmax = max(nmax, dims[l + 1])
    return (np.empty((max(n_hidden, 1), nmax, k)), np.empty((max(n_hidden, 1), nmax)),
            np.empty(max(n_hidden, 1)))


# --------------------------------------------------------------------------- codes
@njit(cache=True)
def find_code(codes, q):
    """Row of the lexicographically sorted ``codes`` equal to ``q``, or -1."""
    lo = 0
    hi = codes.shape[0]
    nn = codes.shape[1]
    while lo < hi:
        mid = (lo + hi) // 2
        cmp = 0
        for t in range(nn):
            if codes[mid, t] != q[t]:
                cmp = -1 if codes[mid, t] < q[t] else 1
                break
        if cmp == 0:
            return mid
        if cmp < 0:
            lo = mid + 1
        else:
            hi = mid
    return -1


@njit(cache=True)
def code_across(net, x, n, on_tol, zero_tol):
    """Code of the points ``x + eps * n`` for infinitesimal ``eps > 0``.

    Forward pass of value, tangent and Jacobian; a neuron whose hyperplane passes within
    ``on_tol`` of ``x`` is put on the side its tangent points to.
    """
    W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts = net
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    nn = 0
    for l in range(n_hidden):
        nn += dims[l + 1]
    out = np.empty(nn, np.uint8)
    winf, bmax = layer_norms(W_flat, W_off, b_flat, b_off, dims)
    z0 = x.copy()
    z1 = n.copy()
    zc = np.zeros(k)  # the layer's offsets on the cell (value at the origin)
    J = np.eye(k)
    off = 0
    for l in range(n_hidden):
        n_in = dims[l]
        n_out = dims[l + 1]
        W = W_flat[W_off[l]:W_off[l + 1]].reshape(n_out, n_in)
        bias = b_flat[b_off[l]:b_off[l + 1]]
        u0 = W @ z0 + bias
        u1 = W @ z1
        uc = W @ zc + bias
        G = W @ J
        gmax = 0.0
        gn = np.empty(n_out)
        for j in range(n_out):
            s = 0.0
            for t in range(k):
                s += G[j, t] * G[j, t]
            gn[j] = np.sqrt(s)
            if gn[j] > gmax:
                gmax = gn[j]
        # the constant-row threshold and margin, as in the engines (_kernels_const)
        if l == 0:
            zthr = zero_tol * gmax
            cm = layer_margin(uc, gmax, 0.0, 0.0, zero_tol)
        else:
            mn = np.empty(n_in)
            mmax = 0.0
            cmax = 0.0
            for i in range(n_in):
                s = 0.0
                for t in range(k):
                    s += J[i, t] * J[i, t]
                mn[i] = np.sqrt(s)
                mmax = max(mmax, mn[i])
                cmax = max(cmax, abs(zc[i]))
            zthr, cm = deeper_layer_scales(gn, gmax, uc, W_flat, W_off[l], n_in, mn, mmax,
                                           cmax, winf[l], bmax[l], zero_tol)
        nb = n_bp[l]
        z0n = np.empty(n_out)
        z1n = np.empty(n_out)
        zcn = np.empty(n_out)
        Jn = np.empty((n_out, k))
        for j in range(n_out):
            p = 0
            live = gn[j] > zthr and gn[j] > 0.0
            margin = 0.0 if live else cm  # constant: the upper piece within the margin
            for q in range(nb):
                if u0[j] >= bps[l, q] - margin:
                    p = q + 1
            if live:
                for q in range(nb):
                    if abs(u0[j] - bps[l, q]) <= on_tol * gn[j]:
                        if u1[j] > TANGENT_RTOL * gn[j]:
                            p = q + 1
                        elif u1[j] < -TANGENT_RTOL * gn[j]:
                            p = q
            out[off + j] = p
            sl = slopes[l, p]
            z0n[j] = sl * u0[j] + intercepts[l, p]
            z1n[j] = sl * u1[j]
            zcn[j] = sl * uc[j] + intercepts[l, p]
            for t in range(k):
                Jn[j, t] = sl * G[j, t]
        z0 = z0n
        z1 = z1n
        zc = zcn
        J = Jn
        off += n_out
    return out


@njit(cache=True)
def _across(net, x, n, on_tol, zero_tol, codes, stats):
    """Row of ``codes`` holding the points ``x + eps * n`` (:func:`code_across`), or -1;
    counts the forward pass in ``stats[4]``."""
    stats[4] += 1
    q = code_across(net, x, n, on_tol, zero_tol)
    return find_code(codes, q)


@njit(cache=True)
def _on_domain(labs, s0, s1):
    """True when one of the labels ``labs[s0:s1]`` of a facet is a domain row."""
    for s in range(s0, s1):
        if labs[s, 0] < 0:
            return True
    return False


@njit(cache=True)
def jacobians(W_flat, W_off, dims, slopes, codes):
    """Jacobian ``(n_regions, out, k)`` of the network on each region (unit coordinates)."""
    k = dims[0]
    n_hidden = dims.shape[0] - 2
    n_layers = dims.shape[0] - 1
    out = dims[dims.shape[0] - 1]
    n = codes.shape[0]
    res = np.empty((n, out, k))
    for i in range(n):
        M = np.eye(k)
        off = 0
        for l in range(n_layers):
            n_in = dims[l]
            n_out = dims[l + 1]
            W = W_flat[W_off[l]:W_off[l + 1]].reshape(n_out, n_in)
            G = W @ M
            if l < n_hidden:
                for j in range(n_out):
                    sl = slopes[l, codes[i, off + j]]
                    for t in range(k):
                        G[j, t] *= sl
                off += n_out
            M = G
        res[i] = M
    return res


@njit(cache=True)
def code_hashes(codes, Z):
    """Zobrist hash of each code: XOR of ``Z[neuron, piece]``."""
    n, nn = codes.shape
    H = np.zeros(n, np.uint64)
    for i in range(n):
        h = np.uint64(0)
        for t in range(nn):
            h ^= Z[t, codes[i, t]]
        H[i] = h
    return H


@njit(cache=True)
def code_words(codes):
    """The codes packed into little-endian 64-bit words (8 neurons a word, zero-padded):
    rows compare a word at a time."""
    n, nn = codes.shape
    nw = (nn + 7) // 8
    W = np.zeros((n, nw), np.uint64)
    for i in range(n):
        for t in range(nn):
            W[i, t >> 3] |= np.uint64(codes[i, t]) << np.uint64(8 * (t & 7))
    return W


@njit(cache=True)
def _find_flipped(cw, H, reg, idx, new, h, tab):
    """Row whose code is that of row ``reg`` with neuron ``idx`` set to piece ``new``
    (hash ``h``; ``cw``: :func:`code_words`; ``H`` the rows' hashes, ``tab`` the
    open-addressing table of :func:`_code_index`), or -1."""
    mask = np.uint64(tab.shape[0] - 1)
    w0 = idx >> 3
    sh = np.uint64(8 * (idx & 7))
    qw = (cw[reg, w0] & ~(np.uint64(0xFF) << sh)) | (np.uint64(new) << sh)
    nw = cw.shape[1]
    s = h & mask
    while tab[s] >= 0:
        r = tab[s]
        if H[r] == h and cw[r, w0] == qw:
            same = True
            t = 0
            while same and t < nw:
                if t != w0 and cw[r, t] != cw[reg, t]:
                    same = False
                t += 1
            if same:
                return r
        s = (s + np.uint64(1)) & mask
    return -1


@njit(cache=True)
def codes_sorted(codes):
    """True when the rows of ``codes`` are in strictly increasing lexicographic order."""
    n, nn = codes.shape
    for i in range(1, n):
        t = 0
        while t < nn and codes[i, t] == codes[i - 1, t]:
            t += 1
        if t == nn or codes[i, t] < codes[i - 1, t]:
            return False
    return True


@njit(cache=True)
def _next_map(WT, W_flat, W_off, b_flat, b_off, dims, slopes, intercepts, winf, codes, r, off,
              l, Gt, zero_tol):
    """Pre-activation map of layer ``l + 1`` (rows 0..k-1: coefficients, row k: offset)
    from that of layer ``l`` and the layer-``l`` code of ``codes[r]``, and its
    constant-row threshold (:mod:`._kernels_const`)."""
    k = dims[0]
    nl = dims[l + 1]
    nn = dims[l + 2]
    G2 = np.zeros((k + 1, nn))
    for i in range(nn):
        G2[k, i] = b_flat[b_off[l + 1] + i]
    mn = np.empty(nl)
    mmax = 0.0
    for j in range(nl):
        piece = codes[r, off + j]
        sl = slopes[l, piece]
        w0 = W_off[l + 1] + j * nn
        w = WT[w0:w0 + nn]  # slices (not flat indices) let the loop vectorise
        sq = 0.0
        for t in range(k + 1):
            m = sl * Gt[t, j]
            if t == k:
                m += intercepts[l, piece]
            else:
                sq += m * m
            if m == 0.0:
                continue
            row = G2[t]
            for i in range(nn):
                row[i] += w[i] * m
        mn[j] = np.sqrt(sq)
        mmax = max(mmax, mn[j])
    nrm, gmax = _map_norms_k(G2, k)
    # the margin is not used here (the walk never decides a constant neuron's piece)
    zthr, _ = deeper_layer_scales(nrm, gmax, G2[k], W_flat, W_off[l + 1], nl, mn, mmax, 0.0,
                                  winf[l + 1], 0.0, zero_tol)
    return G2, zthr


@njit(cache=True)
def _map_norms_k(Gt, k):
    """Row norms of a layer map (rows 0..k-1 of ``Gt``) and their maximum."""
    nrm = np.empty(Gt.shape[1])
    best = 0.0
    for j in range(Gt.shape[1]):
        s = 0.0
        for t in range(k):
            s += Gt[t, j] * Gt[t, j]
        nrm[j] = np.sqrt(s)
        best = max(best, nrm[j])
    return nrm, best


@njit(cache=True)
def _flip_code(code, labs, s0, s1, dims_off, q):
    """``q``: ``code`` with the neurons of labels ``labs[s0:s1]`` moved to the piece
    across their breakpoint; False for a facet on a domain face (:func:`_on_domain`),
    which has nothing across even when neurons lie on it too."""
    if _on_domain(labs, s0, s1):
        return False
    q[:] = code
    for s in range(s0, s1):
        idx = dims_off[labs[s, 0]] + labs[s, 1]
        qq = labs[s, 2]
        q[idx] = qq if code[idx] == qq + 1 else qq + 1
    return True


@njit(cache=True)
def _code_index(codes, Z):
    """Lookup structures of :func:`_find_flipped`: the codes' Zobrist hashes ``H``, packed
    words and an open-addressing table of the rows by hash (linear probing, a power of
    two at least twice the rows, -1 for empty slots)."""
    H = code_hashes(codes, Z)
    cw = code_words(codes)
    size = 2
    while size < 2 * H.shape[0]:
        size *= 2
    tab = np.full(size, -1, np.int64)
    mask = np.uint64(size - 1)
    for r in range(H.shape[0]):
        s = H[r] & mask
        while tab[s] >= 0:
            s = (s + np.uint64(1)) & mask
        tab[s] = r
    return H, cw, tab

