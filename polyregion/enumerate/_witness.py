"""The last check of every kernel's output: each witness lies inside its own cell.

The kernels certify a witness ball against the rows of the cell they carry: the domain
and the hyperplanes that cut the cell. A hyperplane decided *not* to cut (its far side is
a sliver thinner than ``tol``, docs/tolerances.md) is not a row of the cell, so an LP
centre found later can lie in that sliver: on the wrong side of its own code, by less
than ``tol``, with a radius that overstates its ball. :func:`check_witnesses` measures
every witness against *all* hyperplanes of its code, in the kernels' own (normalised)
coordinates and with their constant-row rule, and

- clips a radius that overstates the ball (the point is inside, its ball is smaller);
- re-solves the Chebyshev LP of the full cell (HiGHS) for a point outside its cell, and
  raises :class:`~polyregion.errors.SolverError` if that cell has no interior point.

Cost: one forward pass with the layer maps per region, ``O(sum_l n_l n_{l-1} k)``, in
chunks (nets with up to two hidden layers need no maps: the rows' norms are bounded by the
triangle inequality and computed exactly only for the few hyperplanes within a radius of
their witness); re-solves are rare (degenerate nets, near-concurrent hyperplanes).
"""

from __future__ import annotations

import numpy as np

from ..errors import SolverError
from ..network import constant_row_scale
from ._highs import cheb_highs

CHUNK = 2048


def _rows_of(prep, A0, b0, code, zero_row):
    """Unit rows ``A x <= b`` of the cell of ``code`` in the kernels' coordinates."""
    k = A0.shape[1]
    rows, rhs = [A0], [b0]
    M, c = np.eye(k), np.zeros(k)
    off = 0
    for l in range(len(prep.Ws) - 1):
        W, bias = prep.Ws[l], prep.bs[l]
        G, g = W @ M, W @ c + bias
        nrm = np.linalg.norm(G, axis=1)
        thr = zero_row * (constant_row_scale(G, W, M) if l > 0 else constant_row_scale(G))
        nb = int(prep.n_bp[l])
        t = prep.bps[l, :nb]
        piece = code[off:off + W.shape[0]].astype(np.int64)
        live = (nrm > thr) & (nrm > 0)
        for j in np.flatnonzero(live):
            q = piece[j]
            if q > 0:
                rows.append(-G[j][None])
                rhs.append(np.array([g[j] - t[q - 1]]))
            if q < nb:
                rows.append(G[j][None])
                rhs.append(np.array([t[q] - g[j]]))
        s = prep.slopes[l, piece]
        M, c = s[:, None] * G, s * g + prep.intercepts[l, piece]
        off += W.shape[0]
    A = np.vstack(rows)
    b = np.concatenate(rhs)
    n = np.linalg.norm(A, axis=1)
    keep = n > 0
    return A[keep] / n[keep, None], b[keep] / n[keep]


def _slacks(prep, A0, b0, codes, X, zero_row):
    """Distance of each point to the nearest bounding hyperplane of its own cell (negative:
    outside), for a chunk of regions.

    The layer maps are kept neuron-major, ``G[j, i, :]`` the row of neuron ``j`` on region
    ``i``'s cell, so each layer is one GEMM ``W_l @ (s * G_{l-1})`` over all regions; the
    first layer's rows are the same on every cell and cost nothing.
    """
    n, k = X.shape
    slack = np.min(b0[None, :] - X @ A0.T, axis=1) if A0.shape[0] else np.full(n, np.inf)
    G = None  # (w, n, k) rows of the current layer on each cell; None on the first layer
    mn = None  # (n, w_prev) norms of the previous layer's map rows
    h = X  # the previous layer's output at the witnesses
    off = 0
    for l in range(len(prep.Ws) - 1):
        W, bias = prep.Ws[l], prep.bs[l]
        w = W.shape[0]
        if l > 0:  # G_l = W_l @ (s * G_{l-1}): one GEMM for all regions
            G = (W @ M.reshape(M.shape[0], n * k)).reshape(w, n, k)
            nrm = np.sqrt(np.einsum("jik,jik->ij", G, G))  # (n, w)
            # the constant-row scale: the largest row, or the largest sum of the terms
            terms = mn @ np.abs(W).T  # (n, w)
            gmax = np.maximum(nrm.max(axis=1), terms.max(axis=1))
        else:
            nrm = np.broadcast_to(np.linalg.norm(W, axis=1), (n, w))
            gmax = nrm.max(axis=1)
        u = h @ W.T + bias  # (n, w): the pre-activations at the witnesses
        live = (nrm > zero_row * gmax[:, None]) & (nrm > 0)
        nb = int(prep.n_bp[l])
        t = prep.bps[l, :nb]
        piece = codes[:, off:off + w].astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            for q in range(nb):
                above = live & (piece > q)  # u >= t[q]
                below = live & (piece <= q)  # u <= t[q]
                d = np.where(above, (u - t[q]) / nrm, np.where(below, (t[q] - u) / nrm,
                                                                np.inf))
                slack = np.minimum(slack, d.min(axis=1))
        s = prep.slopes[l][piece]  # (n, w)
        if l + 1 < len(prep.Ws) - 1:  # the map M = s * G for the next layer
            if G is None:
                M = s.T[:, :, None] * W[:, None, :]
            else:
                M = s.T[:, :, None] * G
            mn = np.abs(s) * nrm
        h = s * u + prep.intercepts[l][piece]
        off += w
    return slack


