"""Enumeration in work units: parallel and distributed executors, streaming, results on
disk, budgets, checkpoints and resume.

Method
------
The arrangement of the first ``k`` neurons of the first hidden layer is enumerated
serially (cheap: ``k`` hyperplanes; ``k`` is the first of 1, 2, ..., 8, 10, 13, 17, ...
(steps of 25%, see :func:`next_k`), capped at the layer's width, whose arrangement has at
least ``TARGET_UNITS`` cells in the domain, so the plan does not depend on the executor). Each of its cells ``P`` (code ``c0`` of those
``k`` neurons) is a *work unit*: the whole network is enumerated on the polytope ``P`` by
the same kernel. Units are independent, so they can run anywhere: in this process, in a
local process pool, or on a Dask cluster; the network is shipped once per worker. A unit's
computation depends only on the unit, so the final RegionSet is identical, array for
array, whatever the executor, the batches and the order units complete in.

The kernel starts a unit with a cold Chebyshev LP of ``P`` (the direct run never solves
that LP: its root is the domain, its cells are reached by warm starts). In high dimension
that LP is degenerate and the simplex could stop "optimal" outside ``P`` (a 64-D MLP:
regions of other units came back), so each unit first solves it exactly as the kernel
will and runs with the first pivot tolerance of :data:`ROOT_PIVOT_FACTORS` under which
its centre is certified inside ``P`` (a unit with none raises
:class:`~polyregion.errors.SolverError`). As in the direct run, every witness is then
checked against all hyperplanes of its code (:mod:`._witness`), and every region's prefix
code against its unit's.

Canonical order without a global sort: ``c0`` are the first ``k`` columns of every code
of unit ``P``, and the units are numbered in the lexicographic order of ``c0``; so the
regions sorted by code are the units in ascending order, each sorted inside. Workers sort
their batch (by whole rows of bytes, bit-packed when every activation has two pieces) and
the driver only concatenates: its serial work is O(regions) copying.

Cost: the kernels' (see :mod:`.engine`); the driver adds the plan (``k`` hyperplanes),
O(regions * bytes per region) copying, and about 1 ms (local processes) or 15 ms (Dask)
of latency per batch, hidden by keeping a few batches in flight per worker. Batches are
formed lazily with guided sizes (large first, single units at the end) capped so one
batch's worker memory stays under :data:`MAX_BATCH_BYTES`, and, near a budget
(``max_regions``, ``max_seconds``, ``max_memory``), to half of what the budget left
affords at the rate seen so far, so a budget is exceeded by at most one small batch. The
partial result of a budget carries its batches, and ``resume=`` runs only the rest.

Checkpoints are a directory: ``manifest.json`` (a fingerprint of the problem), a journal
``written.txt`` naming every file the library creates there (before creating it), and one
``units_<first>.npz`` shard per completed batch of units, each written atomically (temp
file + rename), so a run killed at any moment (even by SIGKILL) resumes from the shards
that exist. A shard carries the problem's fingerprint, the digest of the unit plan, its
unit ids and a SHA-256 digest of its arrays; on resume each is checked (and its regions'
prefix codes against its units' codes), and anything foreign, tampered or inconsistent
raises :class:`~polyregion.errors.CheckpointError`; files not in the journal are never
overwritten or deleted (:class:`Checkpoint`). ``out=dir`` uses the same shards, then
copies them in canonical order into ``codes.npy`` (bit-packed), ``points.npy`` and
``radii.npy``, opened as memory maps by
:class:`DiskRegionSet`; the driver holds one shard at a time (each unit's final rows
are known from the unit sizes, so shards are copied in any order).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import pickle
import re
import threading
import time
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from ..errors import BudgetExceededError, CheckpointError, InvalidInputError
from ..regions import RegionSet

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

__all__ = ["plan_units", "run_units", "Checkpoint", "DiskRegionSet", "PackedCodes",
           "iter_regions", "open_region_dir"]


# ------------------------------------------------------------------ sub-problems
def _kernel_net(Ws, bs, n_bp, bps, slopes, intercepts, A0, b0, k):
    Ws = [np.ascontiguousarray(W, dtype=np.float64) for W in Ws]
    bs = [np.ascontiguousarray(b, dtype=np.float64) for b in bs]
    return SimpleNamespace(
        Ws=Ws, bs=bs, dims=np.array([k] + [W.shape[0] for W in Ws], np.int64),
        n_bp=np.ascontiguousarray(n_bp), bps=np.ascontiguousarray(bps),
        slopes=np.ascontiguousarray(slopes), intercepts=np.ascontiguousarray(intercepts),
        W_flat=np.concatenate([W.ravel() for W in Ws]),
        W_off=np.concatenate([[0], np.cumsum([W.size for W in Ws])]).astype(np.int64),
        b_flat=np.concatenate(bs),
        b_off=np.concatenate([[0], np.cumsum([b.size for b in bs])]).astype(np.int64),
        A0=np.ascontiguousarray(A0, dtype=np.float64),
        b0=np.ascontiguousarray(b0, dtype=np.float64))


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
    return SimpleNamespace(
        dims=prep.dims, n_bp=prep.n_bp, bps=prep.bps, slopes=prep.slopes,
        intercepts=prep.intercepts, W_flat=prep.W_flat, W_off=prep.W_off,
        b_flat=prep.b_flat, b_off=prep.b_off, A0=A, b0=b, Ws=prep.Ws, bs=prep.bs)


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
            prep.W_flat, prep.W_off, prep.b_flat, prep.b_off, prep.dims, prep.n_bp,
            prep.bps, prep.slopes, prep.intercepts, tol.feasibility, tol.zero_row,
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

#: worker side: the payload of the call being served, ``{token: payload}`` (one entry)
_WORKER_PAYLOAD = {}


def _worker_batch(token, blob, unit_ids, codes0):
    """Run a batch in a pool worker. ``blob`` is the pickled payload of the call with id
    ``token``; it is unpickled once per worker and call."""
    payload = _WORKER_PAYLOAD.get(token)
    if payload is None:
        _WORKER_PAYLOAD.clear()
        payload = pickle.loads(blob)
        _WORKER_PAYLOAD[token] = payload
    return run_batch(payload, unit_ids, codes0)


def _dask_batch(payload, unit_ids, codes0):
    return run_batch(payload, unit_ids, codes0)


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


def _completion_loop(submit, wait_any, batches, window):
    """Keep ``window`` batches in flight; yield results as they complete.

    ``submit(ids, codes0) -> future``; ``wait_any(futures) -> completed futures``. A
    completed future is dropped as soon as its result is handed over, so results do not
    pile up in the driver, and the next batch is formed only when there is room (so the
    batch plan can adapt to the results seen).
    """
    it = iter(batches)
    pending = set()
    try:
        for b in it:
            pending.add(submit(*b))
            if len(pending) >= window:
                break
        while pending:
            for f in wait_any(pending):
                pending.discard(f)
                res = f.result()
                del f
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(submit(*nxt))
                yield res
    finally:
        for f in pending:
            f.cancel()


class _Serial:
    def __init__(self, payload):
        self.payload = payload

    def map(self, batches):
        for ids, c0 in batches:
            yield run_batch(self.payload, ids, c0)

    def close(self):
        pass


#: a local process pool outlives the call that started it, for later calls with the same
#: number of workers, and shuts down after this many seconds without work: a fresh pool
#: (fork, then every worker growing its heap on its first batch) cost sub-second jobs
#: 20-40% of their time (docs/scale.md)
POOL_IDLE_SECONDS = 300.0

_POOLS = {}  # n_workers -> [ProcessPoolExecutor, idle timer or None, calls using it]
_POOLS_LOCK = threading.Lock()
_CALLS = itertools.count()


def _acquire_pool(n_workers):
    import multiprocessing as mp
    import sys
    from concurrent.futures import ProcessPoolExecutor

    with _POOLS_LOCK:
        entry = _POOLS.get(n_workers)
        if entry is not None and getattr(entry[0], "_broken", False):
            entry[0].shutdown(wait=False, cancel_futures=True)
            entry = None
        if entry is None:
            # fork on Linux: workers inherit the compiled kernels and the imported package,
            # and scripts need no `if __name__ == "__main__"` guard; spawn elsewhere.
            ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx)
            for _ in range(n_workers):  # start the workers now, not at the first batch
                pool.submit(int)
            entry = _POOLS[n_workers] = [pool, None, 0]
        if entry[1] is not None:
            entry[1].cancel()
            entry[1] = None
        entry[2] += 1
        return entry[0]


def _release_pool(n_workers, pool, failed):
    """End a call's use of ``pool``; a call that failed (a worker died, an interrupt)
    takes the pool down, as its workers may still be busy with the call's batches."""
    with _POOLS_LOCK:
        entry = _POOLS.get(n_workers)
        if entry is None or entry[0] is not pool:
            return
        entry[2] -= 1
        if not failed:
            if entry[2] == 0:
                entry[1] = threading.Timer(POOL_IDLE_SECONDS, _idle_shutdown, (n_workers, pool))
                entry[1].daemon = True
                entry[1].start()
            return
        del _POOLS[n_workers]
    pool.shutdown(wait=False, cancel_futures=True)


