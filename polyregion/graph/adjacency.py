"""What the facet complex gives: facets, vertices, adjacency, linear regions, decision boundary.

Every function reads the cached :class:`~.complex.Complex` of the RegionSet; the networkx
graph is filled in bulk (:func:`_fill`), and :func:`edge_list` gives the same graph as
arrays. Cost: linear in the number of facets once the complex exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


from ..errors import InvalidInputError
from .complex import Facets, _context, _csr_take, _run_facets, complex_of

@dataclass
class LinearRegions:
    """Connected components of adjacent regions with equal affine maps.

    Attributes
    ----------
    labels : ndarray of int, shape (n_regions,)
        Component of each activation region, numbered by first appearance.
    n_linear : int
        Number of linear regions (components).
    n_activation : int
        Number of activation regions.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, 0.0]])],
    ...                              [np.zeros(2), [0.0]])       # f = relu(x): y is invisible
    >>> lr = pr.enumerate_regions(net, pr.Box.cube(2)).linear_regions()
    >>> lr.n_linear, lr.n_activation, lr.labels.tolist()
    (2, 4, [0, 0, 1, 1])
    """

    labels: np.ndarray
    n_linear: int
    n_activation: int

    def __repr__(self):
        return f"LinearRegions(n_linear={self.n_linear}, n_activation={self.n_activation})"


@dataclass
class DecisionBoundary:
    """The pieces of ``{f = 0}`` of a one-output network inside each region it crosses.

    Attributes
    ----------
    regions : ndarray of int
        Regions whose interior the zero set crosses.
    A, b : ndarray
        In region ``regions[i]`` the boundary piece lies on ``{x : A[i] . x = b[i]}``
        (unit ``A[i]``, pointing to ``f > 0``).
    points, radii : ndarray
        A point in the relative interior of each piece and a radius of a ball inside it.
    zero_regions : ndarray of int
        Regions on which ``f`` vanishes identically.
    graph : networkx.Graph
        The adjacency graph restricted to ``regions``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, -1.0]])],
    ...                              [np.zeros(2), [-0.5]])      # relu(x) - relu(y) - 0.5
    >>> db = pr.enumerate_regions(net, pr.Box.cube(2)).decision_regions()
    >>> len(db), db.regions.tolist(), db.A.round(6).tolist(), sorted(db.graph.edges())
    (2, [2, 3], [[1.0, 0.0], [0.707107, -0.707107]], [(2, 3)])
    """

    regions: np.ndarray
    A: np.ndarray
    b: np.ndarray
    points: np.ndarray
    radii: np.ndarray
    zero_regions: np.ndarray
    graph: object

    def __len__(self):
        return len(self.regions)


# --------------------------------------------------------------------------- public API
def facets(rs, i):
    """The irredundant facets of region ``i`` (see :class:`Facets`).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> F = rs.facets(3)                 # the square [0, 1]^2
    >>> len(F), sorted(F.neighbours.tolist())
    (4, [-1, -1, 1, 2])
    """
    i = rs._check_i(i)
    cx = rs._cache.get("complex")
    if cx is None and rs.net.has_max:
        cx = complex_of(rs)
    if cx is not None:
        sl = slice(cx.ptr[i], cx.ptr[i + 1])
        nb = np.full(cx.ptr[i + 1] - cx.ptr[i], -1, np.int64)
        sel = cx.pieces["region"] == i
        for f, q in zip(cx.pieces["facet"][sel], cx.pieces["neighbour"][sel]):
            if nb[f - cx.ptr[i]] < 0:
                nb[f - cx.ptr[i]] = q
        return Facets(cx.A[sl].copy(), cx.b[sl].copy(),
                      [cx.facet_labels(f) for f in range(cx.ptr[i], cx.ptr[i + 1])],
                      cx.points[sl].copy(), cx.radii[sl].copy(), nb)
    ctx = _context(rs)
    flat, codes, order = ctx["flat"], ctx["codes"], ctx["order"]
    s = i
    if order is not None:
        s = int(np.flatnonzero(order == i)[0])
    (ptr, fa, fb, fc, fr, nbr, lptr, labs), _ = _run_facets(rs, flat, codes, ctx["pts"],
                                                            np.array([s]))
    if order is not None:
        nbr = np.where(nbr >= 0, order[np.maximum(nbr, 0)], -1)
    labels = [[tuple(int(v) for v in row) for row in labs[lptr[f]:lptr[f + 1]]]
              for f in range(len(fa))]
    return Facets(fa.copy(), flat.scale * fb + fa @ flat.center, labels, flat.to_enum(fc),
                  fr * flat.scale, nbr.astype(np.int64))


def vertices(rs, i):
    """Vertices of region ``i``: for ``dim == 2`` the polygon counter-clockwise.

    In other dimensions the vertices in lexicographic order (enumerated from the facets;
    meant for small regions in low dimension).

    Raises
    ------
    InvalidInputError
        The region is unbounded.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> (rs.vertices(3).round(6) + 0.0).tolist()     # the square [0, 1]^2
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    F = facets(rs, i)
    A, b = F.A, F.b
    d = rs.dim
    tol = rs.tolerances.feasibility * max(rs.domain.scale, 1.0)
    if d == 1:
        up, down = A[:, 0] > 0, A[:, 0] < 0
        if not up.any() or not down.any():
            raise InvalidInputError(f"Region {i} is unbounded: it has no finite vertices list.")
        return np.array([[np.max(b[down] / A[down, 0])], [np.min(b[up] / A[up, 0])]])
    if d == 2:
        ang = np.arctan2(A[:, 1], A[:, 0])
        o = np.argsort(ang)
        A, b, ang = A[o], b[o], ang[o]
        gaps = np.diff(np.concatenate([ang, ang[:1] + 2 * np.pi]))
        if len(A) < 3 or np.any(gaps >= np.pi - 1e-12):
            raise InvalidInputError(f"Region {i} is unbounded: its polygon has no closed "
                                    "vertex cycle.")
        V = []
        for f in range(len(A)):
            g = (f + 1) % len(A)
            V.append(np.linalg.solve(np.vstack([A[f], A[g]]), np.array([b[f], b[g]])))
        return np.array(V)
    from itertools import combinations

    V = []
    for idx in combinations(range(len(A)), d):
        M = A[list(idx)]
        if abs(np.linalg.det(M)) < 1e-12:
            continue
        v = np.linalg.solve(M, b[list(idx)])
        if np.all(A @ v <= b + 1e3 * tol) and not any(np.linalg.norm(v - w) <= 1e3 * tol for w in V):
            V.append(v)
    if not V:
        raise InvalidInputError(f"Region {i} has no vertices (it is unbounded).")
    V = np.array(V)
    return V[np.lexsort(V.T[::-1])]


