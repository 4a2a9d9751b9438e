"""Work units: the plan, one unit's problem, and a batch of units run by the kernel.

See :mod:`.scale` for the method. :func:`plan_units` is deterministic in the network,
domain, method and tolerances, so every worker that plans gets the same units;
:func:`run_batch` is what a worker runs (it sorts its regions, checks every witness and
every region's prefix code against its unit's). :func:`batch_plan` forms batches lazily
with guided sizes capped by memory and budgets.

Cost: the plan is ``k`` hyperplanes' arrangement; a batch costs its units' kernel runs.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np


TARGET_UNITS = 256


#: Pivot tolerances a work unit may run the LP engine with, as factors of
#: ``Tolerances.pivot``: the first under which the engine's cold root LP of the unit's
#: cell ends at a point certified inside the cell with radius ``> feasibility``
#: (:func:`._kernels_units.root_pivot`; up to 32-D, where that LP is the dense simplex).
#: A cold LP on a degenerate 64-D cell once pivoted on rounding-level elements and stopped
#: "optimal" outside the cell; since the dense simplex pivots on the largest blocking
#: element and refuses infeasible bases (docs/tolerances.md), and above 32-D the root goes
#: to ``cheb_highdim`` (which measures its radius on the rows), one factor suffices: the
#: tuple stays as the place to add a guard. The factor changes only the LPs' numerics,
#: not the decision rule, so the codes equal the direct run's.
ROOT_PIVOT_FACTORS = (1.0,)


# ------------------------------------------------------------------ sub-problems
def _kernel_net(Ws, bs, n_bp, bps, slopes, intercepts, A0, b0, k):
    from .engine import flat_network

    dims = np.array([k] + [W.shape[0] for W in Ws], np.int64)
    flat = flat_network(Ws, bs, dims, n_bp, bps, slopes, intercepts)
    return SimpleNamespace(
        Ws=Ws, bs=bs, flat=flat, A0=np.ascontiguousarray(A0, dtype=np.float64),
        b0=np.ascontiguousarray(b0, dtype=np.float64), **flat._asdict())


def next_k(k, n0):
    """The next number of planning neurons: +1 up to 8, then +25%, at most ``n0``.

    Cell counts grow like ``k^d``, so small steps stop near ``TARGET_UNITS`` cells (with
    doubling, 4-D nets overshot to ~2,500 units, whose repeated per-unit work cost up to
    45% more CPU than one kernel run); the small arrangements tried on the way cost far
    less than one overshoot.
    """
    return min(n0, k + 1 if k < 8 else (5 * k + 3) // 4)


def plan_units(prep, method, tol):
    """Cells of the first ``k`` first-layer neurons; return ``(codes0, n_lps)``.

    ``codes0`` (n_units, k) uint8 lists them in canonical order (see the module docstring
    for ``k``).
    """
    from .engine import _run_kernel

    n0 = prep.Ws[0].shape[0]
    d = int(prep.dims[0])
    nb = max(int(prep.n_bp[0]), 1)
    n_lps = 0
    k = next_k(0, n0)
    # skip the k whose arrangement cannot reach the target: m hyperplanes cut R^d into at
    # most sum_{i <= d} C(m, i) cells (Zaslavsky's bound for general position), so the
    # loop below could not stop there; same plan, fewer kernel calls (4-D: 1 instead of 9)
    while k < n0 and sum(math.comb(k * nb, i) for i in range(d + 1)) < TARGET_UNITS:
        k = next_k(k, n0)
    while True:
        trunc = _kernel_net([prep.Ws[0][:k], np.ones((1, k))], [prep.bs[0][:k], np.zeros(1)],
                            prep.n_bp[:1], prep.bps[:1], prep.slopes[:1],
                            prep.intercepts[:1], prep.A0, prep.b0, d)
        codes, pts, radii, nl, _, _, _, _ = _run_kernel(method, trunc, trunc.A0, trunc.b0,
                                                        tol)
        n_lps += int(nl)
        if len(codes) >= TARGET_UNITS or k == n0:
            break
        k = next_k(k, n0)
    codes = np.array(codes, np.uint8).reshape(-1, k)
    order = np.lexsort(codes.T[::-1])
    # each unit's witness (same coordinates as prep's) seeds its run: no root LP, which
    # in 784-D would be a sparse HiGHS solve per unit (run_batch measures it again)
    prep._unit_roots = (codes[order], np.array(pts, np.float64).reshape(-1, d)[order],
                        np.array(radii, np.float64).reshape(-1)[order])
    return codes[order], n_lps


def _unit_cache(prep, zero_row):
    """Per-problem arrays shared by all units (built once per process)."""
    cache = getattr(prep, "_unit_cache", None)
    if cache is None:
        W0, b0 = prep.Ws[0], prep.bs[0]
        nrm = np.linalg.norm(W0, axis=1)
        live = nrm > zero_row * nrm.max()
        safe = np.where(live, nrm, 1.0)
        cache = dict(live=live, An=np.ascontiguousarray(W0 / safe[:, None]), bn=b0 / safe,
                     nrm=safe, t=np.ascontiguousarray(prep.bps[0, :int(prep.n_bp[0])]))
        prep._unit_cache = cache
    return cache


def unit_problem(prep, code0, zero_row):
    """The whole net on the cell with first-layer prefix code ``code0``."""
    from ._kernels_units import unit_rows

    cc = _unit_cache(prep, zero_row)
    A, b = unit_rows(np.ascontiguousarray(code0, dtype=np.uint8), prep.A0, prep.b0,
                     cc["An"], cc["bn"], cc["nrm"], cc["live"], cc["t"])
    return SimpleNamespace(flat=prep.flat, A0=A, b0=b, Ws=prep.Ws, bs=prep.bs,
                           **prep.flat._asdict())


class Batch(NamedTuple):
    """The result of a batch of work units (kernel coordinates).

    Rows are sorted by activation code; since the units' prefix codes are the first
    columns of the codes and ``ids`` ascend, the regions of unit ``ids[j]`` are the
    consecutive rows ``sizes[:j].sum() + range(sizes[j])``. ``codes`` is bit-packed
    (``np.packbits(..., axis=1)``, which keeps the lexicographic order) when every
    activation has two pieces.
    """

    ids: np.ndarray
    codes: np.ndarray
    packed: bool
    points: np.ndarray
    radii: np.ndarray
    n_lps: int
    sizes: np.ndarray

    @property
    def nbytes(self):
        return self.codes.nbytes + self.points.nbytes + self.radii.nbytes


def packable(prep) -> bool:
    """True when every hidden activation has two pieces: codes fit in one bit."""
    return bool(np.all(prep.n_bp[:len(prep.Ws) - 1] <= 1))


def unpack(codes, packed, n_neurons):
    """``(n, n_neurons)`` uint8 codes from a batch's (possibly bit-packed) codes."""
    if not packed:
        return codes
    return np.unpackbits(codes, axis=1, count=n_neurons)


