"""Pictures of 2-D partitions: regions, the boundaries each layer draws, decision boundaries.

What it computes
----------------
:func:`polygons` turns every region of a 2-D :class:`~polyregion.RegionSet` into a convex
polygon by clipping the domain's bounding box with the region's constraints
(:meth:`~polyregion.RegionSet.constraints`, Sutherland-Hodgman clipping of a convex
polygon by one half-plane at a time). Every edge keeps the label ``(layer, unit,
breakpoint)`` of the hyperplane that made it (``layer = -1``: the domain's boundary; for a
max layer ``(layer, window, position)``), so boundaries can be coloured by the layer whose
neuron drew them. :func:`partition` draws
the polygons with matplotlib; :func:`save_partition` writes a PNG without pyplot.

Cost
----
O(regions x constraints x polygon size) floating-point work in Python/numpy: about a
second for a few thousand regions of a net with a hundred neurons. The decision boundary
adds ``K^2`` clips per region for ``K`` outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInputError

__all__ = ["Polygon", "polygons", "partition", "save_partition", "COLOR_BY"]

COLOR_BY = ("layer", "code", "output", "density")

#: relative tolerance of the clipping (a vertex within ``_EPS * scale`` of a line is on it)
_EPS = 1e-12


@dataclass
class Polygon:
    """A region as a convex polygon (counter-clockwise).

    Attributes
    ----------
    vertices : ndarray, shape (m, 2)
    labels : ndarray, shape (m, 3), int
        ``labels[j] = (layer, unit, breakpoint)`` of the hyperplane carrying the edge from
        ``vertices[j]`` to ``vertices[(j + 1) % m]``; ``layer = -1`` for the domain's
        boundary (and the drawing window of an unbounded domain). For an edge drawn by a
        max layer the label is ``(layer, window, position)``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> P = pr.plot.polygons(rs)[3]          # the square [0, 1]^2
    >>> P.vertices.tolist(), P.area, P.edges().shape
    ([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]], 1.0, (4, 2, 2))
    >>> P.labels.tolist()                    # two box edges, then the neurons x and y
    [[-1, 1, 0], [-1, 2, 0], [0, 0, 0], [0, 1, 0]]
    """

    vertices: np.ndarray
    labels: np.ndarray

    @property
    def area(self) -> float:
        """Area by the shoelace formula."""
        x, y = self.vertices[:, 0], self.vertices[:, 1]
        return float(0.5 * (x @ np.roll(y, -1) - y @ np.roll(x, -1)))

    def edges(self):
        """Segments ``(m, 2, 2)`` of the boundary, in the order of :attr:`labels`."""
        V = self.vertices
        return np.stack([V, np.roll(V, -1, axis=0)], axis=1)


def _clip(V, L, a, b, lab, eps):
    """Clip the convex polygon (V, L) by {x : a.x <= b}; the new edge gets label ``lab``."""
    s = V @ a - b
    inside = s <= eps
    if inside.all():
        return V, L
    if not inside.any():
        return None, None
    m = len(V)
    out_v, out_l = [], []
    for i in range(m):
        j = (i + 1) % m
        if inside[i]:
            out_v.append(V[i])
            out_l.append(L[i])
            if not inside[j]:
                lam = s[i] / (s[i] - s[j])
                out_v.append(V[i] + lam * (V[j] - V[i]))
                out_l.append(lab)
        elif inside[j]:
            lam = s[i] / (s[i] - s[j])
            out_v.append(V[i] + lam * (V[j] - V[i]))
            out_l.append(L[i])
    V2 = np.array(out_v)
    L2 = np.array(out_l)
    # drop zero-length edges (a vertex on the line can produce a duplicate)
    keep = np.linalg.norm(np.roll(V2, -1, axis=0) - V2, axis=1) > eps
    if keep.sum() < 3:
        return None, None
    if not keep.all():
        # edge k is zero-length (vertex k repeats vertex k + 1): dropping vertex k drops
        # that edge, and edge k - 1 now ends at the (same) vertex k + 1
        V2, L2 = V2[keep], L2[keep]
    return V2, L2


def _window(rs, window):
    dom = rs.domain
    if window is not None:
        w = np.asarray(window, dtype=float).ravel()
        if w.shape != (4,) or not np.all(np.isfinite(w)) or w[1] <= w[0] or w[3] <= w[2]:
            raise InvalidInputError(
                f"`window` must be (xmin, xmax, ymin, ymax) with xmin < xmax and ymin < ymax; "
                f"got {window!r}."
            )
        return np.array([w[0], w[2]]), np.array([w[1], w[3]])
    lo, hi = dom.bounds()
    if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
        return lo, hi
    # unbounded domain: a window around the regions' interior points
    P = rs.points if len(rs) else np.zeros((1, 2))
    c = 0.5 * (P.min(0) + P.max(0))
    r = max(float(np.max(P.max(0) - P.min(0))), 1.0)
    lo = np.where(np.isfinite(lo), lo, c - r)
    hi = np.where(np.isfinite(hi), hi, c + r)
    return lo, hi


def _check_rs(rs):
    from .regions import RegionSet

    if not isinstance(rs, RegionSet):
        raise InvalidInputError(f"`rs` must be a RegionSet; got {type(rs).__name__}.")
    if rs.dim != 2:
        raise InvalidInputError(
            f"Pictures need a 2-D RegionSet (enumerate on a Box of dimension 2 or a 2-D "
            f"Slice); got dim={rs.dim}."
        )


def _progress(it, total, enabled, desc):
    if not enabled:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, total=total, desc=desc, leave=False)


def polygons(rs, window=None, progress=False) -> list:
    """The regions of a 2-D RegionSet as convex polygons with labelled edges.

    Parameters
    ----------
    rs : RegionSet
        A 2-D enumeration (``rs.dim == 2``); coordinates are the enumeration coordinates.
    window : (xmin, xmax, ymin, ymax), optional
        Drawing window; default: the domain's bounding box (for an unbounded domain, a
        box around the regions' interior points).
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    list of Polygon
        ``polygons(rs)[i]`` is region ``i`` (``None`` if it misses the window).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> polys = pr.plot.polygons(rs)
    >>> [round(p.area, 12) for p in polys]
    [1.0, 1.0, 1.0, 1.0]
    >>> sorted({int(l) for p in polys for l in p.labels[:, 0]})   # domain and layer 0
    [-1, 0]
    """
    _check_rs(rs)
    lo, hi = _window(rs, window)
    V0 = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    L0 = np.array([[-1, 0, 0], [-1, 1, 0], [-1, 2, 0], [-1, 3, 0]], dtype=np.int64)
    eps = _EPS * float(np.linalg.norm(hi - lo))
    A, b, labels, _, _ = _batched(rs)
    out = []
    for i in _progress(range(len(rs)), len(rs), progress, "polygons"):
        V, L = _clip_all(V0, L0, A[i], b[i], labels, eps)
        out.append(None if V is None else Polygon(V, np.asarray(L, dtype=np.int64)))
    return out


def _clip_all(V, L, A, b, labels, eps):
    """Clip a convex polygon by all of {A x <= b}, most violated constraint first.

    A constraint that every vertex satisfies stays satisfied after further clipping (the
    polygon only shrinks), so only violated constraints are ever applied.
    """
    while A.shape[0]:
        S = V @ A.T - b
        viol = S.max(axis=0)
        k = int(np.argmax(viol))
        if not viol[k] > eps:
            return V, L
        V, L = _clip(V, L, A[k], b[k], labels[k], eps)
        if V is None:
            return None, None
    return V, L


def _batched(rs):
    """Constraints and affine maps of all regions at once (2-D enumeration coordinates).

    Returns ``A (n, R, 2)``, ``b (n, R)``, ``labels (R, 3)``, ``M (n, K, 2)``, ``c (n, K)``
    from :func:`polyregion._rows.cell_rows`: unit rows, one slot per (breakpoint, neuron)
    of a scalar layer and per (position, window) of a max layer, valid where the
    hyperplane bounds the region; the other rows (and those of neurons constant on a
    region) are ``0 <= inf``; then the domain's facets (``layer = -1``).
    """
    from ._rows import cell_rows

    rows = cell_rows(rs.enum_net, rs.codes, rs.domain, tolerances=rs.tolerances)
    return rows.A, rows.b, rows.labels, rows.Mo, rows.co


def _decision_segments(rs, polys, eps):
    """Segments of the decision boundary: {f = 0} (one output) or where the argmax changes."""
    _, _, _, Ms, cs = _batched(rs)
    segs = []
    for i, P in enumerate(polys):
        if P is None:
            continue
        M, c = Ms[i], cs[i]
        if M.shape[0] == 1:
            M, c = np.vstack([np.zeros(2), M]), np.concatenate([[0.0], c])
        K = M.shape[0]
        for cls in range(K):
            A = M - M[cls]
            b = c[cls] - c
            nrm = np.linalg.norm(A, axis=1)
            others = np.arange(K) != cls
            if np.any(others & (nrm == 0) & (b < 0)):
                continue  # an output equal up to a larger constant always beats cls
            keep = others & (nrm > 0)
            A, b, js = A[keep] / nrm[keep, None], b[keep] / nrm[keep], np.flatnonzero(keep)
            labs = np.stack([np.full(len(js), -3), js, np.zeros(len(js), int)], axis=1)
            V, L = _clip_all(P.vertices, np.full((len(P.vertices), 3), -9), A, b, labs, eps)
            if V is None:
                continue
            E = np.stack([V, np.roll(V, -1, axis=0)], axis=1)
            mask = (L[:, 0] == -3) & (L[:, 1] > cls)
            segs.extend(E[mask])
    return np.array(segs).reshape(-1, 2, 2)


def _code_colors(n, seed=0):
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    rng = np.random.default_rng(seed)
    return cmap(rng.integers(0, 20, size=n) / 19.0 * 0.999)


def partition(rs, ax=None, color_by="layer", points=None, point_labels=None,
              decision_boundary=False, output=0, window=None, linewidth=0.6, legend=True,
              progress=False):
    """Draw the partition of a 2-D RegionSet.

    Parameters
    ----------
    rs : RegionSet
        A 2-D enumeration (a 2-D input, or a 2-D :class:`~polyregion.Slice`).
    ax : matplotlib Axes, optional
        Default: a new figure from pyplot.
    color_by : {"layer", "code", "output", "density"}
        ``"layer"``: light faces, boundaries coloured by the layer whose neuron made them
        (domain boundary black). ``"code"``: each region its own colour. ``"output"``:
        the network output ``output`` drawn exactly (it is affine on each polygon, so
        Gouraud shading of the vertex values is exact). ``"density"``: faces coloured by
        ``log10`` of their area (small cells, i.e. dense partition, dark).
    points : array_like, shape (n, 2) or (n, input_dim), optional
        Data points to mark; points of the input space are projected onto a Slice
        (:meth:`~polyregion.Slice.project`).
    point_labels : array_like, shape (n,), optional
        Labels written next to the points (e.g. digit classes).
    decision_boundary : bool
        Draw the decision boundary: ``{f = 0}`` for one output, the set where the argmax
        of the outputs changes otherwise.
    output : int
        The output drawn by ``color_by="output"``.
    window : (xmin, xmax, ymin, ymax), optional
        See :func:`polygons`.
    linewidth : float
    legend : bool
        Legend of the layers (``color_by="layer"``) or a colour bar.
    progress : bool
        tqdm progress bar on stderr while the polygons are computed.

    Returns
    -------
    matplotlib Axes
        The regions are the PolyCollection with gid ``"polyregion-regions"`` (one path per
        region); boundaries the LineCollection with gid ``"polyregion-edges"``.

    Raises
    ------
    InvalidInputError
        A RegionSet that is not 2-D, an unknown ``color_by``, points of the wrong shape.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, polyregion as pr
    >>> rng = np.random.default_rng(0)
    >>> net = pr.Network.from_arrays([rng.normal(size=(6, 2)), rng.normal(size=(1, 6))],
    ...                              [rng.normal(size=6), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> ax = pr.plot.partition(rs, color_by="layer", decision_boundary=True)
    >>> regions = [c for c in ax.collections if c.get_gid() == "polyregion-regions"][0]
    >>> len(regions.get_paths()) == len(rs)
    True
    """
    import matplotlib
    from matplotlib.collections import LineCollection, PolyCollection

    _check_rs(rs)
    if color_by not in COLOR_BY:
        raise InvalidInputError(f"`color_by` must be one of {COLOR_BY}; got {color_by!r}.")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 6))
    polys = polygons(rs, window=window, progress=progress)
    idx = [i for i, p in enumerate(polys) if p is not None]
    verts = [polys[i].vertices for i in idx]
    lo, hi = _window(rs, window)
    eps = _EPS * float(np.linalg.norm(hi - lo))

    # faces
    faces = PolyCollection(verts, linewidths=0, antialiased=True)
    faces.set_gid("polyregion-regions")
    colorbar_source = None
    if color_by == "layer":
        faces.set_facecolor(_code_colors(len(verts))[:, :3] * 0.15 + 0.85)
    elif color_by == "code":
        faces.set_facecolor(_code_colors(len(verts)))
    elif color_by == "density":
        area = np.array([max(polys[i].area, 1e-300) for i in idx])
        faces.set_array(np.log10(area))
        faces.set_cmap("magma")
        colorbar_source = (faces, "log10 region area")
    else:  # output: exact Gouraud shading of the affine output on a fan triangulation
        from matplotlib.tri import Triangulation

        k_out = rs.net.output_dim
        if not isinstance(output, (int, np.integer)) or not 0 <= output < k_out:
            raise InvalidInputError(
                f"`output` must be an int in [0, {k_out}); got {output!r}."
            )
        X, Z, T = [], [], []
        for i in idx:
            V = polys[i].vertices
            M, c = rs.affine_map(i)
            base = len(X)
            X.extend(V)
            Z.extend(V @ M[output] + c[output])
            T.extend([base, base + j, base + j + 1] for j in range(1, len(V) - 1))
        X = np.array(X)
        tri = Triangulation(X[:, 0], X[:, 1], np.array(T))
        tpc = ax.tripcolor(tri, np.array(Z), shading="gouraud", cmap="coolwarm")
        faces.set_facecolor("none")
        colorbar_source = (tpc, f"output {output}")
    ax.add_collection(faces)

    # edges
    segs, layers = [], []
    for i in idx:
        segs.append(polys[i].edges())
        layers.append(polys[i].labels[:, 0])
    segs = np.concatenate(segs) if segs else np.zeros((0, 2, 2))
    layers = np.concatenate(layers) if layers else np.zeros(0, np.int64)
    n_hidden = rs.net.n_layers - 1
    if color_by == "layer":
        cmap = matplotlib.colormaps["tab10" if n_hidden <= 10 else "viridis"]
        layer_colors = [cmap(l % 10 if n_hidden <= 10 else l / max(n_hidden - 1, 1))
                        for l in range(max(n_hidden, 1))]
        colors = [(0, 0, 0, 1) if l < 0 else layer_colors[l] for l in layers]
    else:
        colors = [(0, 0, 0, 1) if l < 0 else (0.2, 0.2, 0.2, 0.8) for l in layers]
    edges = LineCollection(segs, colors=colors, linewidths=linewidth)
    edges.set_gid("polyregion-edges")
    ax.add_collection(edges)

    if decision_boundary:
        db = LineCollection(_decision_segments(rs, polys, eps), colors="k",
                            linewidths=2.2 * linewidth + 0.8, linestyles="solid")
        db.set_gid("polyregion-decision-boundary")
        ax.add_collection(db)

    if points is not None:
        P = np.asarray(points, dtype=float)
        if P.ndim == 1:
            P = P[None, :]
        if P.ndim == 2 and P.shape[1] != 2 and hasattr(rs.domain, "project") and \
                P.shape[1] == rs.domain.input_dim:
            P = rs.domain.project(P)
        if P.ndim != 2 or P.shape[1] != 2:
            raise InvalidInputError(
                f"`points` must have shape (n, 2) or (n, {rs.domain.input_dim}); got "
                f"{np.asarray(points).shape}."
            )
        ax.scatter(P[:, 0], P[:, 1], s=36, c="white", edgecolors="k", zorder=5,
                   linewidths=1.2)
        if point_labels is not None:
            labs = list(np.asarray(point_labels).ravel())
            if len(labs) != len(P):
                raise InvalidInputError(
                    f"`point_labels` must have one entry per point ({len(P)}); got {len(labs)}."
                )
            for (x, y), s in zip(P, labs):
                ax.annotate(str(s), (x, y), xytext=(4, 4), textcoords="offset points",
                            fontsize=11, fontweight="bold", zorder=6)

    if legend:
        if color_by == "layer":
            from matplotlib.lines import Line2D

            handles = [Line2D([], [], color=layer_colors[l], lw=2, label=f"layer {l}")
                       for l in range(n_hidden)]
            if decision_boundary:
                handles.append(Line2D([], [], color="k", lw=3, label="decision boundary"))
            if handles:
                ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
        elif colorbar_source is not None:
            ax.figure.colorbar(colorbar_source[0], ax=ax, label=colorbar_source[1],
                               shrink=0.8)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    names = ("t1", "t2") if getattr(rs.domain, "origin", None) is not None else ("x1", "x2")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(f"{len(rs)} regions")
    return ax


def save_partition(rs, path, dpi=120, figsize=(6, 6), **kwargs):
    """Draw :func:`partition` into a PNG (or any format matplotlib infers from ``path``).

    Uses the Agg canvas directly (no pyplot, no display needed). Keyword arguments go to
    :func:`partition`.

    Examples
    --------
    >>> import numpy as np, polyregion as pr, tempfile, os
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "p.png")
    >>> _ = pr.plot.save_partition(pr.enumerate_regions(net, pr.Box.cube(2)), path)
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    partition(rs, ax=ax, **kwargs)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return path