@dataclass
class EdgeList:
    """The region adjacency graph as arrays (``adjacency(rs, as_networkx=False)``).

    Attributes
    ----------
    n_nodes : int
        Number of regions (nodes ``0 .. n_nodes-1``).
    u, v : ndarray of int, shape (n_edges,)
        The two regions of each edge, ``u < v``.
    a, b : ndarray, shapes (n_edges, dim) and (n_edges,)
        The facet's hyperplane: unit ``a``, region ``u`` in ``a . x <= b``.
    point, radius : ndarray, shapes (n_edges, dim) and (n_edges,)
        A point in the shared facet's relative interior and a ``(d-1)``-ball radius.
    neuron_ptr, neurons : ndarray of int
        Edge ``e`` is carried by the neurons ``neurons[neuron_ptr[e]:neuron_ptr[e+1]]``,
        rows ``(layer, unit, breakpoint)``.
    stats : dict
        As ``G.graph["stats"]`` of :func:`adjacency`.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> el = rs.adjacency(as_networkx=False)
    >>> el.n_nodes, len(el), el.u.tolist(), el.v.tolist(), el.b.tolist()
    (4, 4, [0, 0, 1, 2], [1, 2, 3, 3], [0.0, 0.0, 0.0, 0.0])
    """

    n_nodes: int
    u: np.ndarray
    v: np.ndarray
    a: np.ndarray
    b: np.ndarray
    point: np.ndarray
    radius: np.ndarray
    neuron_ptr: np.ndarray
    neurons: np.ndarray
    stats: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.u)


