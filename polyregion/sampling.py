"""Sampling estimates of the region count, and exact-vs-sampled verification.

What it computes
----------------
:func:`estimate_count` draws ``n`` uniform points in a domain, evaluates their activation
patterns and counts how often each distinct pattern occurs. Since the points are uniform,
the probability of pattern ``i`` is the volume share of its region, and the counts are
*abundance data* in the ecologist's sense: the number of regions is the number of
"species". From the frequency counts ``f_k`` (patterns seen exactly ``k`` times) it reports
the distinct patterns seen, Chao1 (bias-corrected) with a log-normal confidence interval,
ACE, the first-order jackknife, and the Good–Turing sample coverage (the estimated volume
share of the regions already seen). The formulas are in ``docs/sampling.md``. On real
networks, region volumes span many orders of magnitude; every such estimator is then a
lower bound, and the exact count of :func:`~polyregion.enumerate_regions` is the truth.

:func:`verify` checks an exact :class:`~polyregion.RegionSet` against fresh samples:
(a) every sampled pattern must be a region of the set (each miss is an enumeration bug
and is listed), (b) the share of regions hit, (c) a goodness-of-fit test of the hit
frequencies against the exact region volumes (:func:`region_volumes`): the G statistic
with small expected counts pooled, its p-value by Monte Carlo from the exact multinomial
law (valid for sparse tables; a correct result fails it with probability ``alpha``).

Method and cost
---------------
Sampling: a :class:`~polyregion.Box` is sampled directly; a bounded
:class:`~polyregion.Polytope` by rejection from its bounding box when a pilot run accepts
at least 5% of the draws, otherwise by hit-and-run (256 parallel chains, burn-in
``100 + 20 d^2`` steps, thinned every ``d`` steps: approximately uniform and correlated);
a :class:`~polyregion.Slice` in its ``t``-space, through its inner domain. All of
``R^d`` (:class:`~polyregion.Space`) cannot be sampled uniformly and is refused.

Patterns are evaluated and counted in chunks of ``chunk`` points. Each pattern is packed
into bits (one bit per neuron for two-piece activations), and keyed by the packed word
itself when it fits in 64 bits, else by a 64-bit hash of the packed bytes; the first packed
pattern of every key is kept and compared, and the rare rows whose hash collides with a
different pattern are counted exactly by their bytes. Memory is therefore
``O(distinct patterns x (16 + packed bytes))`` plus one chunk, whatever ``n`` is. Time is
one forward pass per point (4-15 µs per point for the benchmark nets on a loaded
2-core machine).

Volumes, in the domain's unit coordinates (centred, scaled): 1-D intervals, 2-D polygons
by exact clipping of the domain's bounding box by the region's half-planes (shoelace
area), and ``scipy.spatial.HalfspaceIntersection`` + ``ConvexHull`` in 3-D and above
(about 1-3 ms per region), with an exact facet recursion for the cells Qhull refuses.
Check (c) of :func:`verify` costs a few dozen multinomial replicates of the pooled counts
on a correct result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .config import DEFAULT_TOLERANCES
from .domain import Box, Domain, Slice, Space, as_domain
from .errors import InvalidDomainError, InvalidInputError
from .network import MaxPool, _CancelRule, _stack_codes, cell_codes, domain_frame

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

SAMPLERS = ("auto", "rejection", "hit-and-run")
#: Rejection from the bounding box is used when at least this share of draws is accepted.
MIN_ACCEPTANCE = 0.05
#: Patterns seen at most this often count as "rare" in ACE.
ACE_RARE = 10
_PILOT = 4096
_HR_CHAINS = 256

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
        pilot = rng.uniform(self.lo, self.hi, size=(_PILOT, self.dim))
        acc = float(np.mean(np.all(pilot @ self.A.T < self.b, axis=1)))
        if method == "rejection" and acc == 0.0:
            raise InvalidInputError(
                f"`sampler`='rejection' accepted none of {_PILOT} pilot draws from the bounding "
                f"box of {domain!r}; use sampler='hit-and-run' or 'auto'.")
        if method == "rejection" or acc >= MIN_ACCEPTANCE:
            self.kind, self.acceptance = "rejection", acc
            self.description = f"rejection from the bounding box (acceptance {acc:.3g})"
        else:
            self._start_hit_and_run(base)

    def _start_hit_and_run(self, base):
        d = self.dim
        self.kind, self.acceptance, self.correlated = "hit-and-run", None, True
        self.thin = d
        burn = 100 + 20 * d * d
        self.description = (f"hit-and-run ({_HR_CHAINS} chains, burn-in {burn}, thinning {d}; "
                            "approximately uniform, correlated)")
        self.X = np.repeat(base.interior_point()[None, :], _HR_CHAINS, axis=0)
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
        How a Polytope is sampled (see the module docstring); a Box is sampled directly
        unless ``"hit-and-run"`` is forced.

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


# ---------------------------------------------------------------------------- patterns


def _forward_codes(layers, acts, T):
    """Activation codes of the rows of ``T`` (float64; equal to ``Network.codes``)."""
    z = T
    out = []
    rule = _CancelRule(layers, acts, T)  # a cancelling row takes the upper piece
    for l, ((W, b), act) in enumerate(zip(layers[:-1], acts)):
        u = z @ W.T
        u += b
        u_cmp = rule.adjust(l, u, lambda rows: _stack_codes(out, rows))
        if isinstance(act, MaxPool):
            j = act.piece(u)
            out.append(j)
            z = np.take_along_axis(u, act.winners(j), axis=1)
            continue
        t = act.breakpoints
        if len(t) == 1:
            on = u_cmp >= t[0]
            out.append(on.view(np.uint8))
            if act.name == "relu":
                z = np.maximum(u, 0.0)
            else:
                (s0, s1), (c0, c1) = act.slopes, act.intercepts
                z = np.where(on, s1 * u + c1, s0 * u + c0)
        else:
            j = np.zeros(u.shape, np.uint8)
            for tk in t:
                j += u_cmp >= tk
            out.append(j)
            z = np.asarray(act.slopes)[j] * u + np.asarray(act.intercepts)[j]
    if not out:
        return np.zeros((T.shape[0], 0), np.uint8)
    return np.concatenate(out, axis=1)


class _Codec:
    """Packs activation codes into bytes and 64-bit keys. With ``tolerances`` (and the
    domain's ``frame``, :func:`~polyregion.network.domain_frame`) the codes follow the
    engines' constant-neuron rule (:func:`~polyregion.network.cell_codes`)."""

    def __init__(self, enum_net, key_mask=None, tolerances=None, frame=None):
        self.net, self.tolerances = enum_net, tolerances
        self.frame = (None, 1.0) if frame is None else frame
        self.layers = enum_net.effective_layers()
        self.acts = list(enum_net.activations)
        self.n_neurons = enum_net.n_neurons
        pieces = max([a.n_pieces for a in self.acts], default=2)
        self.bits = max(1, int(math.ceil(math.log2(pieces))))
        self.nbytes = max(1, self.bits * ((self.n_neurons + 7) // 8))
        self.nwords = (self.nbytes + 7) // 8
        # keys are the packed word itself (exact) when it fits in 64 bits
        self.exact = self.nwords == 1 and key_mask is None
        self.key_mask = None if key_mask is None else np.uint64(key_mask)

    def codes(self, T):
        if self.tolerances is not None:
            return cell_codes(self.net, T, self.tolerances, *self.frame)
        return _forward_codes(self.layers, self.acts, T)

    def pack(self, codes):
        m = codes.shape[0]
        if self.n_neurons == 0:
            return np.zeros((m, 1), np.uint8)
        if self.bits == 1:
            return np.packbits(codes, axis=1)
        return np.concatenate([np.packbits((codes >> k) & 1, axis=1)
                               for k in range(self.bits)], axis=1)

    def unpack(self, packed):
        if self.n_neurons == 0:
            return np.zeros((packed.shape[0], 0), np.uint8)
        per = (self.n_neurons + 7) // 8
        out = np.zeros((packed.shape[0], self.n_neurons), np.uint8)
        for k in range(self.bits):
            plane = np.unpackbits(packed[:, k * per:(k + 1) * per], axis=1,
                                  count=self.n_neurons)
            out |= plane << k
        return out

    def keys(self, packed):
        m = packed.shape[0]
        buf = np.zeros((m, self.nwords * 8), np.uint8)
        buf[:, :packed.shape[1]] = packed
        words = buf.view(np.uint64)
        if self.nwords == 1:
            h = words[:, 0].copy()
        else:
            h = np.full(m, np.uint64(0x9E3779B97F4A7C15))
            for j in range(self.nwords):
                h = _mix64(h ^ words[:, j])
        if self.key_mask is not None:  # testing hook: force collisions
            h &= self.key_mask
        return h


def _mix64(x):
    """The splitmix64 finaliser (a bijection of uint64 with good avalanche)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _PatternTable:
    """Counts of distinct packed patterns, merged chunk by chunk (sorted 64-bit keys)."""

    def __init__(self, codec):
        self.codec = codec
        self.keys = np.zeros(0, np.uint64)
        self.counts = np.zeros(0, np.int64)
        self.reps = np.zeros((0, codec.nbytes), np.uint8)
        self.spill = {}  # packed bytes -> count, for rows whose key collided
        self.n = 0

    def _spill(self, rows, counts):
        for r, c in zip(rows, counts):
            k = r.tobytes()
            self.spill[k] = self.spill.get(k, 0) + int(c)

    def add(self, packed, keys):
        self.n += len(keys)
        uk, first, inv, cnt = np.unique(keys, return_index=True, return_inverse=True,
                                        return_counts=True)
        inv = inv.ravel()
        reps = packed[first]
        if not self.codec.exact:
            bad = np.any(packed != reps[inv], axis=1)
            if bad.any():
                self._spill(packed[bad], np.ones(int(bad.sum()), np.int64))
                cnt = np.bincount(inv[~bad], minlength=len(uk))
                keep = cnt > 0
                uk, reps, cnt = uk[keep], reps[keep], cnt[keep]
        pos = np.searchsorted(self.keys, uk)
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] == uk[found]
        new = ~found
        if not self.codec.exact and found.any():
            fi = np.flatnonzero(found)
            clash = np.any(self.reps[pos[fi]] != reps[fi], axis=1)
            if clash.any():
                self._spill(reps[fi[clash]], cnt[fi[clash]])
                found[fi[clash]] = False
        self.counts[pos[found]] += cnt[found]
        if new.any():
            p = pos[new]
            self.keys = np.insert(self.keys, p, uk[new])
            self.counts = np.insert(self.counts, p, cnt[new])
            self.reps = np.insert(self.reps, p, reps[new], axis=0)

    def result(self):
        """``(packed patterns, counts)`` of all distinct patterns."""
        reps, counts = self.reps, self.counts.copy()
        if not self.spill:
            return reps, counts
        extra_rows, extra_counts = [], []
        for k, c in self.spill.items():
            row = np.frombuffer(k, np.uint8)[None, :]
            key = self.codec.keys(row)[0]
            p = int(np.searchsorted(self.keys, key))
            if p < len(self.keys) and self.keys[p] == key and np.array_equal(reps[p], row[0]):
                counts[p] += c
            else:
                extra_rows.append(row[0])
                extra_counts.append(c)
        if extra_rows:
            reps = np.vstack([reps, np.array(extra_rows, np.uint8)])
            counts = np.concatenate([counts, np.array(extra_counts, np.int64)])
        return reps, counts


class _CodeIndex:
    """Vectorised lookup of packed patterns among the codes of a RegionSet."""

    def __init__(self, codec, codes):
        self.codec = codec
        packed = codec.pack(np.ascontiguousarray(codes, dtype=np.uint8))
        keys = codec.keys(packed)
        order = np.argsort(keys, kind="stable")
        self.keys, self.idx, self.packed = keys[order], order, packed
        dup = np.flatnonzero(self.keys[1:] == self.keys[:-1])
        self.spill = {}
        if len(dup):  # colliding keys (or duplicate codes): exact lookup by bytes
            rows = np.unique(np.concatenate([dup, dup + 1]))
            for r in rows[::-1]:
                self.spill[packed[order[r]].tobytes()] = int(order[r])

    def lookup(self, packed, keys):
        if len(self.keys) == 0:
            return np.full(len(keys), -1, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        match = self.keys[pos] == keys
        cand = self.idx[pos]
        ok = match.copy()
        if not self.codec.exact:
            ok[match] = np.all(self.packed[cand[match]] == packed[match], axis=1)
        out = np.where(ok, cand, -1).astype(np.int64)
        if self.spill:
            for r in np.flatnonzero(match & ~ok):
                out[r] = self.spill.get(packed[r].tobytes(), -1)
        return out


# ---------------------------------------------------------------------------- estimators


@dataclass
class CountEstimate:
    """Sampling estimates of the number of regions (see ``docs/sampling.md``).

    Attributes
    ----------
    n_samples : int
        Number of points drawn.
    distinct : int
        Distinct activation patterns seen (a lower bound of the region count).
    singletons, doubletons : int
        ``f1`` and ``f2``: patterns seen exactly once and exactly twice.
    chao1 : float
        Bias-corrected Chao1: ``S_obs + (n-1)/n * f1 (f1-1) / (2 (f2+1))``.
    chao1_var : float
        Its estimated variance.
    chao1_ci : tuple of float
        Log-normal confidence interval of Chao1 at level ``confidence``.
    confidence : float
    ace : float
        Abundance-based coverage estimator (rare threshold 10); NaN when every rare
        pattern is a singleton.
    jackknife1 : float
        First-order jackknife ``S_obs + (n-1)/n * f1``.
    coverage : float
        Good–Turing sample coverage ``1 - f1/n``: the estimated volume share of the regions
        already seen.
    unseen_share : float
        ``1 - coverage``: the estimated volume share of regions not yet seen.
    coverage_chao_jost : float
        The improved coverage estimate of Chao & Jost (2012).
    freq : ndarray of int
        ``freq[k]`` = number of patterns seen exactly ``k`` times (``freq[0] = 0``).
    counts : ndarray of int, shape (distinct,)
        How often each distinct pattern was seen.
    patterns : ndarray of uint8, shape (distinct, n_neurons), or None
        The distinct patterns (rows match ``counts``), when asked for.
    sampler : str
        How the domain was sampled.

    Examples
    --------
    >>> from polyregion.sampling import estimate_from_abundances
    >>> est = estimate_from_abundances([1, 1, 1, 2, 2, 5, 9])
    >>> est.distinct, est.singletons, est.doubletons
    (7, 3, 2)
    >>> round(est.chao1, 4)         # 7 + (20/21) * 3*2 / (2*3)
    7.9524
    """

    n_samples: int
    distinct: int
    singletons: int
    doubletons: int
    chao1: float
    chao1_var: float
    chao1_ci: tuple
    confidence: float
    ace: float
    jackknife1: float
    coverage: float
    unseen_share: float
    coverage_chao_jost: float
    freq: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    patterns: np.ndarray | None = field(default=None, repr=False)
    sampler: str = ""

    def to_dict(self):
        """JSON-ready summary (without the per-pattern arrays)."""
        return {
            "n_samples": int(self.n_samples), "distinct": int(self.distinct),
            "singletons": int(self.singletons), "doubletons": int(self.doubletons),
            "chao1": _num(self.chao1), "chao1_var": _num(self.chao1_var),
            "chao1_ci": [_num(self.chao1_ci[0]), _num(self.chao1_ci[1])],
            "confidence": float(self.confidence), "ace": _num(self.ace),
            "jackknife1": _num(self.jackknife1), "coverage": _num(self.coverage),
            "unseen_share": _num(self.unseen_share),
            "coverage_chao_jost": _num(self.coverage_chao_jost),
            "freq_1_to_10": [int(x) for x in self.freq[1:11]],
            "sampler": self.sampler,
        }

    def __str__(self):
        lo, hi = self.chao1_ci
        return "\n".join([
            f"samples              {self.n_samples:,}"
            + (f"  ({self.sampler})" if self.sampler else ""),
            f"distinct patterns    {self.distinct:,}  (singletons {self.singletons:,}, "
            f"doubletons {self.doubletons:,})",
            f"Chao1                {self.chao1:,.1f}  "
            f"[{lo:,.1f}, {hi:,.1f}] at {100 * self.confidence:g}%",
            f"ACE                  {self.ace:,.1f}",
            f"jackknife (1st)      {self.jackknife1:,.1f}",
            f"coverage (Good-Turing) {self.coverage:.6f}  "
            f"(unseen volume share {self.unseen_share:.3g})",
            "(all sampling estimates are lower bounds when region volumes are very unequal)",
        ])


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def estimate_from_abundances(counts, confidence=0.95):
    """Richness estimates from abundance data: how often each distinct pattern was seen.

    Parameters
    ----------
    counts : array_like of int
        One positive count per distinct pattern (zeros are ignored).
    confidence : float
        Level of the Chao1 interval.

    Returns
    -------
    CountEstimate
        With ``patterns=None`` and an empty ``sampler``.

    Raises
    ------
    InvalidInputError
        Negative or non-integer counts, no observation, ``confidence`` outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from polyregion.sampling import estimate_from_abundances
    >>> rng = np.random.default_rng(0)
    >>> seen = rng.integers(0, 200, size=400)          # 200 equally likely species
    >>> est = estimate_from_abundances(np.bincount(seen))
    >>> est.distinct < 200, est.chao1_ci[0] < 200 < est.chao1_ci[1]
    (True, True)
    """
    confidence = _check_fraction(confidence, "confidence")
    c = np.asarray(counts)
    if c.ndim != 1 or not (np.issubdtype(c.dtype, np.integer) or
                           (np.issubdtype(c.dtype, np.floating) and np.all(np.mod(c, 1) == 0))):
        raise InvalidInputError(
            f"`counts` must be a 1-D array of non-negative integers; got shape {c.shape}, "
            f"dtype {c.dtype}.")
    c = c.astype(np.int64)
    if np.any(c < 0):
        raise InvalidInputError("`counts` must be non-negative; got a negative count.")
    c = c[c > 0]
    if c.size == 0:
        raise InvalidInputError("`counts` must hold at least one positive count.")
    return _estimate(c, confidence)


def _estimate(c, confidence, patterns=None, sampler=""):
    from scipy.stats import norm

    n = int(c.sum())
    s_obs = int(c.size)
    freq = np.bincount(c)
    f = lambda k: int(freq[k]) if k < len(freq) else 0  # noqa: E731
    f1, f2 = f(1), f(2)
    a = (n - 1) / n
    chao1 = s_obs + a * f1 * (f1 - 1) / (2.0 * (f2 + 1))
    # variance (Chao 2005; as in EstimateS)
    if f1 > 0 and f2 > 0:
        var = (a * f1 * (f1 - 1) / (2.0 * (f2 + 1))
               + a * a * f1 * (2 * f1 - 1) ** 2 / (4.0 * (f2 + 1) ** 2)
               + a * a * f1 ** 2 * f2 * (f1 - 1) ** 2 / (4.0 * (f2 + 1) ** 4))
    elif f1 > 0:
        var = (a * f1 * (f1 - 1) / 2.0 + a * a * f1 * (2 * f1 - 1) ** 2 / 4.0
               - a * a * f1 ** 4 / (4.0 * chao1))
    else:
        p = math.exp(-n / s_obs)
        var = s_obs * p * (1 - p)
    var = max(var, 0.0)
    z = float(norm.ppf(0.5 + confidence / 2.0))
    extra = chao1 - s_obs
    if extra > 0:
        k = math.exp(z * math.sqrt(math.log(1.0 + var / extra ** 2)))
        ci = (s_obs + extra / k, s_obs + extra * k)
    else:
        p = math.exp(-n / s_obs)
        lo = max(s_obs, s_obs / (1 - p) - z * math.sqrt(var) / (1 - p))
        ci = (float(lo), s_obs / (1 - p) + z * math.sqrt(var) / (1 - p))
    # ACE (Chao & Lee 1992), rare = seen at most ACE_RARE times
    rare = c[c <= ACE_RARE]
    s_rare, n_rare = int(rare.size), int(rare.sum())
    s_abund = s_obs - s_rare
    if s_rare == 0:
        ace = float(s_obs)
    else:
        c_ace = 1.0 - f1 / n_rare
        if c_ace <= 0:
            ace = float("nan")
        else:
            i = np.arange(1, min(ACE_RARE, len(freq) - 1) + 1)
            sum_ii = float(np.sum(i * (i - 1) * freq[i]))
            g2 = max(s_rare / c_ace * sum_ii / (n_rare * (n_rare - 1)) - 1.0, 0.0)
            ace = s_abund + s_rare / c_ace + f1 / c_ace * g2
    jack1 = s_obs + a * f1
    coverage = 1.0 - f1 / n
    if f1 == 0:
        cj = 1.0
    elif n == 1:
        cj = 0.0
    else:
        cj = 1.0 - (f1 / n) * ((n - 1) * f1 / ((n - 1) * f1 + 2.0 * f2))
    return CountEstimate(
        n_samples=n, distinct=s_obs, singletons=f1, doubletons=f2, chao1=float(chao1),
        chao1_var=float(var), chao1_ci=(float(ci[0]), float(ci[1])), confidence=confidence,
        ace=float(ace), jackknife1=float(jack1), coverage=float(coverage),
        unseen_share=float(1.0 - coverage), coverage_chao_jost=float(cj), freq=freq,
        counts=c, patterns=patterns, sampler=sampler)


def _check_net_domain(net, domain):
    from .network import Network

    if not isinstance(net, Network):
        raise InvalidInputError(f"`net` must be a polyregion.Network; got {type(net).__name__}.")
    return as_domain(domain, net.input_dim)


def _check_ns(n):
    if isinstance(n, (list, tuple, np.ndarray)):
        ns = [_check_int(v, "n") for v in n]
        if not ns or any(b <= a for a, b in zip(ns, ns[1:])):
            raise InvalidInputError(
                f"`n` given as a sequence must be non-empty and strictly increasing; got {n!r}.")
        return ns, True
    return [_check_int(n, "n")], False


def estimate_count(net, domain, n=10**6, seed=0, chunk=2**16, sampler="auto",
                   confidence=0.95, return_patterns=False):
    """Estimate the number of linear regions by sampling activation patterns.

    Parameters
    ----------
    net : Network
    domain : Box, Polytope or Slice
        Must be bounded (uniform sampling of all of R^d is undefined). A Slice is sampled
        in ``t``-space through its inner domain.
    n : int or increasing sequence of int
        Number of samples. With a sequence, one stream of samples is drawn and an
        estimate is returned at each of its prefixes of these sizes.
    seed : int, numpy Generator or None
    chunk : int
        Points evaluated at a time; memory is bounded by the chunk and the number of
        distinct patterns, not by ``n``.
    sampler : {"auto", "rejection", "hit-and-run"}
        How a Polytope is sampled (module docstring). Hit-and-run samples are correlated,
        which makes the Chao1 interval too narrow.
    confidence : float
        Level of the Chao1 interval.
    return_patterns : bool
        Also return the distinct patterns (``est.patterns``).

    Returns
    -------
    CountEstimate, or a list of them when ``n`` is a sequence.

    Raises
    ------
    InvalidDomainError
        Unbounded domain (e.g. :class:`~polyregion.Space`) or dimension mismatch.
    InvalidInputError
        Bad ``n``, ``chunk``, ``seed``, ``sampler`` or ``confidence``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> est = pr.estimate_count(net, pr.Box.cube(2), n=2000, seed=0)
    >>> est.distinct, est.chao1, round(est.coverage, 3)
    (4, 4.0, 1.0)
    >>> [e.distinct for e in pr.estimate_count(net, pr.Box.cube(2), n=[1, 1000])]
    [1, 4]
    """
    domain = _check_net_domain(net, domain)
    ns, many = _check_ns(n)
    chunk = _check_int(chunk, "chunk")
    confidence = _check_fraction(confidence, "confidence")
    rng = _check_seed(seed)
    smp = _Sampler(domain, rng, sampler)
    codec = _Codec(net.for_domain(domain))
    table = _PatternTable(codec)
    out, done = [], 0
    for target in ns:
        while done < target:
            m = min(chunk, target - done)
            packed = codec.pack(codec.codes(smp.draw(m)))
            table.add(packed, codec.keys(packed))
            done += m
        reps, counts = table.result()
        pats = codec.unpack(reps) if return_patterns else None
        out.append(_estimate(counts, confidence, patterns=pats, sampler=smp.description))
    return out if many else out[0]


# ---------------------------------------------------------------------------- volumes


def domain_volume(domain):
    """Volume of a domain in its enumeration coordinates (``inf`` when unbounded).

    Examples
    --------
    >>> import polyregion as pr
    >>> from polyregion.sampling import domain_volume
    >>> domain_volume(pr.Box([0, 0], [2, 3])), domain_volume(pr.Space(2))
    (6.0, inf)
    >>> domain_volume(pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1]))
    0.5
    """
    if isinstance(domain, Slice):
        return domain_volume(domain.inner)
    if isinstance(domain, Space) or not domain.bounded:
        return float("inf")
    if isinstance(domain, Box):
        return domain.volume()
    center, scale = domain_frame(domain)
    A, b = _unit_rows(*domain.halfspaces(), center, scale)
    lo, hi = _unit_box(domain, center, scale)
    x0 = (domain.interior_point() - center) / scale
    v = _cell_volume(A, b, x0, lo, hi, DEFAULT_TOLERANCES.feasibility) * scale ** domain.dim
    return float(f"{v:.15g}")


def _unit_rows(A, b, center, scale):
    """Rows ``A t <= b`` in the unit coordinates ``x = (t - center) / scale``, unit-normalised."""
    A = np.asarray(A, dtype=np.float64)
    nrm = np.linalg.norm(A, axis=1)
    A, b = A / nrm[:, None], np.asarray(b, dtype=np.float64) / nrm
    return A, (b - A @ center) / scale


def _unit_box(domain, center, scale):
    lo, hi = domain.bounds()
    return (lo - center) / scale, (hi - center) / scale


def _unit_net(enum_net, center, scale):
    """``enum_net`` composed with ``t = center + scale * x`` (as the engines prepare it)."""
    from .network import Network

    layers = enum_net.effective_layers()
    W0, b0 = layers[0]
    Ws = [W0 * scale] + [W for W, _ in layers[1:]]
    bs = [b0 + W0 @ center] + [b for _, b in layers[1:]]
    return Network(Ws, bs, list(enum_net.activations))


def _interval_length(A, b):
    a = A[:, 0]
    hi = np.min(b[a > 0] / a[a > 0]) if np.any(a > 0) else np.inf
    lo = np.max(b[a < 0] / a[a < 0]) if np.any(a < 0) else -np.inf
    return max(float(hi - lo), 0.0)


def _polygon_area(A, b, lo, hi):
    """Exact-clipping area of ``{x : A x <= b}`` inside the box ``[lo, hi]`` (2-D).

    The box is clipped by the most violated remaining half-plane until none is violated
    (Sutherland–Hodgman on a convex polygon), then the shoelace formula.
    """
    P = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    A, b = A.copy(), b.copy()
    while True:
        S = P @ A.T - b                                  # (k, m)
        viol = S.max(axis=0)
        j = int(viol.argmax())
        if viol[j] <= 0:
            break
        s = S[:, j]
        A[j], b[j] = 0.0, 1.0                            # each half-plane clips once
        inside = s <= 0
        k = len(P)
        nxt = np.arange(1, k + 1)
        nxt[-1] = 0
        sq = s[nxt]
        cross = inside != inside[nxt]
        t = s[cross] / (s[cross] - sq[cross])
        out = np.empty((2 * k, 2))
        out[0::2] = P
        out[1::2][cross] = P[cross] + t[:, None] * (P[nxt][cross] - P[cross])
        keep = np.empty(2 * k, bool)
        keep[0::2] = inside
        keep[1::2] = cross
        P = out[keep]
        if len(P) < 3:
            return 0.0
    x, y = P[:, 0], P[:, 1]
    return float(0.5 * abs(x @ np.roll(y, -1) - y @ np.roll(x, -1)))


#: Qhull's vertices of a cell (unit coordinates) may violate its rows by at most this
#: much; beyond, Qhull has lost precision (seen with an interior point 1e-14 from a facet:
#: vertices 0.03 outside, a volume 25% too small, no error raised) and the cell is
#: measured exactly instead. On the benchmark nets the largest violation is 1e-12.
QHULL_VERTEX_SLACK = 1e-9


class _DegenerateCell(Exception):
    """Qhull returned vertices outside the cell (see ``QHULL_VERTEX_SLACK``)."""


def _qhull_volume(A, b, x0):
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    s = b - A @ x0
    hs = HalfspaceIntersection(np.hstack([A, -s[:, None]]), np.zeros(A.shape[1]))
    V = hs.intersections
    if np.max(V @ A.T - s) > QHULL_VERTEX_SLACK:
        raise _DegenerateCell
    return float(ConvexHull(V).volume)


def _bounded_box(A, b):
    """Bounding box of ``{A x <= b}`` by 2d LPs, or None when unbounded."""
    from scipy.optimize import linprog

    d = A.shape[1]
    lo, hi = np.empty(d), np.empty(d)
    for i in range(d):
        for sgn in (1.0, -1.0):
            c = np.zeros(d)
            c[i] = sgn
            res = linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * d, method="highs")
            if res.status != 0:
                return None
            if sgn > 0:
                lo[i] = res.fun
            else:
                hi[i] = -res.fun
    return lo, hi


def _polytope_volume(A, b, x0, lo, hi):
    d = A.shape[1]
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        box = _bounded_box(A, b)
        if box is None:
            return float("inf")
        lo, hi = box
    if d == 1:
        return _interval_length(A, b)
    if d == 2:
        return _polygon_area(A, b, lo, hi)
    return _qhull_volume(A, b, x0)


def _cell_volume(A, b, x0, lo, hi, tol):
    """Volume of ``{A x <= b}`` (unit rows, ``x0`` strictly inside, inside the box
    ``[lo, hi]`` when that is finite). In 3-D and up Qhull first; when Qhull refuses the
    cell (``QhullError``: a thin or degenerate cell, an interior point too close to a
    facet) or returns vertices outside it (``QHULL_VERTEX_SLACK``), the exact facet
    recursion :func:`_lasserre_volume` on its irredundant rows (``tol``: the redundancy
    tolerance, in the rows' units). Other errors propagate."""
    from scipy.spatial import QhullError

    try:
        return _polytope_volume(A, b, x0, lo, hi)
    except (QhullError, _DegenerateCell):
        pass
    from .regions import irredundant

    A2, b2, _ = irredundant(A, b, tol)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        lo, hi = _bounded_box(A2, b2)
    radius = float(np.linalg.norm(np.maximum(np.abs(lo), np.abs(hi))))
    return _lasserre_volume(A2, b2, np.asarray(x0, float), radius)


def _lasserre_volume(A, b, x0, radius):
    """Exact volume of the bounded polytope ``{A x <= b}`` (unit rows) inside the ball
    ``|x| <= radius``, by Lasserre's facet recursion

        vol_d(P) = (1/d) sum_i (b_i - a_i . x0) vol_{d-1}(F_i),

    ``F_i`` the facet on row ``i`` in an orthonormal frame of its hyperplane, down to
    exact polygon clipping in 2-D. Redundant rows give empty or lower-dimensional facets
    (volume 0); rows with the same normal are merged (the tighter kept), so no facet is
    counted twice. Cost: ``O(m^(d-2))`` polygon clippings for ``m`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> from polyregion.sampling import _lasserre_volume
    >>> A = np.vstack([np.eye(3), -np.eye(3), [[1.0, 1.0, 1.0]] / np.sqrt(3)])
    >>> round(_lasserre_volume(A, np.r_[np.ones(6), 0.0], np.full(3, -0.5), 2.0), 12)
    4.0
    """
    d = A.shape[1]
    A, b = _same_normal_merged(A, b)
    if d == 1:
        return _interval_length(A, b)
    if d == 2:
        return _polygon_area(A, b, np.full(2, -radius), np.full(2, radius))
    total = 0.0
    for i in range(A.shape[0]):
        a = A[i]
        p = a * b[i]                                 # the hyperplane's point nearest 0
        N = np.linalg.svd(a[None, :])[2][1:].T      # (d, d-1) orthonormal frame of it
        rest = np.arange(A.shape[0]) != i
        An, bn = A[rest] @ N, b[rest] - A[rest] @ p
        nr = np.linalg.norm(An, axis=1)
        par = nr <= 1e-12                          # rows parallel to the hyperplane
        if np.any(par & (bn < -1e-14 * radius)):
            continue                                 # the facet lies outside one of them
        keep = ~par
        if not np.any(keep):
            continue
        sub = _lasserre_volume(An[keep] / nr[keep, None], bn[keep] / nr[keep],
                               N.T @ (x0 - p), radius)
        total += (b[i] - a @ x0) * sub
    return float(total / d)


def _same_normal_merged(A, b):
    """Rows with the same unit normal (to 1e-12) merged into the tightest."""
    if A.shape[0] < 2:
        return A, b
    same = np.abs(A[:, None, :] - A[None, :, :]).max(axis=2) <= 1e-12
    keep = np.ones(A.shape[0], bool)
    for i in range(A.shape[0]):
        if keep[i]:
            grp = np.flatnonzero(same[i] & keep)
            best = grp[np.argmin(b[grp])]
            keep[grp] = False
            keep[best] = True
    return A[keep], b[keep]


def region_volumes(rs):
    """Exact volume of every region of a RegionSet (enumeration coordinates).

    Parameters
    ----------
    rs : RegionSet

    Returns
    -------
    ndarray, shape (n_regions,)
        ``inf`` for unbounded regions; for a Slice, volumes are in ``t``-space. Over all
        regions they sum to the domain's volume (:func:`domain_volume`) up to rounding.

    Raises
    ------
    SolverError
        A volume came out negative or not a number (never observed; it would be a bug).

    Notes
    -----
    The rows are built in the engines' unit coordinates ``x = (t - center) / scale``
    (:func:`polyregion.network.domain_frame`: the domain's centre and half-diagonal) with
    the constant-neuron rule of ``rs.tolerances``, and the volumes computed there are
    multiplied by ``scale ** d``: a small box far from the origin keeps its precision.
    1-D: interval lengths. 2-D: the domain's bounding box clipped by the region's
    half-planes (exact up to float rounding) and the shoelace formula. 3-D and up:
    ``scipy.spatial.HalfspaceIntersection`` with ``rs.points[i]`` as interior point, then
    ``ConvexHull(...).volume``; a cell that Qhull refuses (``QhullError``) or whose Qhull
    vertices lie outside it (``QHULL_VERTEX_SLACK``) is measured by the exact facet
    recursion (Lasserre) on its irredundant rows instead. Unbounded
    domains cost 2d extra LPs per region to detect unbounded regions. Cached on the
    RegionSet (``rs.volumes()``).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [[0.0, 0.5], [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> rs.volumes()        # x<0 & y<-0.5, x<0 & y>-0.5, ...
    array([0.5, 1.5, 0.5, 1.5])
    """
    from .errors import SolverError

    cache = getattr(rs, "_cache", None)
    if cache is not None and "volumes" in cache:
        return cache["volumes"].copy()
    domain = rs.domain
    center, scale = domain_frame(domain)
    lo, hi = _unit_box(domain, center, scale)
    unit = _unit_net(rs.enum_net, center, scale)
    P = (rs.points - center) / scale
    factor = scale ** rs.dim
    tol = rs.tolerances.feasibility
    out = np.empty(len(rs))
    batch = 1024
    for start in range(0, len(rs), batch):
        AA, bb = _batch_constraints(unit, rs.codes[start:start + batch], domain,
                                    rs.tolerances, center, scale)
        for j in range(AA.shape[0]):
            i = start + j
            active = bb[j] != _INACTIVE_B
            v = _cell_volume(AA[j][active], bb[j][active], P[i], lo, hi, tol)
            if not v >= 0:
                raise SolverError(f"The volume of region {i} came out as {v}; its interior "
                                  f"point is {rs.points[i].tolist()}.")
            out[i] = v * factor
    if cache is not None:
        cache["volumes"] = out.copy()
    return out


_INACTIVE_B = 2.0 ** 60   # right-hand side of padding rows 0 . x <= _INACTIVE_B


def _batch_constraints(net, codes, domain, tolerances=None, center=None, scale=1.0):
    """Constraints of many cells at once: ``A (N, m, d)``, ``b (N, m)``.

    The same rows as :func:`polyregion.regions.cell_constraints` (unit rows, neurons and
    max-layer comparisons that are constant on a cell dropped by ``tolerances.zero_row``,
    domain facets last), laid out by :func:`polyregion._rows.cell_rows`; absent rows are
    padded as ``0 . x <= _INACTIVE_B``. ``net`` is in the coordinates of the rows; the
    domain's facets are mapped to ``x = (t - center) / scale`` (default: unchanged).
    """
    from ._rows import cell_rows

    rows = cell_rows(net, codes, None, pad=_INACTIVE_B, tolerances=tolerances)
    A0, b0 = _unit_rows(*domain.halfspaces(), np.zeros(domain.dim) if center is None
                        else center, scale)
    N = len(codes)
    A = np.concatenate([rows.A, np.broadcast_to(A0, (N,) + A0.shape)], axis=1)
    b = np.concatenate([rows.b, np.broadcast_to(b0, (N, len(b0)))], axis=1)
    return A, b


# ---------------------------------------------------------------------------- verify


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
    from .domain import _chebyshev
    from .regions import cell_constraints

    A, b, _ = cell_constraints(enum_net, code, domain, tolerances)
    if A.shape[0] == 0:
        return float("inf")
    _, r = _chebyshev(A, b)
    return float(r)


def _boundary_distance(enum_net, code, domain, x, tolerances):
    from .regions import cell_constraints

    A, b, _ = cell_constraints(enum_net, code, domain, tolerances)
    if A.shape[0] == 0:
        return float("inf")
    return float(np.min(b - A @ x))


#: The Monte Carlo p-value of check (c) stops drawing replicates at this many
#: exceedances (sequential Monte Carlo, Besag & Clifford 1991).
GOF_EXCEEDANCES = 10


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
    thr = g_obs - 1e-9 * max(1.0, abs(g_obs))     # ties count as exceedances
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
    (informational); the region volumes sum to the domain's volume (relative 1e-6);
    (c) the G statistic of the hit counts of the regions against ``n_located * vol_i /
    sum(vol)`` (small expected counts pooled), with a Monte Carlo p-value from the exact
    multinomial law of the counts (:data:`GOF_EXCEEDANCES`; docs/sampling.md). (a) and
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
    from .regions import RegionSet

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
        check("volumes sum to the domain", rel <= 1e-6,
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
