"""Exact-vs-sampled verification of a RegionSet.

What it computes
----------------
:func:`verify` checks an exact :class:`~polyregion.RegionSet` against fresh samples: the
stored codes are distinct and each stored interior point has its region's code; (a)
every sampled pattern must be a region of the set (each miss is an enumeration bug and is
listed); (b) the share of regions hit (informational); the region volumes sum to the
domain's volume; (c) a goodness-of-fit test of the hit frequencies against the exact
region volumes (:func:`~polyregion.sampling.region_volumes`): the G statistic with small
expected counts pooled, its p-value by Monte Carlo from the exact multinomial law (valid
for sparse tables; a correct result fails it with probability ``alpha``).

Method and cost
---------------
Samples come in chunks from :mod:`polyregion.sampling._domain`; their codes (the engines'
cell codes, with the set's tolerances) are packed, keyed and binary-searched among the
sorted keys of ``rs.codes`` (:class:`~polyregion.sampling._codes._CodeIndex`): one
forward pass and ``O(log n_regions)`` per point. Each listed missing point costs one
small LP. The volumes cost about 1-3 ms per region in 3-D and up (cached on the set);
check (c) costs a few dozen multinomial replicates of the pooled counts, each
``O(groups)``, on a correct result, and ``max(999, ceil(h / alpha) - 1)`` replicates
(``h`` = :data:`~polyregion.config.GOF_EXCEEDANCES`) on a failing one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..config import GOF_EXCEEDANCES, GOF_TIE_RTOL, VOLUME_SUM_RTOL
from ..errors import InvalidInputError
from ..network import domain_frame
from ._codes import _Codec, _CodeIndex, _PatternTable
from ._domain import _check_fraction, _check_int, _check_seed, _num, _refuse_unbounded, _Sampler
from .volumes import domain_volume, region_volumes

@dataclass
class VerificationReport:
    """Outcome of :func:`verify`.

    Attributes
    ----------
    passed : bool
        True when every check passed.
    reasons : list of str
        Why it failed (empty when it passed).
    checks : list of dict
        Every check: ``{"name", "passed", "detail"}``.
    n_samples, n_regions : int
    n_missing : int
        Sampled points whose activation pattern is not a region of the set.
    missing : list of dict
        Up to ``max_report`` of them: ``point`` (enumeration coordinates), ``code``,
        ``chebyshev_radius`` of the cell with that code (``> 0``: a genuine region the
        enumeration missed) and ``boundary_distance`` of the point to that cell's boundary.
    missing_patterns : int
        Distinct patterns among the missing points.
    hits : ndarray of int, shape (n_regions,)
        Samples that fell in each region.
    share_hit : float
        Share of regions hit at least once.
    expected_share_hit : float or None
        ``mean_i (1 - (1 - p_i)^n)`` from the exact volume shares ``p_i``.
    volume_sum, domain_volume : float or None
        Sum of the region volumes, and the domain's volume.
    gof : dict or None
        Check (c): ``test``, ``statistic`` (G), ``pvalue`` (Monte Carlo), ``groups``,
        ``replicates``, ``exceedances`` (replicates with ``G >= statistic``), ``alpha``,
        ``min_expected``.
    sampler : str
    """

    passed: bool
    reasons: list
    checks: list
    n_samples: int
    n_regions: int
    n_missing: int
    missing: list
    missing_patterns: int
    hits: np.ndarray = field(repr=False)
    share_hit: float = 0.0
    expected_share_hit: float | None = None
    volume_sum: float | None = None
    domain_volume: float | None = None
    gof: dict | None = None
    sampler: str = ""

    def to_dict(self):
        """JSON-ready summary (without the per-region ``hits`` array)."""
        return {
            "passed": bool(self.passed), "reasons": list(self.reasons),
            "checks": [dict(c) for c in self.checks],
            "n_samples": int(self.n_samples), "n_regions": int(self.n_regions),
            "n_missing": int(self.n_missing), "missing_patterns": int(self.missing_patterns),
            "missing": [{"point": [float(v) for v in m["point"]],
                         "code": [int(v) for v in m["code"]],
                         "chebyshev_radius": _num(m["chebyshev_radius"]),
                         "boundary_distance": _num(m["boundary_distance"])}
                        for m in self.missing],
            "share_hit": float(self.share_hit),
            "expected_share_hit": None if self.expected_share_hit is None
            else float(self.expected_share_hit),
            "volume_sum": None if self.volume_sum is None else _num(self.volume_sum),
            "domain_volume": None if self.domain_volume is None else _num(self.domain_volume),
            "gof": None if self.gof is None else {k: (_num(v) if isinstance(v, float) else v)
                                                  for k, v in self.gof.items()},
            "sampler": self.sampler,
        }

    def __str__(self):
        head = "PASSED" if self.passed else "FAILED"
        lines = [f"verify: {head} ({self.n_samples:,} samples, {self.n_regions:,} regions; "
                 f"{self.sampler})"]
        for c in self.checks:
            lines.append(f"  [{'ok' if c['passed'] else 'FAIL'}] {c['name']}: {c['detail']}")
        for m in self.missing:
            pt = ", ".join(f"{v:.6g}" for v in m["point"])
            lines.append(f"    missing point ({pt}): cell radius {m['chebyshev_radius']:.3g}, "
                         f"distance to its boundary {m['boundary_distance']:.3g}")
        return "\n".join(lines)


def _cell_radius(enum_net, code, domain, tolerances):
    from ..domain import _chebyshev
    from ..regions import cell_constraints

    A, b, _ = cell_constraints(enum_net, code, domain, tolerances)
    if A.shape[0] == 0:
        return float("inf")
    _, r = _chebyshev(A, b)
    return float(r)


def _boundary_distance(enum_net, code, domain, x, tolerances):
    from ..regions import cell_constraints

    A, b, _ = cell_constraints(enum_net, code, domain, tolerances)
    if A.shape[0] == 0:
        return float("inf")
    return float(np.min(b - A @ x))


def _pool_groups(expected, min_expected):
    """Group of each cell for the goodness-of-fit statistic: cells in ascending order
    of ``expected``; those with ``expected >= min_expected`` alone, the others pooled
    greedily into runs whose expected count reaches ``min_expected``, a last partial run
    joining the previous run (or the smallest large cell). Returns ``(labels, groups)``;
    the groups are contiguous in the ascending order."""
    order = np.argsort(expected, kind="stable")
    E = expected[order]
    small = int(np.sum(E < min_expected))       # the first cells in ascending order
    lab = np.empty(len(E), np.int64)
    g, acc = 0, 0.0                             # g: runs closed so far
    for k in range(small):
        lab[k] = g
        acc += E[k]
        if acc >= min_expected:
            g, acc = g + 1, 0.0
    if acc > 0 and g > 0:                       # a partial last run joins the previous
        lab[:small][lab[:small] == g] = g - 1
    lab[small:] = g + np.arange(len(E) - small)  # (else run g is the smallest large cell)
    groups = max(g + len(E) - small, 1 if len(E) else 0)
    out = np.empty(len(E), np.int64)
    out[order] = lab
    return out, int(groups)


def _g_statistic(O, E):
    """``G = 2 sum_j O_j ln(O_j / E_j)`` over the last axis (0 ln 0 = 0)."""
    from scipy.special import xlogy

    return 2.0 * np.sum(xlogy(O, O) - O * np.log(E), axis=-1)


def _gof_test(observed, expected, min_expected, alpha, rng, max_replicates=None):
    """Check (c): the pooled G statistic of the hit counts ``observed`` against the
    ``expected`` counts (``n p_i``, ``p_i`` the exact volume shares), with a Monte Carlo
    p-value under the exact multinomial law of the counts.

    The groups of :func:`_pool_groups` are fixed by ``expected``; replicates of the
    group counts are drawn from ``Multinomial(n, P_groups)``, whose law is the law of
    the observed group counts when the enumeration, its volumes and the sampler are
    right, so the p-value is valid however sparse the table (the chi-square law of the
    G statistic is not: with groups of expected counts near 5 it rejected a correct
    result at ``p < 0.05`` in about 10% of seeds). Replicates stop at the
    ``GOF_EXCEEDANCES``-th one with ``G >= G_obs`` (``p = h / L`` after ``L``
    replicates) or after ``max_replicates`` (``p = (1 + exceedances) / (1 +
    max_replicates)``), the sequential p-value of Besag & Clifford (1991): ``P(p <=
    alpha) <= alpha`` under the null. ``max_replicates`` defaults to ``ceil(h / alpha)
    - 1`` (at least 999), so that ``p <= alpha`` is reachable; a correct result costs a
    few dozen replicates on average, a failing one ``max_replicates`` (each ``O(groups)``).
    Returns None with fewer than 2 groups.
    """
    n = int(round(float(observed.sum())))
    labels, groups = _pool_groups(expected, min_expected)
    if groups < 2:
        return None
    E = np.bincount(labels, weights=expected, minlength=groups)
    O = np.bincount(labels, weights=observed, minlength=groups)
    E = E * (n / E.sum())
    g_obs = float(_g_statistic(O, E))
    h = GOF_EXCEEDANCES
    B = max_replicates or max(999, int(math.ceil(h / alpha)) - 1)
    P = E / E.sum()
    thr = g_obs - GOF_TIE_RTOL * max(1.0, abs(g_obs))   # ties count as exceedances
    done = exceed = 0
    pvalue = None
    step = 64
    while done < B:
        m = min(step, B - done)
        ge = _g_statistic(rng.multinomial(n, P, size=m).astype(float), E) >= thr
        cum = exceed + np.cumsum(ge)
        if cum[-1] >= h:
            done += int(np.argmax(cum >= h)) + 1
            exceed = h
            pvalue = h / done
            break
        exceed, done = int(cum[-1]), done + m
        step = min(2 * step, max(64, 2 ** 22 // groups))
    if pvalue is None:
        pvalue = (exceed + 1) / (B + 1)
    return {"test": "G, Monte Carlo p-value (exact multinomial)", "statistic": g_obs,
            "pvalue": float(pvalue), "groups": int(groups), "replicates": int(done),
            "exceedances": int(exceed)}


def verify(rs, n=10**6, seed=0, chunk=2**16, alpha=1e-3, gof=True, sampler="auto",
           max_report=20, min_expected=5.0):
    """Check an exact enumeration against fresh uniform samples.

    Parameters
    ----------
    rs : RegionSet
        Its domain must be bounded.
    n : int
        Number of samples.
    seed : int, numpy Generator or None
    chunk : int
        Points evaluated at a time.
    alpha : float
        Significance level of the goodness-of-fit test (c): it fails when its Monte
        Carlo ``pvalue <= alpha``, which a correct result does with probability at most
        ``alpha`` (a false alarm; re-check with another seed and a larger ``n``).
    gof : bool
        Compute exact region volumes (:func:`region_volumes`, cached on ``rs``) and run
        the goodness-of-fit test and the volume-sum check. Costs ~1-3 ms per region in
        3-D and up.
    sampler : {"auto", "rejection", "hit-and-run"}
    max_report : int
        At most this many missing points are listed (each costs one small LP).
    min_expected : float
        Regions with smaller expected counts are pooled for the test.

    Returns
    -------
    VerificationReport
        ``passed``, ``reasons``, ``to_dict()`` for JSON, ``str()`` for humans.

    Notes
    -----
    Checks, in order: the stored codes are distinct; the code of each stored interior
    point is its region's code; (a) every sampled pattern is a region of the set (each
    missing point is an enumeration bug, or a region thinner than the feasibility
    tolerance); (b) the share of regions hit, against its expectation from the volumes
    (informational); the region volumes sum to the domain's volume (relative 1e-6,
    :data:`~polyregion.config.VOLUME_SUM_RTOL`); (c) the G statistic of the hit counts of
    the regions against ``n_located * vol_i / sum(vol)`` (small expected counts pooled),
    with a Monte Carlo p-value from the exact multinomial law of the counts
    (:data:`~polyregion.config.GOF_EXCEEDANCES`; docs/sampling.md). (a) and
    the volume sum are deterministic; (c) is statistical: on a correct result it fails in
    a fraction ``alpha`` of seeds. With hit-and-run sampling the samples are correlated
    and (c) is only indicative.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [[0.0, 0.5], [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> rep = pr.verify(rs, n=5000, seed=0)
    >>> rep.passed, rep.n_missing, rep.share_hit
    (True, 0, 1.0)
    >>> bad = pr.RegionSet(rs.net, rs.domain, rs.codes[1:], rs.points[1:], rs.radii[1:])
    >>> rep = pr.verify(bad, n=5000, seed=0)
    >>> rep.passed, rep.n_missing > 0
    (False, True)
    """
    from ..regions import RegionSet

    if not isinstance(rs, RegionSet):
        raise InvalidInputError(f"`rs` must be a polyregion.RegionSet; got {type(rs).__name__}.")
    n = _check_int(n, "n")
    chunk = _check_int(chunk, "chunk")
    max_report = _check_int(max_report, "max_report", minimum=0)
    alpha = _check_fraction(alpha, "alpha")
    if not (isinstance(min_expected, (int, float)) and min_expected > 0):
        raise InvalidInputError(f"`min_expected` must be a number > 0; got {min_expected!r}.")
    rng = _check_seed(seed)
    _refuse_unbounded(rs.domain, "verify")
    smp = _Sampler(rs.domain, rng, sampler)
    enum_net = rs.enum_net
    codec = _Codec(enum_net, tolerances=rs.tolerances, frame=domain_frame(rs.domain))
    checks = []

    def check(name, ok, detail):
        checks.append({"name": name, "passed": bool(ok), "detail": detail})

    N = len(rs)
    # integrity of the set itself
    index = _CodeIndex(codec, rs.codes)
    n_dup = N - len(np.unique(rs.codes, axis=0)) if N else 0
    check("distinct codes", n_dup == 0,
          "all stored codes are distinct" if n_dup == 0 else f"{n_dup} duplicate codes")
    if N:
        own = codec.codes(rs.points)
        bad_pts = int(np.sum(np.any(own != rs.codes, axis=1)))
    else:
        bad_pts = 0
    check("interior points", bad_pts == 0,
          "each stored point has its region's code" if bad_pts == 0 else
          f"{bad_pts} stored interior points have a different code than their region")
    # sampling
    hits = np.zeros(N, np.int64)
    missing_rows, missing_pts = [], []
    n_missing = 0
    missing_table = _PatternTable(codec)
    done = 0
    while done < n:
        m = min(chunk, n - done)
        T = smp.draw(m)
        codes = codec.codes(T)
        packed = codec.pack(codes)
        keys = codec.keys(packed)
        idx = index.lookup(packed, keys)
        found = idx >= 0
        hits += np.bincount(idx[found], minlength=N)
        miss = np.flatnonzero(~found)
        if len(miss):
            n_missing += len(miss)
            missing_table.add(packed[miss], keys[miss])
            room = max_report - len(missing_pts)
            if room > 0:
                missing_pts.extend(T[miss[:room]])
                missing_rows.extend(codes[miss[:room]])
        done += m
    n_missing_patterns = int(len(missing_table.result()[1]))
    missing = []
    for x, code in zip(missing_pts, missing_rows):
        missing.append({"point": np.asarray(x, float), "code": np.asarray(code, np.uint8),
                        "chebyshev_radius": _cell_radius(enum_net, code, rs.domain,
                                                         rs.tolerances),
                        "boundary_distance": _boundary_distance(enum_net, code, rs.domain, x,
                                                                rs.tolerances)})
    check("(a) sampled patterns are regions", n_missing == 0,
          f"all {n:,} sampled points fall in listed regions" if n_missing == 0 else
          f"{n_missing:,} of {n:,} sampled points ({n_missing_patterns:,} distinct patterns) "
          "fall in cells absent from the RegionSet: regions are missing")
    share_hit = float(np.mean(hits > 0)) if N else 0.0
    # volumes and goodness of fit
    exp_share = vol_sum = dvol = gof_res = None
    if gof and N:
        vols = region_volumes(rs)
        dvol = domain_volume(rs.domain)
        vol_sum = float(np.sum(vols))
        rel = abs(vol_sum - dvol) / dvol
        check("volumes sum to the domain", rel <= VOLUME_SUM_RTOL,
              f"sum {vol_sum:.10g} vs domain {dvol:.10g} (relative gap {rel:.2e})")
        known = np.isfinite(vols)
        v = np.where(known, vols, 0.0)
        p = v / v.sum()
        exp_share = float(np.mean(-np.expm1(n * np.log1p(-np.minimum(p, 1.0 - 1e-16)))))
        zero_vol_hit = int(np.sum(known & (v == 0) & (hits > 0)))
        if zero_vol_hit:
            check("hit regions have volume", False,
                  f"{zero_vol_hit} regions of zero computed volume were hit")
        use = p > 0
        n_loc = int(hits[use].sum())
        res = _gof_test(hits[use].astype(float), n_loc * p[use] / p[use].sum(),
                        float(min_expected), alpha, rng)
        if res is None:
            check("(c) goodness of fit", True, "not tested: fewer than 2 groups after pooling")
        else:
            res.update(alpha=alpha, min_expected=float(min_expected))
            gof_res = res
            ok = res["pvalue"] > alpha
            check("(c) goodness of fit", ok,
                  f"G = {res['statistic']:.4g}, Monte Carlo p = {res['pvalue']:.3g} "
                  f"({res['replicates']:,} multinomial replicates from the exact volumes; "
                  f"{res['groups']} groups after pooling expected < {min_expected:g}; "
                  f"alpha {alpha:g})"
                  + ("" if ok else ": statistical, a correct result fails it with "
                     f"probability {alpha:g}; re-check with another seed and a larger n")
                  + ("; samples correlated (hit-and-run): indicative only"
                     if smp.correlated else ""))
    detail = f"{share_hit:.4f} of {N:,} regions hit"
    if exp_share is not None:
        detail += f" (expected {exp_share:.4f} from the volumes)"
    check("(b) share of regions hit", True, detail)
    reasons = [c["detail"] for c in checks if not c["passed"]]
    return VerificationReport(
        passed=not reasons, reasons=reasons, checks=checks, n_samples=n, n_regions=N,
        n_missing=n_missing, missing=missing, missing_patterns=n_missing_patterns, hits=hits,
        share_hit=share_hit, expected_share_hit=exp_share, volume_sum=vol_sum,
        domain_volume=dvol, gof=gof_res, sampler=smp.description)
