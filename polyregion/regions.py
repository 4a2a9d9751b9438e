"""RegionSet: the result of an enumeration.

Stores what is cheap — activation codes, a strictly interior point and a certified
inscribed-ball radius per region — and derives the rest on demand: irredundant
H-representations, affine maps, point location.

Coordinates: everything is in the domain's *enumeration coordinates* (the input space,
or ``t`` for a :class:`~polyregion.Slice`; ``rs.domain.to_input`` maps to the input).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from .config import DEFAULT_TOLERANCES, RESOLUTION, Tolerances
from .errors import FileFormatError, InvalidInputError

__all__ = ["RegionSet", "RegionStats", "cell_constraints"]

REGIONS_FORMAT_VERSION = 1

LOAD_CHECK_SAMPLES = 256
""":meth:`RegionSet.load` recomputes the code of the stored point of this many regions,
chosen at random with a fixed seed (all of them in a smaller file), with the network's
forward pass and the file's tolerances (:func:`polyregion.network.cell_codes`, as
:meth:`RegionSet.locate`), and refuses the file when one differs from the stored code."""

_REGION_MEMBERS = {"format_version", "codes", "points", "radii", "stats", "tolerances"}


@dataclass
class RegionStats:
    """Counters that explain the cost of an enumeration.

    Attributes
    ----------
    method : str
        The method that ran (``"lp"``, ``"planar"``, ``"scipy"``; ``"auto"`` is resolved
        to one of them).
    seconds : float
        Wall time of the enumeration (kernel and witness check; in work units, the whole
        run including the plan).
    n_lps : int
        Linear programs solved: the LP path's Chebyshev LPs plus its vertex LPs
        (``extra["vertex_lps"]``); the planar path's exact inscribed-circle solves (rare);
        the scipy path's HiGHS solves; in work units, also the plan's LPs.
    n_regions : int
        Regions returned (``len(rs)``).
    n_retries : int
        Simplex solves that failed or were inconsistent from the warm start and were
        repeated from the cold basis (LP path).
    n_failed : int
        Solves that failed twice in the Numba simplex (warm, then cold) and were re-solved
        by HiGHS; the answer used is HiGHS' (a solve HiGHS cannot do raises
        :class:`~polyregion.errors.SolverError`). Zero on every net measured so far; a
        positive value is worth a look, not an error.
    extra : dict
        Method-specific counters; a key is present only for the methods that produce it.

        LP path (the kernel's ``ST_*`` counters, :mod:`polyregion.enumerate._kernels_engine`):

        - ``box_decisions``: hyperplanes decided by the cell's outer box (no LP);
        - ``pool_splits``: cuts proved by two known interior points on either side;
        - ``entry_lps``: LPs spent pruning a layer's candidate hyperplanes on entry;
        - ``empty_lps``: Chebyshev LPs that found one side empty (no cut);
        - ``vertex_lps``, ``vertex_pivots``: vertex LPs (bounded dual simplex) and their
          dual simplex iterations;
        - ``vertex_checks``: cuts proved by a known vertex and a known ball (no LP);
        - ``cone_splits``: cuts proved by a vertex and an interior ball (no Chebyshev LP);
        - ``vertex_no_cuts``: "no cut" decisions certified by a vertex LP's bound.

        Planar path: ``cuts`` (polygon cuts), ``vertex_tests`` ((cell, line) pairs decided
        from the polygon's vertices rather than its bounding box).

        Every direct run: ``witness_radius_clipped`` (regions whose ball radius was
        measured smaller against all hyperplanes of their code and clipped),
        ``witness_resolved`` (regions whose point lay outside its own cell and was
        re-solved by HiGHS on the full cell); see docs/tolerances.md.

        Work units: ``n_units`` (cells of the plan), ``executor`` (its ``repr``).
        Max layers: ``expanded_cells``, ``expanded_neurons`` (regions and neurons of the
        tournament expansion that was enumerated, before merging).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> st = pr.enumerate_regions(net, pr.Box.cube(2), method="planar").stats
    >>> st.method, st.n_regions, sorted(st.extra)[:2]
    ('planar', 4, ['cuts', 'vertex_tests'])
    """

    method: str = ""
    seconds: float = 0.0
    n_lps: int = 0
    n_regions: int = 0
    n_retries: int = 0
    n_failed: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def lps_per_region(self) -> float:
        return self.n_lps / max(self.n_regions, 1)

    def __repr__(self):
        return (f"RegionStats(method={self.method!r}, n_regions={self.n_regions}, "
                f"seconds={self.seconds:.4g}, n_lps={self.n_lps}, "
                f"lps_per_region={self.lps_per_region:.3g})")


def cell_constraints(enum_net, code, domain=None, tolerances=None):
    """All constraints ``A x <= b`` of the cell with activation ``code``.

    Rows are unit-normalised. ``labels[i] = (layer, unit, breakpoint)`` names the neuron
    hyperplane of row ``i``; domain facets have ``layer = -1`` and ``unit`` = facet index.
    For a max layer, ``unit`` is the window and ``breakpoint`` the position of the entry
    compared with the window's maximum (the row says ``u_j <= u_max``). Neurons (and
    comparisons) that are constant on the cell contribute no row: rows of norm at most
    ``tolerances.zero_row`` (default :data:`~polyregion.config.DEFAULT_TOLERANCES`) times
    the layer's row scale (docs/tolerances.md, rule 4). Rows come in label order: the
    domain's facets, then layer by layer, unit by unit, breakpoint by breakpoint.

    The rows are those of the package's one row builder,
    :func:`polyregion._rows.cell_rows` (many cells at once), for one cell.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> from polyregion.regions import cell_constraints
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> A, b, labels = cell_constraints(net, [1, 0])     # x >= 0, y <= 0
    >>> A.tolist(), b.tolist(), labels.tolist()
    ([[-1.0, -0.0], [0.0, 1.0]], [-0.0, 0.0], [[0, 0, 0], [0, 1, 0]])
    """
    from ._rows import cell_rows

    code = np.asarray(code).ravel()[None, :]
    rows = cell_rows(enum_net, code, domain, tolerances=tolerances)
    ok = rows.valid[0]
    A, b, labels = rows.A[0][ok], rows.b[0][ok], rows.labels[ok]
    order = np.lexsort(labels.T[::-1])
    k = enum_net.input_dim
    return (np.ascontiguousarray(A[order]).reshape(-1, k), np.ascontiguousarray(b[order]),
            np.ascontiguousarray(labels[order], dtype=np.int64).reshape(-1, 3))


def irredundant(A, b, tol, labels=None):
    """Remove duplicate and redundant rows of ``{A x <= b}`` (unit rows).

    Returns ``(A, b, groups)`` where ``groups[i]`` lists the input rows merged into kept
    row ``i`` (duplicates carry several labels). A row is kept when dropping it enlarges
    the set by more than ``tol``: ``max a_i.x`` over the other rows exceeds ``b_i + tol``.
    """
    from scipy.optimize import linprog

    m, k = A.shape
    # merge duplicates: a row joins the first kept row it equals (within 1e-12 in the
    # normal, ``tol`` in the offset), whatever rows sort between them
    order = np.lexsort(np.column_stack([A, b]).T[::-1])
    groups, reps = [], []
    for i in order:
        if reps:
            R = np.asarray(reps)
            same = np.flatnonzero(np.all(np.abs(A[R] - A[i]) <= 1e-12, axis=1)
                                  & (np.abs(b[R] - b[i]) <= tol))
            if len(same):
                groups[int(same[0])].append(int(i))
                continue
        reps.append(int(i))
        groups.append([int(i)])
    # drop redundant rows one at a time, each tested against the rows still kept: two
    # copies of one hyperplane that did not merge cannot then remove each other
    active = list(range(len(reps)))
    for gi in range(len(reps)):
        others = [reps[g] for g in active if g != gi]
        if not others:
            continue
        i = reps[gi]
        res = linprog(-A[i], A_ub=A[others], b_ub=b[others] + 0.0,
                      A_eq=None, bounds=[(None, None)] * k, method="highs")
        # kept: unbounded without it (status 3), or it cuts more than ``tol``, or the LP
        # failed (keeping a row is always safe)
        if res.status == 0 and -res.fun <= b[i] + tol:
            active.remove(gi)
    reps = [reps[g] for g in active]
    groups = [groups[g] for g in active]
    return A[reps], b[reps], groups


def code_limits(net):
    """Exclusive upper bound of each code entry of ``net``: the number of pieces of its
    activation, or the size of its window in a max layer; shape (n_neurons,), int64."""
    parts = [np.asarray(act.sizes, np.int64) if hasattr(act, "sizes")
             else np.full(w, act.n_pieces, np.int64)
             for act, w in zip(net.activations, net.widths)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def check_codes(codes, net, name="codes"):
    """``codes`` as a C-contiguous uint8 array of shape (n, net.n_neurons), or
    InvalidInputError: integer (or bool) dtype, each entry a piece index of its neuron
    (``0 <= v <`` :func:`code_limits`). Nothing is cast before it is checked."""
    try:
        arr = np.asarray(codes)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"`{name}` must be an integer array: {exc}") from None
    n_neur = net.n_neurons
    if arr.ndim != 2 or arr.shape[1] != n_neur:
        raise InvalidInputError(
            f"`{name}` must have shape (n, {n_neur}) (one piece index per hidden neuron); "
            f"got {arr.shape}.")
    if arr.size == 0:
        return np.zeros(arr.shape, np.uint8)
    if arr.dtype.kind not in "iub":
        raise InvalidInputError(
            f"`{name}` must hold integer piece indices (integer dtype); got dtype {arr.dtype}"
            + (f" with values such as {arr.ravel()[:3].tolist()}." if arr.dtype.kind in "fc"
               else "."))
    bad = (arr < 0) | (arr >= code_limits(net))
    if np.any(bad):
        r, c = (int(v[0]) for v in np.nonzero(bad))
        raise InvalidInputError(
            f"`{name}` entries must be piece indices: entry [{r}, {c}] = {arr[r, c]} is not in "
            f"[0, {int(code_limits(net)[c])}) ({int(bad.sum())} such entries).")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _code_index(codes):
    """``(keys, order)``: the rows of uint8 ``codes`` as sorted byte strings and the row
    each comes from (the index of :meth:`RegionSet.index_of_codes`)."""
    own = np.ascontiguousarray(codes)
    n_neur = own.shape[1]
    keys = own.view(np.dtype((np.void, n_neur))).ravel() if n_neur else \
        np.zeros(len(own), dtype="V1")
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _check_loaded(net, domain, data, tolerances, path):
    """The ``codes, points, radii`` arrays of a RegionSet file, checked against its net and
    domain, and the code index; FileFormatError on the first disagreement."""
    codes, points, radii = data["codes"], data["points"], data["radii"]
    n = codes.shape[0] if codes.ndim == 2 else -1
    if codes.ndim != 2 or codes.dtype.kind not in "iu" or codes.shape[1] != net.n_neurons:
        raise FileFormatError(
            f"`codes` must be an integer array of shape (n, {net.n_neurons}); got dtype "
            f"{codes.dtype}, shape {codes.shape}.")
    if points.shape != (n, domain.dim) or points.dtype.kind != "f" \
            or not np.all(np.isfinite(points)):
        raise FileFormatError(
            f"`points` must be a finite float array of shape ({n}, {domain.dim}); got dtype "
            f"{points.dtype}, shape {points.shape}.")
    if radii.shape != (n,) or radii.dtype.kind != "f" or np.any(~(radii > 0)) \
            or not np.all(np.isfinite(radii)):
        raise FileFormatError(
            f"`radii` must be a float array of shape ({n},) with finite values > 0; got "
            f"dtype {radii.dtype}, shape {radii.shape}.")
    off = 0
    for l, act in enumerate(net.activations):
        w = net.widths[l]
        limit = getattr(act, "sizes", act.n_pieces)  # a max layer: each window's size
        if n and (codes[:, off:off + w].min() < 0 or np.any(codes[:, off:off + w] >= limit)):
            raise FileFormatError(
                f"`codes` of layer {l} must be piece indices in [0, {act.n_pieces}).")
        off += w
    codes = codes.astype(np.uint8)
    points = points.astype(np.float64)
    radii = radii.astype(np.float64)
    index = _code_index(codes)
    keys, order = index
    same = np.flatnonzero(keys[1:] == keys[:-1])
    if len(same):
        i, j = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        raise FileFormatError(
            f"{path!r}: `codes` must hold each region once; regions {i} and {j} have the same "
            f"code ({len(same)} duplicate rows).")
    A, b = domain.halfspaces()
    if n and A.shape[0]:
        slack = tolerances.feasibility * domain.scale \
            + RESOLUTION * (float(np.max(np.abs(b))) + domain.scale)
        out = np.max(points @ A.T - b, axis=1)
        if np.any(out > slack):
            i = int(np.argmax(out))
            raise FileFormatError(
                f"{path!r}: `points` must lie inside the domain; point {i} is outside it by "
                f"{out[i]:.3g} (tolerance {slack:.3g}).")
    if n:
        pick = np.sort(np.random.default_rng(0).choice(n, min(n, LOAD_CHECK_SAMPLES),
                                                       replace=False))
        from .network import cell_codes, domain_frame

        # the codes the engines give the cells of these points, with the file's tolerances
        got = cell_codes(net.for_domain(domain), points[pick], tolerances,
                         *domain_frame(domain))
        wrong = np.flatnonzero(np.any(got != codes[pick], axis=1))
        if len(wrong):
            i = int(pick[wrong[0]])
            raise FileFormatError(
                f"{path!r}: the file's codes disagree with its points: the network's code at "
                f"the stored point of region {i} differs from the stored code in "
                f"{int(np.sum(got[wrong[0]] != codes[i]))} entries ({len(wrong)} of "
                f"{len(pick)} regions checked disagree); the file is corrupt or was edited.")
    return codes, points, radii, index


class RegionSet:
    """The linear regions of a network inside a domain.

    Attributes
    ----------
    net : Network
        The network as given.
    domain : Domain
    codes : ndarray, shape (n_regions, n_neurons), uint8
        Activation code of each region (piece index of each hidden neuron), sorted
        lexicographically.
    points : ndarray, shape (n_regions, dim), float64
        A strictly interior point of each region (enumeration coordinates).
    radii : ndarray, shape (n_regions,)
        A ball of this radius around ``points[i]`` lies inside region ``i`` (for LP-solved
        regions it is the Chebyshev radius; radii of unbounded regions are capped at the
        domain scale).
    stats : RegionStats

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> len(rs), rs.codes.tolist()
    (4, [[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> A, b = rs.halfspaces(3)          # x >= 0, y >= 0, x <= 1, y <= 1
    >>> A.shape
    (4, 2)
    >>> int(rs.locate([0.5, -0.5]))
    2
    """

    def __init__(self, net, domain, codes, points, radii, stats=None, tolerances=None,
                 sort=True):
        codes = check_codes(codes, net)
        n = codes.shape[0]
        try:
            points = np.asarray(points, dtype=np.float64)
            radii = np.asarray(radii, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"`points` and `radii` must be real arrays: {exc}") from None
        if points.shape != (n, domain.dim):
            raise InvalidInputError(
                f"`points` must have shape ({n}, {domain.dim}) (one point per code, in the "
                f"domain's {domain.dim} coordinates); got {points.shape}.")
        if radii.shape != (n,):
            raise InvalidInputError(
                f"`radii` must have shape ({n},) (one radius per code); got {radii.shape}.")
        if sort and len(codes):
            order = np.lexsort(codes.T[::-1]) if codes.shape[1] else np.arange(len(codes))
            codes, points, radii = codes[order], points[order], radii[order]
        self.net = net
        self.domain = domain
        self.codes = codes
        self.points = points
        self.radii = radii
        self.stats = stats if stats is not None else RegionStats(n_regions=len(codes))
        self.tolerances = tolerances if tolerances is not None else DEFAULT_TOLERANCES
        self._enum_net = None
        self._index = None
        self._cache = {}

    # ------------------------------------------------------------------ basics
    def __len__(self):
        return self.codes.shape[0]

    def __repr__(self):
        return (f"RegionSet(n_regions={len(self)}, dim={self.dim}, domain={self.domain!r}, "
                f"stats={self.stats!r})")

    def __eq__(self, other):
        """Two RegionSets are equal when they hold the same regions (same codes)."""
        if not isinstance(other, RegionSet):
            return NotImplemented
        return self.codes.shape == other.codes.shape and bool(np.all(self.codes == other.codes))

    __hash__ = None

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    @property
    def enum_net(self):
        """The network in enumeration coordinates (BN folded, slice applied)."""
        if self._enum_net is None:
            self._enum_net = self.net.for_domain(self.domain)
        return self._enum_net

    def _check_i(self, i):
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise InvalidInputError(f"Region index must be an int; got {i!r}.")
        n = len(self)
        if not -n <= i < n:
            raise InvalidInputError(f"Region index {i} out of range for {n} regions.")
        return int(i) % n

    # ------------------------------------------------------------------ geometry
    def constraints(self, i):
        """All (possibly redundant) constraints of region ``i``: ``(A, b, labels)``.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> A, b, labels = rs.constraints(3)     # 4 box facets, then the 2 neurons
        >>> A.shape, labels.tolist()
        ((6, 2), [[-1, 0, 0], [-1, 1, 0], [-1, 2, 0], [-1, 3, 0], [0, 0, 0], [0, 1, 0]])
        """
        i = self._check_i(i)
        return cell_constraints(self.enum_net, self.codes[i], self.domain, self.tolerances)

    def halfspaces(self, i, with_labels=False):
        """Irredundant H-representation ``(A, b)`` of region ``i``: ``{x : A x <= b}``.

        Rows are unit vectors; domain facets are included. With ``with_labels=True`` also
        returns, per row, the list of ``(layer, unit, breakpoint)`` labels of the
        hyperplanes carrying it (``layer = -1``: domain facet).

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> A, b = rs.halfspaces(3)              # the square [0, 1]^2
        >>> (A + 0.0).tolist(), (b + 0.0).tolist()
        ([[-1.0, 0.0], [0.0, -1.0], [0.0, 1.0], [1.0, 0.0]], [0.0, 0.0, 1.0, 1.0])
        """
        i = self._check_i(i)
        key = ("H", i)
        if key not in self._cache:
            A, b, labels = self.constraints(i)
            tol = self.tolerances.feasibility * max(self.domain.scale, 1e-300)
            A2, b2, groups = irredundant(A, b, tol)
            self._cache[key] = (A2, b2, [[tuple(labels[g]) for g in grp] for grp in groups])
        A2, b2, lab = self._cache[key]
        if with_labels:
            return A2.copy(), b2.copy(), lab
        return A2.copy(), b2.copy()

    def affine_map(self, i):
        """``(M, c)`` with network output ``M @ t + c`` on region ``i`` (enumeration coords).

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> M, c = rs.affine_map(3)              # f = x + y on [0, 1]^2
        >>> M.tolist(), c.tolist()
        ([[1.0, 1.0]], [0.0])
        """
        i = self._check_i(i)
        return self.enum_net.affine_map(self.codes[i])

    def locate(self, x):
        """Index of the region holding each point, or -1 (outside the domain or unknown).

        ``x`` of shape (dim,) returns an int; shape (n, dim) an int array. A point's code
        follows the constant-neuron rule of the enumeration with ``self.tolerances``
        (:func:`polyregion.network.cell_codes`).

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> rs.locate([[0.5, 0.5], [-0.5, 0.5], [3.0, 0.0]]).tolist()   # last: outside
        [3, 1, -1]
        """
        from .network import cell_codes, domain_frame

        try:
            X = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"`x` must be a real numeric array: {exc}") from None
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.shape[1] != self.dim:
            raise InvalidInputError(f"`x` must have {self.dim} columns; got shape {X.shape}.")
        codes = cell_codes(self.enum_net, X, self.tolerances, *domain_frame(self.domain))
        inside = self.domain.contains(X)
        out = self.index_of_codes(codes)
        out[~inside] = -1
        return int(out[0]) if single else out

    def index_of_codes(self, codes):
        """Index of each code (rows of ``codes``) in ``self.codes``, or -1: vectorised
        binary search on the lexicographically sorted codes.

        Raises
        ------
        InvalidInputError
            ``codes`` not of shape (n, n_neurons), not of an integer dtype, or with an
            entry that is not a piece index of its neuron (negative, or at least the
            number of pieces of its activation / the size of its max window).

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> rs.index_of_codes([[1, 1], [0, 1]]).tolist()
        [3, 1]
        """
        codes = check_codes(codes, self.net)
        n_neur = codes.shape[1]
        if self._index is None:
            self._index = _code_index(self.codes)
        keys, order = self._index
        if len(keys) == 0:
            return np.full(len(codes), -1, np.int64)
        q = codes.view(np.dtype((np.void, n_neur))).ravel() if n_neur else \
            np.zeros(len(codes), dtype="V1")
        pos = np.clip(np.searchsorted(keys, q), 0, len(keys) - 1)
        return np.where(keys[pos] == q, order[pos], -1).astype(np.int64)

    def volumes(self):
        """Exact volume of each region (``inf`` if unbounded; ``t``-space for a Slice).

        Cached; see :func:`polyregion.sampling.region_volumes`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
        >>> pr.enumerate_regions(net, pr.Box.cube(2)).volumes()
        array([1., 1., 1., 1.])
        """
        from .sampling import region_volumes

        return region_volumes(self)

    def certify(self):
        """Prove each region genuine in exact arithmetic; see :func:`polyregion.certify`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> rs.certify()
        Certificate(n_regions=4, n_certified=4, failed=[])
        """
        from .certify import certify

        return certify(self)

    def verify(self, n=10**6, seed=0, **kwargs):
        """Check the regions against ``n`` uniform samples; see :func:`polyregion.verify`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> report = rs.verify(n=1000)
        >>> report.passed, report.n_samples, report.n_regions
        (True, 1000, 4)
        """
        from .sampling import verify

        return verify(self, n=n, seed=seed, **kwargs)

    # ------------------------------------------------------------------ adjacency
    def adjacency(self, as_networkx=True):
        """Region adjacency graph (networkx); see :func:`polyregion.graph.adjacency`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> G = rs.adjacency()                   # quadrants sharing an axis segment
        >>> G.number_of_nodes(), sorted(G.edges())
        (4, [(0, 1), (0, 2), (1, 3), (2, 3)])
        """
        from .graph import adjacency

        return adjacency(self, as_networkx=as_networkx)

    def facets(self, i):
        """Irredundant, labelled facets of region ``i``; see :func:`polyregion.graph.facets`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> F = rs.facets(3)                     # two box facets, two neuron facets
        >>> len(F), F.labels, F.neighbours.tolist()
        (4, [[(-1, 0, 0)], [(-1, 1, 0)], [(0, 0, 0)], [(0, 1, 0)]], [-1, -1, 1, 2])
        """
        from .graph import facets

        return facets(self, i)

    def vertices(self, i):
        """Vertices of region ``i`` (2-D: counter-clockwise); see
        :func:`polyregion.graph.vertices`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> (rs.vertices(0).round(6) + 0.0).tolist()     # the square [-1, 0]^2
        [[-1.0, -1.0], [0.0, -1.0], [0.0, 0.0], [-1.0, 0.0]]
        """
        from .graph import vertices

        return vertices(self, i)

    def linear_regions(self, rtol=1e-9):
        """Merge adjacent regions with equal affine maps; see
        :func:`polyregion.graph.linear_regions`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> rs.linear_regions()                  # four different maps: nothing merges
        LinearRegions(n_linear=4, n_activation=4)
        """
        from .graph import linear_regions

        return linear_regions(self, rtol=rtol)

    def decision_regions(self):
        """The decision boundary ``{f = 0}`` region by region; see
        :func:`polyregion.graph.decision_regions`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, -1.0]])],
        ...                              [np.zeros(2), [-0.5]])   # relu(x) - relu(y) - 0.5
        >>> db = pr.enumerate_regions(net, pr.Box.cube(2)).decision_regions()
        >>> db.regions.tolist(), (db.b.round(6) + 0.0).tolist()  # x = 0.5; x - y = 0.5
        ([2, 3], [0.5, 0.353553])
        """
        from .graph import decision_regions

        return decision_regions(self)

    def distance_to_region_boundary(self, X, details=False):
        """Distance from points to the boundary of their own region; see
        :func:`polyregion.distance_to_region_boundary`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> rs.distance_to_region_boundary([[0.5, 0.25]]).tolist()   # nearest: y = 0
        [0.25]
        """
        from .distances import distance_to_region_boundary

        return distance_to_region_boundary(self, X, details=details)

    def distance_to_decision_boundary(self, X, **kwargs):
        """Distance from points to the decision boundary, using these regions; see
        :func:`polyregion.distance_to_decision_boundary`.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, -1.0]])],
        ...                              [np.zeros(2), [-0.5]])   # relu(x) - relu(y) - 0.5
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
        >>> rs.distance_to_decision_boundary([[1.0, 0.0]]).round(6).tolist()  # to x - y = 0.5
        [0.353553]
        """
        from .distances import distance_to_decision_boundary

        return distance_to_decision_boundary(self, X, **kwargs)

    # ------------------------------------------------------------------ files
    def save(self, path):
        """Write the regions, the network and the domain to an npz file.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "regions.npz")
        >>> rs.save(path); pr.RegionSet.load(path) == rs
        True
        """
        from .io.formats import domain_to_arrays
        from .network import network_to_arrays

        arrays = {
            "format_version": np.array(REGIONS_FORMAT_VERSION),
            "codes": self.codes,
            "points": self.points,
            "radii": self.radii,
            "stats": np.array(json.dumps({k: v for k, v in asdict(self.stats).items()})),
            "tolerances": np.array(json.dumps(asdict(self.tolerances))),
        }
        arrays.update(network_to_arrays(self.net, prefix="net_"))
        arrays.update(domain_to_arrays(self.domain))
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path):
        """Read a RegionSet written by :meth:`save`, or open a directory written by
        ``enumerate_regions(..., out=path)`` (a disk-backed RegionSet).

        Only the arrays of the format are read (other members of the npz are never
        decompressed), at most :data:`polyregion.io.formats.MAX_NPZ_BYTES` in total,
        without pickles. The file is then checked against itself: the network and the
        domain are valid; ``codes`` has one integer entry per hidden neuron, each a piece
        index of its neuron, and no two equal rows; ``points`` are finite, inside the
        domain (up to ``feasibility * scale`` plus rounding) and as many as the codes;
        ``radii`` are finite and > 0; and for :data:`LOAD_CHECK_SAMPLES` regions chosen
        at random (fixed seed) the network's code at the stored point is the stored code.
        These checks cost one pass over the arrays and a forward pass of 256 points.

        Raises
        ------
        FileFormatError
            Any of the above fails, or the file is missing, corrupt, truncated, of
            another format version, or over the size limit.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
        >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "regions.npz")
        >>> rs.save(path)
        >>> back = pr.RegionSet.load(path)
        >>> len(back), back.codes.tolist() == rs.codes.tolist()
        (4, True)
        """
        from .io.formats import DOMAIN_MEMBER, domain_from_arrays, read_npz
        from .network import NETWORK_MEMBER, network_from_arrays

        if os.path.isdir(path):
            from .enumerate.scale import open_region_dir

            return open_region_dir(path)
        data = read_npz(path, names=lambda k: k in _REGION_MEMBERS or DOMAIN_MEMBER.fullmatch(k)
                        or k.startswith("net_") and NETWORK_MEMBER.fullmatch(k[4:]))
        fv = np.asarray(data.get("format_version", -1))
        v = int(fv.ravel()[0]) if fv.size == 1 and fv.dtype.kind in "iu" else None
        if v is not None and v > REGIONS_FORMAT_VERSION:
            raise FileFormatError(
                f"{os.fspath(path)!r} has RegionSet format_version {v}, newer than this "
                f"polyregion understands ({REGIONS_FORMAT_VERSION}); upgrade polyregion."
            )
        if v != REGIONS_FORMAT_VERSION:
            raise FileFormatError(
                f"{os.fspath(path)!r} is not a RegionSet file of format version "
                f"{REGIONS_FORMAT_VERSION} (found format_version {fv.tolist()!r})."
            )
        if not {"codes", "points", "radii", "net_W0"} <= set(data):
            raise FileFormatError(
                f"{os.fspath(path)!r} is not a valid RegionSet file: it lacks the arrays "
                "codes, points, radii and net_W0 (is it a network file? use pr.load).")
        try:
            net = network_from_arrays(data, os.fspath(path), prefix="net_")
            domain = domain_from_arrays(data)
            stats = RegionStats(**json.loads(str(data["stats"])))
            tol = Tolerances(**json.loads(str(data["tolerances"])))
            codes, points, radii, index = _check_loaded(net, domain, data, tol,
                                                        os.fspath(path))
            rs = cls(net, domain, codes, points, radii, stats=stats, tolerances=tol,
                     sort=False)
            rs._index = index
            return rs
        except FileFormatError:
            raise
        except Exception as exc:
            raise FileFormatError(f"{os.fspath(path)!r} is not a valid RegionSet file: {exc}") from None
