"""Exact local partitions around data: windows, local complexity, regions along paths.

What it computes
----------------
- :func:`window`: the l-inf window ``{y : |y - x|_inf <= r}`` around a point as a
  :class:`~polyregion.Box` (the l1 ball as a :class:`~polyregion.Polytope` in low
  dimension), clipped to a valid input range such as the pixel cube ``[0, 1]^d``.
- :func:`local_complexity`: the exact number of linear regions with interior in the
  window around each row of ``X`` (one exact enumeration per window), with per-window
  budgets and executors that run windows in parallel.
- :func:`regions_along`: the exact regions crossed by a segment ``[x0, x1]`` or a
  polyline, with the parameters where the activation code changes.

Method
------
:func:`local_complexity` runs :func:`~polyregion.enumerate_regions` in each window; a
window stopped by ``max_regions`` or ``max_seconds`` keeps the regions it had (a lower
bound, flagged ``complete=False``). :func:`regions_along` restricts the network to the
line through each segment (:meth:`~polyregion.Network.restrict`, so the input dimension
drops to 1) and walks it layer by layer: on each piece of the segment every
pre-activation is affine in the parameter ``t``, the points where one reaches a
breakpoint (or, in a max layer, where two entries of a window tie) split the piece, and
the piece's code at its midpoint gives the next layer's affine map. No LP is solved.

Cost
----
:func:`local_complexity`: one enumeration per window (its cost grows with the regions in
the window and, through the LPs, with the input dimension). :func:`regions_along`:
``O(d * w_0)`` to restrict the first layer, then ``O(P_l * w_l * w_{l-1})`` per layer
for the ``P_l`` pieces found up to layer ``l``, and one forward pass per final piece;
thousands of pieces of a 3072-D net take well under a second.
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
from .network import MaxPool, Network, as_points

__all__ = ["window", "local_complexity", "LocalComplexity", "regions_along", "PathRegions",
           "L1_MAX_DIM"]

#: the l1 ball of R^d has 2^d facets; :func:`window` refuses ``norm=1`` above this
#: dimension (65,536 facets at d = 16, each a row of every LP of the enumeration)
L1_MAX_DIM = 16

#: rows per forward pass when :func:`regions_along` labels its pieces (bounds the memory
#: of a pass at ``CODE_CHUNK * d`` floats)
CODE_CHUNK = 4096


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


# ---------------------------------------------------------------------------- paths
@dataclass(frozen=True, repr=False)
class PathRegions:
    """The regions crossed by a path (a segment or a polyline), in order.

    The path has vertices ``v_0, ..., v_m`` and parameter ``s`` in ``[0, m]``: segment
    ``k`` is ``v_k + (s - k) (v_{k+1} - v_k)`` for ``s`` in ``[k, k + 1]``. It is cut into
    *pieces*: maximal sub-paths of positive length on which the activation code is
    constant.

    Attributes
    ----------
    vertices : ndarray (m + 1, d) float64
        The path's vertices.
    breakpoints : ndarray (n_pieces - 1,) float64
        Parameters ``s`` where the code changes, increasing, in ``(0, m)``.
    codes : ndarray (n_pieces, n_neurons) uint8
        The code of each piece (``net.codes`` at its midpoint); consecutive codes differ.
    seconds : float
        Wall time.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> p = pr.regions_along(net, [-1.0, -0.5], [1.0, 0.5])    # through the origin
    >>> p.n_pieces, p.breakpoints.tolist(), p.codes.tolist()
    (2, [0.5], [[0, 0], [1, 1]])
    """

    vertices: np.ndarray
    breakpoints: np.ndarray
    codes: np.ndarray
    seconds: float = 0.0

    def __len__(self):
        return self.n_pieces

    @property
    def n_segments(self) -> int:
        return int(self.vertices.shape[0] - 1)

    @property
    def n_pieces(self) -> int:
        """Number of pieces (maximal sub-paths with a constant code)."""
        return int(self.codes.shape[0])

    @property
    def edges(self) -> np.ndarray:
        """``(n_pieces + 1,)``: ``[0, *breakpoints, m]``; piece ``i`` is
        ``[edges[i], edges[i + 1]]``."""
        return np.concatenate([[0.0], self.breakpoints, [float(self.n_segments)]])

    @property
    def midpoints(self) -> np.ndarray:
        """``(n_pieces,)``: the parameter of each piece's midpoint."""
        e = self.edges
        return 0.5 * (e[:-1] + e[1:])

    @property
    def region_index(self) -> np.ndarray:
        """``(n_pieces,)`` int64: the index of each piece's code among the distinct codes,
        in order of first appearance along the path."""
        if self.n_pieces == 0:
            return np.zeros(0, np.int64)
        _, first, inv = np.unique(self.codes, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))
        return order[np.asarray(inv).ravel()].astype(np.int64)

    @property
    def n_regions(self) -> int:
        """Number of distinct codes (regions) crossed; equal to ``n_pieces`` on a single
        segment (regions are convex), at most it on a polyline."""
        return int(np.unique(self.codes, axis=0).shape[0]) if self.n_pieces else 0

    def points(self, s) -> np.ndarray:
        """Input-space points at parameters ``s`` (array_like, in ``[0, m]``) -> (..., d)."""
        s = np.asarray(s, dtype=np.float64)
        m = self.n_segments
        if np.any(~np.isfinite(s)) or np.any(s < 0) or np.any(s > m):
            raise InvalidInputError(f"`s` must lie in [0, {m}]; got values outside.")
        k = np.minimum(np.floor(s).astype(np.int64), m - 1)
        v0, v1 = self.vertices[k], self.vertices[k + 1]
        return v0 + (s - k)[..., None] * (v1 - v0)

    def lengths(self) -> np.ndarray:
        """``(n_pieces,)``: Euclidean length of each piece in the input space."""
        e = self.edges
        seg = np.linalg.norm(np.diff(self.vertices, axis=0), axis=1)
        cuts = np.unique(np.concatenate([e, np.arange(self.n_segments + 1.0)]))
        k = np.minimum(np.floor(cuts[:-1]).astype(np.int64), self.n_segments - 1)
        part = np.diff(cuts) * seg[k]
        owner = np.searchsorted(e, cuts[:-1], side="right") - 1
        return np.bincount(owner, weights=part, minlength=self.n_pieces)

    def __repr__(self):
        return (f"PathRegions(n_pieces={self.n_pieces}, n_regions={self.n_regions}, "
                f"n_segments={self.n_segments}, d={self.vertices.shape[1]}, "
                f"seconds={self.seconds:.3g})")


