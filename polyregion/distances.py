"""Exact Euclidean distances from points to region boundaries and to the decision boundary.

What it computes
----------------
:func:`distance_to_region_boundary`: for a point ``x`` and its cell ``P`` (the closure of
the set of points with the activation code of ``x``), the distance from ``x`` to the
boundary of ``P``. With ``P = {y : A y <= b}`` (unit rows) and ``x`` in ``P``, the largest
ball around ``x`` inside ``P`` has radius ``min_i (b_i - a_i . x)``: a ball lies in ``P``
iff it lies in every half-space, so the minimum over *all* rows (redundant ones included)
is the exact distance, and no irredundancy LP is needed. The rows are the neuron
hyperplanes of ``P`` (pre-activation ``u_k = t`` for the breakpoints ``t`` adjacent to the
neuron's piece; for a max layer, ``u_j = u_i`` between each window's maximum ``i`` and its
other entries ``j``); the domain's facets are reported separately. Nothing is enumerated:
the rows come from the point's own code by a forward pass that carries the Jacobian
(:mod:`polyregion._rows`).

:func:`distance_to_decision_boundary`: the distance from ``x`` to the nearest point of the
domain where the prediction changes: ``{f = 0}`` for one output (``sign f`` changes), and
for ``K > 1`` outputs the set where ``argmax f`` stops being the predicted class ``c``,
i.e. where ``f_j >= f_c`` for some ``j != c``. On each linear region ``P`` the difference
``g = f_c - f_j`` (or ``sign(f(x)) f``) is affine, so the distance to
``P n {g <= 0}`` is a convex quadratic programme (a projection onto a polytope). The
global minimum over regions and classes is the answer (by continuity it lies on
``{g = 0}``, the boundary itself).

Method
------
Regions come from an exact enumeration of the domain (``method="global"``, done once for
all points) or, per point, of the box ``|y - x|_inf <= u`` intersected with the domain,
where ``u`` is the distance to a known boundary point found by bisection on the segments
from ``x`` to the nearest points of ``X`` with another prediction (``method="local"``;
the ball of radius ``u`` holds the nearest boundary point and lies in that box). For one
point, candidate (region, class) pairs are sorted by a lower bound, the larger of the
region's largest constraint violation at ``x`` (``max_i (a_i . x - b_i)``, unit rows) and
the distance from ``x`` to the half-space ``{g <= 0}``; projections are solved in that
order until the bound reaches the best distance found, which is then exact. Each
projection is a least-distance programme solved as a non-negative least-squares problem
(Lawson & Hanson, *Solving Least Squares Problems*, ch. 23; ``scipy.optimize.nnls``, an
active-set method that is exact up to round-off), with the result checked for feasibility
(``rtol``); should the check fail, the projection is solved again with cvxpy (Clarabel).

Cost
----
Region distances: one forward pass with Jacobians, ``O(n * sum(widths) * width * dim)``.
Decision distances: one enumeration (global) or one small enumeration per point (local),
then a few projections per point (~50 microseconds each for small problems).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._rows import cell_rows, row_count
from .config import DEFAULT_TOLERANCES
from .errors import InvalidInputError, SolverError
from .network import as_points, cell_codes, domain_frame

__all__ = [
    "distance_to_region_boundary", "distance_to_boundary", "RegionDistances",
    "distance_to_decision_boundary", "DecisionDistances",
]


# ---------------------------------------------------------------------------- inputs
def _resolve(rs_or_net, domain, name="rs_or_net"):
    """``(enum_net, domain, rs)`` for a RegionSet or a Network (+ optional domain)."""
    from .domain import Space, as_domain
    from .network import Network
    from .regions import RegionSet

    if isinstance(rs_or_net, RegionSet):
        if domain is not None and domain is not rs_or_net.domain:
            raise InvalidInputError(
                f"`domain` must be None when `{name}` is a RegionSet (its own domain is used); "
                f"got {domain!r}.")
        return rs_or_net.enum_net, rs_or_net.domain, rs_or_net
    if not isinstance(rs_or_net, Network):
        raise InvalidInputError(
            f"`{name}` must be a polyregion.Network or RegionSet; got {type(rs_or_net).__name__}.")
    if domain is None:
        domain = Space(rs_or_net.input_dim)
    domain = as_domain(domain, rs_or_net.input_dim)
    return rs_or_net.for_domain(domain), domain, None


def _tolerances(rs, tolerances):
    """A RegionSet's tolerances, else ``tolerances`` (default DEFAULT_TOLERANCES)."""
    from .config import Tolerances

    if rs is not None:
        if tolerances is not None and tolerances != rs.tolerances:
            raise InvalidInputError(
                "`tolerances` must be None with a RegionSet (its own `rs.tolerances` are "
                f"used); got {tolerances!r}.")
        return rs.tolerances
    if tolerances is None:
        return DEFAULT_TOLERANCES
    if not isinstance(tolerances, Tolerances):
        raise InvalidInputError(
            f"`tolerances` must be a polyregion.Tolerances; got {type(tolerances).__name__}.")
    return tolerances


