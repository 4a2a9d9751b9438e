"""Numba kernel: the 2-D fast path, layer-by-layer subdivision of convex polygons.

Same input and the same decision rule as the LP path (:mod:`._kernels_engine`): a
flattened CPA net on a *bounded* unit-scale 2-D domain ``{x : A0 x <= b0}``; a piece of a
cell is a region when its Chebyshev (inscribed-circle) radius exceeds ``tol``; a neuron
whose row norm on the cell is at most ``zero_tol`` times the largest row norm of its
layer is constant there; breakpoint ``q`` of a neuron only applies when its code is ``q``.

A cell is a convex polygon: its vertices counter-clockwise, and for each edge the unit
constraint row ``a . x <= b`` it lies on (edge ``i`` joins vertex ``i`` to vertex
``i + 1``). Splitting by the line ``a . x = beta`` uses the signed distances ``s_i`` of the
vertices; the side ``{s >= 0}`` (likewise ``{s <= 0}``) is decided without any LP:

1. ``max_i s_i <= 2 tol``: the side lies in a slab of width ``2 tol``, so its inscribed
   circle has radius ``<= tol``: not a region (this also covers lines that miss the cell).
2. all ``s_i >= 0``: the side is the whole cell, a region.
3. the cell's witness point ``p`` (ball radius ``r > tol``) lies farther than ``tol`` inside
   the side: a region, with witness ``p`` and radius ``min(r, s_p)``.
4. otherwise the side is clipped (Sutherland-Hodgman on the convex polygon) and its area
   centroid ``c`` gets the certificate ``rho = min_i (b_i - a_i . c)``, the radius of a
   ball around ``c`` inside the side. ``rho > tol``: a region. For a convex body the
   centroid's certificate is at least 2/3 of the inscribed radius, so only sides with
   radius in ``(tol, 1.5 tol]`` or thin slivers reach the last step:
5. the exact inscribed circle of the side, the optimum of the Chebyshev LP
   ``max r : a_i . x + r <= b_i``, found among its vertex candidates (every triple of edge
   lines, each candidate evaluated by its true certificate). These solves are counted as
   ``n_lps``; they are rare (none on typical random nets).

As in the LP path, a line adds a cut only when both sides are regions; when one side is
too thin the cell stays whole (with that neuron's code on the other side), and when both
are too thin the neuron keeps code ``q``. Cost per (cell, neuron): O(vertices); per cut:
O(vertices); per layer change: O(n_l * n_{l+1}) for the cell's pre-activation map.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
def _clip(V, E, s, sgn, la0, la1, lb):
    """The part ``{sgn * s >= 0}`` of the polygon; the new edge lies on ``la . x <= lb``."""
    n = V.shape[0]
    V2 = np.empty((2 * n + 2, 2))
    E2 = np.empty((2 * n + 2, 3))
    m = 0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        si = sgn * s[i]
        sj = sgn * s[j]
        if si >= 0.0:
            V2[m, 0] = V[i, 0]
            V2[m, 1] = V[i, 1]
            if sj >= 0.0:
                E2[m, 0] = E[i, 0]
                E2[m, 1] = E[i, 1]
                E2[m, 2] = E[i, 2]
                m += 1
            elif si == 0.0:
                E2[m, 0] = la0
                E2[m, 1] = la1
                E2[m, 2] = lb
                m += 1
            else:  # leaves the side on this edge
                E2[m, 0] = E[i, 0]
                E2[m, 1] = E[i, 1]
                E2[m, 2] = E[i, 2]
                m += 1
                t = si / (si - sj)
                V2[m, 0] = V[i, 0] + t * (V[j, 0] - V[i, 0])
                V2[m, 1] = V[i, 1] + t * (V[j, 1] - V[i, 1])
                E2[m, 0] = la0
                E2[m, 1] = la1
                E2[m, 2] = lb
                m += 1
        elif sj > 0.0:  # enters the side on this edge
            t = si / (si - sj)
            V2[m, 0] = V[i, 0] + t * (V[j, 0] - V[i, 0])
            V2[m, 1] = V[i, 1] + t * (V[j, 1] - V[i, 1])
            E2[m, 0] = E[i, 0]
            E2[m, 1] = E[i, 1]
            E2[m, 2] = E[i, 2]
            m += 1
    return V2[:m].copy(), E2[:m].copy()


@njit(cache=True)
def _cert(E, x0, x1):
    """Radius of the largest ball around ``(x0, x1)`` inside ``{E[:, :2] x <= E[:, 2]}``."""
    r = np.inf
    for i in range(E.shape[0]):
        v = E[i, 2] - E[i, 0] * x0 - E[i, 1] * x1
        if v < r:
            r = v
    return r


@njit(cache=True)
def _centroid(V):
    """Area centroid of a convex polygon (vertex mean when the area vanishes)."""
    n = V.shape[0]
    x0 = V[0, 0]
    y0 = V[0, 1]
    area = 0.0
    cx = 0.0
    cy = 0.0
    for i in range(1, n - 1):
        ax = V[i, 0] - x0
        ay = V[i, 1] - y0
        bx = V[i + 1, 0] - x0
        by = V[i + 1, 1] - y0
        cr = ax * by - ay * bx
        area += cr
        cx += cr * (ax + bx)
        cy += cr * (ay + by)
    if area > 0.0:
        return x0 + cx / (3.0 * area), y0 + cy / (3.0 * area)
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += V[i, 0]
        my += V[i, 1]
    return mx / n, my / n


@njit(cache=True)
def inradius(E, x0, x1):
    """Exact Chebyshev centre and radius of ``{E[:, :2] x <= E[:, 2]}`` (unit rows, bounded).

    The Chebyshev LP ``max r : a_i . x + r <= b_i`` attains its optimum at a vertex, the
    solution of three of its rows taken as equalities. Every triple is solved and its
    point evaluated by its true certificate, starting from the point ``(x0, x1)``; the
    best certificate is returned, so the radius is always a valid lower bound and equals
    the optimum up to rounding. Cost O(m^4) for m edges: for the rare thin pieces only.
    """
    m = E.shape[0]
    best = _cert(E, x0, x1)
    bx = x0
    by = x1
    for i in range(m):
        for j in range(i + 1, m):
            for k in range(j + 1, m):
                # rows (a_0, a_1, 1) . (x, y, r) = b
                a00, a01, c0 = E[i, 0], E[i, 1], E[i, 2]
                a10, a11, c1 = E[j, 0], E[j, 1], E[j, 2]
                a20, a21, c2 = E[k, 0], E[k, 1], E[k, 2]
                det = (a00 * (a11 - a21) - a01 * (a10 - a20) + (a10 * a21 - a11 * a20))
                if det == 0.0:
                    continue
                dx = (c0 * (a11 - a21) - a01 * (c1 - c2) + (c1 * a21 - a11 * c2))
                dy = (a00 * (c1 - c2) - c0 * (a10 - a20) + (a10 * c2 - c1 * a20))
                x = dx / det
                y = dy / det
                if not (np.isfinite(x) and np.isfinite(y)):
                    continue
                r = _cert(E, x, y)
                if r > best:
                    best = r
                    bx = x
                    by = y
    return best, bx, by


@njit(cache=True)
def _side(V, E, s, sgn, la0, la1, lb, ext, sp, p, r, tol, stats):
    """Decide whether the side ``{sgn * s >= 0}`` of the cell is a region.

    Returns ``(keep, clipped, V2, E2, p2, r2)``; ``clipped`` says whether ``V2, E2`` hold
    the side's polygon (else they are the cell's).
    """
    if ext <= 2.0 * tol:
        return False, False, V, E, p, r
    if sp > tol:
        return True, False, V, E, p, min(r, sp)
    V2, E2 = _clip(V, E, s, sgn, la0, la1, lb)
    c0, c1 = _centroid(V2)
    rho = _cert(E2, c0, c1)
    if not (rho > tol):
        stats[0] += 1
        rho, c0, c1 = inradius(E2, c0, c1)
    p2 = np.empty(2)
    p2[0] = c0
    p2[1] = c1
    return rho > tol, True, V2, E2, p2, rho


@njit(cache=True)
def domain_polygon(A0, b0):
    """The polygon ``{A0 x <= b0}`` (unit rows, inside the disk of radius 1) as ``(V, E)``.

    A square of half-side 2 is clipped by every row; the rows that cut it become edges.
    """
    V = np.array([[-2.0, -2.0], [2.0, -2.0], [2.0, 2.0], [-2.0, 2.0]])
    E = np.array([[0.0, -1.0, 2.0], [1.0, 0.0, 2.0], [0.0, 1.0, 2.0], [-1.0, 0.0, 2.0]])
    for i in range(A0.shape[0]):
        n = V.shape[0]
        if n == 0:
            break
        s = np.empty(n)
        for t in range(n):
            s[t] = b0[i] - A0[i, 0] * V[t, 0] - A0[i, 1] * V[t, 1]
        V, E = _clip(V, E, s, 1.0, A0[i, 0], A0[i, 1], b0[i])
    return V, E


@njit(cache=True)
def enumerate_planar(W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts,
                     A0, b0, tol, zero_tol, max_regions):
    """Enumerate all regions of a net on a bounded 2-D domain (see the module docstring).

    Arguments as for :func:`._kernels_engine.enumerate_lp` (``dims[0]`` must be 2).
    Returns ``(codes, points, radii, stats, complete)`` with
    ``stats = [n_lps, n_cuts, n_tests]``: exact inscribed-circle solves, polygon cuts,
    (cell, line) sign tests.
    """
    L = dims.shape[0] - 1
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
    complete = True

    V0, E0 = domain_polygon(A0, b0)
    p0 = np.zeros(2)
    r0 = -np.inf
    if V0.shape[0] >= 3:
        c0, c1 = _centroid(V0)
        r0 = _cert(E0, c0, c1)
        p0[0] = c0
        p0[1] = c1
    if n_hidden == 0:
        out_codes.append(np.zeros(0, np.uint8))
        out_points.append(p0)
        out_radii.append(r0)
        return out_codes, out_points, out_radii, stats, complete

    G0 = np.ascontiguousarray(W_flat[W_off[0]:W_off[1]].reshape(dims[1], dims[0]).copy())
    g0 = b_flat[b_off[0]:b_off[1]].copy()
    stack = [(V0, E0, p0, r0, np.zeros(n_neurons, np.uint8), G0, g0, 0, 0)]
    sbuf = np.empty(64)
    while len(stack) > 0:
        V, E, p, r, code, G, g, l, h = stack.pop()
        gmax = _max_row_norm(G)
        while True:
            nb = n_bp[l]
            n_h = dims[l + 1] * nb
            if h == n_h:
                if l == n_hidden - 1:
                    c0, c1 = _centroid(V)
                    rc = _cert(E, c0, c1)
                    if rc > r:
                        p = np.empty(2)
                        p[0] = c0
                        p[1] = c1
                        r = rc
                    out_codes.append(code)
                    out_points.append(p)
                    out_radii.append(r)
                    break
                # next layer: z = s * u + c on this cell, G <- W_{l+1} diag(s) G
                off = neuron_off[l]
                nl = dims[l + 1]
                nn = dims[l + 2]
                Wn = W_flat[W_off[l + 1]:W_off[l + 2]].reshape(nn, nl)
                bn = b_flat[b_off[l + 1]:b_off[l + 2]]
                G2 = np.zeros((nn, 2))
                g2 = bn.copy()
                for j in range(nl):
                    piece = code[off + j]
                    sl = slopes[l, piece]
                    cj = sl * g[j] + intercepts[l, piece]
                    m0 = sl * G[j, 0]
                    m1 = sl * G[j, 1]
                    if m0 == 0.0 and m1 == 0.0:
                        if cj != 0.0:
                            for i in range(nn):
                                g2[i] += Wn[i, j] * cj
                        continue
                    for i in range(nn):
                        w = Wn[i, j]
                        G2[i, 0] += w * m0
                        G2[i, 1] += w * m1
                        g2[i] += w * cj
                G = G2
                g = g2
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
            G0j = G[j, 0]
            G1j = G[j, 1]
            nrm = np.sqrt(G0j * G0j + G1j * G1j)
            if nrm <= zero_tol * gmax:
                if g[j] >= t_q:
                    code[idx] = q + 1
                continue
            a0 = G0j / nrm
            a1 = G1j / nrm
            beta = (t_q - g[j]) / nrm  # below: a.x <= beta ; above: a.x >= beta
            nv = V.shape[0]
            if nv > sbuf.shape[0]:
                sbuf = np.empty(2 * nv)
            smin = np.inf
            smax = -np.inf
            for i in range(nv):
                si = a0 * V[i, 0] + a1 * V[i, 1] - beta
                sbuf[i] = si
                if si < smin:
                    smin = si
                if si > smax:
                    smax = si
            stats[2] += 1
            if smin >= 0.0:  # the whole cell is above
                code[idx] = q + 1
                continue
            if smax <= 0.0:  # the whole cell is below
                continue
            s = sbuf[:nv]
            sp = a0 * p[0] + a1 * p[1] - beta
            ka, ca, Va, Ea, pa, ra = _side(V, E, s, 1.0, -a0, -a1, -beta, smax, sp,
                                           p, r, tol, stats)
            kb, cb, Vb, Eb, pb, rb = _side(V, E, s, -1.0, a0, a1, beta, -smin, -sp,
                                           p, r, tol, stats)
            if ka and kb:
                if not ca:
                    Va, Ea = _clip(V, E, s, 1.0, -a0, -a1, -beta)
                if not cb:
                    Vb, Eb = _clip(V, E, s, -1.0, a0, a1, beta)
                stats[1] += 1
                c2 = code.copy()
                c2[idx] = q + 1
                stack.append((Va, Ea, pa, ra, c2, G, g, l, h))
                V, E, p, r = Vb, Eb, pb, rb
            elif ka:
                code[idx] = q + 1
            # kb only: the cell stays below; neither: too thin on both sides, code q
        if max_regions > 0 and len(out_codes) >= max_regions and len(stack) > 0:
            complete = False
            break
    return out_codes, out_points, out_radii, stats, complete