def _max_pairs(act):
    """Index pairs ``(I, J)`` of the entries of each window of a max layer."""
    I, J = [], []
    for win in act.windows:
        for a, b in itertools.combinations(win, 2):
            I.append(a)
            J.append(b)
    return np.array(I, np.int64), np.array(J, np.int64)


def _segment_cuts(layers, acts, zero_row):
    """Candidate cut parameters in (0, 1) of a network restricted to a segment.

    ``layers``: (W, b) of the restricted net (input dimension 1, parameter ``t`` in
    [0, 1]). Returns the sorted starts of the pieces after the last hidden layer (the
    first one, 0, excluded): every point where some neuron's code can change.
    """
    lo, hi = np.zeros(1), np.ones(1)
    A, B = np.zeros((1, 1)), np.ones((1, 1))  # the layer's input is A + B t on each piece
    for l, (W, b) in enumerate(layers[:-1]):
        act = acts[l]
        U0 = A @ W.T + b
        U1 = B @ W.T
        with np.errstate(divide="ignore", invalid="ignore"):
            if isinstance(act, MaxPool):
                I, J = _max_pairs(act)
                dU1 = U1[:, I] - U1[:, J]
                size = np.abs(B) @ np.abs(W).T
                const = np.abs(dU1) <= zero_row * (size[:, I] + size[:, J])
                t = -(U0[:, I] - U0[:, J]) / dU1
            else:
                bp = np.asarray(act.breakpoints, dtype=np.float64)
                const = U1 == 0.0
                if l > 0:  # a row cancelling to rounding on the piece: constant there
                    const |= np.abs(U1) <= zero_row * (np.abs(B) @ np.abs(W).T)
                t = (bp - U0[..., None]) / U1[..., None]
                const = np.broadcast_to(const[..., None], t.shape)
            t = t.reshape(t.shape[0], -1)
            const = const.reshape(t.shape)
        mask = ~const & (t > lo[:, None]) & (t < hi[:, None])
        p_idx = np.nonzero(mask)[0]
        P = lo.shape[0]
        allp = np.concatenate([np.arange(P), p_idx])
        allt = np.concatenate([lo, t[mask]])
        order = np.lexsort((allt, allp))
        starts, parent = allt[order], allp[order]
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        last = np.ones(starts.shape[0], bool)
        last[:-1] = parent[1:] != parent[:-1]
        ends[last] = hi[parent[last]]
        keep = ends > starts
        lo, hi, parent = starts[keep], ends[keep], parent[keep]
        mid = 0.5 * (lo + hi)
        u0, u1 = U0[parent], U1[parent]
        j = act.piece(u0 + u1 * mid[:, None])
        if isinstance(act, MaxPool):
            win = act.winners(j)
            A = np.take_along_axis(u0, win, axis=1)
            B = np.take_along_axis(u1, win, axis=1)
        else:
            s = np.asarray(act.slopes)[j]
            A = s * u0 + np.asarray(act.intercepts)[j]
            B = s * u1
    return lo[1:]


