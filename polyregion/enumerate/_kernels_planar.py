"""Numba kernel: the 2-D fast path, layer-by-layer subdivision of convex polygons.

Same input and the same decision rule as the LP path (:mod:`._kernels_engine`): a
flattened CPA net on a *bounded* unit-scale 2-D domain ``{x : A0 x <= b0}``; a piece of a
cell is a region when its Chebyshev (inscribed-circle) radius exceeds ``tol``; a neuron
whose row on the cell is zero up to rounding is constant there (:mod:`._kernels_const`);
breakpoint ``q`` of a neuron only applies when its code is ``q``.

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
from numba import njit, objmode

from ._highs import TICK_EVERY, tick
from ._kernels_const import deeper_layer_scales, layer_margin, layer_norms


# A polygon is an (n, 6) array: row i = (x_i, y_i, a0_i, a1_i, b_i, label_i), vertex i and
# the unit constraint row a_i . x <= b_i of the edge from vertex i to vertex i + 1, and what
# the edge lies on: label >= 0 is breakpoint q of neuron idx (label = idx * nb_max + q,
# nb_max = max(n_bp)), label -1 - i row i of the domain. (The facet kernels' polygons have
# 5 columns, the row index in column 2.)

#: Label of an edge of the initial square that no domain row cut away (an unbounded or
#: degenerate domain).
SQUARE_EDGE = -1e18


@njit(cache=True)
def transposed_weights(W_flat, W_off, dims):
    """The weights of layers >= 1 transposed to (n_in, n_out) blocks, at the same offsets
    (row updates of a layer map then run over contiguous memory)."""
    WT = np.empty(W_flat.shape[0])
    for l in range(1, dims.shape[0] - 1):
        nl = dims[l]
        nn = dims[l + 1]
        for i in range(nn):
            for j in range(nl):
                WT[W_off[l] + j * nn + i] = W_flat[W_off[l] + i * nl + j]
    return WT


@njit(cache=True)
def _map_norms(Gt):
    """Largest row norm of a layer map (rows 0, 1 of ``Gt``: coefficients of x, y)."""
    best = 0.0
    for j in range(Gt.shape[1]):
        best = max(best, Gt[0, j] * Gt[0, j] + Gt[1, j] * Gt[1, j])
    return np.sqrt(best)


@njit(cache=True)
def _map_scales(Gt, mn2, nl, W_flat, w0, winf, bmax, mmax2, cmax, zero_tol):
    """``(zthr, margin)`` of a layer map (:mod:`._kernels_const`) from the squared row
    norms ``mn2[:nl]`` and the largest offset ``cmax`` of the layer's input. One pass and
    no allocation unless a non-zero row lies within reach of the term bound (then
    :func:`._kernels_const.deeper_layer_scales` decides)."""
    g2 = 0.0
    low2 = np.inf  # smallest non-zero squared row norm
    for i in range(Gt.shape[1]):
        n2 = Gt[0, i] * Gt[0, i] + Gt[1, i] * Gt[1, i]
        g2 = max(g2, n2)
        if n2 > 0.0:
            low2 = min(low2, n2)
    gmax = np.sqrt(g2)
    mmax = np.sqrt(mmax2)
    ub = winf * mmax
    if ub > gmax and np.sqrt(low2) <= zero_tol * ub:
        nrm = np.sqrt(Gt[0] * Gt[0] + Gt[1] * Gt[1])
        return deeper_layer_scales(nrm, gmax, Gt[2], W_flat, w0, nl, np.sqrt(mn2[:nl]), mmax,
                                   cmax, winf, bmax, zero_tol)
    return zero_tol * gmax, layer_margin(Gt[2], gmax, ub, winf * cmax + bmax, zero_tol)


@njit(cache=True)
def _clip(P, s, sgn, la0, la1, lb, lid):
    """The part ``{sgn * s >= 0}`` of polygon ``P``; the new edge lies on ``la . x <= lb``
    and, when ``P`` has a label column 5 (:func:`enumerate_planar_polygons`), is labelled
    ``lid``. Columns beyond 4 of the other edges are copied."""
    n = P.shape[0]
    nc = P.shape[1]
    m = 0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        si = sgn * s[i]
        sj = sgn * s[j]
        if si >= 0.0:
            m += 1
            if sj < 0.0 and si > 0.0:
                m += 1
        elif sj > 0.0:
            m += 1
    Q = np.empty((m, nc))
    m = 0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        si = sgn * s[i]
        sj = sgn * s[j]
        if si >= 0.0:
            Q[m, 0] = P[i, 0]
            Q[m, 1] = P[i, 1]
            if sj >= 0.0 or si > 0.0:  # the edge (or its start) stays
                for c in range(2, nc):
                    Q[m, c] = P[i, c]
            else:  # a vertex on the line where the polygon leaves the side
                _new_edge(Q, m, la0, la1, lb, lid)
            m += 1
            if sj < 0.0 and si > 0.0:  # leaves the side on this edge
                t = si / (si - sj)
                Q[m, 0] = P[i, 0] + t * (P[j, 0] - P[i, 0])
                Q[m, 1] = P[i, 1] + t * (P[j, 1] - P[i, 1])
                _new_edge(Q, m, la0, la1, lb, lid)
                m += 1
        elif sj > 0.0:  # enters the side on this edge
            t = si / (si - sj)
            Q[m, 0] = P[i, 0] + t * (P[j, 0] - P[i, 0])
            Q[m, 1] = P[i, 1] + t * (P[j, 1] - P[i, 1])
            for c in range(2, nc):
                Q[m, c] = P[i, c]
            m += 1
    return Q


@njit(cache=True)
def _new_edge(Q, m, la0, la1, lb, lid):
    """Label row ``m`` of polygon ``Q`` as an edge on the line ``la0 x + la1 y <= lb`` (neuron
    id ``lid`` when ``Q`` keeps labels)."""
    Q[m, 2] = la0
    Q[m, 3] = la1
    Q[m, 4] = lb
    if Q.shape[1] > 5:
        Q[m, 5] = lid


@njit(cache=True)
def _cert(P, x, y):
    """Radius of the largest ball around ``(x, y)`` inside the polygon's edge halfplanes."""
    r = np.inf
    for i in range(P.shape[0]):
        v = P[i, 4] - P[i, 2] * x - P[i, 3] * y
        if v < r:
            r = v
    return r


