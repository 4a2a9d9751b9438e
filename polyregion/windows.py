"""Exact local partitions around data: windows and local complexity.

What it computes
----------------
- :func:`window`: the l-inf window ``{y : |y - x|_inf <= r}`` around a point as a
  :class:`~polyregion.Box` (the l1 ball as a :class:`~polyregion.Polytope` in low
  dimension), clipped to a valid input range such as the pixel cube ``[0, 1]^d``.
- :func:`local_complexity`: the exact number of linear regions with interior in the
  window around each row of ``X`` (one exact enumeration per window), with per-window
  budgets and executors that run windows in parallel.
- the exact regions crossed by a segment or a polyline are in :mod:`polyregion.paths`
  (:func:`~polyregion.paths.regions_along`).

Method
------
:func:`local_complexity` runs :func:`~polyregion.enumerate_regions` in each window; a
window stopped by ``max_regions`` or ``max_seconds`` keeps the regions it had (a lower
bound, flagged ``complete=False``).

Cost
----
:func:`local_complexity`: one enumeration per window (its cost grows with the regions in
the window and, through the LPs, with the input dimension).
"""

from __future__ import annotations

import itertools
import os
import pickle
import sys
import time
from dataclasses import dataclass

import numpy as np

from .config import DEFAULT_TOLERANCES, Tolerances
from .domain import Box, Domain, Polytope
from .errors import BudgetExceededError, InvalidDomainError, InvalidInputError
from .network import Network, as_points

__all__ = ["window", "local_complexity", "LocalComplexity", "L1_MAX_DIM"]


#: the l1 ball of R^d has 2^d facets; :func:`window` refuses ``norm=1`` above this
#: dimension (65,536 facets at d = 16, each a row of every LP of the enumeration)
L1_MAX_DIM = 16


# ---------------------------------------------------------------------------- checks
def _check_net(net):
    if not isinstance(net, Network):
        raise InvalidInputError(f"`net` must be a polyregion.Network; got {type(net).__name__}.")
    return net


