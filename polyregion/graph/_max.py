"""The region adjacency complex of a network with max layers.

The regions of a max network are unions of the cells of its tournament expansion
(:mod:`polyregion.enumerate._maxpool`). Its complex is the expansion's complex with the
cells contracted to their regions: a facet piece between two cells of the same region is
inside that region and disappears; the other pieces are pieces of the region's facets,
grouped by the hyperplane they lie on (named by its neurons), with the piece of largest
ball kept as the facet's relative-interior point. Neuron labels are translated to the max
network: a comparison neuron of a tournament becomes ``(layer, window, position)`` with the
position of the neighbour's maximum (the row ``u_position <= u_max`` of
:func:`polyregion.regions.cell_constraints`); carried values never carry a region's facet.
"""

from __future__ import annotations

import numpy as np

from ..errors import SolverError
from ..network import MaxPool

__all__ = ["max_complex"]


def _label_map(ex):
    """Expanded (layer, unit) -> global expanded neuron index offsets."""
    return np.concatenate([[0], np.cumsum(ex.net.widths)]).astype(np.int64)


def max_complex(rs):
    """The :class:`~polyregion.graph.Complex` of a RegionSet of a max network."""
    import time

    from ..enumerate._maxpool import expansion_for
    from ..enumerate.engine import enumerate_regions
    from .complex import Complex, complex_of

    t0 = time.perf_counter()
    ex = expansion_for(rs.net, rs.domain)
    sub = enumerate_regions(ex.net, rs.domain, tolerances=rs.tolerances)
    cs = complex_of(sub)
    owner = rs.index_of_codes(ex.true_codes(sub.codes))
    if np.any(owner < 0):
        raise SolverError(
            "The adjacency complex of this max network does not match its RegionSet: "
            f"{int(np.sum(owner < 0))} cells of the expanded network have codes that are not "
            "regions of the set (was it enumerated with other tolerances, or is it partial?).")
    offs = _label_map(ex)
    net_widths = rs.net.widths
    is_max = [isinstance(a, MaxPool) for a in rs.net.activations]
    codes = rs.codes
    code_off = np.concatenate([[0], np.cumsum(net_widths)]).astype(np.int64)

    pc = cs.pieces
    fac_cell = np.repeat(np.arange(len(sub)), np.diff(cs.ptr))
    # pieces of each expanded facet that leave its region
    nb = pc["neighbour"]
    p_out = (nb < 0) | (owner[np.maximum(nb, 0)] != owner[pc["region"]])

    def true_labels(f, nbr_region):
        out = []
        for L, u, bp in cs.labels[cs.label_ptr[f]:cs.label_ptr[f + 1]].tolist():
            if L < 0:
                out.append((L, u, bp))
                continue
            l, unit = (int(v) for v in ex.labels[offs[L] + u])
            if unit < 0:
                continue  # a carried value
            if is_max[l]:
                if nbr_region < 0:
                    continue
                out.append((l, unit, int(codes[nbr_region, code_off[l] + unit])))
            else:
                out.append((l, unit, bp))
        return tuple(sorted(set(out)))

    # facet groups of each region: key (region, labels) -> facet data
    groups = {}
    order_keys = []

    def group(R, key, f):
        g = groups.get((R, key))
        if g is None:
            g = groups[(R, key)] = {"f": f, "labels": key}
            order_keys.append((R, key))
        elif cs.radii[f] > cs.radii[g["f"]]:
            g["f"] = f
        return g

    piece_f = {}
    for k in np.flatnonzero(p_out):
        f = int(pc["facet"][k])
        R = int(owner[pc["region"][k]])
        Q = int(owner[nb[k]]) if nb[k] >= 0 else -1
        key = true_labels(f, Q)
        group(R, key, f)
        best = piece_f.get((R, key, Q))
        if best is None or pc["radius"][k] > pc["radius"][best]:
            piece_f[(R, key, Q)] = int(k)
    # facets without any piece: on the domain's boundary
    has_piece = np.zeros(len(cs.A), bool)
    has_piece[pc["facet"]] = True
    for f in np.flatnonzero(~has_piece):
        group(int(owner[fac_cell[f]]), true_labels(int(f), -1), int(f))

    order_keys.sort(key=lambda rk: (rk[0], rk[1]))
    index = {rk: i for i, rk in enumerate(order_keys)}
    fsel = np.array([groups[rk]["f"] for rk in order_keys], np.int64)
    regions = np.array([rk[0] for rk in order_keys], np.int64)
    ptr = np.zeros(len(rs) + 1, np.int64)
    np.cumsum(np.bincount(regions, minlength=len(rs)), out=ptr[1:])
    lab_lists = [list(rk[1]) for rk in order_keys]
    label_ptr = np.zeros(len(order_keys) + 1, np.int64)
    np.cumsum([len(x) for x in lab_lists], out=label_ptr[1:])
    labels = np.array([t for x in lab_lists for t in x], np.int64).reshape(-1, 3)
    items = sorted(piece_f.items(), key=lambda kv: (kv[0][0], index[(kv[0][0], kv[0][1])]))
    ks = np.array([k for _, k in items], np.int64)
    pieces = dict(
        region=np.array([rk[0] for rk, _ in items], np.int64),
        facet=np.array([index[(rk[0], rk[1])] for rk, _ in items], np.int64),
        neighbour=np.array([rk[2] for rk, _ in items], np.int64),
        point=pc["point"][ks].reshape(-1, rs.dim) if len(ks) else np.zeros((0, rs.dim)),
        radius=pc["radius"][ks] if len(ks) else np.zeros(0))
    cx = Complex(ptr=ptr, A=cs.A[fsel].reshape(-1, rs.dim), b=cs.b[fsel],
                 points=cs.points[fsel].reshape(-1, rs.dim), radii=cs.radii[fsel],
                 label_ptr=label_ptr, labels=labels, status=cs.status[fsel], pieces=pieces)
    cx.stats = dict(cs.stats)
    cx.stats.update(n_facets=int(len(fsel)), expanded_cells=int(len(sub)),
                    expanded_facets=int(len(cs.A)),
                    n_unmatched=int(np.sum(pieces["neighbour"] < 0)),
                    seconds=time.perf_counter() - t0)
    return cx