def _idle_shutdown(n_workers, pool):
    with _POOLS_LOCK:
        entry = _POOLS.get(n_workers)
        if entry is None or entry[0] is not pool or entry[2]:
            return
        del _POOLS[n_workers]
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pools():
    """Shut down the local process pools kept for reuse (they also end after
    :data:`POOL_IDLE_SECONDS` idle seconds, and with the interpreter).

    Examples
    --------
    >>> from polyregion.enumerate.scale import shutdown_pools
    >>> shutdown_pools()
    """
    with _POOLS_LOCK:
        entries = list(_POOLS.values())
        _POOLS.clear()
    for pool, timer, _ in entries:
        if timer is not None:
            timer.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


class _Processes:
    """A local process pool (kept for reuse, see :data:`POOL_IDLE_SECONDS`); results are
    yielded as batches complete. The payload is pickled once per call and unpickled once
    per worker and call."""

    def __init__(self, payload, n_workers):
        self.n_workers = n_workers
        self.token = (os.getpid(), next(_CALLS))
        self.blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        self.pool = _acquire_pool(n_workers)
        self.failed = True  # until map() has run to its end

    def map(self, batches):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        from ..errors import ExecutorError

        try:
            yield from _completion_loop(
                lambda ids, c0: self.pool.submit(_worker_batch, self.token, self.blob, ids, c0),
                lambda fs: wait(fs, return_when=FIRST_COMPLETED).done, batches,
                2 * self.n_workers)
        except BrokenProcessPool as e:
            raise ExecutorError(
                f"A worker process of `executor`={self.n_workers} died before finishing its "
                "batch (killed, or out of memory: try fewer processes or a smaller "
                "`batch_size`); completed batches are kept when `checkpoint=` is set, and "
                "`resume=` continues from them.") from e
        self.failed = False

    def close(self):
        if self.pool is not None:
            _release_pool(self.n_workers, self.pool, self.failed)
            self.pool = None


class _Dask:
    def __init__(self, payload, client, n_workers):
        self.client = client
        self.n_workers = n_workers
        # hash=False: a key of its own per call. With the default content hash, a second
        # call on the same problem got the same key, and the release of the first
        # call's future (when it was collected) deleted the data under the second
        # call's tasks ("lost dependencies")
        [self.payload] = client.scatter([payload], broadcast=True, hash=False)

    def map(self, batches):
        from dask.distributed import wait

        # a few more tasks in flight than workers: a Dask task costs ~15 ms of latency
        return _completion_loop(
            lambda ids, c0: self.client.submit(_dask_batch, self.payload, ids, c0, pure=False),
            lambda fs: wait(fs, return_when="FIRST_COMPLETED").done,
            batches, 3 * self.n_workers + 2)

    def close(self):
        if self.payload is not None:
            self.payload.release()
            self.payload = None


def n_workers_of(executor):
    if executor is None or executor == "serial":
        return 1
    if executor == "processes":
        return os.cpu_count() or 1
    if isinstance(executor, (int, np.integer)) and not isinstance(executor, bool):
        return int(executor)
    return max(1, len(getattr(executor, "scheduler_info", lambda: {})().get("workers", {})))


def make_executor(executor, payload):
    if executor is None or executor == "serial":
        return _Serial(payload)
    if executor == "processes" or (isinstance(executor, (int, np.integer))
                                   and not isinstance(executor, bool)):
        n = n_workers_of(executor)
        if n < 1:
            raise InvalidInputError(f"`executor` as a number of processes must be >= 1; got {n}.")
        return _Serial(payload) if n == 1 else _Processes(payload, n)
    try:
        from dask.distributed import Client
    except ImportError:
        Client = None
    if Client is not None and isinstance(executor, Client):
        return _Dask(payload, executor, n_workers_of(executor))
    raise InvalidInputError(
        "`executor` must be None, 'serial', 'processes', a positive int (local processes) or a "
        f"dask.distributed.Client; got {executor!r}. For Dask: pip install polyregion[dask]."
    )