@njit(cache=True)
def _centroid(P):
    """Area centroid of a convex polygon (vertex mean when the area vanishes)."""
    n = P.shape[0]
    x0 = P[0, 0]
    y0 = P[0, 1]
    area = 0.0
    cx = 0.0
    cy = 0.0
    for i in range(1, n - 1):
        ax = P[i, 0] - x0
        ay = P[i, 1] - y0
        bx = P[i + 1, 0] - x0
        by = P[i + 1, 1] - y0
        cr = ax * by - ay * bx
        area += cr
        cx += cr * (ax + bx)
        cy += cr * (ay + by)
    if area > 0.0:
        return x0 + cx / (3.0 * area), y0 + cy / (3.0 * area)
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += P[i, 0]
        my += P[i, 1]
    return mx / n, my / n


@njit(cache=True)
def inradius(P, x, y):
    """Chebyshev centre and radius of the polygon ``P`` (its edge halfplanes, bounded).

    The Chebyshev LP ``max r : a_i . x + r <= b_i`` attains its optimum at a vertex, the
    solution of three of its rows taken as equalities. Every triple is solved and its
    point evaluated by its true certificate, starting from the point ``(x, y)``; the best
    is returned, so the radius is always a valid lower bound and equals the optimum up
    to rounding. Cost O(m^4) for m edges: for the rare thin pieces only.

    Examples
    --------
    >>> import numpy as np
    >>> from polyregion.enumerate._kernels_planar import domain_polygon, inradius
    >>> tri = domain_polygon(np.array([[-1.0, 0.0], [0.0, -1.0], [0.6, 0.8]]),
    ...                      np.array([0.0, 0.0, 0.48]))   # legs 0.8 and 0.6
    >>> r, x, y = inradius(tri, 0.1, 0.1)
    >>> round(r, 12), round(x, 12), round(y, 12)
    (0.2, 0.2, 0.2)
    """
    m = P.shape[0]
    best = _cert(P, x, y)
    bx = x
    by = y
    for i in range(m):
        a00, a01, c0 = P[i, 2], P[i, 3], P[i, 4]
        for j in range(i + 1, m):
            a10, a11, c1 = P[j, 2], P[j, 3], P[j, 4]
            for k in range(j + 1, m):
                a20, a21, c2 = P[k, 2], P[k, 3], P[k, 4]
                # rows (a_0, a_1, 1) . (x, y, r) = c, by Cramer's rule
                det = a00 * (a11 - a21) - a01 * (a10 - a20) + (a10 * a21 - a11 * a20)
                if det == 0.0:
                    continue
                xx = (c0 * (a11 - a21) - a01 * (c1 - c2) + (c1 * a21 - a11 * c2)) / det
                yy = (a00 * (c1 - c2) - c0 * (a10 - a20) + (a10 * c2 - c1 * a20)) / det
                if not (np.isfinite(xx) and np.isfinite(yy)):
                    continue
                r = _cert(P, xx, yy)
                if r > best:
                    best = r
                    bx = xx
                    by = yy
    return best, bx, by