def edge_list(rs):
    """The adjacency graph of a RegionSet as an :class:`EdgeList` (no networkx).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> el = pr.graph.edge_list(pr.enumerate_regions(net, pr.Box.cube(2)))
    >>> len(el), el.u.tolist(), el.v.tolist()
    (4, [0, 0, 1, 2], [1, 2, 3, 3])
    >>> el.neurons[el.neuron_ptr[2]:el.neuron_ptr[3]].tolist()     # edge (1, 3)
    [[0, 0, 0]]
    """
    cx = complex_of(rs)
    pc = cx.pieces
    reg, nbr, fac = pc["region"], pc["neighbour"], pc["facet"]
    ok = (nbr >= 0) & (nbr != reg)
    reg, nbr, fac = reg[ok], nbr[ok], fac[ok]
    lo, hi = np.minimum(reg, nbr), np.maximum(reg, nbr)
    key = lo * max(len(rs), 1) + hi
    fwd = reg < nbr
    # one piece per pair: prefer the one seen from the smaller region
    order = np.lexsort((~fwd, key))
    key_s = key[order]
    first = np.ones(len(order), bool)
    first[1:] = key_s[1:] != key_s[:-1]
    grp = np.cumsum(first) - 1
    n_pairs = int(first.sum())
    has_fwd = np.zeros(n_pairs, bool)
    has_bwd = np.zeros(n_pairs, bool)
    has_fwd[grp[fwd[order]]] = True
    has_bwd[grp[~fwd[order]]] = True
    uniq = order[first]
    sign = np.where(fwd[uniq], 1.0, -1.0)
    f = fac[uniq]
    # neuron labels of each edge's facet (domain labels left out)
    lidx, _ = _csr_take(cx.label_ptr, f)
    labs = cx.labels[lidx]
    edge_of = np.repeat(np.arange(len(f)), np.diff(cx.label_ptr)[f])
    keep = labs[:, 0] >= 0
    nptr = np.zeros(len(f) + 1, np.int64)
    np.cumsum(np.bincount(edge_of[keep], minlength=len(f)), out=nptr[1:])
    stats = dict(cx.stats, n_one_sided=int(np.sum(~(has_fwd & has_bwd))))
    return EdgeList(n_nodes=len(rs), u=lo[uniq], v=hi[uniq], a=cx.A[f] * sign[:, None],
                    b=cx.b[f] * sign, point=pc["point"][ok][uniq],
                    radius=pc["radius"][ok][uniq], neuron_ptr=nptr, neurons=labs[keep],
                    stats=stats)


def adjacency(rs, as_networkx=True):
    """The region adjacency graph.

    Nodes ``0 .. len(rs)-1`` with attributes ``index``, ``code`` (uint8 array) and
    ``point`` (interior point). An edge joins two regions sharing a ``(d-1)``-dimensional
    facet, with attributes ``neurons`` (tuple of ``(layer, unit, breakpoint)`` carrying
    the facet), ``hyperplane`` ``(a, b)`` (unit ``a``; the smaller-index region lies in
    ``a . x <= b``), ``point`` (in the facet's relative interior) and ``radius`` (a
    ``(d-1)``-ball of this radius around ``point`` lies in the shared facet). Graph
    attribute ``stats`` holds counters, including ``n_one_sided`` (edges seen from one
    region only; 0 for a consistent complex).

    Parameters
    ----------
    as_networkx : bool, default True
        ``False``: return the same graph as an :class:`EdgeList` of arrays, without
        building the networkx object (about half the cost on large 2-D complexes).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> G = pr.enumerate_regions(net, pr.Box.cube(2)).adjacency()
    >>> G.number_of_nodes(), sorted(G.edges())
    (4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    >>> G.edges[1, 3]["neurons"]
    ((0, 0, 0),)
    """
    import networkx as nx

    el = edge_list(rs)
    if not as_networkx:
        return el
    G = nx.Graph()
    with _gc_paused():
        data = [{"neurons": nu, "hyperplane": (a, b), "point": p, "radius": r}
                for nu, a, b, p, r in zip(_neuron_tuples(el), list(el.a), el.b.tolist(),
                                          list(el.point), el.radius.tolist())]
        _fill(G, len(rs), rs.codes, rs.points, el.u, el.v, data)
    G.graph["stats"] = el.stats
    G.graph["dim"] = rs.dim
    return G