def _layer_gaps(u, piece, t):
    """Signed gaps ``(n, w, nb)`` of the pre-activations ``u`` to each breakpoint ``t[q]``,
    positive on the side of the code: ``u - t[q]`` where the piece is above ``q``,
    ``t[q] - u`` where it is below."""
    g = u[:, :, None] - t[None, None, :]
    above = piece[:, :, None] > np.arange(t.shape[0])[None, None, :]
    return np.where(above, g, -g)


def _slacks_shallow(prep, A0, b0, codes, X, radii, zero_row):
    """:func:`_slacks` for nets with one or two hidden layers, without the per-cell maps.

    The first layer's rows are the same on every cell. A second-layer row's norm on a cell
    is at most ``ub_j = sum_i |W_ji| |s_i| ||W0_i||`` (the triangle inequality; it is also
    the constant-row scale), so a hyperplane whose gap to the witness is at least
    ``radius * ub_j`` is farther than the radius; only the other (cell, neuron) pairs,
    a few per cell, get their exact row ``(W1_j * s) @ W0``. Returns a bound that is exact
    below each radius (where clipping needs it) and at least the radius elsewhere."""
    n, k = X.shape
    slack = np.min(b0[None, :] - X @ A0.T, axis=1) if A0.shape[0] else np.full(n, np.inf)
    W0 = prep.Ws[0]
    w0 = W0.shape[0]
    nrm0 = np.linalg.norm(W0, axis=1)
    u0 = X @ W0.T + prep.bs[0]
    live0 = (nrm0 > zero_row * nrm0.max()) & (nrm0 > 0)
    t0 = prep.bps[0, :int(prep.n_bp[0])]
    piece0 = codes[:, :w0].astype(np.int64)
    gap0 = _layer_gaps(u0, piece0, t0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d0 = np.where(live0[None, :, None], gap0 / nrm0[None, :, None], np.inf)
    slack = np.minimum(slack, d0.reshape(n, -1).min(axis=1, initial=np.inf))
    if len(prep.Ws) < 3:
        return slack
    s0 = prep.slopes[0][piece0]
    h = s0 * u0 + prep.intercepts[0][piece0]
    W1 = prep.Ws[1]
    w1 = W1.shape[0]
    u1 = h @ W1.T + prep.bs[1]
    ub = (np.abs(s0) * nrm0[None, :]) @ np.abs(W1).T  # (n, w1) >= the rows' norms
    gmax = ub.max(axis=1)
    t1 = prep.bps[1, :int(prep.n_bp[1])]
    piece1 = codes[:, w0:w0 + w1].astype(np.int64)
    gap1 = _layer_gaps(u1, piece1, t1)  # (n, w1, nb)
    near = np.any(gap1 < radii[:, None, None] * ub[:, :, None], axis=2)
    I, J = np.nonzero(near)
    step = max(1, (1 << 21) // k)  # exact rows in batches of <= 16 MB
    for p in range(0, I.size, step):
        ii, jj = I[p:p + step], J[p:p + step]
        rows = (W1[jj] * s0[ii]) @ W0  # the exact rows of the pairs that need them
        nrm = np.linalg.norm(rows, axis=1)
        live = (nrm > zero_row * gmax[ii]) & (nrm > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(live, (gap1[ii, jj] / nrm[:, None]).min(axis=1), np.inf)
        np.minimum.at(slack, ii, d)
    return slack


def check_witnesses(prep, A0, b0, codes, pts, radii, tol):
    """Return ``(points, radii, n_clipped, n_resolved)``: every witness strictly inside its
    cell with a radius its ball really has (see the module docstring). Arrays in the
    kernels' unit-scale coordinates; ``codes`` ``(n, n_neurons)``."""
    n = len(radii)
    if n == 0 or len(prep.Ws) < 2:
        return pts, radii, 0, 0
    pts = np.array(pts, dtype=np.float64).reshape(n, -1)
    radii = np.array(radii, dtype=np.float64)
    codes = np.asarray(codes)
    n_clip = n_fix = 0
    width = max([pts.shape[1]] + [W.shape[0] for W in prep.Ws[:-1]])
    chunk = max(16, min(CHUNK, (1 << 22) // (width * pts.shape[1])))  # <= ~32 MB per map
    if len(prep.Ws) <= 3:
        chunk = CHUNK  # no per-cell maps (only a few exact rows per cell)
    for s in range(0, n, chunk):
        sl = slice(s, min(n, s + chunk))
        if len(prep.Ws) <= 3:
            slack = _slacks_shallow(prep, A0, b0, codes[sl], pts[sl], radii[sl], tol.zero_row)
        else:
            slack = _slacks(prep, A0, b0, codes[sl], pts[sl], tol.zero_row)
        over = slack < radii[sl]
        for i in np.flatnonzero(over) + s:
            si = slack[i - s]
            if si > 0.0:
                radii[i] = si
                n_clip += 1
                continue
            A, b = _rows_of(prep, A0, b0, codes[i], tol.zero_row)
            r, x = cheb_highs(A, b, A.shape[0])
            if not r > 0.0:
                raise SolverError(
                    f"Region {i} (code {codes[i].tolist()}) was found by the kernel but its "
                    f"cell has no interior point when all hyperplanes of its code are "
                    f"imposed (Chebyshev radius {r:.3g}): a numerical failure that the "
                    f"enumeration refuses to hide.")
            pts[i], radii[i] = x, r
            n_fix += 1
    return pts, radii, n_clip, n_fix