def _points(X, dim, name="X"):
    return as_points(X, dim, name, note=" (enumeration coordinates of the domain)")


# ---------------------------------------------------------------------------- forward + Jacobian
def _chunks(n, per_row):
    step = max(1, int(4_000_000 // max(per_row, 1)))
    return range(0, n, step), step


# ---------------------------------------------------------------------------- region boundary
@dataclass(frozen=True)
class RegionDistances:
    """Distances from points to the boundary of their own linear region.

    Attributes
    ----------
    distance : ndarray (n,)
        Euclidean distance from each point to the nearest neuron hyperplane bounding its
        cell, i.e. to the boundary of the cell in the whole space (in the plane of a
        Slice); ``inf`` when no neuron bounds the cell (e.g. a network without hidden
        neurons). Domain facets are not counted here.
    facet : ndarray (n, 3) int64
        ``(layer, unit, breakpoint)`` of a nearest neuron hyperplane (for a max layer
        ``(layer, window, position)`` of the entry that ties with the window's maximum
        there); ``-1`` rows when ``distance`` is inf.
    domain_distance : ndarray (n,)
        ``min`` over the domain's facets of ``b_i - a_i . x`` (unit rows): the distance to
        the domain's boundary for points inside it (negative outside; inf for Space).
    codes : ndarray (n, n_neurons) uint8
        Activation code of each point (the cell measured).
    """

    distance: np.ndarray
    facet: np.ndarray
    domain_distance: np.ndarray
    codes: np.ndarray

    @property
    def boundary_distance(self) -> np.ndarray:
        """Distance to the boundary of the region clipped to the domain:
        ``min(distance, domain_distance)`` (for points inside the domain)."""
        return np.minimum(self.distance, self.domain_distance)


def distance_to_region_boundary(rs_or_net, X, domain=None, details=False, tolerances=None):
    """Exact Euclidean distance from each point to the boundary of its own linear region.

    For a point ``x`` in the cell ``P = {y : A y <= b}`` (unit rows, built from the code of
    ``x``), the distance to the boundary of ``P`` is ``min_i (b_i - a_i . x)``: exact for a
    point of a convex polyhedron, redundant rows included. Only neuron hyperplanes are
    counted (the cell in the whole space, or in the plane of a Slice); the distance to the
    domain's boundary is reported separately (``details=True``). Nothing is enumerated.

    Parameters
    ----------
    rs_or_net : RegionSet or Network
        With a RegionSet, its network and domain are used.
    X : array_like (n, dim)
        Points in the domain's enumeration coordinates (``t`` for a Slice; the input
        otherwise). Distances are measured in those coordinates (for a Slice with
        orthonormal directions they are input distances within the slice).
    domain : Domain, optional
        Only with a Network: gives the coordinates (a Slice) and the facets of
        ``domain_distance``. Default: all of R^d.
    details : bool
        ``True``: return a :class:`RegionDistances` (nearest facet's label, domain
        distance, codes) instead of the array of distances.
    tolerances : Tolerances, optional
        Only with a Network: the constant-neuron rule (``zero_row``) that labels the
        cells, as ``enumerate_regions(..., tolerances=...)`` would (default
        :data:`~polyregion.config.DEFAULT_TOLERANCES`). A RegionSet's own are used.

    Returns
    -------
    ndarray (n,) or RegionDistances
        A point on a neuron hyperplane of its cell has distance 0.

    Raises
    ------
    InvalidInputError
        Bad ``X``, a ``domain`` next to a RegionSet, or not a Network / RegionSet.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> pr.distance_to_region_boundary(net, [[0.5, 2.0], [-3.0, 1.0]])   # cells: quadrants
    array([0.5, 1. ])
    >>> r = pr.distance_to_region_boundary(net, [[0.5, 2.0]], pr.Box.cube(2, 3.0), details=True)
    >>> r.facet.tolist(), r.domain_distance.tolist()
    ([[0, 0, 0]], [1.0])
    """
    enum_net, dom, rs = _resolve(rs_or_net, domain)
    tol = _tolerances(rs, tolerances)
    X = _points(X, enum_net.input_dim)
    n = X.shape[0]
    codes = cell_codes(enum_net, X, tol, *domain_frame(dom))
    dist = np.full(n, np.inf)
    facet = np.full((n, 3), -1, np.int64)
    d = enum_net.input_dim
    R = row_count(enum_net)
    if R == 0:
        starts, step = (), n
    else:
        per = d * max([W.shape[0] for W in enum_net.weights] + [d]) + 4 * R * d
        starts, step = _chunks(n, per)
    for s in starts:
        sl = slice(s, s + step)
        rows = cell_rows(enum_net, codes[sl], tolerances=tol)
        slack = np.where(rows.valid, rows.b - np.einsum("nrd,nd->nr", rows.A, X[sl]), np.inf)
        k = np.argmin(slack, axis=1)
        v = slack[np.arange(len(k)), k]
        fin = np.isfinite(v)
        dist[sl] = np.where(fin, np.maximum(v, 0.0), np.inf)
        facet[sl] = np.where(fin[:, None], rows.labels[k], -1)
    if not details:
        return dist
    Ad, bd = dom.halfspaces()
    ddist = (np.min(bd[None, :] - X @ Ad.T, axis=1) if Ad.shape[0]
             else np.full(n, np.inf))
    return RegionDistances(distance=dist, facet=facet, domain_distance=ddist, codes=codes)


# ---------------------------------------------------------------------------- projections
def _ldp(A, b, x0, rtol_abs):
    """Nearest point to ``x0`` of ``{x : A x <= b}`` (rows unit or zero-free).

    Returns ``(distance, x, ok)``; ``(inf, None, True)`` when the set is empty. ``ok`` is
    False when the active-set answer failed its feasibility check.
    """
    from scipy.optimize import nnls

    h = A @ x0 - b
    hmax = float(h.max()) if h.size else 0.0
    if hmax <= 0:
        return 0.0, x0.copy(), True
    d = A.shape[1]
    s = hmax
    E = np.vstack([-A.T, (h / s)[None, :]])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    try:
        u, rnorm = nnls(E, f, maxiter=50 * E.shape[1])
    except RuntimeError:
        return np.inf, None, False
    r = E @ u - f
    if rnorm <= 1e-12 or r[-1] >= 0:
        # ||r||^2 = 1 / (1 + ||y/s||^2): a residual this small means no feasible point
        # within 1e12 * s; confirm emptiness with the feasibility check of the caller.
        return np.inf, None, True
    y = -r[:d] / r[-1] * s
    x = x0 + y
    ok = bool(np.all(A @ x - b <= rtol_abs))
    return float(np.linalg.norm(y)), x, ok


def _cvxpy_projection(A, b, x0):
    """Same projection with cvxpy (Clarabel); ``(inf, None)`` when infeasible."""
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover
        raise SolverError("A projection failed its check and cvxpy, the fallback, is not "
                          "installed (`pip install cvxpy`).") from exc
    x = cp.Variable(A.shape[1])
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x - x0)), [A @ x <= b])
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        prob.solve()
    if prob.status in ("infeasible", "infeasible_inaccurate"):
        return np.inf, None
    if x.value is None:
        raise SolverError(f"cvxpy could not solve a projection QP (status {prob.status}).")
    return float(np.linalg.norm(x.value - x0)), np.asarray(x.value)


