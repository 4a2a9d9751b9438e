"""Enumeration in work units: parallel and distributed executors, streaming, budgets,
checkpoints and resume.

Method
------
The arrangement of the first ``k`` neurons of the first hidden layer is enumerated
serially (cheap: ``k`` hyperplanes; ``k`` is the smallest power of two, capped at the
layer's width, whose arrangement has at least ``TARGET_UNITS`` cells in the domain, so the
plan does not depend on the executor). Each of its cells ``P`` (code ``c0`` of those
``k`` neurons) is a *work unit*: the whole network is enumerated on the polytope ``P`` by
the same kernel. Units are independent, so they can run anywhere: in this process, in a
local process pool, or on a Dask cluster; the network is shipped once per worker. A unit's
computation depends only on the unit, so the final RegionSet (sorted by code) is
identical, array for array, whatever the executor and whatever the order units complete
in.

Checkpoints are a directory: ``manifest.json`` (a fingerprint of the problem) and one
``units_<first>.npz`` shard per completed batch of units, each written atomically (temp
file + rename), so a run killed at any moment (even by SIGKILL) resumes from the shards
that exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from types import SimpleNamespace

import numpy as np

from ..errors import BudgetExceededError, InvalidInputError

TARGET_UNITS = 256

__all__ = ["plan_units", "run_units", "Checkpoint"]


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


def plan_units(prep, method, tol):
    """Cells of the first ``k`` first-layer neurons; return ``(codes0, n_lps)``.

    ``codes0`` (n_units, k) uint8 lists them in canonical order (see the module docstring
    for ``k``).
    """
    from .engine import _run_kernel

    n0 = prep.Ws[0].shape[0]
    d = int(prep.dims[0])
    n_lps = 0
    k = 1
    while True:
        k = min(2 * k, n0)
        trunc = _kernel_net([prep.Ws[0][:k], np.ones((1, k))], [prep.bs[0][:k], np.zeros(1)],
                            prep.n_bp[:1], prep.bps[:1], prep.slopes[:1],
                            prep.intercepts[:1], prep.A0, prep.b0, d)
        codes, _, _, nl, _, _, _, _ = _run_kernel(method, trunc, trunc.A0, trunc.b0, tol)
        n_lps += int(nl)
        if len(codes) >= TARGET_UNITS or k == n0:
            break
    codes = np.array(codes, np.uint8).reshape(-1, k)
    order = np.lexsort(codes.T[::-1])
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


def run_batch(payload, unit_ids, codes0):
    """Run a batch of units. Returns ``(unit_ids, codes, points, radii, n_lps, sizes)``."""
    from .engine import _run_kernel

    prep, method, tol = payload
    prep._unit_method = method
    k = int(prep.dims[0])
    n_neur = int(sum(prep.dims[1:-1]))
    if method in ("lp", "planar"):  # the whole batch in one kernel call
        from ._kernels_units import _batch

        cc = _unit_cache(prep, tol.zero_row)
        c, p, r, sizes, st = _batch(
            0 if method == "lp" else 1, np.ascontiguousarray(codes0, dtype=np.uint8),
            prep.A0, prep.b0, cc["An"], cc["bn"], cc["nrm"], cc["live"], cc["t"],
            prep.W_flat, prep.W_off, prep.b_flat, prep.b_off, prep.dims, prep.n_bp,
            prep.bps, prep.slopes, prep.intercepts, tol.feasibility, tol.zero_row,
            tol.pivot, tol.pivot * 1e-2, tol.max_simplex_iter)
        n = len(c)
        return (np.asarray(unit_ids, np.int64),
                np.array(c, np.uint8).reshape(n, n_neur) if n else np.zeros((0, n_neur), np.uint8),
                np.array(p, np.float64).reshape(n, k) if n else np.zeros((0, k)),
                np.array(r, np.float64).reshape(n), int(st[0]), sizes)
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
    return (np.asarray(unit_ids, np.int64),
            np.vstack(out_c) if out_c else np.zeros((0, n_neur), np.uint8),
            np.vstack(out_p) if out_p else np.zeros((0, k)),
            np.concatenate(out_r) if out_r else np.zeros(0),
            n_lps, np.asarray(sizes, np.int64))


# ------------------------------------------------------------------ workers
_WORKER_PAYLOAD = None


def _init_worker(payload):
    global _WORKER_PAYLOAD
    _WORKER_PAYLOAD = payload


def _worker_batch(unit_ids, codes0):
    return run_batch(_WORKER_PAYLOAD, unit_ids, codes0)


def _dask_batch(payload, unit_ids, codes0):
    return run_batch(payload, unit_ids, codes0)


class _Serial:
    def __init__(self, payload):
        self.payload = payload

    def map(self, batches):
        for ids, c0 in batches:
            yield run_batch(self.payload, ids, c0)

    def close(self):
        pass


class _Processes:
    """Local process pool; results are yielded as batches complete."""

    def __init__(self, payload, n_workers):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # fork on Linux: workers inherit the compiled kernels and the imported package, and
        # scripts need no `if __name__ == "__main__"` guard; spawn elsewhere.
        import sys

        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        self.pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx,
                                        initializer=_init_worker, initargs=(payload,))

    def map(self, batches):
        from concurrent.futures import as_completed

        futs = [self.pool.submit(_worker_batch, ids, c0) for ids, c0 in batches]
        try:
            for f in as_completed(futs):
                yield f.result()
        finally:
            for f in futs:
                f.cancel()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    def __init__(self, payload, client):
        self.client = client
        [self.payload] = client.scatter([payload], broadcast=True)

    def map(self, batches):
        from dask.distributed import as_completed

        futs = [self.client.submit(_dask_batch, self.payload, ids, c0, pure=False)
                for ids, c0 in batches]
        try:
            for f in as_completed(futs):
                yield f.result()
        finally:
            for f in futs:
                f.cancel()

    def close(self):
        pass


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
        return _Dask(payload, executor)
    raise InvalidInputError(
        "`executor` must be None, 'serial', 'processes', a positive int (local processes) or a "
        f"dask.distributed.Client; got {executor!r}. For Dask: pip install polyregion[dask]."
    )


# ------------------------------------------------------------------ checkpoints
def fingerprint(prep, method, tol) -> str:
    h = hashlib.sha256()
    for arr in (prep.W_flat, prep.b_flat, prep.dims, prep.n_bp, prep.bps, prep.slopes,
                prep.intercepts, prep.A0, prep.b0, np.array([prep.scale]), prep.center):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(repr((method, tol)).encode())
    return h.hexdigest()


class Checkpoint:
    """A directory of completed work units (see module docstring)."""

    def __init__(self, path, fp, n_units):
        self.path = os.fspath(path)
        os.makedirs(self.path, exist_ok=True)
        man = os.path.join(self.path, "manifest.json")
        if os.path.exists(man):
            with open(man) as f:
                info = json.load(f)
            if info.get("fingerprint") != fp:
                raise InvalidInputError(
                    f"Checkpoint {self.path!r} belongs to a different problem (network, domain, "
                    "method or tolerances differ); use a new directory."
                )
        else:
            tmp = man + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"fingerprint": fp, "n_units": int(n_units), "version": 1}, f)
            os.replace(tmp, man)

    def load(self):
        """All completed batches in the directory."""
        out = []
        for name in sorted(os.listdir(self.path)):
            if name.startswith("units_") and name.endswith(".npz") and ".tmp" not in name:
                try:
                    with np.load(os.path.join(self.path, name), allow_pickle=False) as f:
                        codes = f["codes"]
                        if int(f["packed"]):
                            codes = np.unpackbits(codes, axis=1, count=int(f["n_neurons"]))
                        out.append((f["unit_ids"], codes, f["points"], f["radii"],
                                    int(f["n_lps"]), f["sizes"]))
                except Exception:
                    continue  # a shard cut short by a kill: its units run again
        return out

    def save(self, res):
        ids, codes, pts, radii, n_lps, sizes = res
        name = os.path.join(self.path, f"units_{int(ids[0]):09d}.npz")
        tmp = name + ".tmp.npz"
        packed = codes.size > 0 and int(codes.max()) <= 1  # two-piece activations: 1 bit
        np.savez(tmp, unit_ids=ids, codes=np.packbits(codes, axis=1) if packed else codes,
                 packed=np.array(int(packed)), n_neurons=np.array(codes.shape[1]),
                 points=pts, radii=radii, n_lps=np.array(n_lps), sizes=sizes)
        os.replace(tmp, name)


# ------------------------------------------------------------------ driver
def run_units(prep, method, tol, *, executor=None, batch_size=None, max_regions=None,
              max_seconds=None, max_memory=None, checkpoint=None, resume_state=None,
              callback=None):
    """Generator of events: ``("plan", codes0, n_lps)`` first, then ``("batch", res)`` per
    completed batch (resumed ones first), and ``("budget", reason, todo)`` if a budget
    stops the run (checked between batches). ``res = (ids, codes, points, radii, n_lps,
    sizes)``.
    """
    t0 = time.perf_counter()
    codes0, n_lps0 = plan_units(prep, method, tol)
    n_units = len(codes0)
    fp = fingerprint(prep, method, tol)
    yield ("plan", codes0, n_lps0)
    done = set()
    old = []
    if resume_state is not None:
        if resume_state.get("fingerprint") != fp:
            raise InvalidInputError("`resume` belongs to a different problem (network, domain, "
                                    "method or tolerances differ).")
        old.extend(resume_state["batches"])
    ckpt = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, fp, n_units)
        old.extend(ckpt.load())
    n_regions = mem = 0
    for res in old:
        ids = {int(i) for i in res[0]}
        if ids & done:
            continue
        done |= ids
        n_regions += len(res[1])
        mem += res[1].nbytes + res[2].nbytes + res[3].nbytes
        if ckpt is not None and resume_state is not None:
            ckpt.save(res)
        yield ("batch", res)
    todo = np.array([i for i in range(n_units) if i not in done], np.int64)
    nw = n_workers_of(executor)
    if batch_size is None:
        batch_size = int(max(1, min(64, len(todo) // max(1, 8 * nw))))
    batches = [(todo[s:s + batch_size], codes0[todo[s:s + batch_size]])
               for s in range(0, len(todo), batch_size)]
    n_done = len(done)
    if not batches:
        return
    ex = make_executor(executor, (prep, method, tol))
    try:
        for res in ex.map(batches):
            if ckpt is not None:
                ckpt.save(res)
            n_done += len(res[0])
            done |= {int(i) for i in res[0]}
            n_regions += len(res[1])
            mem += res[1].nbytes + res[2].nbytes + res[3].nbytes
            yield ("batch", res)
            elapsed = time.perf_counter() - t0
            if callback is not None:
                callback({"regions": n_regions, "units_done": n_done, "units_total": n_units,
                          "frontier": n_units - n_done, "seconds": elapsed,
                          "rate": n_regions / max(elapsed, 1e-9)})
            if n_done < n_units:
                hit = None
                if max_regions is not None and n_regions > max_regions:
                    hit = f"`max_regions`={max_regions}"
                elif max_seconds is not None and elapsed > max_seconds:
                    hit = f"`max_seconds`={max_seconds}"
                elif max_memory is not None and mem > max_memory:
                    hit = f"`max_memory`={max_memory} bytes"
                if hit:
                    yield ("budget", hit, np.array(sorted(set(range(n_units)) - done), np.int64))
                    return
    finally:
        ex.close()


def enumerate_in_units(net, domain, prep, method, tol, *, executor=None, batch_size=None,
                       max_regions=None, max_seconds=None, max_memory=None, checkpoint=None,
                       resume=None, progress=False):
    """Run all units and assemble one RegionSet (see :func:`enumerate_regions`)."""
    from ..regions import RegionSet, RegionStats

    resume_state = None
    if resume is not None:
        if isinstance(resume, RegionSet):
            resume_state = getattr(resume, "_resume_state", None)
            if resume_state is None:
                raise InvalidInputError("`resume` RegionSet holds no resume state: pass the "
                                        "`.partial` of a BudgetExceededError or a checkpoint "
                                        "directory.")
        elif isinstance(resume, (str, os.PathLike)):
            if checkpoint is None:
                checkpoint = resume
            elif os.fspath(checkpoint) != os.fspath(resume):
                raise InvalidInputError("`resume` and `checkpoint` name different directories.")
            if not os.path.exists(os.path.join(os.fspath(resume), "manifest.json")):
                raise InvalidInputError(f"`resume`: no checkpoint at {os.fspath(resume)!r}.")
        else:
            raise InvalidInputError(
                f"`resume` must be a partial RegionSet or a checkpoint directory; got {resume!r}.")
    bar, callback = _progress(progress)
    t0 = time.perf_counter()
    batches, plan_lps, stop, todo, codes0 = [], 0, None, None, None
    try:
        for ev in run_units(prep, method, tol, executor=executor, batch_size=batch_size,
                            max_regions=max_regions, max_seconds=max_seconds,
                            max_memory=max_memory, checkpoint=checkpoint,
                            resume_state=resume_state, callback=callback):
            if ev[0] == "plan":
                codes0, plan_lps = ev[1], ev[2]
            elif ev[0] == "batch":
                batches.append(ev[1])
            else:
                stop, todo = ev[1], ev[2]
    finally:
        if bar is not None:
            bar.close()
    k = int(prep.dims[0])
    if batches:
        codes = np.vstack([b[1] for b in batches])
        pts = np.vstack([b[2] for b in batches])
        radii = np.concatenate([b[3] for b in batches])
    else:
        codes, pts, radii = np.zeros((0, net.n_neurons), np.uint8), np.zeros((0, k)), np.zeros(0)
    n_lps = plan_lps + sum(int(b[4]) for b in batches)
    stats = RegionStats(method=method, seconds=time.perf_counter() - t0, n_lps=n_lps,
                        n_regions=len(codes),
                        extra={"n_units": int(len(codes0)), "executor": repr(executor)})
    rs = RegionSet(net, domain, codes, prep.to_domain(pts), radii * prep.scale, stats=stats,
                   tolerances=tol)
    if stop is not None:
        rs._resume_state = {"fingerprint": fingerprint(prep, method, tol), "batches": batches}
        rs.frontier = codes0[todo]
        rs.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        raise BudgetExceededError(
            f"Enumeration stopped by {stop}: {len(rs)} regions in {len(codes0) - len(todo)} of "
            f"{len(codes0)} work units done. Continue with enumerate_regions(..., "
            "resume=err.partial)" + (f" or resume={rs.checkpoint!r}." if rs.checkpoint else "."),
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
    method = _pick_method(method, domain)
    prep = Prepared(net, domain)
    if len(prep.Ws) < 2:
        yield enumerate_regions_direct(net, domain, method, tol)
        return
    for ev in run_units(prep, method, tol, executor=executor, batch_size=batch_size,
                        checkpoint=checkpoint,
                        resume_state=None if resume is None else resume._resume_state):
        if ev[0] == "batch":
            ids, codes, pts, radii, n_lps, sizes = ev[1]
            yield RegionSet(net, domain, codes, prep.to_domain(pts), radii * prep.scale,
                            stats=RegionStats(method=method, n_lps=int(n_lps),
                                              n_regions=len(codes)), tolerances=tol)


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