@njit(cache=True)
def _side(P, s, sgn, la0, la1, lb, lid, ext, sp, px, py, r, tol, stats):
    """Decide whether the side ``{sgn * s >= 0}`` of the cell ``P`` is a region.

    ``ext = max(sgn * s)``, ``sp`` = signed distance of the witness into the side.
    Returns ``(keep, clipped, Q, qx, qy, rq)``: ``Q`` is the side's polygon when
    ``clipped``, else ``P``; ``(qx, qy)`` a point of the side with ball radius ``rq``.
    """
    if ext <= 2.0 * tol:
        return False, False, P, px, py, r
    if sp > tol:
        return True, False, P, px, py, min(r, sp)
    Q = _clip(P, s, sgn, la0, la1, lb, lid)
    cx, cy = _centroid(Q)
    rho = _cert(Q, cx, cy)
    if not (rho > tol):
        stats[0] += 1
        rho, cx, cy = inradius(Q, cx, cy)
    return rho > tol, True, Q, cx, cy, rho


@njit(cache=True)
def domain_polygon(A0, b0):
    """The polygon ``{A0 x <= b0}`` (unit rows, inside the disk of radius 1).

    A square of half-side 2 is clipped by every row; the rows that cut it become edges.
    Column 5 labels each edge (:data:`SQUARE_EDGE` for an edge of the square left over,
    ``-1 - i`` for row ``i``).
    """
    P = np.array([[-2.0, -2.0, 0.0, -1.0, 2.0, SQUARE_EDGE],
                  [2.0, -2.0, 1.0, 0.0, 2.0, SQUARE_EDGE],
                  [2.0, 2.0, 0.0, 1.0, 2.0, SQUARE_EDGE],
                  [-2.0, 2.0, -1.0, 0.0, 2.0, SQUARE_EDGE]])
    for i in range(A0.shape[0]):
        n = P.shape[0]
        if n == 0:
            break
        s = np.empty(n)
        for t in range(n):
            s[t] = b0[i] - A0[i, 0] * P[t, 0] - A0[i, 1] * P[t, 1]
        P = _clip(P, s, 1.0, A0[i, 0], A0[i, 1], b0[i], -1.0 - i)
    return P


@njit(cache=True)
def _bbox(P):
    """Centre and half-widths ``(cx, cy, hx, hy)`` of the bounding box of polygon ``P``."""
    xlo = np.inf
    xhi = -np.inf
    ylo = np.inf
    yhi = -np.inf
    for i in range(P.shape[0]):
        x = P[i, 0]
        y = P[i, 1]
        xlo = min(xlo, x)
        xhi = max(xhi, x)
        ylo = min(ylo, y)
        yhi = max(yhi, y)
    return 0.5 * (xlo + xhi), 0.5 * (ylo + yhi), 0.5 * (xhi - xlo), 0.5 * (yhi - ylo)


@njit(cache=True)
def enumerate_planar(net, A0, b0, tol, zero_tol, max_regions):
    """Enumerate all regions of a net on a bounded 2-D domain (see the module docstring).

    Arguments as for :func:`._kernels_engine.enumerate_lp` (``dims[0]`` must be 2).
    Returns ``(codes, points, radii, stats, complete)``: arrays of shapes
    ``(n, n_neurons)`` uint8, ``(n, 2)``, ``(n,)``, and ``stats = [n_lps, n_cuts,
    n_vertex_tests]`` (exact inscribed-circle solves, polygon cuts, (cell, line) pairs
    decided from the vertices rather than the bounding box).
    """
    out = _planar(net, A0, b0, tol, zero_tol, max_regions, False, 0.0, 0)
    return out[0], out[1], out[2], out[3], out[4]