def _cluster(cuts, tol):
    """Merge cuts closer than ``tol`` (and drop those within ``tol`` of 0 or 1): each run
    of cuts with gaps <= tol becomes the midpoint of its span. Pieces between the
    remaining cuts are longer than ``tol``."""
    cuts = cuts[(cuts > tol) & (cuts < 1.0 - tol)]
    if cuts.size == 0:
        return cuts
    new = np.concatenate([[True], np.diff(cuts) > tol])
    first = np.flatnonzero(new)
    lastk = np.concatenate([first[1:] - 1, [cuts.size - 1]])
    return 0.5 * (cuts[first] + cuts[lastk])


def _segment(net, layers_net, x0, x1, tol):
    """``(edges (k+1,), codes (k, n))`` of the segment, t in [0, 1]."""
    plain = layers_net.restrict(x0, (x1 - x0)[None, :])
    cuts = _segment_cuts(list(zip(plain.weights, plain.biases)), plain.activations,
                         tol.zero_row)
    # a piece is a region when it holds a ball of radius feasibility * scale in the
    # segment's coordinates t in [0, 1] (scale 1/2): when it is longer than feasibility
    cuts = _cluster(cuts, tol.feasibility)
    edges = np.concatenate([[0.0], cuts, [1.0]])
    mid = 0.5 * (edges[:-1] + edges[1:])
    codes = np.concatenate([net.codes(x0 + mid[s:s + CODE_CHUNK, None] * (x1 - x0))
                            for s in range(0, mid.size, CODE_CHUNK)], axis=0)
    return edges, codes