def _check_point(x, name="x"):
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy reads almost anything
        raise InvalidInputError(f"`{name}` could not be read as an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"`{name}` must be a real numeric array; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidInputError(f"`{name}` must be a 1-D point of length >= 1; got shape "
                                f"{arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"`{name}` must be finite; it holds NaN or inf.")
    return arr


def _check_radius(r, name="r"):
    if isinstance(r, (bool, str, bytes)) or not isinstance(
            r, (int, float, np.integer, np.floating)) or not np.isfinite(r) or r <= 0:
        raise InvalidInputError(f"`{name}` must be a finite number > 0; got {r!r}.")
    return float(r)


def _check_norm(norm):
    if isinstance(norm, str):
        if norm in ("inf", "linf"):
            return "inf"
        if norm in ("1", "l1"):
            return "l1"
    elif isinstance(norm, (int, float, np.integer, np.floating)) and not isinstance(norm, bool):
        if norm == np.inf:
            return "inf"
        if norm == 1:
            return "l1"
    raise InvalidInputError(f"`norm` must be 'inf' (np.inf) or 1; got {norm!r}.")


def _check_within(within, d):
    if within is None:
        return None
    if isinstance(within, Box):
        box = within
    elif isinstance(within, Domain):
        raise InvalidDomainError(
            f"`within` must be a Box or a (lo, hi) pair; got {type(within).__name__}.")
    else:
        try:
            lo, hi = within
        except (TypeError, ValueError):
            raise InvalidDomainError(
                f"`within` must be a Box or a (lo, hi) pair; got {within!r}.") from None
        lo, hi = np.asarray(lo), np.asarray(hi)
        lo = np.broadcast_to(lo, (d,)) if lo.ndim == 0 else lo
        hi = np.broadcast_to(hi, (d,)) if hi.ndim == 0 else hi
        try:
            box = Box(lo, hi)
        except InvalidDomainError as exc:
            raise InvalidDomainError(f"`within`: {exc}") from None
    if box.dim != d:
        raise InvalidDomainError(
            f"`within` must have dimension {d} (that of `x`); got a Box of dimension "
            f"{box.dim}.")
    return box


def _check_positive_int(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"`{name}` must be a positive int; got {value!r}.")
    return int(value)


def _check_seconds(name, value):
    if value is None:
        return None
    if isinstance(value, (bool, str, bytes)) or not isinstance(
            value, (int, float, np.integer, np.floating)) or not np.isfinite(value) \
            or value <= 0:
        raise InvalidInputError(f"`{name}` must be a finite number > 0; got {value!r}.")
    return float(value)


def _check_tolerances(tolerances):
    if tolerances is None:
        return DEFAULT_TOLERANCES
    if not isinstance(tolerances, Tolerances):
        raise InvalidInputError(
            f"`tolerances` must be a polyregion.Tolerances; got {type(tolerances).__name__}.")
    return tolerances


# ---------------------------------------------------------------------------- window
def window(x, r, norm="inf", within=None):
    """The window of radius ``r`` around ``x``, clipped to ``within``.

    Parameters
    ----------
    x : array_like, shape (d,)
        Centre of the window.
    r : float
        Radius, > 0.
    norm : {"inf", 1}
        ``"inf"`` (or ``np.inf``): the l-inf ball ``{y : |y - x|_inf <= r}``, a Box.
        ``1``: the l1 ball ``{y : |y - x|_1 <= r}``, a Polytope with one facet
        ``s . (y - x) <= r`` per sign vector ``s`` in ``{-1, 1}^d``: ``2^d`` facets, so it
        is refused above ``d = L1_MAX_DIM = 16`` (65,536 rows, each in every LP of an
        enumeration). Use the l-inf window, or a :class:`~polyregion.Slice` through the
        data, in higher dimension.
    within : Box or (lo, hi), optional
        The valid input range, e.g. ``(0, 1)`` for pixels (scalars broadcast to every
        coordinate); the window is intersected with it.

    Returns
    -------
    Box or Polytope
        A Box for ``norm="inf"``; a Polytope for ``norm=1`` (with the facets of
        ``within`` that cut the ball).

    Raises
    ------
    InvalidInputError
        ``x`` not a finite 1-D point, ``r`` not a finite number > 0, an unknown ``norm``,
        or ``norm=1`` with ``d > 16``.
    InvalidDomainError
        ``within`` malformed or of another dimension, or the window does not meet the
        interior of ``within`` (their intersection would be empty or flat).

    Notes
    -----
    Cost: ``O(d)`` for the l-inf window; for the l1 ball, ``O(2^d d)`` to write the facets
    plus the ``2d + 1`` LPs with which :class:`~polyregion.Polytope` checks its interior
    and bounds.

    Examples
    --------
    >>> import polyregion as pr
    >>> pr.window([0.5, 0.95], 0.1)
    Box(lo=[0.4, 0.85], hi=[0.6, 1.05])
    >>> pr.window([0.5, 0.95], 0.1, within=(0, 1))          # clipped to the pixel range
    Box(lo=[0.4, 0.85], hi=[0.6, 1.0])
    >>> pr.window([0.0, 0.0], 1.0, norm=1)                  # the l1 ball: a diamond
    Polytope(m=4, d=2)
    >>> try:
    ...     pr.window([2.0, 2.0], 0.5, within=(0, 1))
    ... except pr.InvalidDomainError as exc:
    ...     print(str(exc).split(":")[0])
    The window of radius r=0.5 around `x` does not meet the interior of `within`
    """
    x = _check_point(x)
    r = _check_radius(r)
    kind = _check_norm(norm)
    d = x.size
    box = _check_within(within, d)
    if kind == "inf":
        lo, hi = x - r, x + r
        if box is not None:
            lo, hi = np.maximum(lo, box.lo), np.minimum(hi, box.hi)
            bad = np.flatnonzero(hi <= lo)
            if bad.size:
                i = int(bad[0])
                raise InvalidDomainError(
                    f"The window of radius r={r:g} around `x` does not meet the interior of "
                    f"`within`: in coordinate {i}, [x - r, x + r] = [{x[i] - r:g}, "
                    f"{x[i] + r:g}] and `within` = [{box.lo[i]:g}, {box.hi[i]:g}] "
                    f"({bad.size} coordinate(s) like this).")
        return Box(lo, hi)
    if d > L1_MAX_DIM:
        raise InvalidInputError(
            f"`norm`=1 needs d <= {L1_MAX_DIM}: the l1 ball of R^d has 2^d facets "
            f"(2^{d} here); got d={d}. Use norm='inf' or a Slice through the data.")
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=d)))
    A, b = signs, r + signs @ x
    if box is not None:
        gap = float(np.sum(np.abs(x - np.clip(x, box.lo, box.hi))))
        if gap >= r:
            raise InvalidDomainError(
                f"The window of radius r={r:g} around `x` does not meet the interior of "
                f"`within`: the l1 distance from `x` to `within` is {gap:g} >= r.")
        rows, rhs = [A], [b]
        cut_lo, cut_hi = x - r < box.lo, x + r > box.hi
        eye = np.eye(d)
        rows += [-eye[cut_lo], eye[cut_hi]]
        rhs += [-box.lo[cut_lo], box.hi[cut_hi]]
        A, b = np.vstack(rows), np.concatenate(rhs)
    return Polytope(A, b)