@njit(cache=True)
def enumerate_planar_polygons(net, A0, b0, tol, zero_tol, max_regions, dup_tol, max_vertices):
    """:func:`enumerate_planar`, also returning each region's polygon.

    Returns ``(codes, points, radii, stats, complete, kept, polys, pptr, doubt)``; when
    the polygons would hold more than ``max_vertices`` vertices in all, ``kept`` is False
    and they are dropped. Region ``i``'s polygon is ``polys[pptr[i]:pptr[i + 1]]`` (columns as in the module's polygon layout:
    vertices counter-clockwise, each edge's unit row and label). ``doubt[i]`` is True when
    the polygon may differ from the region's exact cell by more than rounding at the
    ``dup_tol`` scale: a line passed within ``dup_tol`` of a vertex of one of its cells, a
    side too thin to be a region was left uncut, or a removed edge's line stays within
    ``dup_tol`` of the cut cell. The facet walk (:mod:`polyregion.graph._kernels_walk`)
    refuses the same cases, so the polygons of the other regions are exactly the cells it would cut.
    """
    return _planar(net, A0, b0, tol, zero_tol, max_regions, True, dup_tol, max_vertices)


@njit(cache=True)
def _gone_near(P, s, sgn, Q, dup_tol):
    """True when the line of an edge of ``P`` lying wholly outside the side
    ``{sgn * s >= 0}`` comes within ``dup_tol`` of the side's polygon ``Q``."""
    n = P.shape[0]
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        if sgn * s[i] < 0.0 and sgn * s[j] < 0.0:
            for v in range(Q.shape[0]):
                if P[i, 2] * Q[v, 0] + P[i, 3] * Q[v, 1] - P[i, 4] >= -dup_tol:
                    return True
    return False


@njit(cache=True)
def _domain_doubt(P0, A0, b0, dup_tol):
    """True when a domain row that carries no edge of ``P0`` comes within ``dup_tol`` of
    it (the facet walk's test of a clean domain)."""
    for i in range(A0.shape[0]):
        face = False
        for e in range(P0.shape[0]):
            if P0[e, 5] == -1.0 - i:
                face = True
        if face:
            continue
        for v in range(P0.shape[0]):
            if A0[i, 0] * P0[v, 0] + A0[i, 1] * P0[v, 1] - b0[i] >= -dup_tol:
                return True
    return False