def _neuron_tuples(el):
    """``neurons`` attribute of each edge: a tuple of ``(layer, unit, breakpoint)``."""
    nb = el.neurons
    if len(nb) == 0:
        return [()] * len(el)
    # one tuple object per distinct label
    base = nb.max(axis=0) + 2
    code = ((nb[:, 0] + 1) * base[1] + nb[:, 1]) * base[2] + nb[:, 2]
    ucode, first, inv = np.unique(code, return_index=True, return_inverse=True)
    single = [(tuple(int(x) for x in nb[i]),) for i in first.tolist()]
    cnt = np.diff(el.neuron_ptr)
    out = [()] * len(el)
    one = np.flatnonzero(cnt == 1)
    for e, k in zip(one.tolist(), inv[el.neuron_ptr[one]].tolist()):
        out[e] = single[k]
    for e in np.flatnonzero(cnt > 1).tolist():
        out[e] = tuple(single[k][0] for k in inv[el.neuron_ptr[e]:el.neuron_ptr[e + 1]])
    return out


class _gc_paused:
    """Pause the cyclic garbage collector while many small containers are built (its
    passes over the growing graph otherwise dominate the cost)."""

    def __enter__(self):
        import gc

        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        import gc

        if self.enabled:
            gc.enable()


def _fill(G, n, codes, points, us, vs, data):
    """Fill the empty graph ``G`` with nodes ``0..n-1`` and the edges ``(us[e], vs[e])``
    (arrays, no repeated pairs) with attribute dicts ``data[e]``.

    Equivalent to ``add_nodes_from`` + ``add_edges_from`` but writes networkx's
    dict-of-dicts (``G._node``, ``G._adj``, the documented data structure of
    :class:`networkx.Graph`) directly, without add_edges_from's per-edge checks and
    attribute merging, and with the same neighbour order: about 3.5x faster on 10^5
    edges.
    """
    import networkx as nx

    if type(G) is not nx.Graph or len(G):
        G.add_nodes_from((i, {"index": i, "code": c, "point": p})
                         for i, c, p in zip(range(n), codes, points))
        G.add_edges_from(zip(us.tolist(), vs.tolist(), data))
        return
    G._node.update({i: {"index": i, "code": c, "point": p}
                    for i, c, p in zip(range(n), list(codes), list(points))})
    # neighbours in the order add_edges_from gives them
    adj = [{} for _ in range(n)]
    for u, v, d in zip(us.tolist(), vs.tolist(), data):
        adj[u][v] = d
        adj[v][u] = d
    G._adj.update(zip(range(n), adj))
    clear = getattr(nx, "_clear_cache", None)
    if clear is not None:
        clear(G)


def _jacobians(rs):
    from ._kernels_codes import jacobians

    if rs.net.has_max:  # per region, from the network's affine maps
        return np.array([rs.affine_map(i)[0] for i in range(len(rs))]).reshape(
            len(rs), rs.net.output_dim, rs.dim)
    ctx = _context(rs)
    flat = ctx["flat"]
    J = jacobians(flat.W_flat, flat.W_off, flat.dims, flat.slopes, np.ascontiguousarray(rs.codes))
    return J / flat.scale  # d f / d t