# ---------------------------------------------------------------------------- local complexity
@dataclass(frozen=True, repr=False)
class LocalComplexity:
    """Exact region counts in the windows around a set of points.

    Attributes
    ----------
    counts : ndarray (n,) int64
        Number of full-dimensional regions with interior in each window; where
        ``complete[i]`` is False, the regions found before a budget stopped the window
        (a lower bound of the true count).
    complete : ndarray (n,) bool
        False where ``max_regions`` or ``max_seconds`` stopped the window's enumeration.
    seconds : ndarray (n,) float64
        Wall time of each window's enumeration (in the worker that ran it).
    n_lps : ndarray (n,) int64
        Linear programs solved in each window.
    r : ndarray (n,) float64
        Radius of each window.
    norm : str
        ``"inf"`` or ``"l1"``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> lc = pr.local_complexity(net, [[0.0, 0.0], [3.0, 3.0]], 1.0)
    >>> lc.counts, lc.complete, lc.lower_bound
    (array([4, 1]), array([ True,  True]), False)
    """

    counts: np.ndarray
    complete: np.ndarray
    seconds: np.ndarray
    n_lps: np.ndarray
    r: np.ndarray
    norm: str

    def __len__(self):
        return int(self.counts.shape[0])

    @property
    def lower_bound(self) -> bool:
        """True when some count is only a lower bound (a budget stopped its window)."""
        return not bool(np.all(self.complete))

    def __repr__(self):
        n = len(self)
        if n == 0:
            return "LocalComplexity(n=0)"
        c = self.counts
        s = (f"LocalComplexity(n={n}, norm={self.norm!r}, counts: mean {c.mean():.4g}, "
             f"min {c.min()}, max {c.max()}; complete {int(self.complete.sum())}/{n}; "
             f"seconds {self.seconds.sum():.3g}, n_lps {int(self.n_lps.sum())}")
        if self.lower_bound:
            s += (f"; {n - int(self.complete.sum())} window(s) stopped by a budget: their "
                  "counts are lower bounds")
        return s + ")"