def row_keys(codes):
    """Rows of a 2-D uint8 array as one ``void`` scalar each: comparing two keys compares
    the rows lexicographically (byte order), so ``argsort``/``searchsorted`` on keys sort
    and search codes (packed or not) in canonical order."""
    codes = np.ascontiguousarray(codes)
    return codes.view(np.dtype((np.void, max(codes.shape[1], 1)))).ravel() \
        if codes.shape[1] else np.zeros(len(codes), dtype="V1")


def _unit_roots(prep, method, tol, unit_ids, codes0):
    """The plan's witness of each unit's cell (the root of the unit's run, see
    :func:`plan_units`), or radius -1 (the kernel solves the root LP). A worker whose
    payload was sent before the plan existed plans once itself (deterministic: the same
    roots in every process, so results do not depend on the executor)."""
    n, k = len(unit_ids), int(prep.dims[0])
    none = np.zeros((n, k)), np.full(n, -1.0)
    if method != "lp":
        return none
    roots = getattr(prep, "_unit_roots", None)
    if roots is None:
        plan_units(prep, method, tol)
        roots = prep._unit_roots
    plan_codes, xs, rs = roots
    if n == 0 or int(np.max(unit_ids)) >= len(rs) or plan_codes.shape[1] != codes0.shape[1] \
            or not np.array_equal(plan_codes[unit_ids], codes0):
        return none
    return np.ascontiguousarray(xs[unit_ids]), np.ascontiguousarray(rs[unit_ids])