# ------------------------------------------------------------------ checkpoints
#: version of the unit shards (sorted, packed rows; fingerprint, plan and digest inside);
#: part of the fingerprint, so a directory written by another version is refused rather
#: than misread
SHARD_VERSION = 3

#: a checkpoint directory's manifest (format, version, fingerprint of the problem)
MANIFEST = "manifest.json"
#: the journal of a checkpoint directory: the name of every file the library creates
#: there, appended *before* the file is created (so a kill never leaves a file of ours
#: unlisted); only files listed in it are ever overwritten or deleted
JOURNAL = "written.txt"
#: a shard (group 1: its first unit) or a shard being written (group 2)
_SHARD_NAME = re.compile(r"units_(\d{9})\.npz(\.tmp\.npz)?")
#: the files of a directory of regions (:func:`write_region_dir`) and their temporaries
_RESULT_NAMES = frozenset(["codes.npy", "points.npy", "radii.npy", "codes.npy.tmp",
                           "points.npy.tmp", "radii.npy.tmp", "meta.npz", "meta.tmp.npz",
                           "regions.json", "regions.json.tmp"])
#: the arrays of a shard covered by its digest, in digest order
_SHARD_ARRAYS = ("unit_ids", "sizes", "codes", "points", "radii", "packed", "n_lps")


def _library_name(name):
    """True for the names of files the library writes in a checkpoint directory."""
    return name in _RESULT_NAMES or _SHARD_NAME.fullmatch(name) is not None


def fingerprint(prep, method, tol) -> str:
    """SHA-256 of everything the regions depend on: the bytes, dtypes and shapes of the
    prepared network (weights, biases, activations' breakpoints, slopes and intercepts,
    layer widths), of the domain (half-spaces, centre, scale), and the method, the
    tolerances and :data:`SHARD_VERSION`. Two problems with the same shapes but other
    values have different fingerprints."""
    h = hashlib.sha256()
    for arr in (prep.W_flat, prep.b_flat, prep.dims, prep.n_bp, prep.bps, prep.slopes,
                prep.intercepts, prep.A0, prep.b0, np.array([prep.scale]), prep.center):
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}{arr.shape};".encode())
        h.update(arr.tobytes())
    h.update(repr((method, tol, SHARD_VERSION)).encode())
    return h.hexdigest()


def plan_digest(codes0) -> str:
    """SHA-256 of a unit plan (the prefix codes of the units, in order)."""
    codes0 = np.ascontiguousarray(codes0, dtype=np.uint8)
    return hashlib.sha256(repr(codes0.shape).encode() + codes0.tobytes()).hexdigest()


def _shard_digest(fp, plan, arrays):
    """SHA-256 of a shard's arrays (names, dtypes, shapes, bytes), its problem's
    fingerprint and its plan: detects a shard edited or corrupted after it was written."""
    h = hashlib.sha256()
    h.update(f"{fp};{plan};".encode())
    for name in _SHARD_ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}{a.shape};".encode())
        h.update(a.reshape(-1).view(np.uint8))  # the bytes, without a copy
    return h.hexdigest()


def _batch_problem(b, codes0, packed, width, k):
    """What is inconsistent in the :class:`Batch` ``b`` of a plan with prefix codes
    ``codes0`` (a sentence), or None: unit ids ascending and in range, one size per unit,
    arrays of the problem's dtypes and shapes with one row per region, finite points,
    positive radii, and every region's first-layer prefix equal to its unit's code."""
    ids, sizes = np.asarray(b.ids), np.asarray(b.sizes)
    n_units = len(codes0)
    if ids.dtype != np.int64 or ids.ndim != 1 or not len(ids):
        return "its `unit_ids` are not a non-empty 1-D int64 array"
    if np.any(np.diff(ids) <= 0) or ids[0] < 0 or ids[-1] >= n_units:
        return (f"its `unit_ids` must ascend strictly within [0, {n_units}) (the plan's "
                f"units); got {ids[:8].tolist()}{' ...' if len(ids) > 8 else ''}")
    if sizes.dtype != np.int64 or sizes.shape != ids.shape or np.any(sizes < 0):
        return "its `sizes` are not one non-negative int64 per unit"
    n = int(sizes.sum())
    codes, pts, radii = b.codes, b.points, b.radii
    if bool(b.packed) != packed or codes.dtype != np.uint8 or codes.shape != (n, width):
        form = "bit-packed" if packed else "one byte per neuron"
        return (f"its codes must be ({n}, {width}) uint8 ({form}); got {codes.shape} "
                f"{codes.dtype}, packed={bool(b.packed)}")
    if pts.dtype != np.float64 or pts.shape != (n, k) or radii.dtype != np.float64 \
            or radii.shape != (n,):
        return (f"its points and radii must be ({n}, {k}) and ({n},) float64; got "
                f"{pts.shape} {pts.dtype} and {radii.shape} {radii.dtype}")
    if not (np.all(np.isfinite(pts)) and np.all(np.isfinite(radii)) and np.all(radii > 0)):
        return "its points or radii are not finite, or a radius is not positive"
    if not _prefixes_match(codes, packed, codes0[ids], sizes):
        return ("a region's first-layer prefix code differs from the code of the unit it is "
                "filed under (`unit_ids` shifted or codes edited)")
    return None