def linear_regions(rs, rtol=1e-9):
    """Merge adjacent activation regions whose affine maps are equal.

    Two adjacent regions agree on their shared facet, so their maps are equal exactly
    when their Jacobians are: ``|J_P - J_Q| <= rtol * max(|J_P|, |J_Q|)`` (Frobenius).

    Returns
    -------
    LinearRegions

    Examples
    --------
    A neuron with zero outgoing weight splits the plane but not the function:

    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, 0.0]])],
    ...                              [np.zeros(2), np.zeros(1)])
    >>> lr = pr.enumerate_regions(net, pr.Box.cube(2)).linear_regions()
    >>> lr.n_activation, lr.n_linear
    (4, 2)
    """
    n = len(rs)
    J = _jacobians(rs).reshape(n, -1)
    pc = complex_of(rs).pieces
    P, Q = pc["region"], pc["neighbour"]
    m = Q >= 0
    P, Q = P[m], Q[m]
    nJ = np.linalg.norm(J, axis=1)
    diff = np.linalg.norm(J[P] - J[Q], axis=1)
    same = diff <= rtol * np.maximum(np.maximum(nJ[P], nJ[Q]), 1e-300)
    same |= (nJ[P] == 0) & (nJ[Q] == 0)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(int(same.sum())), (P[same], Q[same])), shape=(n, n))
    k, lab = connected_components(g, directed=False)
    # renumber by first appearance
    _, first = np.unique(lab, return_index=True)
    rank = np.empty(k, np.int64)
    rank[np.argsort(first)] = np.arange(k)
    return LinearRegions(labels=rank[lab], n_linear=int(k), n_activation=n)


def decision_regions(rs):
    """The decision boundary ``{f = 0}`` of a one-output network, region by region.

    Returns
    -------
    DecisionBoundary

    Raises
    ------
    InvalidInputError
        The network has more than one output.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, -1.0]])],
    ...                              [np.zeros(2), np.array([-0.5])])
    >>> db = pr.enumerate_regions(net, pr.Box.cube(2)).decision_regions()
    >>> db.regions.tolist()              # f = relu(x) - relu(y) - 0.5
    [2, 3]
    """
    from ._kernels_region import plane_pieces

    if rs.net.output_dim != 1:
        raise InvalidInputError(
            f"`decision_regions` needs a network with one output; this one has "
            f"{rs.net.output_dim}.")
    n = len(rs)
    cx = complex_of(rs)
    J = _jacobians(rs)[:, 0, :]  # (n, dim) in enumeration coordinates
    f_pts = rs.enum_net.forward(rs.points)[:, 0]
    c0 = f_pts - np.einsum("ij,ij->i", J, rs.points)
    nrm = np.linalg.norm(J, axis=1)
    flat_f = nrm <= 1e-12 * max(float(nrm.max(initial=0.0)), 1e-300)
    zero = flat_f & (np.abs(c0) <= 1e-12 * max(float(np.abs(f_pts).max(initial=0.0)), 1e-300))
    Ha = np.where(flat_f[:, None], 0.0, -J / np.where(flat_f, 1.0, nrm)[:, None])
    Hb = np.where(flat_f, 0.0, c0 / np.where(flat_f, 1.0, nrm))
    # in unit coordinates: -J.t <= c0  <=> f >= 0 ; plane {J.t + c0 = 0} = {Ha.t = Hb}
    flat = _context(rs)["flat"]
    Hb_u = (Hb - Ha @ flat.center) / flat.scale if n else Hb
    fa_u, fb_u = cx.A, (cx.b - np.einsum("ij,j->i", cx.A, flat.center)) / flat.scale
    R, C = plane_pieces(cx.ptr, np.ascontiguousarray(fa_u), np.ascontiguousarray(fb_u),
                        np.ascontiguousarray(Ha), np.ascontiguousarray(Hb_u),
                        rs.tolerances.feasibility, rs.tolerances.pivot,
                        rs.tolerances.pivot * 1e-2, rs.tolerances.max_simplex_iter)
    cross = (R > rs.tolerances.feasibility) & ~flat_f
    idx = np.flatnonzero(cross)
    G = adjacency(rs).subgraph(idx.tolist()).copy()
    return DecisionBoundary(regions=idx, A=-Ha[idx], b=-Hb[idx], points=flat.to_enum(C[idx]),
                            radii=R[idx] * flat.scale, zero_regions=np.flatnonzero(zero),
                            graph=G)