def _count_windows(payload, domains):
    """Exact counts in ``domains`` (the worker's loop): arrays (counts, complete, seconds,
    n_lps). ``payload = (net, tolerances, max_regions, max_seconds)``."""
    from .enumerate import enumerate_regions

    net, tol, max_regions, max_seconds = payload
    n = len(domains)
    counts = np.zeros(n, np.int64)
    complete = np.ones(n, bool)
    seconds = np.zeros(n)
    n_lps = np.zeros(n, np.int64)
    for i, dom in enumerate(domains):
        t0 = time.perf_counter()
        try:
            rs = enumerate_regions(net, dom, tolerances=tol, max_regions=max_regions,
                                   max_seconds=max_seconds)
        except BudgetExceededError as err:
            rs = err.partial
            complete[i] = False
        seconds[i] = time.perf_counter() - t0
        if rs is not None:
            counts[i] = len(rs)
            n_lps[i] = int(rs.stats.n_lps)
    return counts, complete, seconds, n_lps


#: worker side: the payload of the call being served, ``{token: payload}`` (one entry)
_WORKER_PAYLOAD = {}


_CALLS = itertools.count()


def _worker_chunk(token, blob, idx, domains):
    payload = _WORKER_PAYLOAD.get(token)
    if payload is None:
        _WORKER_PAYLOAD.clear()
        payload = pickle.loads(blob)
        _WORKER_PAYLOAD[token] = payload
    return idx, _count_windows(payload, domains)


def _plain_chunk(payload, idx, domains):
    return idx, _count_windows(payload, domains)


def _executor_kind(executor):
    """("serial", 1) | ("processes", n) | ("futures", executor) | ("dask", client)."""
    from concurrent.futures import Executor

    if executor is None or (isinstance(executor, str) and executor == "serial"):
        return "serial", 1
    if isinstance(executor, str) and executor == "processes":
        n = os.cpu_count() or 1
        return ("serial", 1) if n == 1 else ("processes", n)
    if isinstance(executor, (int, np.integer)) and not isinstance(executor, bool):
        if executor < 1:
            raise InvalidInputError(
                f"`executor` as a number of processes must be >= 1; got {executor}.")
        return ("serial", 1) if executor == 1 else ("processes", int(executor))
    if isinstance(executor, Executor):
        return "futures", executor
    if "distributed" in type(executor).__module__:
        try:
            from dask.distributed import Client
        except ImportError:  # pragma: no cover - a Client without dask cannot exist
            Client = None
        if Client is not None and isinstance(executor, Client):
            return "dask", executor
    raise InvalidInputError(
        "`executor` must be None, 'serial', 'processes', a positive int (local processes), a "
        f"concurrent.futures.Executor or a dask.distributed.Client; got {executor!r}. For "
        "Dask: pip install polyregion[dask].")


def _progress_bar(progress, total):
    """``update(k)`` and ``close()`` for ``progress`` (bool or callable)."""
    t0 = time.perf_counter()
    state = {"done": 0}
    if callable(progress):
        def update(k):
            state["done"] += k
            progress({"windows_done": state["done"], "windows_total": total,
                      "seconds": time.perf_counter() - t0})
        return update, lambda: None
    if not progress:
        return (lambda k: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="window", file=sys.stderr, disable=None)
    return bar.update, bar.close