@njit(cache=True)
def _planar(net, A0, b0, tol, zero_tol, max_regions, keep, dup_tol, max_vertices):
    """The kernel of :func:`enumerate_planar` (``keep``: also the regions' polygons and
    doubt flags, up to ``max_vertices`` vertices, as :func:`enumerate_planar_polygons`)."""
    W_flat, W_off, b_flat, b_off, dims, n_bp, bps, slopes, intercepts = net
    L = dims.shape[0] - 1
    n_hidden = L - 1
    n_neurons = 0
    neuron_off = np.zeros(L, np.int64)
    for l in range(n_hidden):
        neuron_off[l] = n_neurons
        n_neurons += dims[l + 1]
    stats = np.zeros(3, np.int64)
    complete = True
    cap = 1024
    out_codes = np.zeros((cap, n_neurons), np.uint8)
    out_points = np.zeros((cap, 2))
    out_radii = np.zeros(cap)
    n_out = 0
    # polygons (keep): region i's is polys[pptr[i]:pptr[i + 1]]
    polys = np.zeros((4 * cap if keep else 0, 6))
    pptr = np.zeros(cap + 1 if keep else 1, np.int64)
    doubt = np.zeros(cap if keep else 0, np.bool_)
    nb_max = max(1, n_bp.max())

    P0 = domain_polygon(A0, b0)
    if P0.shape[0] < 3:  # empty or degenerate cell: no region
        return (out_codes[:0], out_points[:0], out_radii[:0], stats, complete, keep,
                polys[:0], pptr[:1], doubt[:0])
    px0, py0 = _centroid(P0)
    r0 = _cert(P0, px0, py0)
    dbt0 = keep and _domain_doubt(P0, A0, b0, dup_tol)
    if n_hidden == 0:
        out_points[0, 0] = px0
        out_points[0, 1] = py0
        out_radii[0] = r0
        if keep:
            polys = P0.copy()
            pptr[:2] = np.array([0, P0.shape[0]])
            doubt = np.array([dbt0])
        return (out_codes[:1], out_points[:1], out_radii[:1], stats, complete, keep, polys,
                pptr[:2], doubt[:1])

    WT = transposed_weights(W_flat, W_off, dims)
    # layer map on the root: row 0, 1 = coefficients of x, y; row 2 = offset
    n1 = dims[1]
    Gt0 = np.empty((3, n1))
    for i in range(n1):
        Gt0[0, i] = W_flat[W_off[0] + 2 * i]
        Gt0[1, i] = W_flat[W_off[0] + 2 * i + 1]
        Gt0[2, i] = b_flat[b_off[0] + i]
    winf, bmax = layer_norms(W_flat, W_off, b_flat, b_off, dims)
    gmax0 = _map_norms(Gt0)
    stack = [(P0, px0, py0, r0, np.zeros(n_neurons, np.uint8), Gt0, zero_tol * gmax0,
              layer_margin(Gt0[2], gmax0, 0.0, 0.0, zero_tol), 0, 0, dbt0)]
    sbuf = np.empty(64)
    mn2 = np.empty(max(1, dims[1:].max()))  # squared row norms of a layer's output map
    n_pop = 0
    while len(stack) > 0:
        n_pop += 1
        if n_pop % TICK_EVERY == 0:  # let Python deliver a pending Ctrl-C
            with objmode():
                tick()
        # zthr: rows of norm <= zthr are constant, at their piece with margin cmarg
        P, px, py, r, code, Gt, zthr, cmarg, l, h, dbt = stack.pop()
        cx, cy, hx, hy = _bbox(P)
        zthr2 = zthr * zthr
        while True:
            nb = n_bp[l]
            n_h = dims[l + 1] * nb
            if h == n_h:
                if l == n_hidden - 1:
                    qx, qy = _centroid(P)
                    rq = _cert(P, qx, qy)
                    if rq > r:
                        px, py, r = qx, qy, rq
                    if n_out == cap:
                        cap *= 2
                        c2 = np.zeros((cap, n_neurons), np.uint8)
                        c2[:n_out] = out_codes[:n_out]
                        out_codes = c2
                        p2 = np.zeros((cap, 2))
                        p2[:n_out] = out_points[:n_out]
                        out_points = p2
                        r2 = np.zeros(cap)
                        r2[:n_out] = out_radii[:n_out]
                        out_radii = r2
                        if keep:
                            q2 = np.zeros(cap + 1, np.int64)
                            q2[:n_out + 1] = pptr[:n_out + 1]
                            pptr = q2
                            d2 = np.zeros(cap, np.bool_)
                            d2[:n_out] = doubt[:n_out]
                            doubt = d2
                    out_codes[n_out] = code
                    out_points[n_out, 0] = px
                    out_points[n_out, 1] = py
                    out_radii[n_out] = r
                    if keep and pptr[n_out] + P.shape[0] > max_vertices:  # too many: drop them
                        keep = False
                        polys = polys[:0].copy()
                        pptr = pptr[:1].copy()
                        doubt = doubt[:0].copy()
                    if keep:  # append the polygon
                        v0 = pptr[n_out]
                        if v0 + P.shape[0] > polys.shape[0]:
                            g2 = np.empty((2 * polys.shape[0] + P.shape[0], 6))
                            g2[:v0] = polys[:v0]
                            polys = g2
                        for v in range(P.shape[0]):
                            for c in range(6):
                                polys[v0 + v, c] = P[v, c]
                        pptr[n_out + 1] = v0 + P.shape[0]
                        doubt[n_out] = dbt
                    n_out += 1
                    break
                # next layer: z = slope * u + intercept on this cell
                off = neuron_off[l]
                nl = dims[l + 1]
                nn = dims[l + 2]
                G2 = np.zeros((3, nn))
                for i in range(nn):
                    G2[2, i] = b_flat[b_off[l + 1] + i]
                mmax2 = 0.0
                cmax = 0.0
                for j in range(nl):
                    piece = code[off + j]
                    sl = slopes[l, piece]
                    m0 = sl * Gt[0, j]
                    m1 = sl * Gt[1, j]
                    cj = sl * Gt[2, j] + intercepts[l, piece]
                    mn2[j] = m0 * m0 + m1 * m1
                    mmax2 = max(mmax2, mn2[j])
                    cmax = max(cmax, abs(cj))
                    w0 = W_off[l + 1] + j * nn
                    if m0 == 0.0 and m1 == 0.0:
                        if cj != 0.0:
                            for i in range(nn):
                                G2[2, i] += WT[w0 + i] * cj
                        continue
                    for i in range(nn):
                        w = WT[w0 + i]
                        G2[0, i] += w * m0
                        G2[1, i] += w * m1
                        G2[2, i] += w * cj
                Gt = G2
                l += 1
                h = 0
                zthr, cmarg = _map_scales(Gt, mn2, nl, W_flat, W_off[l], winf[l], bmax[l],
                                          mmax2, cmax, zero_tol)
                zthr2 = zthr * zthr
                continue
            if nb == 1:
                j = h
                q = 0
            else:
                j = h // nb
                q = h - j * nb
            h += 1
            idx = neuron_off[l] + j
            if code[idx] != q:
                continue
            t_q = bps[l, q]
            ax = Gt[0, j]
            ay = Gt[1, j]
            n2 = ax * ax + ay * ay
            # constant on the cell: |row| <= zthr (compared squared unless that underflows)
            if zthr2 > 1e-290:
                const = n2 <= zthr2
            else:
                const = np.sqrt(n2) <= zthr
            if const:
                if Gt[2, j] >= t_q - cmarg:
                    code[idx] = q + 1
                continue
            u0 = Gt[2, j] - t_q
            # bounding-box filter: the line misses the box, so it misses the cell (with
            # polygons: farther than dup_tol, or the vertices decide)
            uc = ax * cx + ay * cy + u0
            spread = abs(ax) * hx + abs(ay) * hy
            if keep:  # |a|_1 >= |a|_2: a margin of at least dup_tol, without a sqrt
                spread += dup_tol * (abs(ax) + abs(ay))
            if uc - spread > 0.0:
                code[idx] = q + 1
                continue
            if uc + spread < 0.0:
                continue
            nrm = np.sqrt(n2)
            a0 = ax / nrm
            a1 = ay / nrm
            beta = -u0 / nrm  # below: a.x <= beta ; above: a.x >= beta
            nv = P.shape[0]
            if nv > sbuf.shape[0]:
                sbuf = np.empty(2 * nv)
            smin = np.inf
            smax = -np.inf
            amin = np.inf
            for i in range(nv):
                si = a0 * P[i, 0] + a1 * P[i, 1] - beta
                sbuf[i] = si
                if si < smin:
                    smin = si
                if si > smax:
                    smax = si
                if abs(si) < amin:
                    amin = abs(si)
            stats[2] += 1
            # with polygons, a vertex within dup_tol of the line puts the cell in doubt
            near = keep and amin <= dup_tol
            if smin >= 0.0:  # the whole cell is above
                code[idx] = q + 1
                dbt = dbt or near
                continue
            if smax <= 0.0:  # the whole cell is below
                dbt = dbt or near
                continue
            s = sbuf[:nv]
            sp = a0 * px + a1 * py - beta
            lid = float(idx * nb_max + q)
            ka, ca, Pa, pax, pay, ra = _side(P, s, 1.0, -a0, -a1, -beta, lid, smax, sp,
                                             px, py, r, tol, stats)
            kb, cb, Pb, pbx, pby, rb = _side(P, s, -1.0, a0, a1, beta, lid, -smin, -sp,
                                             px, py, r, tol, stats)
            if ka and kb:
                if not ca:
                    Pa = _clip(P, s, 1.0, -a0, -a1, -beta, lid)
                if not cb:
                    Pb = _clip(P, s, -1.0, a0, a1, beta, lid)
                stats[1] += 1
                c2 = code.copy()
                c2[idx] = q + 1
                da = dbt or near or (keep and _gone_near(P, s, 1.0, Pa, dup_tol))
                dbt = dbt or near or (keep and _gone_near(P, s, -1.0, Pb, dup_tol))
                stack.append((Pa, pax, pay, ra, c2, Gt, zthr, cmarg, l, h, da))
                P, px, py, r = Pb, pbx, pby, rb
                cx, cy, hx, hy = _bbox(P)
            else:
                # a side too thin to be a region stays in the cell: not its exact polygon
                dbt = dbt or keep
                # the witness moves to the kept side: the old one may lie in the sliver
                if ka:
                    code[idx] = q + 1
                    px, py, r = pax, pay, ra
                elif kb:
                    px, py, r = pbx, pby, rb
            # kb only: the cell stays below; neither: too thin on both sides, code q
        if max_regions > 0 and n_out >= max_regions and len(stack) > 0:
            complete = False
            break
    if not keep:
        return (out_codes[:n_out], out_points[:n_out], out_radii[:n_out], stats, complete,
                False, polys[:0], pptr[:1], doubt[:0])
    return (out_codes[:n_out], out_points[:n_out], out_radii[:n_out], stats, complete, True,
            polys[:pptr[n_out]], pptr[:n_out + 1], doubt[:n_out])