class Checkpoint:
    """A directory of completed work units (see the module docstring).

    Files: ``manifest.json`` (format, version, fingerprint of the problem), the journal
    ``written.txt`` (every file the library creates here, listed before it is created)
    and one shard ``units_<first unit>.npz`` per completed batch, holding the problem's
    fingerprint, the digest of the unit plan, its unit ids and sizes, and a SHA-256
    digest of all of it. Opening a directory checks the manifest and refuses files named
    like the library's that the journal does not list; :meth:`shards` and :meth:`read`
    check every shard (fingerprint, plan, digest, unit ids against the plan and against
    the other shards, every region's prefix code against its unit's). Anything foreign,
    tampered or inconsistent raises :class:`~polyregion.errors.CheckpointError`; a file
    not listed in the journal is never overwritten or deleted.
    """

    def __init__(self, path, fp):
        self.path = os.fspath(path)
        self.fingerprint = fp
        self.codes0 = self.plan = None
        os.makedirs(self.path, exist_ok=True)
        man = os.path.join(self.path, MANIFEST)
        if os.path.exists(man):
            try:
                with open(man) as f:
                    info = json.load(f)
            except (OSError, ValueError) as exc:
                raise CheckpointError(f"Checkpoint directory {self.path!r}: its {MANIFEST} "
                                      f"cannot be read ({exc}).") from None
            if not isinstance(info, dict) or "fingerprint" not in info:
                raise CheckpointError(
                    f"Directory {self.path!r} has a {MANIFEST} that polyregion did not "
                    "write; it is not used as a checkpoint and nothing in it is changed: "
                    "use a new directory.")
            if info.get("version") != SHARD_VERSION:
                raise CheckpointError(
                    f"Checkpoint {self.path!r} was written by another polyregion version "
                    f"(shard version {info.get('version')!r}; this one reads "
                    f"{SHARD_VERSION}); use a new directory.")
            if info.get("fingerprint") != fp:
                raise CheckpointError(
                    f"Checkpoint {self.path!r} belongs to a different problem (network, "
                    "domain, method or tolerances differ, or another polyregion version "
                    "wrote it); use a new directory.")
            self._written = self._read_journal()
            foreign = sorted(n for n in os.listdir(self.path)
                             if _library_name(n) and n not in self._written)
            if foreign:
                more = " ..." if len(foreign) > 5 else ""
                raise CheckpointError(
                    f"Checkpoint {self.path!r} holds files named like polyregion's that it "
                    f"did not write ({', '.join(foreign[:5])}{more}; not in {JOURNAL}): "
                    "they are neither used nor deleted; move them away.")
        else:
            clash = sorted(n for n in os.listdir(self.path)
                           if _library_name(n) or n in (JOURNAL, MANIFEST + ".tmp"))
            if clash:
                more = " ..." if len(clash) > 5 else ""
                raise CheckpointError(
                    f"Directory {self.path!r} holds files named like polyregion's "
                    f"({', '.join(clash[:5])}{more}) but no "
                    f"polyregion {MANIFEST}; they would be overwritten or deleted, so the "
                    "directory is refused: use a new or empty directory for `checkpoint=` "
                    "or `out=`.")
            self._written = set()
            with open(man + ".tmp", "w") as f:
                json.dump({"format": "polyregion-checkpoint", "version": SHARD_VERSION,
                           "fingerprint": fp, "journal": JOURNAL}, f)
            os.replace(man + ".tmp", man)

    def _read_journal(self):
        try:
            with open(os.path.join(self.path, JOURNAL)) as f:
                text = f.read()
        except FileNotFoundError:  # killed between the manifest and the first shard
            return set()
        lines = text.split("\n")
        return set(lines[:-1])  # the last piece is "" or a line cut short by a kill

    def note(self, *names):
        """List ``names`` in the journal (before creating them)."""
        new = [n for n in names if n not in self._written]
        if new:
            text = "".join(n + "\n" for n in new).encode()
            with open(os.path.join(self.path, JOURNAL), "ab+") as f:
                if f.seek(0, os.SEEK_END) > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":  # a line cut short by a kill: start a new one
                        text = b"\n" + text
                f.write(text)
            self._written.update(new)

    def bind(self, codes0, prep):
        """Tie the directory to the unit plan ``codes0`` of the problem ``prep``: shards
        are written and checked against it."""
        self.codes0 = codes0
        self.plan = plan_digest(codes0)
        self.packed = packable(prep)
        n_neur = int(sum(prep.dims[1:-1]))
        self.width = -(-n_neur // 8) if self.packed else n_neur
        self.k = int(prep.dims[0])

    def _bad(self, path, what):
        return CheckpointError(f"Checkpoint shard {path!r}: {what}. It was not written by "
                               "this run's problem and plan, or was changed since; nothing "
                               "was deleted: move it away (its units are then redone).")

    def shards(self, check=True):
        """Completed shards, and no unit in two of them: a list of ``(path, unit_ids,
        sizes, n_lps)`` (a shard cut short by a kill is a temporary file and is ignored:
        its units run again). With ``check`` every shard is read whole and checked by
        :meth:`read`; without, only its unit ids and sizes are read (whoever then reads
        the shard must use :meth:`read`)."""
        out = []
        covered = np.zeros(len(self.codes0), bool)
        for name in sorted(os.listdir(self.path)):
            m = _SHARD_NAME.fullmatch(name)
            if m is None or m.group(2):
                continue
            path = os.path.join(self.path, name)
            if name not in self._written:
                raise self._bad(path, f"not listed in {JOURNAL} (a foreign file)")
            if check:
                b = self.read(path)
                ids, sizes, n_lps = b.ids, b.sizes, b.n_lps
            else:
                try:
                    with np.load(path, allow_pickle=False) as f:
                        ids, sizes, n_lps = f["unit_ids"], f["sizes"], int(f["n_lps"])
                except Exception as exc:
                    raise self._bad(path, f"cannot be read as a shard ({type(exc).__name__}: "
                                          f"{exc})") from None
                if ids.dtype != np.int64 or ids.ndim != 1 or sizes.shape != ids.shape \
                        or np.any(ids < 0) or np.any(ids >= len(covered)):
                    raise self._bad(path, "its `unit_ids` or `sizes` are malformed or out of "
                                          "the plan's range")
            if np.any(covered[ids]):
                dup = ids[covered[ids]]
                raise self._bad(path, f"units {dup[:8].tolist()} are also in another shard")
            covered[ids] = True
            out.append((path, ids, sizes, n_lps))
        return out

    def read(self, path):
        """The :class:`Batch` stored in shard ``path``, checked: it carries this
        problem's fingerprint and plan, its arrays match its digest, its name is its first
        unit, and :func:`_batch_problem` finds nothing wrong."""
        try:
            with np.load(path, allow_pickle=False) as f:
                z = {key: f[key] for key in _SHARD_ARRAYS + ("fingerprint", "plan", "digest")}
        except Exception as exc:  # not a zip, truncated, a key missing, pickled objects
            raise self._bad(path, f"cannot be read as a shard ({type(exc).__name__}: "
                                  f"{exc})") from None
        if z["fingerprint"].shape or str(z["fingerprint"]) != self.fingerprint:
            raise self._bad(path, "written for another problem (network, domain, method or "
                                  "tolerances): its fingerprint differs")
        if z["plan"].shape or str(z["plan"]) != self.plan:
            raise self._bad(path, "written for another plan of work units")
        if z["digest"].shape or str(z["digest"]) != _shard_digest(self.fingerprint,
                                                                  self.plan, z):
            raise self._bad(path, "its contents do not match its SHA-256 digest (tampered "
                                  "or corrupt)")
        if z["packed"].shape or z["n_lps"].shape or z["packed"].dtype.kind not in "iub" \
                or z["n_lps"].dtype.kind not in "iu":
            raise self._bad(path, "`packed` and `n_lps` must be integer scalars")
        b = Batch(z["unit_ids"], z["codes"], bool(int(z["packed"])), z["points"], z["radii"],
                  int(z["n_lps"]), z["sizes"])
        problem = _batch_problem(b, self.codes0, self.packed, self.width, self.k)
        if problem is None and os.path.basename(path) != f"units_{int(b.ids[0]):09d}.npz":
            problem = f"its name does not match its first unit {int(b.ids[0])}"
        if problem is not None:
            raise self._bad(path, problem)
        return b

    def save(self, res):
        name = f"units_{int(res.ids[0]):09d}.npz"
        tmp = name + ".tmp.npz"
        self.note(name, tmp)
        arrays = dict(unit_ids=np.ascontiguousarray(res.ids, dtype=np.int64),
                      sizes=np.ascontiguousarray(res.sizes, dtype=np.int64),
                      codes=np.ascontiguousarray(res.codes, dtype=np.uint8),
                      points=np.ascontiguousarray(res.points, dtype=np.float64),
                      radii=np.ascontiguousarray(res.radii, dtype=np.float64),
                      packed=np.array(int(res.packed), np.int64),
                      n_lps=np.array(int(res.n_lps), np.int64))
        digest = _shard_digest(self.fingerprint, self.plan, arrays)
        np.savez(os.path.join(self.path, tmp), fingerprint=np.array(self.fingerprint),
                 plan=np.array(self.plan), digest=np.array(digest), **arrays)
        os.replace(os.path.join(self.path, tmp), os.path.join(self.path, name))

    def clear_shards(self):
        """Delete the shards and shard temporaries listed in the journal; nothing else."""
        for name in sorted(self._written):
            path = os.path.join(self.path, name)
            if _SHARD_NAME.fullmatch(name) and os.path.exists(path):
                os.remove(path)


# ------------------------------------------------------------------ driver
def run_units(prep, method, tol, *, executor=None, batch_size=None, max_regions=None,
              max_seconds=None, max_memory=None, checkpoint=None, resume_state=None,
              callback=None):
    """Generator of events:

    - ``("plan", codes0, n_lps)`` first;
    - ``("batch", res)``: a :class:`Batch` computed now or carried over in
      ``resume_state``;
    - ``("stored", path, ids, sizes, n_lps)``: a batch already in the checkpoint
      directory, checked (read it with the checkpoint's :meth:`Checkpoint.read`);
    - ``("budget", reason, todo)`` if a budget stops the run (checked between batches).

    ``checkpoint`` is a path or a :class:`Checkpoint`.
    """
    t0 = time.perf_counter()
    fp = fingerprint(prep, method, tol)
    ckpt = None
    if checkpoint is not None:
        ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint(checkpoint, fp)
    ex = None
    try:
        if ckpt is None and resume_state is None:  # start the workers while planning
            ex = make_executor(executor, (prep, method, tol))
        yield from _run_units(prep, method, tol, fp, ckpt, ex, t0, executor, batch_size,
                              max_regions, max_seconds, max_memory, resume_state, callback)
    finally:
        if ex is not None:
            ex.close()


def _run_units(prep, method, tol, fp, ckpt, ex, t0, executor, batch_size, max_regions,
               max_seconds, max_memory, resume_state, callback):
    codes0, n_lps0 = plan_units(prep, method, tol)
    n_units = len(codes0)
    yield ("plan", codes0, n_lps0)
    done = np.zeros(n_units, bool)
    n_regions = 0
    if ckpt is not None:
        ckpt.bind(codes0, prep)
        for path, ids, sizes, nl in ckpt.shards():  # checked, no overlaps
            done[ids] = True
            n_regions += int(sizes.sum())
            yield ("stored", path, ids, sizes, nl)
    if resume_state is not None:
        if resume_state.get("fingerprint") != fp:
            raise CheckpointError("`resume` belongs to a different problem (network, domain, "
                                  "method or tolerances differ).")
        packed = packable(prep)
        n_neur = int(sum(prep.dims[1:-1]))
        for res in resume_state["batches"]:
            problem = _batch_problem(res, codes0, packed, -(-n_neur // 8) if packed
                                     else n_neur, int(prep.dims[0]))
            if problem is not None:
                raise CheckpointError(f"`resume`: a batch of the partial result is "
                                      f"inconsistent: {problem}.")
            hit = done[res.ids]
            if hit.all():  # also in the checkpoint directory
                continue
            if hit.any():
                raise CheckpointError(
                    f"`resume`: a batch of the partial result (units {res.ids[:8].tolist()}) "
                    "overlaps the checkpoint's shards in part; they come from different "
                    "runs: resume from one of them.")
            done[res.ids] = True
            n_regions += len(res.codes)
            if ckpt is not None:
                ckpt.save(res)
            yield ("batch", res)
    todo = np.flatnonzero(~done).astype(np.int64)
    # units in a fixed shuffled order: neighbouring units (in code order) tend to have
    # similar sizes, so in order the sizes seen first would mislead the batch cap, and the
    # big units would bunch together; any order gives the same result
    todo = todo[np.random.default_rng(0).permutation(len(todo))]
    if not len(todo):
        return
    nw = n_workers_of(executor)
    seen = [0, 0]
    n_done = int(done.sum())
    rbytes = result_bytes(prep)
    t_units = time.perf_counter()

    def room(in_flight):
        """Units the next batch may hold: with the ``in_flight`` units, at the rates seen
        so far (regions per unit over all units done, seconds per unit of this run), half
        of what the budgets left afford (so batches shrink geometrically toward a budget
        and the one that crosses it is small); at least 1, and 1 while there is no rate."""
        units = math.inf
        if max_regions is not None or max_memory is not None:
            if not n_done:
                return 1
            per_unit = max(n_regions / n_done, 1.0)
            if max_regions is not None:
                units = min(units, (max_regions - n_regions) / per_unit)
            if max_memory is not None:
                units = min(units, (max_memory - n_regions * rbytes) / (per_unit * rbytes))
        if max_seconds is not None:
            if not seen[0]:
                return 1
            now = time.perf_counter()
            per_unit = max((now - t_units) / seen[0], 1e-9)
            units = min(units, (max_seconds - (now - t0)) / per_unit)
        return max(1, int(min(units, 2 * n_units) / 2) - in_flight)

    budgets = max_regions is not None or max_seconds is not None or max_memory is not None
    batches = batch_plan(todo, codes0, batch_size, nw, seen, work_bytes(prep),
                         room if budgets else None)
    own = ex is None
    if own:
        ex = make_executor(executor, (prep, method, tol))
    try:
        for res in ex.map(batches):
            if ckpt is not None:
                ckpt.save(res)
            n_done += len(res.ids)
            done[res.ids] = True
            n_regions += len(res.codes)
            seen[0] += len(res.ids)
            seen[1] += len(res.codes)
            yield ("batch", res)
            del res
            elapsed = time.perf_counter() - t0
            if callback is not None:
                callback({"regions": n_regions, "units_done": n_done, "units_total": n_units,
                          "frontier": n_units - n_done, "seconds": elapsed,
                          "rate": n_regions / max(elapsed, 1e-9)})
            # max_regions is a promise about the result ("more regions than this raise"),
            # so it is checked after the last batch too; time and memory only matter
            # while work is left
            hit = None
            if max_regions is not None and n_regions > max_regions:
                hit = f"`max_regions`={max_regions}"
            elif n_done < n_units:
                if max_seconds is not None and elapsed > max_seconds:
                    hit = f"`max_seconds`={max_seconds}"
                elif max_memory is not None and n_regions * rbytes > max_memory:
                    hit = f"`max_memory`={max_memory} bytes"
            if hit:
                yield ("budget", hit, np.flatnonzero(~done).astype(np.int64))
                return
    finally:
        if own:
            ex.close()


def result_bytes(prep):
    """Bytes of one region in an in-memory RegionSet (uint8 code, float64 point and
    radius): what ``max_memory`` counts."""
    return int(sum(prep.dims[1:-1])) + 8 * int(prep.dims[0]) + 8


def work_bytes(prep):
    """Bytes a worker holds per region of a batch while the kernel's lists are converted
    (codes twice, point, radius, and ~512 bytes of per-region array objects)."""
    n_neur = int(sum(prep.dims[1:-1]))
    return 2 * n_neur + 16 * int(prep.dims[0]) + 520


def assemble(batches, n_neurons):
    """Concatenate batches into canonical order: units ascending, rows of a unit already
    sorted. Returns ``(codes, points, radii)`` (codes unpacked, kernel coordinates)."""
    ids = np.concatenate([b.ids for b in batches])
    sizes = np.concatenate([b.sizes for b in batches])
    packed = batches[0].packed
    codes = np.concatenate([b.codes for b in batches])
    pts = np.concatenate([b.points for b in batches])
    radii = np.concatenate([b.radii for b in batches])
    if np.any(np.diff(ids) < 0):  # batches completed out of order: reorder by unit
        o = np.argsort(ids, kind="stable")
        starts = np.cumsum(sizes) - sizes
        s, z = starts[o], sizes[o]
        perm = np.repeat(s - (np.cumsum(z) - z), z) + np.arange(int(z.sum()))
        codes, pts, radii = codes[perm], pts[perm], radii[perm]
    return unpack(codes, packed, n_neurons), pts, radii


def _resume_args(resume, checkpoint, out):
    """Normalise ``resume``: returns ``(resume_state, checkpoint)``."""
    from ..regions import RegionSet

    if out is not None:
        if checkpoint is not None and os.fspath(checkpoint) != os.fspath(out):
            raise InvalidInputError("`out` is also the checkpoint directory; `checkpoint` "
                                    f"must be None or the same path; got {checkpoint!r}.")
        checkpoint = out
    if resume is None:
        return None, checkpoint
    if isinstance(resume, RegionSet):
        state = getattr(resume, "_resume_state", None)
        if state is not None:
            return state, checkpoint
        where = getattr(resume, "checkpoint", None)
        if where is None:
            raise InvalidInputError("`resume` RegionSet holds no resume state: pass the "
                                    "`.partial` of a BudgetExceededError or a checkpoint "
                                    "directory.")
        resume = where
    if isinstance(resume, (str, os.PathLike)):
        if checkpoint is None:
            checkpoint = resume
        elif os.fspath(checkpoint) != os.fspath(resume):
            raise InvalidInputError("`resume` and `checkpoint` (or `out`) name different "
                                    "directories.")
        if not os.path.exists(os.path.join(os.fspath(resume), "manifest.json")):
            raise InvalidInputError(f"`resume`: no checkpoint at {os.fspath(resume)!r}.")
        return None, checkpoint
    raise InvalidInputError(
        f"`resume` must be a partial RegionSet or a checkpoint directory; got {resume!r}.")


def enumerate_in_units(net, domain, prep, method, tol, *, executor=None, batch_size=None,
                       max_regions=None, max_seconds=None, max_memory=None, checkpoint=None,
                       resume=None, progress=False, out=None):
    """Run all units and assemble one RegionSet (see :func:`enumerate_regions`).

    With ``out``, nothing is kept in memory: batches go to shards in ``out`` (which is the
    checkpoint directory), and at the end they are copied in canonical order into the
    files of a :class:`DiskRegionSet` (see :func:`write_region_dir`).
    """
    from ..regions import RegionSet, RegionStats

    resume_state, checkpoint = _resume_args(resume, checkpoint, out)
    ckpt = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, fingerprint(prep, method, tol))
        if out is not None and is_complete(out):
            return open_region_dir(out)
    bar, callback = _progress(progress)
    t0 = time.perf_counter()
    batches, stored, plan_lps, stop, todo, codes0 = [], [], 0, None, None, None
    n_lps = 0
    try:
        for ev in run_units(prep, method, tol, executor=executor, batch_size=batch_size,
                            max_regions=max_regions, max_seconds=max_seconds,
                            max_memory=max_memory, checkpoint=ckpt,
                            resume_state=resume_state, callback=callback):
            if ev[0] == "plan":
                codes0, plan_lps = ev[1], ev[2]
            elif ev[0] == "batch":
                n_lps += int(ev[1].n_lps)
                if out is None:
                    batches.append(ev[1])
            elif ev[0] == "stored":
                n_lps += int(ev[4])
                if out is None:
                    stored.append(ev[1])
            else:
                stop, todo = ev[1], ev[2]
    finally:
        if bar is not None:
            bar.close()
    stats = RegionStats(method=method, seconds=time.perf_counter() - t0,
                        n_lps=plan_lps + n_lps,
                        extra={"n_units": int(len(codes0)), "executor": repr(executor)})
    if out is not None:
        rs = write_region_dir(out, ckpt, net, domain, prep, stats, tol,
                              complete=stop is None)
    else:
        batches.extend(ckpt.read(p) for p in stored)
        if batches:
            codes, pts, radii = assemble(batches, net.n_neurons)
        else:
            k = int(prep.dims[0])
            codes, pts, radii = (np.zeros((0, net.n_neurons), np.uint8), np.zeros((0, k)),
                                 np.zeros(0))
        stats.n_regions = len(codes)
        rs = RegionSet(net, domain, codes, prep.to_domain(pts), radii * prep.scale,
                       stats=stats, tolerances=tol, sort=False)
    if stop is not None:
        if out is None:
            rs._resume_state = {"fingerprint": fingerprint(prep, method, tol),
                                "batches": batches}
        rs.frontier = codes0[todo]
        rs.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        raise BudgetExceededError(
            f"Enumeration stopped by {stop}: {len(rs)} regions in {len(codes0) - len(todo)} of "
            f"{len(codes0)} work units done. Continue with enumerate_regions(..., "
            + ("resume=err.partial)" if out is None else f"out={rs.checkpoint!r})")
            + (f" or resume={rs.checkpoint!r}." if rs.checkpoint and out is None else "."),
            partial=rs)
    return rs


# ------------------------------------------------------------------ results on disk
#: name of the file that marks a directory of regions (written last)
REGION_DIR_INFO = "regions.json"


def is_complete(path):
    info = os.path.join(os.fspath(path), REGION_DIR_INFO)
    if not os.path.exists(info):
        return False
    with open(info) as f:
        return bool(json.load(f).get("complete"))


def _npy_writer(path, dtype, shape):
    f = open(path, "wb")
    np.lib.format.write_array_header_2_0(
        f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
            "shape": tuple(int(s) for s in shape)})
    return f