def run_batch(payload, unit_ids, codes0):
    """Run a batch of units; return a :class:`Batch` (sorted, packed when possible)."""
    from .engine import _run_kernel

    prep, method, tol = payload
    prep._unit_method = method
    unit_ids = np.asarray(unit_ids, np.int64)
    codes0 = np.asarray(codes0, np.uint8)
    if np.any(np.diff(unit_ids) < 0):
        o = np.argsort(unit_ids)
        unit_ids, codes0 = unit_ids[o], codes0[o]
    k = int(prep.dims[0])
    n_neur = int(sum(prep.dims[1:-1]))
    if method in ("lp", "planar"):  # the whole batch in one kernel call
        from ._kernels_units import _batch

        cc = _unit_cache(prep, tol.zero_row)
        roots_x, roots_r = _unit_roots(prep, method, tol, unit_ids, codes0)
        c, p, r, sizes, st, pivots = _batch(
            0 if method == "lp" else 1, np.ascontiguousarray(codes0, dtype=np.uint8),
            prep.A0, prep.b0, cc["An"], cc["bn"], cc["nrm"], cc["live"], cc["t"],
            prep.flat, tol.feasibility, tol.zero_row,
            tol.pivot, tol.max_simplex_iter, np.asarray(ROOT_PIVOT_FACTORS, np.float64),
            roots_x, roots_r)
        _check_roots(pivots, unit_ids, codes0)
        n = len(c)
        codes = np.array(c, np.uint8).reshape(n, n_neur) if n else np.zeros((0, n_neur), np.uint8)
        del c
        pts = np.array(p, np.float64).reshape(n, k) if n else np.zeros((0, k))
        del p
        radii = np.array(r, np.float64).reshape(n)
        n_lps = int(st[0])
        if n:
            # every witness inside its own cell, as _run_kernel checks the direct run's
            # (the other methods' units go through _run_kernel): a unit's rows are
            # hyperplanes of its codes, so the domain's rows complete each cell. One call
            # per unit, so the (BLAS) arithmetic does not depend on the batch a unit is in
            from ._witness import check_witnesses

            ends = np.cumsum(sizes)
            for s, e in zip(ends - sizes, ends):
                if e > s:
                    pts[s:e], radii[s:e], _, _ = check_witnesses(
                        prep, prep.A0, prep.b0, codes[s:e], pts[s:e], radii[s:e], tol)
    else:
        out_c, out_p, out_r, sizes, n_lps = [], [], [], [], 0
        for code0 in codes0:
            sub = unit_problem(prep, code0, tol.zero_row)
            c, p, r, nl, _, _, _, _ = _run_kernel(method, sub, sub.A0, sub.b0, tol)
            n = len(c)
            out_c.append(np.array(c, np.uint8).reshape(n, n_neur))
            out_p.append(np.array(p, np.float64).reshape(n, k))
            out_r.append(np.array(r, np.float64).reshape(n))
            sizes.append(n)
            n_lps += int(nl)
        codes = np.vstack(out_c) if out_c else np.zeros((0, n_neur), np.uint8)
        pts = np.vstack(out_p) if out_p else np.zeros((0, k))
        radii = np.concatenate(out_r) if out_r else np.zeros(0)
    sizes = np.asarray(sizes, np.int64)
    packed = packable(prep)
    if packed:
        codes = np.packbits(codes, axis=1)
    if method != "planar":  # the planar kernel emits its regions in code order already
        order = np.argsort(row_keys(codes), kind="stable")
        codes, pts, radii = codes[order], pts[order], radii[order]
    _check_prefixes(codes, packed, codes0, sizes)
    return Batch(unit_ids, codes, packed, pts, radii, n_lps, sizes)