# ---------------------------------------------------------------------------- decision boundary
@dataclass(frozen=True)
class DecisionDistances:
    """Distances from points to the decision boundary.

    Attributes
    ----------
    distance : ndarray (n,)
        Exact Euclidean distance (enumeration coordinates) from each point to the nearest
        point of the domain where the prediction changes; ``inf`` when the prediction is
        the same on the whole domain; NaN when ``method="local"`` found no point with
        another prediction to start from (see :func:`distance_to_decision_boundary`).
    point : ndarray (n, dim)
        A nearest boundary point (NaN rows where ``distance`` is not finite).
    other : ndarray (n,) int64
        The class ``j`` with ``f_j = f_c`` at ``point`` (multi-class); -1 for one output.
    predicted : ndarray (n,) int64
        Predicted class ``c = argmax f`` (one output: 1 where ``f > 0``, else 0).
    n_projections : ndarray (n,) int64
        Projections (QPs) solved per point.
    n_regions : ndarray (n,) int64
        Regions searched per point (all regions of the domain for ``"global"``).
    method : str
        ``"global"`` or ``"local"``.
    n_fallback : int
        Projections that failed the feasibility check and were re-solved by cvxpy.
    """

    distance: np.ndarray
    point: np.ndarray
    other: np.ndarray
    predicted: np.ndarray
    n_projections: np.ndarray
    n_regions: np.ndarray
    method: str
    n_fallback: int = 0