def regions_along(net, x0, x1=None, tolerances=None):
    """The exact regions crossed by the segment ``[x0, x1]`` or by a polyline.

    Parameters
    ----------
    net : Network
        May hold eval-mode BN and max layers.
    x0 : array_like (d,) or (m + 1, d)
        The segment's start, or (with ``x1=None``) the vertices of a polyline, ``m >= 1``.
    x1 : array_like (d,), optional
        The segment's end.
    tolerances : Tolerances, optional
        ``feasibility``: a piece counts when it is longer than ``feasibility`` times its
        segment (the rule of :func:`~polyregion.enumerate_regions` on the 1-D slice of
        the segment, whose scale is half its length); shorter slivers are merged into
        their neighbours. ``zero_row``: a neuron whose pre-activation has a slope along
        the segment below ``zero_row`` times its terms is constant on the piece.

    Returns
    -------
    PathRegions
        ``breakpoints`` (parameters ``s`` in ``(0, m)`` where the code changes; segment
        ``k`` is ``s`` in ``[k, k + 1]``), ``codes`` of the pieces, ``n_pieces``,
        ``n_regions``.

    Raises
    ------
    InvalidInputError
        Points of the wrong shape or not finite, or two consecutive vertices equal.

    Notes
    -----
    What "regions crossed" means: the path is cut into *pieces*, the maximal sub-paths of
    positive length on which the activation code is constant (the code of a piece is
    ``net.codes`` at its midpoint). A region is convex, so a segment meets it in one
    interval: on a segment, pieces and distinct regions are the same. A polyline may
    leave a region and come back to it: ``n_pieces`` counts every visit and
    ``n_regions`` the distinct codes; a vertex of the polyline is a breakpoint only when
    the code changes there. Regions the path only touches (at a point) are not crossed.

    The method is exact up to the tolerances: the network is restricted to the line of
    each segment (:meth:`~polyregion.Network.restrict`) and walked layer by layer; on
    each piece every pre-activation is affine in ``t``, and its crossings of the
    breakpoints (ties in a max layer) cut the piece. No sampling, no LP.

    Cost: ``O(d w_0)`` per segment to restrict the first layer, ``O(P_l w_l w_{l-1})`` for
    layer ``l`` with ``P_l`` pieces so far, and one forward pass per piece (to label it).

    Examples
    --------
    Two ReLU lines ``x = 0`` and ``y = 0``: the segment from (-1, -0.5) to (1, 1) crosses
    ``y = 0`` at ``t = 1/3`` and ``x = 0`` at ``t = 1/2``:

    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> p = pr.regions_along(net, [-1.0, -0.5], [1.0, 1.0])
    >>> p  # doctest: +ELLIPSIS
    PathRegions(n_pieces=3, n_regions=3, n_segments=1, d=2, seconds=...)
    >>> np.round(p.breakpoints, 12).tolist(), p.codes.tolist()
    ([0.333333333333, 0.5], [[0, 0], [0, 1], [1, 1]])

    A polyline that leaves the positive quadrant and comes back: 3 pieces, 2 regions.

    >>> q = pr.regions_along(net, [[1.0, 1.0], [1.0, -1.0], [2.0, 1.0]])
    >>> q.n_pieces, q.n_regions, q.region_index.tolist()
    (3, 2, [0, 1, 0])
    >>> q.edges.tolist()
    [0.0, 0.5, 1.5, 2.0]
    """
    t_start = time.perf_counter()
    net = _check_net(net)
    tol = _check_tolerances(tolerances)
    d = net.input_dim
    if x1 is None:
        try:
            V = np.asarray(x0)
        except Exception:  # pragma: no cover
            V = None
        if V is not None and V.dtype != object and V.ndim == 1:
            raise InvalidInputError(
                f"`x0` alone must be a polyline of shape (m + 1, {d}) with m >= 1; got one "
                f"point of shape {V.shape}. Pass `x1` for a segment.")
        V = as_points(x0, d, "x0", min_rows=2, note=" (a polyline of at least 2 points)")
    else:
        V = np.vstack([as_points(x0, d, "x0"), as_points(x1, d, "x1")])
        if V.shape[0] != 2:
            raise InvalidInputError(
                f"`x0` and `x1` must be single points of shape ({d},); got {V.shape[0]} "
                "points in all.")
    steps = np.diff(V, axis=0)
    same = np.flatnonzero(~np.any(steps != 0, axis=1))
    if same.size:
        k = int(same[0])
        raise InvalidInputError(
            f"Consecutive points of the path must differ (each segment needs a positive "
            f"length); points {k} and {k + 1} are equal.")
    folded = net.fold_bn()
    all_edges, all_codes = [], []
    for k in range(V.shape[0] - 1):
        edges, codes = _segment(net, folded, V[k], V[k + 1], tol)
        all_edges.append(edges[:-1] + k)
        all_codes.append(codes)
    starts = np.concatenate(all_edges)
    codes = np.concatenate(all_codes, axis=0)
    if codes.shape[0]:
        change = np.ones(codes.shape[0], bool)
        change[1:] = np.any(codes[1:] != codes[:-1], axis=1)
        starts, codes = starts[change], codes[change]
    return PathRegions(vertices=V, breakpoints=starts[1:], codes=codes,
                       seconds=time.perf_counter() - t_start)
