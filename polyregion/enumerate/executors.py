"""Executors of work units: serial, a local process pool (kept for reuse), a Dask client.

Each executor maps batches ``(unit_ids, prefix codes)`` to :class:`._units.Batch`
results; the network is shipped once per worker (:func:`_worker_batch` unpickles it once
per call). :func:`_completion_loop` keeps a few batches in flight and yields results as
they complete. Local pools outlive a call for :data:`POOL_IDLE_SECONDS`.

Cost: about 1 ms (local processes) or 15 ms (Dask) of latency per batch.
"""

from __future__ import annotations

import itertools
import os
import pickle
import threading

import numpy as np

from ..errors import InvalidInputError
from ._units import run_batch


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

