"""Pictures of topology: a 2-D decided set coloured by component with its holes marked,
and persistence diagrams.

:func:`plot_components` fills every cell of the refined complex that lies in the set
(:func:`polyregion.topology.decision_topology`) with the colour of its component, draws
lower-dimensional parts of the set (a level set, an isolated point) as lines and dots,
and marks each hole (a bounded component of the complement) with a cross at the centroid
of its largest cell. :func:`plot_diagram` draws a persistence diagram (births against
deaths, one marker per homology dimension; essential classes on a line above the
finite deaths). Both take an optional matplotlib ``Axes`` and return it; without one
they draw on a new ``matplotlib.figure.Figure`` (no pyplot). Cost: one polygon per cell.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError

__all__ = ["plot_components", "plot_diagram", "cell_polygon"]


def _axes(ax, figsize=(5, 5)):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=figsize).add_subplot(111)


def cell_polygon(L, c):
    """Vertices of 2-D cell ``c`` of a lattice, counter-clockwise."""
    V = L.vertices[L.faces[2][c]]
    m = V.mean(axis=0)
    return V[np.argsort(np.arctan2(V[:, 1] - m[1], V[:, 0] - m[0]))]


def plot_components(top, ax=None, cmap="tab10", show_holes=True, edgecolor="0.75"):
    """Draw a 2-D :class:`~polyregion.topology.DecisionTopology` coloured by component.

    Parameters
    ----------
    top : DecisionTopology
        Of a 2-D RegionSet.
    ax : matplotlib Axes, optional
    cmap : str
        Colour map of the components.
    show_holes : bool
        Mark each hole with a black cross and the label "hole".

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> from polyregion.topology.nets import shapes_net
    >>> rs = pr.enumerate_regions(shapes_net(2, [("annulus", (0, 0), 1.0, 2.0)], "min"),
    ...                           pr.Box.cube(2, 3.0))
    >>> ax = pr.topology.plot_components(pr.decision_topology(rs, "above"))
    >>> ax.get_title()
    'above: Betti (1, 1)'
    """
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection, PolyCollection

    L = top.lattice
    if L.dim != 2:
        raise InvalidInputError(f"plot_components draws 2-D sets; got a {L.dim}-D one.")
    ax = _axes(ax)
    lab, n = top.components()
    cm = colormaps[cmap]
    polys = [cell_polygon(L, c) for c in range(len(L.faces[2]))]
    colors = [cm(lab[c] % cm.N) if lab[c] >= 0 else (1, 1, 1, 1) for c in range(len(polys))]
    ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors=edgecolor,
                                     linewidths=0.3))
    # lower-dimensional parts: edges and vertices in the set that bound no cell in it
    ptr, idx = L.boundary_ptr[2], L.boundary_idx[2]
    covered = np.zeros(len(L.faces[1]), bool)
    for c in np.flatnonzero(top.masks[2]):
        covered[idx[ptr[c]:ptr[c + 1]]] = True
    segs = [L.vertices[L.faces[1][e]] for e in np.flatnonzero(top.masks[1] & ~covered)]
    if segs:
        ax.add_collection(LineCollection(segs, colors="k", linewidths=1.5))
    used = np.zeros(len(L.vertices), bool)
    for e in np.flatnonzero(top.masks[1]):
        used[L.faces[1][e]] = True
    for c in np.flatnonzero(top.masks[2]):
        used[L.faces[2][c]] = True
    iso = np.flatnonzero(top.masks[0] & ~used)
    if len(iso):
        ax.plot(L.vertices[iso, 0], L.vertices[iso, 1], "ko", ms=4)
    if show_holes:
        for cells in top.holes():
            areas = [abs(_area(polys[c])) for c in cells]
            c = cells[int(np.argmax(areas))]
            x, y = polys[c].mean(axis=0)
            ax.plot([x], [y], "kx", ms=8, mew=2)
            ax.annotate("hole", (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    lo, hi = L.vertices.min(axis=0), L.vertices.max(axis=0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_title(f"{top.which}: Betti {tuple(top.betti)}")
    return ax


def _area(P):
    x, y = P[:, 0], P[:, 1]
    return 0.5 * (x @ np.roll(y, -1) - y @ np.roll(x, -1))


def plot_diagram(pers, ax=None, markers="os^v"):
    """Draw the persistence diagram of a :class:`~polyregion.topology.Persistence`.

    Essential classes (death ``inf``) sit on a dashed line above the largest finite
    value; births at ``-inf`` (unbounded domains) on a dashed line left of the smallest.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> from polyregion.topology.nets import shapes_net
    >>> rs = pr.enumerate_regions(shapes_net(2, [("annulus", (0, 0), 1.0, 2.0)], "min"),
    ...                           pr.Box.cube(2, 3.0))
    >>> ax = pr.topology.plot_diagram(pr.persistence(rs))
    >>> ax.get_xlabel()
    'birth'
    """
    ax = _axes(ax)
    D = pers.diagram()
    finite = np.concatenate([p[np.isfinite(p)] for p in D] + [pers.critical_values])
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.05 * (hi - lo or 1.0)
    top, left = hi + 2 * pad, lo - 2 * pad
    for k, p in enumerate(D):
        if len(p) == 0:
            continue
        d = np.where(np.isfinite(p[:, 1]), p[:, 1], top)
        b = np.where(np.isfinite(p[:, 0]), p[:, 0], left)
        # higher dimensions hollow and larger, so a pair at the same point as a
        # lower-dimensional one (a component and a hole dying together) stays visible
        ax.scatter(b, d, marker=markers[k % len(markers)], label=f"H{k}", zorder=3 + k,
                   s=36 + 40 * k, facecolors="none" if k else None,
                   edgecolors=f"C{k}", linewidths=1.5)
    ax.plot([lo - pad, top], [lo - pad, top], color="0.5", lw=0.8)
    ax.axhline(top, color="0.5", ls="--", lw=0.8)
    ax.text(lo - pad, top, " inf", va="bottom", fontsize=8)
    if any(np.any(~np.isfinite(p[:, 0])) for p in D):   # births at -inf (unbounded domains)
        ax.axvline(left, color="0.5", ls="--", lw=0.8)
        ax.text(left, lo, "-inf ", ha="right", fontsize=8)
    ax.set_xlim(min(lo - pad, left - pad), top + pad)
    ax.set_ylim(lo - pad, top + 3 * pad)
    ax.set_xlabel("birth")
    ax.set_ylabel("death")
    ax.legend(loc="lower right")
    ax.set_title(f"sublevel persistence of output {pers.output}")
    return ax
