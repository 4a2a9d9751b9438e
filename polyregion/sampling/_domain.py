"""Uniform points of a bounded domain, and the input checks shared by the sampling modules.

What it computes
----------------
:func:`sample_domain` draws points of a bounded domain in its enumeration coordinates,
uniform or (hit-and-run) approximately uniform; :class:`_Sampler` is the stateful sampler
that :func:`~polyregion.sampling.estimate_count` and :func:`~polyregion.sampling.verify`
draw their chunks from.

Method and cost
---------------
A :class:`~polyregion.Box` is sampled directly (independent uniform coordinates,
``O(d)`` per point). A bounded :class:`~polyregion.Polytope` is sampled by rejection from
its bounding box when a pilot run of :data:`~polyregion.config.PILOT_DRAWS` draws accepts
at least :data:`~polyregion.config.MIN_ACCEPTANCE` of them (``O(m d / acceptance)`` per
point, ``m`` facets), otherwise by hit-and-run: :data:`~polyregion.config.HR_CHAINS`
parallel chains started at the Chebyshev centre, burn-in ``100 + 20 d^2`` steps
(:data:`~polyregion.config.HR_BURN_IN`), one point per chain every ``d`` steps (``O(m d^2)``
per point; approximately uniform and correlated). A :class:`~polyregion.Slice` is
sampled in its ``t``-space, through its inner domain. All of ``R^d``
(:class:`~polyregion.Space`) cannot be sampled uniformly and is refused.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import HR_BURN_IN, HR_CHAINS, MIN_ACCEPTANCE, PILOT_DRAWS
from ..domain import Box, Domain, Slice, Space
from ..errors import InvalidDomainError, InvalidInputError

SAMPLERS = ("auto", "rejection", "hit-and-run")

# ---------------------------------------------------------------------------- checks


def _check_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(f"`{name}` must be an int >= {minimum}; got {value!r}.")
    return int(value)


def _check_seed(seed):
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(
            f"`seed` must be a non-negative int, a numpy Generator or None; got {seed!r}.")
    return np.random.default_rng(int(seed))


def _check_fraction(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not 0.0 < v < 1.0:
        raise InvalidInputError(f"`{name}` must be a number in (0, 1); got {value!r}.")
    return v


def _num(x):
    """``x`` as a float for JSON, None when it is not finite."""
    x = float(x)
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------- sampling


def _base_domain(domain):
    """The domain that is sampled: the inner domain of a Slice, else the domain itself."""
    return domain.inner if isinstance(domain, Slice) else domain


def _refuse_unbounded(domain, what="uniform sampling"):
    base = _base_domain(domain)
    if isinstance(base, Space) or not base.bounded:
        raise InvalidDomainError(
            f"`domain` must be bounded for {what}: uniform sampling on an unbounded set such "
            f"as all of R^d is undefined; got {domain!r}. Give a Box, a bounded Polytope or a "
            "Slice whose inner domain is bounded.")


class _Sampler:
    """Uniform (or, for hit-and-run, approximately uniform) points of a bounded domain."""

    def __init__(self, domain, rng, method="auto"):
        if method not in SAMPLERS:
            raise InvalidInputError(f"`sampler` must be one of {SAMPLERS}; got {method!r}.")
        _refuse_unbounded(domain)
        base = _base_domain(domain)
        self.rng = rng
        self.dim = base.dim
        self.lo, self.hi = base.bounds()
        self.A, self.b = base.halfspaces()
        self.correlated = False
        if isinstance(base, Box) and method != "hit-and-run":
            self.kind, self.acceptance = "box", 1.0
            self.description = "uniform in the box"
            return
        if method == "hit-and-run":
            self._start_hit_and_run(base)
            return
        pilot = rng.uniform(self.lo, self.hi, size=(PILOT_DRAWS, self.dim))
        acc = float(np.mean(np.all(pilot @ self.A.T < self.b, axis=1)))
        if method == "rejection" and acc == 0.0:
            raise InvalidInputError(
                f"`sampler`='rejection' accepted none of {PILOT_DRAWS} pilot draws from the "
                f"bounding box of {domain!r}; use sampler='hit-and-run' or 'auto'.")
        if method == "rejection" or acc >= MIN_ACCEPTANCE:
            self.kind, self.acceptance = "rejection", acc
            self.description = f"rejection from the bounding box (acceptance {acc:.3g})"
        else:
            self._start_hit_and_run(base)

    def _start_hit_and_run(self, base):
        d = self.dim
        self.kind, self.acceptance, self.correlated = "hit-and-run", None, True
        self.thin = d
        burn = HR_BURN_IN[0] + HR_BURN_IN[1] * d * d
        self.description = (f"hit-and-run ({HR_CHAINS} chains, burn-in {burn}, thinning {d}; "
                            "approximately uniform, correlated)")
        self.X = np.repeat(base.interior_point()[None, :], HR_CHAINS, axis=0)
        for _ in range(burn):
            self._hr_step()

    def _hr_step(self):
        X, A, b = self.X, self.A, self.b
        U = self.rng.normal(size=X.shape)
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        AU = U @ A.T
        S = np.maximum(b - X @ A.T, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            R = S / AU
        tmax = np.min(np.where(AU > 0, R, np.inf), axis=1)
        tmin = np.max(np.where(AU < 0, R, -np.inf), axis=1)
        t = tmin + (tmax - tmin) * self.rng.uniform(size=X.shape[0])
        self.X = X + t[:, None] * U

    def draw(self, m):
        if self.kind == "box":
            return self.rng.uniform(self.lo, self.hi, size=(m, self.dim))
        if self.kind == "rejection":
            out, have = [], 0
            while have < m:
                k = int(1.1 * (m - have) / self.acceptance) + 64
                P = self.rng.uniform(self.lo, self.hi, size=(k, self.dim))
                P = P[np.all(P @ self.A.T < self.b, axis=1)]
                out.append(P)
                have += len(P)
            return np.concatenate(out)[:m]
        out, have = [], 0
        while have < m:
            for _ in range(self.thin):
                self._hr_step()
            out.append(self.X.copy())
            have += self.X.shape[0]
        return np.concatenate(out)[:m]


def sample_domain(domain, n, seed=0, sampler="auto"):
    """Uniform points of a bounded domain, in its enumeration coordinates.

    Parameters
    ----------
    domain : Box, Polytope or Slice
        Bounded; for a Slice the points are in ``t``-space (``domain.to_input`` maps them
        to the network's input).
    n : int
    seed : int, numpy Generator or None
    sampler : {"auto", "rejection", "hit-and-run"}
        How a Polytope is sampled (see :mod:`polyregion.sampling._domain`); a Box is
        sampled directly unless ``"hit-and-run"`` is forced.

    Returns
    -------
    ndarray, shape (n, domain.dim)

    Raises
    ------
    InvalidDomainError
        The domain is unbounded.

    Examples
    --------
    >>> import polyregion as pr
    >>> from polyregion.sampling import sample_domain
    >>> T = sample_domain(pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1]), 1000, seed=0)
    >>> T.shape, bool((T.sum(axis=1) < 1).all())
    ((1000, 2), True)
    """
    if not isinstance(domain, Domain):
        raise InvalidDomainError(
            f"`domain` must be a Box, Polytope or Slice; got {type(domain).__name__}.")
    n = _check_int(n, "n")
    return _Sampler(domain, _check_seed(seed), sampler).draw(n)
