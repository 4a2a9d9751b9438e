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

Layout
------
- :mod:`._units`: the plan, one unit's problem, a batch run by the kernel, batch sizes.
- :mod:`.executors`: serial, local process pools, Dask; the completion loop.
- :mod:`.checkpoint`: shards, manifest, journal, fingerprints.
- :mod:`.region_dir`: results on disk (:class:`DiskRegionSet`).
- this module: the driver (:func:`run_units`, :func:`enumerate_in_units`,
  :func:`iter_regions`), budgets and resume.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from ..errors import BudgetExceededError, CheckpointError, InvalidInputError
from ..regions import RegionSet
from ._units import batch_plan, packable, plan_units, unpack
from .checkpoint import Checkpoint, _batch_problem, fingerprint
from .executors import make_executor, n_workers_of
from .region_dir import is_complete, open_region_dir, write_region_dir


# the public names of the work-unit layer, importable from here as before the split
from ._units import ROOT_PIVOT_FACTORS, TARGET_UNITS, Batch, unit_problem  # noqa: F401
from .checkpoint import _shard_digest  # noqa: F401
from .executors import shutdown_pools  # noqa: F401
from .region_dir import DiskRegionSet, PackedCodes  # noqa: F401

__all__ = ["plan_units", "run_units", "Checkpoint", "DiskRegionSet", "PackedCodes",
           "iter_regions", "open_region_dir", "shutdown_pools"]

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

