"""Numerical tolerances: the one place where they are defined.

All lengths are Euclidean distances in the enumeration coordinates, *relative to the
domain's scale* (see :func:`Tolerances.scaled`): a cell counts as a region when it holds
a ball of radius ``feasibility * scale``, where ``scale`` is the half-diagonal of the
domain's bounding box (1 for unbounded domains).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Tolerances", "DEFAULT_TOLERANCES", "RESOLUTION", "DUPLICATE", "ON_PLANE"]

RESOLUTION = 16 * 2.0 ** -52
"""Relative float64 resolution of the enumeration coordinates: for a bounded domain whose
centre lies far from the origin compared with its size, the engine raises ``feasibility``
to ``RESOLUTION * max|center| / scale`` (the rounding of ``center + scale * x`` in units of
the domain's scale), so every witness point stays strictly inside its cell after it is
mapped back. It changes nothing unless ``max|center| / scale`` exceeds about 2800."""

DUPLICATE = 100.0
"""Two rows are the same hyperplane when their unit normals agree to ``1 - 1e-12`` in cosine
and their offsets to ``DUPLICATE * feasibility`` (facets of the graph; the planar
enumeration keeps its polygons for the graph's walk only when no cut came that close)."""

ON_PLANE = 1e-3
"""A neuron whose hyperplane passes within ``ON_PLANE * feasibility`` of a facet's centre is
treated as passing through it when the code across the facet is found by a forward pass."""


@dataclass(frozen=True)
class Tolerances:
    """Tolerances of the enumeration engine.

    Parameters
    ----------
    feasibility : float
        A cell is full-dimensional when its Chebyshev (inscribed-ball) radius exceeds
        ``feasibility * scale``. Genuine cells of He-initialised nets can have radii of
        1e-9, so this must stay well below that; default 1e-11.
    pivot : float
        Smallest magnitude of a simplex pivot element.
    zero_row : float
        A hyperplane row on a cell whose norm is at most ``zero_row`` times the larger of
        its layer's largest row and the size of the terms summed into the rows
        (``max_i sum_j |W_ij| ||M_j||``, ``M`` the previous layer's map on the cell) is
        the zero row: the neuron is constant on the cell (docs/tolerances.md, rule 4).
    max_simplex_iter : int
        Iteration cap of the Numba simplex before it reports failure.

    Examples
    --------
    >>> from polyregion.config import Tolerances
    >>> Tolerances().feasibility
    1e-11
    >>> Tolerances(feasibility=1e-9).scaled(2.0).feasibility
    2e-09
    """

    feasibility: float = 1e-11
    pivot: float = 1e-11
    zero_row: float = 1e-13
    max_simplex_iter: int = 10_000

    def __post_init__(self):
        from .errors import InvalidInputError

        for name in ("feasibility", "pivot", "zero_row"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0 and v < 1):
                raise InvalidInputError(
                    f"Tolerance `{name}` must be a float in (0, 1); got {v!r}."
                )
        if not (isinstance(self.max_simplex_iter, int) and self.max_simplex_iter > 0):
            raise InvalidInputError(
                f"`max_simplex_iter` must be a positive int; got {self.max_simplex_iter!r}."
            )

    def scaled(self, scale: float) -> "Tolerances":
        """Return the tolerances with ``feasibility`` multiplied by ``scale``."""
        return replace(self, feasibility=self.feasibility * float(scale))


DEFAULT_TOLERANCES = Tolerances()


# ---------------------------------------------------------------------------- sampling
# Constants of polyregion.sampling (estimates, verification, volumes); docs/sampling.md.

#: A bounded Polytope is sampled by rejection from its bounding box when at least this
#: share of a pilot run's draws is accepted (else by hit-and-run).
MIN_ACCEPTANCE = 0.05
#: Draws of the pilot run that measures the rejection sampler's acceptance.
PILOT_DRAWS = 4096
#: Parallel hit-and-run chains, all started at the domain's Chebyshev centre.
HR_CHAINS = 256
#: Hit-and-run burn-in: HR_BURN_IN[0] + HR_BURN_IN[1] * d**2 steps in dimension d.
HR_BURN_IN = (100, 20)
#: Patterns seen at most this often count as "rare" in ACE (Chao & Lee 1992).
ACE_RARE = 10
#: Qhull's vertices of a cell (unit coordinates) may violate its rows by at most this
#: much; beyond, Qhull has lost precision and the cell is measured exactly (Lasserre).
QHULL_VERTEX_SLACK = 1e-9
#: Unit normals closer than this (max-norm) are one facet in Lasserre's recursion, and
#: projected rows shorter than this are parallel to the facet's hyperplane.
SAME_NORMAL = 1e-12
#: Right-hand side of the padding rows ``0 . x <= INACTIVE_RHS`` of batched constraints.
INACTIVE_RHS = 2.0 ** 60
#: verify: the region volumes must sum to the domain's volume to this relative error.
VOLUME_SUM_RTOL = 1e-6
#: The Monte Carlo p-value of verify's check (c) stops drawing replicates at this many
#: exceedances (sequential Monte Carlo, Besag & Clifford 1991).
GOF_EXCEEDANCES = 10
#: verify's check (c): a replicate's G counts as an exceedance when it is at least
#: G_obs - GOF_TIE_RTOL * max(1, |G_obs|) (ties of the statistic up to rounding).
GOF_TIE_RTOL = 1e-9
#: Lasserre's recursion skips a facet that a parallel row puts more than
#: LASSERRE_OUTSIDE * radius outside (unit rows, radius: the cell's bounding ball).
LASSERRE_OUTSIDE = 1e-14


# ---------------------------------------------------------------------------- graph kernels
# Constants of the facet kernels (polyregion.graph._kernels_*), unit-scale coordinates.
# They are read when a kernel is compiled: after changing one, delete the Numba cache
# (polyregion/graph/__pycache__/*.nb[ic]), which does not notice edits outside a kernel's
# own module.

#: A row whose component inside a hyperplane is at most this long (unit rows) is
#: parallel to it: it bounds nothing there, and the plane is infeasible if the row is.
IN_PLANE_ZERO = 1e-12
#: ... in squared-sine form (``1 - cos^2`` of two unit rows), for the same test.
IN_PLANE_ZERO_SQ = 1e-24
#: Two unit rows with ``a.a' >= 1 - SAME_PLANE_COS`` have the same normal (with offsets
#: within ``DUPLICATE * feasibility``: the same hyperplane, one facet with two labels);
#: ``a.a' <= -1 + OPPOSITE_PLANE_COS`` opposite normals (the two sides of one facet).
SAME_PLANE_COS = 1e-12
OPPOSITE_PLANE_COS = 1e-9
#: A face's ball of radius ``r`` is certified when every row leaves at least
#: ``r * (1 - BALL_CERT_RTOL) - BALL_CERT_ATOL`` of room (rounding of the centre and radius).
BALL_CERT_RTOL = 1e-9
BALL_CERT_ATOL = 1e-15
#: A polytope's bounding sphere is enlarged by this relative and absolute amount, so that
#: rounding never puts a vertex outside it.
SPHERE_RTOL = 1e-12
SPHERE_ATOL = 1e-15
#: Rows farther than ``2 * radius + CERT_REACH_ATOL`` from a face's centre cannot touch it.
CERT_REACH_ATOL = 1e-12
#: The walk keeps a face only when its radius exceeds ``tol * (1 + WALK_RADIUS_MARGIN)``;
#: closer calls go to the per-region kernel.
WALK_RADIUS_MARGIN = 1e-6
#: The direction derivative of a pre-activation decides the side of a neuron at a facet's
#: centre when it exceeds this fraction of the row's norm (else the neuron is on the plane).
TANGENT_RTOL = 1e-9
#: Half-width of the cube the 2-D/3-D domain polytopes are cut from (bounded domains lie
#: in the unit ball of the unit-scale coordinates).
DOMAIN_CUBE_HALF = 2.0