def _run_windows(payload, domains, executor, progress, chunk_size):
    """Counts in every domain, serially or on ``executor``, as four arrays."""
    kind, ex = _executor_kind(executor)
    n = len(domains)
    counts = np.zeros(n, np.int64)
    complete = np.ones(n, bool)
    seconds = np.zeros(n)
    n_lps = np.zeros(n, np.int64)
    update, close = _progress_bar(progress, n)

    def store(idx, res):
        counts[idx], complete[idx], seconds[idx], n_lps[idx] = res
        update(len(idx))

    try:
        if kind == "serial" or n == 0:
            for i in range(n):
                store(np.array([i]), _count_windows(payload, domains[i:i + 1]))
            return counts, complete, seconds, n_lps
        from .enumerate.executors import _completion_loop

        n_workers = ex if kind == "processes" else _n_workers(kind, ex)
        size = chunk_size or max(1, min(16, -(-n // (4 * n_workers))))
        chunks = ((np.arange(s, min(s + size, n)), domains[s:s + size])
                  for s in range(0, n, size))
        if kind == "processes":
            _run_processes(payload, chunks, ex, store)
        elif kind == "futures":
            from concurrent.futures import FIRST_COMPLETED, wait

            for idx, res in _completion_loop(
                    lambda i, d: ex.submit(_plain_chunk, payload, i, d),
                    lambda fs: wait(fs, return_when=FIRST_COMPLETED).done, chunks,
                    2 * n_workers):
                store(idx, res)
        else:
            from dask.distributed import wait

            [fut] = ex.scatter([payload], broadcast=True, hash=False)
            try:
                for idx, res in _completion_loop(
                        lambda i, d: ex.submit(_plain_chunk, fut, i, d, pure=False),
                        lambda fs: wait(fs, return_when="FIRST_COMPLETED").done, chunks,
                        3 * n_workers + 2):
                    store(idx, res)
            finally:
                fut.release()
    finally:
        close()
    return counts, complete, seconds, n_lps


def _n_workers(kind, ex):
    if kind == "futures":
        return max(1, int(getattr(ex, "_max_workers", 0) or 1))
    return max(1, len(ex.scheduler_info().get("workers", {})))


def _run_processes(payload, chunks, n_workers, store):
    """Chunks on the local process pool that enumerate_regions keeps for reuse."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    from .enumerate.executors import _acquire_pool, _completion_loop, _release_pool
    from .errors import ExecutorError

    token = (os.getpid(), "windows", next(_CALLS))
    blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    pool = _acquire_pool(n_workers)
    failed = True
    try:
        for idx, res in _completion_loop(
                lambda i, d: pool.submit(_worker_chunk, token, blob, i, d),
                lambda fs: wait(fs, return_when=FIRST_COMPLETED).done, chunks,
                2 * n_workers):
            store(idx, res)
        failed = False
    except BrokenProcessPool as e:
        raise ExecutorError(
            f"A worker process of `executor`={n_workers} died before finishing its windows "
            "(killed, or out of memory: try fewer processes).") from e
    finally:
        _release_pool(n_workers, pool, failed)


def count_in_domains(net, domains, executor=None, tolerances=None, max_regions=None,
                     max_seconds=None, progress=False, chunk_size=None):
    """Exact region counts in given domains (the engine of :func:`local_complexity`, also
    used by :func:`polyregion.bn.local_density`). Arguments are checked by the callers;
    returns ``(counts, complete, seconds, n_lps)``."""
    payload = (net, tolerances, max_regions, max_seconds)
    return _run_windows(payload, list(domains), executor, progress, chunk_size)


def local_complexity(net, X, r, norm="inf", within=None, executor=None, max_regions=None,
                     max_seconds=None, progress=False, tolerances=None, chunk_size=None):
    """Exact number of linear regions in the window around each row of ``X``.

    The window around ``x`` is :func:`window` ``(x, r, norm, within)``; its count is the
    number of full-dimensional regions of ``net`` with interior in it, by an exact
    enumeration (:func:`~polyregion.enumerate_regions`) of the window.

    Parameters
    ----------
    net : Network
        May hold eval-mode BN and max layers.
    X : array_like (n, input_dim)
        Window centres (one point may be given as a 1-D array).
    r : float or array_like (n,)
        Radii, > 0.
    norm : {"inf", 1}
        See :func:`window` (``norm=1`` only up to ``input_dim = 16``).
    within : Box or (lo, hi), optional
        Valid input range every window is clipped to (e.g. ``(0, 1)`` for pixels).
    executor : None, "serial", "processes", int, Executor or dask.distributed.Client
        ``None``/``"serial"``: windows one after another in this process. An int ``n`` or
        ``"processes"``: a local pool of ``n`` (or all CPUs') processes, the pool
        :func:`~polyregion.enumerate_regions` keeps for reuse. A
        ``concurrent.futures.Executor`` or a Dask client: chunks of windows are submitted
        to it. Every executor gives the same counts.
    max_regions : int, optional
        Per-window budget: a window with more regions stops (``complete=False``, its
        count the regions found, at least ``max_regions`` and possibly a small batch more).
    max_seconds : float, optional
        Per-window wall-time budget (checked between batches of work units).
    progress : bool or callable
        ``True``: a tqdm bar over windows on stderr; a callable gets a dict
        (``windows_done``, ``windows_total``, ``seconds``) as windows complete.
    tolerances : Tolerances, optional
        Passed to every enumeration.
    chunk_size : int, optional
        Windows per task on a parallel executor (default: ``n / (4 workers)``, 1 to 16).

    Returns
    -------
    LocalComplexity
        ``counts`` (n,) int64, ``complete`` (n,) bool, ``seconds`` (n,), ``n_lps`` (n,).

    Raises
    ------
    InvalidInputError, InvalidDomainError
        Bad arguments, or a window that misses ``within`` (the message of
        :func:`window`, with the row of ``X``).
    ExecutorError
        A worker process died.

    Notes
    -----
    Cost: one enumeration per window, ``O(regions * LPs per region)``; the LPs grow with
    the input dimension, so in 3072-D keep windows small or use budgets. Windows of an
    unbudgeted serial run use the direct engine; a budget switches each window to work
    units (:mod:`polyregion.enumerate.scale`), which costs a little more.

    Examples
    --------
    Two lines through the origin make 4 regions in the unit window around it, 2 around a
    point near one line, 1 far away:

    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> X = [[0.0, 0.0], [0.5, 2.0], [3.0, 3.0]]
    >>> pr.local_complexity(net, X, 1.0).counts
    array([4, 2, 1])
    >>> pr.local_complexity(net, X, 1.0, within=(0.5, 10)).counts   # the lines are outside
    array([1, 1, 1])
    >>> lc = pr.local_complexity(net, [[0.0, 0.0]], 1.0, max_regions=2)
    >>> bool(lc.complete[0]), lc.lower_bound, int(lc.counts[0]) >= 2
    (False, True, True)
    """
    net = _check_net(net)
    X = as_points(X, net.input_dim, "X")
    n = X.shape[0]
    if np.ndim(r) == 0:
        rr = np.full(n, _check_radius(r))
    else:
        try:
            rr = np.asarray(r, dtype=np.float64)
        except (TypeError, ValueError):
            rr = None
        if rr is None or rr.shape != (n,) or not np.all(np.isfinite(rr)) or np.any(rr <= 0):
            raise InvalidInputError(
                f"`r` must be a number > 0 or an array of {n} finite numbers > 0; got {r!r}.")
    kind = _check_norm(norm)
    if kind == "l1" and net.input_dim > L1_MAX_DIM:
        raise InvalidInputError(
            f"`norm`=1 needs input_dim <= {L1_MAX_DIM}: the l1 ball of R^d has 2^d facets; "
            f"got input_dim={net.input_dim}. Use norm='inf'.")
    within = _check_within(within, net.input_dim)
    max_regions = _check_positive_int("max_regions", max_regions)
    max_seconds = _check_seconds("max_seconds", max_seconds)
    chunk_size = _check_positive_int("chunk_size", chunk_size)
    tol = _check_tolerances(tolerances)
    if not (callable(progress) or isinstance(progress, (bool, np.bool_))):
        raise InvalidInputError(f"`progress` must be a bool or a callable; got {progress!r}.")
    _executor_kind(executor)  # refuse a bad executor before any work
    domains = []
    for i in range(n):
        try:
            domains.append(window(X[i], rr[i], norm, within))
        except InvalidDomainError as exc:
            raise type(exc)(f"Row {i} of `X`: {exc}") from None
    counts, complete, seconds, n_lps = count_in_domains(
        net, domains, executor=executor, tolerances=tol, max_regions=max_regions,
        max_seconds=max_seconds, progress=progress, chunk_size=chunk_size)
    return LocalComplexity(counts=counts, complete=complete, seconds=seconds, n_lps=n_lps,
                           r=rr, norm=kind)

