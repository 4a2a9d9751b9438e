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
chunks; re-solves are rare (degenerate nets, near-concurrent hyperplanes).
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
    outside), for a chunk of regions."""
    n, k = X.shape
    slack = np.min(b0[None, :] - X @ A0.T, axis=1) if A0.shape[0] else np.full(n, np.inf)
    M = np.broadcast_to(np.eye(k), (n, k, k))
    c = np.zeros((n, k))
    off = 0
    for l in range(len(prep.Ws) - 1):
        W, bias = prep.Ws[l], prep.bs[l]
        G = np.einsum("ij,njk->nik", W, M)  # (n, w, k)
        g = c @ W.T + bias  # (n, w)
        u = np.einsum("nik,nk->ni", G, X) + g
        nrm = np.linalg.norm(G, axis=2)
        gmax = nrm.max(axis=1)
        if l > 0:
            terms = np.linalg.norm(M, axis=2) @ np.abs(W).T  # (n, w)
            gmax = np.maximum(gmax, terms.max(axis=1))
        live = (nrm > zero_row * gmax[:, None]) & (nrm > 0)
        nb = int(prep.n_bp[l])
        t = prep.bps[l, :nb]
        piece = codes[:, off:off + W.shape[0]].astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            for q in range(nb):
                above = live & (piece > q)  # u >= t[q]
                below = live & (piece <= q)  # u <= t[q]
                d = np.where(above, (u - t[q]) / nrm, np.where(below, (t[q] - u) / nrm,
                                                                np.inf))
                slack = np.minimum(slack, d.min(axis=1))
        s = prep.slopes[l][piece]
        M = s[:, :, None] * G
        c = s * g + prep.intercepts[l][piece]
        off += W.shape[0]
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
    for s in range(0, n, chunk):
        sl = slice(s, min(n, s + chunk))
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