def _check_roots(pivots, unit_ids, codes0):
    """Raise when a unit could not be run: no root LP of its cell found a point inside it
    (:func:`._kernels_units.root_pivot`), so the LP engine would have started outside."""
    from ..errors import SolverError

    bad = np.flatnonzero(np.asarray(pivots) < 0.0)
    if len(bad):
        u = bad[0]
        raise SolverError(
            f"Internal error: the Chebyshev LP of work unit {int(unit_ids[u])} (prefix code "
            f"{np.asarray(codes0[u]).tolist()}) found no point inside the unit's cell under "
            f"any pivot tolerance of ROOT_PIVOT_FACTORS; please report this network and "
            f"domain.")


def _prefixes_match(codes, packed, codes0, sizes):
    """True when the regions of unit ``j`` (rows ``sizes[:j].sum() + range(sizes[j])``)
    all carry the unit's prefix code ``codes0[j]``."""
    k0 = codes0.shape[1]
    if not len(codes) or not k0:
        return True
    head = np.unpackbits(codes[:, :-(-k0 // 8)], axis=1, count=k0) if packed else codes[:, :k0]
    return np.array_equal(head, np.repeat(codes0, sizes, axis=0))


def _check_prefixes(codes, packed, codes0, sizes):
    """Every region of a unit carries the unit's prefix code (this is what makes the
    concatenation of sorted units in unit order the canonical order)."""
    from ..errors import SolverError

    if not _prefixes_match(codes, packed, codes0, sizes):
        raise SolverError("Internal error: a work unit returned regions outside its cell "
                          "(prefix codes differ); please report this network and domain.")


# ------------------------------------------------------------------ executors
#: a batch is cut to about this many bytes of worker memory (see :func:`work_bytes`), so a
#: worker's memory stays bounded whatever the problem's size (see :func:`batch_plan`)
MAX_BATCH_BYTES = 1 << 26


def batch_plan(todo, codes0, batch_size, n_workers, seen, row_bytes, room=None):
    """Batches ``(unit_ids, prefix codes)``, formed lazily (when the executor asks).

    ``room(in_flight)``, when given, caps every batch (``batch_size`` too) at the units
    the budgets left can afford (``room`` in :func:`_run_units`); ``in_flight`` is the
    number of units handed out whose results have not been counted yet.

    With ``batch_size`` every batch has that many units. Otherwise guided scheduling:
    a batch takes ``remaining / (4 n_workers)`` units (at most 64), so batches shrink
    toward the end and the workers finish together; and, once results have come in
    (``seen = [units, regions]`` so far), no more units than keep a batch's working
    memory under :data:`MAX_BATCH_BYTES` at the mean size seen (``row_bytes``: worker
    bytes per region), and no more than the units seen so far (unit sizes are heavy-
    tailed: on a 5-D net the median unit had 3,000 regions, the mean 25,000, the largest
    420,000, so a mean from a handful of units is not to be trusted with 64 units).
    Batches formed before any result has come in hold one unit each.
    """
    s = 0
    while s < len(todo):
        if batch_size:
            b = int(batch_size)
        else:
            b = max(1, min(64, -(-(len(todo) - s) // (4 * n_workers))))
            if seen[0] == 0:
                b = 1
            else:  # at most as many units as seen so far: the estimate firms up first
                per_unit = max(seen[1] / seen[0], 1.0)
                b = max(1, min(b, seen[0], int(MAX_BATCH_BYTES / (per_unit * row_bytes))))
        if room is not None:
            b = max(1, min(b, room(s - seen[0])))
        ids = todo[s:s + b]
        yield ids, codes0[ids]
        s += b

