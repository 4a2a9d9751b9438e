"""Sampling estimates of the region count, exact volumes, and exact-vs-sampled verification.

What it computes
----------------
:func:`estimate_count` draws uniform points in a bounded domain, counts how often each
distinct activation pattern occurs and reports the distinct patterns seen, Chao1 with a
log-normal confidence interval, ACE, the first-order jackknife and the Good–Turing sample
coverage (:mod:`~polyregion.sampling.estimate`). Region volumes vary over many orders of
magnitude, so on real networks every such estimate is a lower bound; the exact count of
:func:`~polyregion.enumerate_regions` is the truth. :func:`region_volumes` gives the exact
volume of every region (:mod:`~polyregion.sampling.volumes`), and :func:`verify` checks
an exact :class:`~polyregion.RegionSet` against fresh samples: missing patterns, the
volume sum, and a goodness-of-fit test of the hit counts against the exact volumes
(:mod:`~polyregion.sampling.verification`). The formulas are in ``docs/sampling.md``.

Modules, the data flowing one way (network -> samples -> patterns -> estimates / checks):

- :mod:`~polyregion.sampling._domain`: uniform points of a domain (:func:`sample_domain`:
  direct, rejection or hit-and-run) and the shared input checks;
- :mod:`~polyregion.sampling._codes`: patterns of sampled points (one forward pass,
  :mod:`polyregion._forward`), packed into bits, keyed, counted and looked up;
- :mod:`~polyregion.sampling.estimate`: :class:`CountEstimate`, :func:`estimate_count`,
  :func:`estimate_from_abundances`;
- :mod:`~polyregion.sampling.volumes`: :func:`region_volumes`, :func:`domain_volume`;
- :mod:`~polyregion.sampling.verification`: :class:`VerificationReport`, :func:`verify`.

Method and cost
---------------
Sampling costs one forward pass per point (4-15 µs per point for the benchmark nets on a
loaded 2-core machine) and memory for one chunk plus ``16 + packed bytes`` per distinct
pattern, whatever the number of points. Volumes cost about 1-3 ms per region in 3-D and
up. The constants of these modules are named in :mod:`polyregion.config` (sampling
block).
"""

from ..config import ACE_RARE, GOF_EXCEEDANCES, MIN_ACCEPTANCE, QHULL_VERTEX_SLACK
from ._codes import _Codec, _CodeIndex, _forward_codes, _mix64, _PatternTable
from ._domain import SAMPLERS, _Sampler, sample_domain
from .estimate import CountEstimate, estimate_count, estimate_from_abundances
from .verification import VerificationReport, _gof_test, _pool_groups, verify
from .volumes import (_INACTIVE_B, _batch_constraints, _cell_volume, _lasserre_volume,
                      _polygon_area, _qhull_volume, domain_volume, region_volumes)
from ..config import HR_CHAINS as _HR_CHAINS, PILOT_DRAWS as _PILOT

__all__ = [
    "CountEstimate",
    "VerificationReport",
    "estimate_count",
    "estimate_from_abundances",
    "verify",
    "region_volumes",
    "domain_volume",
    "sample_domain",
]