def write_region_dir(path, ckpt, net, domain, prep, stats, tol, complete=True):
    """Copy the checkpoint's shards into ``codes.npy`` (bit-packed when every activation
    has two pieces), ``points.npy``, ``radii.npy`` (domain coordinates), units in
    ascending order, plus ``meta.npz`` (network, domain, stats, tolerances) and
    ``regions.json``; return the :class:`DiskRegionSet`.

    Every unit's final rows are known from the shards' unit sizes, so each shard is read
    once, in any order, and its units are written at their offsets: one shard in memory
    at a time, checked as it is read (:meth:`Checkpoint.read`). With ``complete`` the
    shards are then deleted (only those in the directory's journal; the manifest stays:
    it names the problem).
    """
    path = os.fspath(path)
    shards = ckpt.shards(check=False)  # each shard is checked when it is read below
    n_neur = net.n_neurons
    packed = packable(prep)
    width = -(-n_neur // 8) if packed else n_neur
    k = int(prep.dims[0])
    ids = np.concatenate([sh[1] for sh in shards]) if shards else np.zeros(0, np.int64)
    sizes = np.concatenate([sh[2] for sh in shards]) if shards else np.zeros(0, np.int64)
    o = np.argsort(ids)
    first = np.empty(len(ids), np.int64)  # final first row of each unit, in shard order
    first[o] = np.cumsum(sizes[o]) - sizes[o]
    n = int(sizes.sum())
    info = os.path.join(path, REGION_DIR_INFO)
    ckpt.note(*sorted(_RESULT_NAMES))  # in the journal before they are written
    if os.path.exists(info):
        os.remove(info)
    names = {"codes": (np.uint8, (n, width)), "points": (np.float64, (n, k)),
             "radii": (np.float64, (n,))}
    files = {key: _npy_writer(os.path.join(path, key + ".npy.tmp"), dt, sh)
             for key, (dt, sh) in names.items()}
    base = {key: f.tell() for key, f in files.items()}
    row = {"codes": width, "points": 8 * k, "radii": 8}
    try:
        u = 0
        for shard_path, sh_ids, sh_sizes, _ in shards:
            b = ckpt.read(shard_path)
            if not (np.array_equal(b.ids, sh_ids) and np.array_equal(b.sizes, sh_sizes)):
                raise ckpt._bad(shard_path, "it changed while the results were being written")
            r0, j = 0, 0
            while j < len(sh_ids):  # runs of consecutive units: one write each
                j2, size = j + 1, int(sh_sizes[j])
                while j2 < len(sh_ids) and sh_ids[j2] == sh_ids[j2 - 1] + 1:
                    size += int(sh_sizes[j2])
                    j2 += 1
                at = int(first[u + j])
                for key, arr in (("codes", b.codes[r0:r0 + size]),
                                 ("points", prep.to_domain(b.points[r0:r0 + size])),
                                 ("radii", b.radii[r0:r0 + size] * prep.scale)):
                    files[key].seek(base[key] + at * row[key])
                    np.ascontiguousarray(arr).tofile(files[key])
                r0 += size
                j = j2
            u += len(sh_ids)
            del b
    finally:
        for f in files.values():
            f.close()
    for key in names:
        os.replace(os.path.join(path, key + ".npy.tmp"), os.path.join(path, key + ".npy"))
    stats.n_regions = n
    meta = RegionSet(net, domain, np.zeros((0, n_neur), np.uint8), np.zeros((0, k)),
                     np.zeros(0), stats=stats, tolerances=tol, sort=False)
    meta.save(os.path.join(path, "meta.tmp.npz"))
    os.replace(os.path.join(path, "meta.tmp.npz"), os.path.join(path, "meta.npz"))
    with open(info + ".tmp", "w") as f:
        json.dump({"format": "polyregion-regions-dir", "version": 1, "n_regions": n,
                   "n_neurons": n_neur, "packed": packed, "complete": bool(complete),
                   "n_units_done": int(len(ids)), "fingerprint": ckpt.fingerprint}, f)
    os.replace(info + ".tmp", info)
    if complete:
        ckpt.clear_shards()
    return open_region_dir(path)


def open_region_dir(path):
    """Open a directory written by ``enumerate_regions(..., out=path)``."""
    from ..errors import FileFormatError

    path = os.fspath(path)
    try:
        with open(os.path.join(path, REGION_DIR_INFO)) as f:
            info = json.load(f)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path!r} is not a directory of regions written by "
                              f"enumerate_regions(..., out=...): {exc}") from None
    return DiskRegionSet(path, info)