class _Pieces:
    """Constraint rows and output maps of a set of regions (enumeration coordinates)."""

    def __init__(self, enum_net, domain, codes, tolerances):
        self.n = codes.shape[0]
        self.zero_row = tolerances.zero_row
        rows = cell_rows(enum_net, codes, domain, tolerances=tolerances)
        self.A, self.b, self.ok = rows.A, rows.b, rows.valid
        self.Mo, self.co = rows.Mo, rows.co
        gn = np.linalg.norm(self.Mo, axis=2)
        self.gscale = float(gn.max()) if gn.size else 0.0


def _search(P, x0, c, one_output, rtol_abs, fallback):
    """Best-first projection search for one point. Returns (dist, point, region, other,
    n_proj, n_fallback)."""
    if P.n == 0:
        return np.inf, None, -1, -1, 0, 0
    viol = np.max(np.einsum("nrd,d->nr", P.A, x0) - P.b, axis=1, initial=-np.inf)
    regLB = np.maximum(viol, 0.0)
    if one_output:
        sgn = 1.0 if c == 1 else -1.0
        H = sgn * P.Mo[:, :1, :]                       # (n, 1, d): constraint H x + h0 <= 0
        h0 = sgn * P.co[:, :1]
        others = np.array([-1])
    else:
        others = np.array([j for j in range(P.Mo.shape[1]) if j != c])
        H = P.Mo[:, [c], :] - P.Mo[:, others, :]
        h0 = P.co[:, [c]] - P.co[:, others]
    hn = np.linalg.norm(H, axis=2)
    hv = np.einsum("nkd,d->nk", H, x0) + h0
    flat = hn <= P.zero_row * max(P.gscale, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        halfLB = np.where(flat, np.where(hv <= 0, 0.0, np.inf), np.maximum(hv, 0.0) / hn)
    LB = np.maximum(regLB[:, None], halfLB)
    order = np.argsort(LB, axis=None, kind="stable")
    flatLB = LB.ravel()
    best, bx, breg, bj, nproj, nfb = np.inf, None, -1, -1, 0, 0
    K = H.shape[1]
    for idx in order:
        if not flatLB[idx] < best:
            break
        r, k = divmod(int(idx), K)
        ok = P.ok[r]
        A, b = P.A[r][ok], P.b[r][ok]
        if not flat[r, k]:
            A = np.vstack([A, H[r, k] / hn[r, k]])
            b = np.append(b, -h0[r, k] / hn[r, k])
        nproj += 1
        dist, x, good = _ldp(A, b, x0, rtol_abs)
        if not good:
            if not fallback:
                raise SolverError("A projection QP failed its feasibility check.")
            nfb += 1
            dist, x = _cvxpy_projection(A, b, x0)
        if dist < best:
            best, bx, breg, bj = dist, x, r, int(others[k])
    return best, bx, breg, bj, nproj, nfb


def _predict(enum_net, X):
    F = enum_net.forward(X)
    if F.shape[1] == 1:
        return (F[:, 0] > 0).astype(np.int64), F[:, 0] == 0
    c = np.argmax(F, axis=1)
    top = F[np.arange(len(c)), c]
    F2 = F.copy()
    F2[np.arange(len(c)), c] = -np.inf
    return c.astype(np.int64), F2.max(axis=1) >= top


def _local_bound(enum_net, X, pred, i, n_candidates):
    """Distance to a boundary point found by bisection toward the nearest points of ``X``
    with another prediction (inf if there is none)."""
    x0 = X[i]
    other = np.flatnonzero(pred != pred[i])
    if other.size == 0:
        return np.inf
    dd = np.linalg.norm(X[other] - x0, axis=1)
    near = other[np.argsort(dd)[:n_candidates]]
    lo = np.zeros(len(near))
    hi = np.ones(len(near))
    D = X[near] - x0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        same = _predict(enum_net, x0 + mid[:, None] * D)[0] == pred[i]
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return float(np.min(hi * np.linalg.norm(D, axis=1)))


def _local_domain(domain, x0, u):
    from .domain import Box, Polytope, Space

    lo, hi = x0 - u, x0 + u
    if isinstance(domain, Space):
        return Box(lo, hi)
    if isinstance(domain, Box):
        return Box(np.maximum(lo, domain.lo), np.minimum(hi, domain.hi))
    A, b = domain.halfspaces()
    d = len(x0)
    return Polytope(np.vstack([A, np.eye(d), -np.eye(d)]), np.concatenate([b, hi, -lo]))


def distance_to_decision_boundary(net, X, domain=None, method="auto", max_regions=100_000,
                                  n_candidates=8, rtol=1e-9, fallback=True, details=False,
                                  tolerances=None):
    """Exact Euclidean distance from each point to the decision boundary, inside a domain.

    One output: the boundary ``{f = 0}`` (where ``sign f`` changes). ``K > 1`` outputs: the
    points where ``argmax f`` stops being the point's predicted class ``c``, i.e.
    ``f_j = f_c`` for some ``j != c`` (ties count as a change). Only the part of the
    boundary inside ``domain`` is searched.

    On every linear region the problem is a projection onto a polytope (a convex QP):
    the regions are enumerated exactly, candidates are visited in the order of a lower
    bound (largest constraint violation, distance to the region's half-space
    ``{f_c - f_j <= 0}``) and pruned once the bound reaches the best distance, and each
    projection is solved by an active-set least-distance programme (``scipy`` NNLS),
    exact up to round-off; the answer is the minimum. See :mod:`polyregion.distances`.

    Parameters
    ----------
    net : Network or RegionSet
        A RegionSet of the domain is used as the regions (``method="global"``).
    X : array_like (n, dim)
        Points inside the domain, in its enumeration coordinates (``t`` for a Slice).
    domain : Domain
        Required with a Network (``Box``, ``Polytope``, ``Slice``; ``Space`` only with
        ``method="local"``).
    method : {"auto", "global", "local"}
        ``"global"``: enumerate the whole domain once (at most ``max_regions`` regions).
        ``"local"``: per point, enumerate only the box ``|y - x|_inf <= u`` (clipped to the
        domain), ``u`` the distance to a boundary point found by bisection toward the
        ``n_candidates`` nearest points of ``X`` with another prediction; a point for
        which ``X`` holds no other prediction gets NaN. ``"auto"``: global, falling back to
        local when the domain has more than ``max_regions`` regions.
    max_regions : int
        Budget of each enumeration.
    n_candidates : int
        Segments bisected per point in local mode.
    rtol : float
        Feasibility tolerance of a projection's answer, relative to the domain's scale
        (``scale`` = half-diagonal of its bounding box, or ``max|x| + 1`` for an
        unbounded domain). The distances themselves are exact up to round-off (errors of
        1e-15 to 1e-14 against closed forms and exact 1-D roots in the tests), except that
        regions thinner than the enumeration's feasibility tolerance
        (``Tolerances.feasibility``, 1e-11 of the domain's scale) are not enumerated.
    fallback : bool
        Re-solve with cvxpy a projection that fails its check (else raise SolverError).
    details : bool
        Return a :class:`DecisionDistances` instead of the array of distances.
    tolerances : Tolerances, optional
        For the enumerations and the rows of their regions (default
        :data:`~polyregion.config.DEFAULT_TOLERANCES`); the regions of a RegionSet use
        its own ``rs.tolerances``.

    Returns
    -------
    ndarray (n,) or DecisionDistances
        Points on the boundary (``f = 0``, or a tie for the top class) have distance 0.

    Raises
    ------
    InvalidInputError
        Bad arguments, points outside the domain, ``method="global"`` on an unbounded
        domain.
    BudgetExceededError
        ``method="global"`` and more than ``max_regions`` regions.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, 1.0]])],
    ...                              [np.zeros(2), np.array([-1.0])])  # relu(x) + relu(y) - 1
    >>> d = pr.distance_to_decision_boundary(net, [[0.0, 0.0], [2.0, 2.0]], pr.Box.cube(2, 3.0))
    >>> bool(np.allclose(d, [np.sqrt(0.5), 1.5 * np.sqrt(2)]))    # both to (0.5, 0.5)
    True
    """
    from .domain import Space
    from .enumerate import enumerate_regions
    from .errors import BudgetExceededError

    if method not in ("auto", "global", "local"):
        raise InvalidInputError(
            f"`method` must be 'auto', 'global' or 'local'; got {method!r}.")
    if not isinstance(max_regions, (int, np.integer)) or max_regions < 1:
        raise InvalidInputError(f"`max_regions` must be a positive int; got {max_regions!r}.")
    if not isinstance(n_candidates, (int, np.integer)) or n_candidates < 1:
        raise InvalidInputError(f"`n_candidates` must be a positive int; got {n_candidates!r}.")
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise InvalidInputError(f"`rtol` must be a float in (0, 1); got {rtol!r}.")
    from .network import Network
    if isinstance(net, Network) and domain is None:
        raise InvalidInputError(
            "`domain` is required with a Network (the boundary is searched inside it).")
    enum_net, dom, rs = _resolve(net, domain, name="net")
    if rs is not None and tolerances is None:
        tolerances = rs.tolerances
    X = _points(X, enum_net.input_dim)
    n = X.shape[0]
    scale = dom.scale if dom.bounded else float(np.abs(X).max(initial=0.0)) + 1.0
    rtol_abs = rtol * scale
    if not np.all(dom.contains(X, tol=rtol_abs)):
        bad = np.flatnonzero(~dom.contains(X, tol=rtol_abs))
        raise InvalidInputError(
            f"Every row of `X` must lie inside `domain`; rows {bad[:5].tolist()} do not.")
    one = enum_net.output_dim == 1
    pred, tie = _predict(enum_net, X)

    if rs is not None:
        if method == "local":
            rs = None
        else:
            method = "global"
    if rs is None and method in ("auto", "global"):
        if isinstance(dom, Space) or not dom.bounded:
            if method == "global":
                raise InvalidInputError(
                    f"`method='global'` needs a bounded domain; got {dom!r}.")
            method = "local"
        else:
            try:
                rs = enumerate_regions(enum_net, dom if not hasattr(dom, "origin") else
                                       dom.inner, max_regions=max_regions,
                                       tolerances=tolerances)
            except BudgetExceededError:
                if method == "global":
                    raise
                method = "local"
            else:
                method = "global"

    dist = np.full(n, np.nan)
    pts = np.full((n, enum_net.input_dim), np.nan)
    other = np.full(n, -1, np.int64)
    nproj = np.zeros(n, np.int64)
    nreg = np.zeros(n, np.int64)
    nfb = 0
    if method == "global":
        edom = rs.domain.inner if hasattr(rs.domain, "origin") else rs.domain
        P = _Pieces(rs.enum_net, edom, rs.codes, rs.tolerances)
    for i in range(n):
        x0 = X[i]
        if tie[i]:
            dist[i], pts[i], nproj[i] = 0.0, x0, 0
            continue
        if method == "local":
            u = _local_bound(enum_net, X, pred, i, int(n_candidates))
            if not np.isfinite(u):
                continue
            ldom = _local_domain(dom.inner if hasattr(dom, "origin") else dom, x0,
                                 u * (1 + 1e-6) + rtol_abs)
            lrs = enumerate_regions(enum_net, ldom, max_regions=max_regions,
                                    tolerances=tolerances)
            P = _Pieces(enum_net, ldom, lrs.codes, lrs.tolerances)
        best, bx, _, bj, k, fb = _search(P, x0, int(pred[i]), one, rtol_abs, fallback)
        nproj[i], nreg[i], nfb = k, P.n, nfb + fb
        dist[i] = best
        other[i] = bj
        if bx is not None and np.isfinite(best):
            pts[i] = bx
    if not details:
        return dist
    return DecisionDistances(distance=dist, point=pts, other=other, predicted=pred,
                             n_projections=nproj, n_regions=nreg, method=method,
                             n_fallback=nfb)


def distance_to_boundary(net_or_rs, X, domain=None, decision=True, **kwargs):
    """Both distances of each point: to its region's boundary and to the decision boundary.

    A convenience wrapper of :func:`distance_to_region_boundary` and
    :func:`distance_to_decision_boundary` (exact; see those for the methods and
    tolerances).

    Parameters
    ----------
    net_or_rs : Network or RegionSet
    X : array_like, shape (n, d)
    domain : Domain, optional
        Needed for the decision distance when ``net_or_rs`` is a Network (default: the
        RegionSet's domain).
    decision : bool
        Also compute the decision-boundary distance (the expensive part).
    **kwargs
        Passed to :func:`distance_to_decision_boundary`.

    Returns
    -------
    dict
        ``{"region": ndarray (n,), "decision": ndarray (n,) or None}``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.array([[1.0, 1.0]])],
    ...                              [np.zeros(2), np.array([-1.0])])
    >>> out = pr.distance_to_boundary(net, [[0.25, 0.25]], pr.Box.cube(2))
    >>> np.round(out["region"], 6), np.round(out["decision"], 6)
    (array([0.25]), array([0.353553]))
    """
    from .regions import RegionSet

    own = isinstance(net_or_rs, RegionSet)        # its tolerances go to both distances
    region = distance_to_region_boundary(net_or_rs, X, domain=domain,
                                         tolerances=None if own else kwargs.get("tolerances"))
    if isinstance(region, tuple):
        region = region[0]
    dec = None
    if decision:
        if own:
            net, domain = net_or_rs.net, domain if domain is not None else net_or_rs.domain
            kwargs.setdefault("tolerances", net_or_rs.tolerances)
        else:
            net = net_or_rs
        if domain is None:
            from .errors import InvalidInputError

            raise InvalidInputError("`domain` is needed for the decision-boundary distance of "
                                    "a Network.")
        dec = distance_to_decision_boundary(net, X, domain, **kwargs)
        if isinstance(dec, tuple):
            dec = dec[0]
    return {"region": np.asarray(region), "decision": None if dec is None else np.asarray(dec)}