def _open_npy(path):
    """A read-only memory map of an ``.npy`` file (a plain array when it is empty)."""
    arr = np.load(path, mmap_mode="r")
    return arr if arr.size else np.array(arr)


class PackedCodes:
    """Activation codes stored bit-packed (``np.packbits`` rows), read as if they were the
    ``(n_regions, n_neurons)`` uint8 array: indexing unpacks only the rows asked for;
    ``np.asarray(codes)`` unpacks everything (``n_regions * n_neurons`` bytes).

    Examples
    --------
    >>> import numpy as np
    >>> c = PackedCodes(np.packbits(np.array([[0, 1, 1], [1, 0, 0]], np.uint8), axis=1), 3)
    >>> c.shape, c[1].tolist(), np.asarray(c)[:, 1].tolist()
    ((2, 3), [1, 0, 0], [1, 0])
    """

    dtype = np.dtype(np.uint8)
    ndim = 2

    def __init__(self, packed, n_neurons):
        self.packed = packed
        self.shape = (packed.shape[0], int(n_neurons))

    def __len__(self):
        return self.shape[0]

    @property
    def size(self):
        return self.shape[0] * self.shape[1]

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        rows = np.unpackbits(np.asarray(self.packed[key]), axis=-1, count=self.shape[1])
        return rows[(Ellipsis,) + rest] if rest else rows

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, np.uint8)
        step = max(1, (1 << 24) // max(self.shape[1], 1))
        for s in range(0, len(self), step):
            out[s:s + step] = self[s:s + step]
        return out if dtype is None else out.astype(dtype)

    def __eq__(self, other):
        return np.asarray(self) == np.asarray(other)

    __hash__ = None


class DiskRegionSet(RegionSet):
    """A RegionSet whose arrays live in a directory (``enumerate_regions(..., out=path)``).

    ``points`` and ``radii`` are read-only memory maps; ``codes`` is a
    :class:`PackedCodes` over a memory map when every activation has two pieces, else a
    memory map of the uint8 codes. Everything a RegionSet does works; what needs all the
    codes at once (``save``, adjacency) unpacks them in memory. :meth:`index_of_codes`
    (and so :meth:`locate`) binary-searches the sorted codes on disk. Open one again with
    ``pr.RegionSet.load(path)``.
    """

    def __init__(self, path, info):
        from ..regions import RegionSet

        meta = RegionSet.load(os.path.join(path, "meta.npz"))
        super().__init__(meta.net, meta.domain, meta.codes, meta.points, meta.radii,
                         stats=meta.stats, tolerances=meta.tolerances, sort=False)
        raw = _open_npy(os.path.join(path, "codes.npy"))
        self._raw_codes = raw
        self.codes = PackedCodes(raw, info["n_neurons"]) if info["packed"] else raw
        self.points = _open_npy(os.path.join(path, "points.npy"))
        self.radii = _open_npy(os.path.join(path, "radii.npy"))
        self.path = path
        self.complete = bool(info["complete"])

    def __repr__(self):
        return super().__repr__()[:-1] + f", path={self.path!r})"

    def index_of_codes(self, codes):
        from ..regions import check_codes

        codes = check_codes(codes, self.net)  # the rules of RegionSet.index_of_codes
        if len(self) == 0:
            return np.full(len(codes), -1, np.int64)
        q = row_keys(np.packbits(codes, axis=1) if isinstance(self.codes, PackedCodes)
                     else codes)
        keys = row_keys(self._raw_codes)
        pos = np.clip(np.searchsorted(keys, q), 0, len(keys) - 1)
        return np.where(keys[pos] == q, pos, -1).astype(np.int64)


def iter_regions(net, domain, method="auto", *, executor=None, tolerances=None,
                 batch_size=None, checkpoint=None, resume=None):
    """Yield the regions in chunks (one RegionSet per completed batch of work units).

    Memory stays bounded by the chunk size: nothing is kept after it is yielded. Chunks
    are sorted by code inside; together they hold every region exactly once.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> rng = np.random.default_rng(0)
    >>> net = pr.Network.from_arrays([rng.normal(size=(6, 2)), rng.normal(size=(4, 6)),
    ...                               rng.normal(size=(1, 4))], [rng.normal(size=6),
    ...                               rng.normal(size=4), np.zeros(1)])
    >>> chunks = list(pr.iter_regions(net, pr.Box.cube(2)))
    >>> sum(len(c) for c in chunks) == len(pr.enumerate_regions(net, pr.Box.cube(2)))
    True
    """
    from ..regions import RegionSet, RegionStats
    from .engine import Prepared, _check, _pick_method

    domain, tol = _check(net, domain, method, tolerances)
    if net.has_max:
        raise InvalidInputError(
            "iter_regions does not stream networks with max layers (their regions are "
            "merged from cells of an expanded network at the end); use enumerate_regions.")
    method = _pick_method(method, domain)
    prep = Prepared(net, domain)
    if len(prep.Ws) < 2:
        yield enumerate_regions_direct(net, domain, method, tol)
        return
    resume_state, checkpoint = _resume_args(resume, checkpoint, None)
    ckpt = None if checkpoint is None else Checkpoint(checkpoint, fingerprint(prep, method, tol))
    for ev in run_units(prep, method, tol, executor=executor, batch_size=batch_size,
                        checkpoint=ckpt, resume_state=resume_state):
        if ev[0] in ("batch", "stored"):
            b = ev[1] if ev[0] == "batch" else ckpt.read(ev[1])
            yield RegionSet(net, domain, unpack(b.codes, b.packed, net.n_neurons),
                            prep.to_domain(b.points), b.radii * prep.scale,
                            stats=RegionStats(method=method, n_lps=int(b.n_lps),
                                              n_regions=len(b.codes)),
                            tolerances=tol, sort=False)


def enumerate_regions_direct(net, domain, method, tol):
    from .engine import enumerate_regions

    return enumerate_regions(net, domain, method=method, tolerances=tol)


def _progress(progress):
    """(tqdm bar or None, callback or None) for ``progress``: bool or callable."""
    if callable(progress):
        return None, progress
    if not progress:
        return None, None
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(total=None, unit="unit", file=sys.stderr, disable=None)
    state = {"n": 0}

    def cb(info):
        if bar.total is None:
            bar.total = info["units_total"]
        bar.update(info["units_done"] - state["n"])
        state["n"] = info["units_done"]
        bar.set_postfix(regions=info["regions"], rate=f"{info['rate']:.0f}/s")

    return bar, cb
