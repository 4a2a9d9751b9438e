"""The enumeration driver: checks inputs, prepares the problem, runs a kernel.

The domain's enumeration coordinates ``t`` are first rescaled to ``x = (t - center) /
scale`` so the domain has unit scale; tolerances are then relative to the domain's size
(see :mod:`polyregion.config`). Eval-mode BN is folded and a :class:`~polyregion.Slice`
is folded into the first layer, so every kernel sees a plain CPA net on a unit-scale
domain ``{x : A0 x <= b0}``.

Methods
-------
``"lp"``
    The Numba kernel (:mod:`._kernels_engine`) with the warm-started simplex of
    :mod:`._kernels_lp`. The default except on bounded 2-D domains.
``"planar"``
    The 2-D fast path (:mod:`._kernels_planar`): cells are convex polygons split by lines
    exactly, with no LP except for rare thin pieces. Same decision rule, same regions.
    Chosen by ``"auto"`` for bounded 2-D domains (including 2-D slices).
``"scipy"``
    The same subdivision in Python with ``scipy.optimize.linprog(method="highs")`` for
    every LP: the slow reference and the benchmark baseline.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from ..config import DEFAULT_TOLERANCES, DUPLICATE, RESOLUTION, Tolerances
from ..domain import as_domain
from ..errors import BudgetExceededError, InvalidDomainError, InvalidInputError
from ..network import Network
from ..regions import RegionSet, RegionStats

__all__ = ["enumerate_regions", "FlatNet", "Prepared"]

METHODS = ("auto", "lp", "planar", "scipy")


class FlatNet(NamedTuple):
    """The network as the kernels see it: every layer's arrays concatenated.

    One tuple is passed to every kernel (Numba types it as a named tuple of arrays), so a
    kernel's signature names the network once. Layer ``l`` (``0 .. L-1``, the last one
    the output layer) maps ``dims[l]`` inputs to ``dims[l + 1]`` outputs.

    Attributes
    ----------
    W_flat : float64 (sum_l dims[l+1] * dims[l],)
        The weight matrices, each row-major: ``W_l = W_flat[W_off[l]:W_off[l+1]]``
        reshaped to ``(dims[l+1], dims[l])``.
    W_off : int64 (L + 1,)
    b_flat : float64 (sum_l dims[l+1],)
        The biases: ``b_l = b_flat[b_off[l]:b_off[l+1]]``.
    b_off : int64 (L + 1,)
    dims : int64 (L + 1,)
        Input dimension, then every layer's width.
    n_bp : int64 (L - 1,) (at least one entry)
        Breakpoints of each hidden layer's activation.
    bps : float64 (L - 1, max n_bp)
        The breakpoints, ascending (row ``l``, first ``n_bp[l]`` entries).
    slopes, intercepts : float64 (L - 1, max n_bp + 1)
        The activation's affine piece ``p`` (between breakpoints ``p-1`` and ``p``) is
        ``slopes[l, p] * u + intercepts[l, p]``; the code of a neuron is its piece.
    """

    W_flat: np.ndarray
    W_off: np.ndarray
    b_flat: np.ndarray
    b_off: np.ndarray
    dims: np.ndarray
    n_bp: np.ndarray
    bps: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray


def flat_network(Ws, bs, dims, n_bp, bps, slopes, intercepts):
    """The :class:`FlatNet` of per-layer weights and biases (contiguous float64/int64)."""
    Ws = [np.ascontiguousarray(W, dtype=np.float64) for W in Ws]
    bs = [np.ascontiguousarray(b, dtype=np.float64) for b in bs]
    return FlatNet(
        W_flat=np.concatenate([W.ravel() for W in Ws]),
        W_off=np.concatenate([[0], np.cumsum([W.size for W in Ws])]).astype(np.int64),
        b_flat=np.concatenate(bs),
        b_off=np.concatenate([[0], np.cumsum([b.size for b in bs])]).astype(np.int64),
        dims=np.ascontiguousarray(dims, dtype=np.int64),
        n_bp=np.ascontiguousarray(n_bp, dtype=np.int64),
        bps=np.ascontiguousarray(bps, dtype=np.float64),
        slopes=np.ascontiguousarray(slopes, dtype=np.float64),
        intercepts=np.ascontiguousarray(intercepts, dtype=np.float64))


class Prepared:
    """A CPA net on a unit-scale domain, in flat arrays for the kernels (:attr:`flat`)."""

    def __init__(self, net: Network, domain, normalise: bool = True):
        folded = net.for_domain(domain)
        self.enum_net = folded
        lo, hi = domain.bounds()
        if domain.bounded:
            center = 0.5 * (lo + hi)
            scale = float(0.5 * np.linalg.norm(hi - lo))
        else:
            center = np.zeros(domain.dim)
            scale = 1.0
        self.center, self.scale = center, scale
        A, b = domain.halfspaces()
        if A.shape[0]:
            nrm = np.linalg.norm(A, axis=1)
            A, b = A / nrm[:, None], b / nrm
            b = (b - A @ center) / scale
        self.A0 = np.ascontiguousarray(A, dtype=np.float64)
        self.b0 = np.ascontiguousarray(b, dtype=np.float64)
        Ws = [W.copy() for W in folded.weights]
        bs = [b.copy() for b in folded.biases]
        bs[0] = bs[0] + Ws[0] @ center
        Ws[0] = Ws[0] * scale
        exps = [0] * (len(Ws) - 1)
        if normalise:  # exact power-of-two rescaling of the hidden layers
            exps = _normalise_layers(Ws, bs, folded.activations)
        self.Ws, self.bs = Ws, bs
        self.dims = np.array([domain.dim] + [W.shape[0] for W in Ws], np.int64)
        acts = folded.activations
        nmax = max([len(a.breakpoints) for a in acts], default=1)
        L = max(len(acts), 1)
        self.n_bp = np.array([len(a.breakpoints) for a in acts] or [1], np.int64)
        self.bps = np.zeros((L, nmax))
        self.slopes = np.zeros((L, nmax + 1))
        self.intercepts = np.zeros((L, nmax + 1))
        for l, a in enumerate(acts):
            nb = len(a.breakpoints)
            self.bps[l, :nb] = a.breakpoints
            self.slopes[l, :nb + 1] = a.slopes
            self.intercepts[l, :nb + 1] = a.intercepts
        for l, e in enumerate(exps):  # layer l's pre-activation is 2**e times the true one
            self.bps[l] = np.ldexp(self.bps[l], e)
            self.intercepts[l] = np.ldexp(self.intercepts[l], e)
        self.flat = flat_network(Ws, bs, self.dims, self.n_bp, self.bps, self.slopes,
                                 self.intercepts)
        self.W_flat, self.W_off = self.flat.W_flat, self.flat.W_off
        self.b_flat, self.b_off = self.flat.b_flat, self.flat.b_off

    def to_domain(self, x):
        return self.center + self.scale * np.asarray(x)


def _normalise_layers(Ws, bs, acts):
    """Rescale hidden layers in place by powers of two so their largest entry is ~1.

    Multiplying hidden layer ``l``'s pre-activation ``u`` by ``f > 0`` leaves its
    hyperplanes and codes unchanged when its breakpoints are multiplied by ``f`` too; with
    the intercepts also multiplied by ``f`` its output is ``f`` times the true one, which
    the next layer absorbs by dividing its weights by ``f`` (this holds for every
    activation; for relu, leaky_relu and abs, whose breakpoints and intercepts are 0, only
    the weights change). With ``f = 2**e`` applied by ``np.ldexp`` the rescaling is exact
    in floating point (up to entries that fall below the normal range, far below the
    rounding of the row sums they enter), so the kernels see the same hyperplanes; it keeps
    the row norms of deep products out of the range where their squares under- or
    overflow (weights of 1e-300, subnormal ones, or 1e+300 would otherwise turn every
    hyperplane into a "zero row" or ``inf``). ``f`` is chosen from the layer's largest
    entry *after* the previous layer's factor is divided out, and only exponents are
    multiplied, so no factor itself over- or underflows.

    Returns the exponent ``e`` of each hidden layer's factor ``f = 2**e``: the caller
    multiplies that layer's breakpoints and intercepts by it (``np.ldexp``).

    Raises
    ------
    InvalidNetworkError
        When a rescaled entry (a weight, bias, breakpoint or intercept) is not finite:
        the layer's magnitudes span more than float64 holds, and no exact equivalent net
        exists for the kernels.
    """
    from ..errors import InvalidNetworkError

    exps = []
    prev = 0  # the kernel's input to layer l is 2**prev times the true one
    for l in range(len(Ws) - 1):
        Wl = np.ldexp(Ws[l], -prev)  # absorbs the previous layer's factor
        m = max(float(np.max(np.abs(Wl), initial=0.0)),
                float(np.max(np.abs(bs[l]), initial=0.0)))
        e = -int(np.frexp(m)[1]) if (m > 0.0 and np.isfinite(m)) else 0
        Ws[l] = np.ldexp(Wl, e)
        bs[l] = np.ldexp(bs[l], e)
        act = acts[l]
        bad = not (np.all(np.isfinite(Ws[l])) and np.all(np.isfinite(bs[l])))
        for name in ("breakpoints", "intercepts"):
            vals = np.asarray(getattr(act, name, ()), dtype=np.float64)
            with np.errstate(over="ignore"):
                bad = bad or not np.all(np.isfinite(np.ldexp(vals, e)))
        if bad:
            raise InvalidNetworkError(
                f"Layer {l}'s weights, biases and activation breakpoints span more than "
                f"float64 can hold once the layers before it are rescaled (largest entry "
                f"{m:.3g} in units of the previous layer's scale): the network has no "
                f"exact float64 equivalent for the enumeration. Rescale its layers "
                f"(positive homogeneity keeps the partition of relu-type layers).")
        exps.append(e)
        prev = e
    Ws[-1] = np.ldexp(Ws[-1], -prev)  # the output layer is scaled back (not used for regions)
    return exps


def _kernel_extra(st):
    """The LP kernel's extra counters (see ``_kernels_engine.ST_*``) as a dict."""
    names = ("box_decisions", "pool_splits", "entry_lps", "empty_lps", "vertex_lps",
             "vertex_checks", "vertex_pivots", "cone_splits", "vertex_no_cuts")
    return {n: int(v) for n, v in zip(names, st[3:])}


def _check(net, domain, method, tolerances):
    if not isinstance(net, Network):
        raise InvalidInputError(f"`net` must be a polyregion.Network; got {type(net).__name__}.")
    domain = as_domain(domain, net.input_dim)
    if method not in METHODS:
        raise InvalidInputError(f"`method` must be one of {METHODS}; got {method!r}.")
    if tolerances is None:
        tolerances = DEFAULT_TOLERANCES
    if not isinstance(tolerances, Tolerances):
        raise InvalidInputError("`tolerances` must be a polyregion.config.Tolerances.")
    tolerances = _resolution_floor(domain, tolerances)
    _check_thickness(domain, tolerances)
    return domain, tolerances


def _resolution_floor(domain, tol):
    """Raise ``feasibility`` to the float64 resolution of the domain's coordinates.

    The kernels work in ``x = (t - center) / scale`` and return witness points as
    ``center + scale * x``; rounding there moves a point (and the first layer's
    hyperplanes) by about ``eps * |center|``, i.e. ``eps * |center| / scale`` in units of
    the domain's scale. A small box far from the origin (``|center| / scale`` of 1e5 or
    more) would make that larger than ``feasibility``, and a cell certified thicker than
    ``feasibility`` could come back with a witness outside it. ``feasibility`` is raised to
    ``RESOLUTION * |center| / scale`` in that case (see :mod:`polyregion.config`).
    """
    if not domain.bounded:
        return tol
    lo, hi = domain.bounds()
    scale = float(domain.scale)
    if not (np.isfinite(scale) and scale > 0.0):
        return tol
    floor = RESOLUTION * float(np.max(np.abs(0.5 * (lo + hi)))) / scale
    if floor > tol.feasibility and floor < 1.0:
        return replace(tol, feasibility=floor)
    return tol


def _check_thickness(domain, tol):
    """Refuse a domain that is not full-dimensional at the feasibility tolerance.

    Cells count as regions when their inscribed ball has radius > ``feasibility *
    scale`` (docs/tolerances.md); a domain thinner than that would come back as one
    "region" whatever the network, so it is refused with an explanation instead.
    """
    from ..domain import Box, Polytope

    inner = getattr(domain, "inner", domain)
    if isinstance(inner, Box):
        radius = float(np.min(inner.hi - inner.lo)) / 2.0
    elif isinstance(inner, Polytope):
        radius = float(inner._radius)
    else:
        return
    scale = float(domain.scale) if domain.bounded else 1.0
    if not (np.isfinite(scale) and scale > 0.0 and radius > tol.feasibility * scale):
        raise InvalidDomainError(
            f"The domain is too thin for the feasibility tolerance: its inscribed radius "
            f"{radius:.3g} must exceed `feasibility` * scale = {tol.feasibility:g} * "
            f"{scale:.3g} (scale = half-diagonal of its bounding box). Rescale the "
            f"coordinates or pass tolerances=Tolerances(feasibility=...) smaller."
        )


def _pick_method(method, domain):
    if method == "auto":
        return "planar" if domain.dim == 2 and domain.bounded else "lp"
    if method == "planar" and not (domain.dim == 2 and domain.bounded):
        raise InvalidInputError(
            f"`method`='planar' needs a bounded 2-D domain (a Box, a bounded Polytope or a "
            f"Slice with a bounded inner domain, of dimension 2); got {domain!r}.")
    return method


def _check_budget(name, value, kind=(int, float, np.integer, np.floating)):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0 \
            or not np.isfinite(value):
        raise InvalidInputError(f"`{name}` must be a positive number; got {value!r}.")
    return value


def enumerate_regions(net, domain, method="auto", executor=None, progress=False,
                      tolerances=None, max_regions=None, max_seconds=None, max_memory=None,
                      checkpoint=None, resume=None, batch_size=None, out=None):
    """Enumerate every full-dimensional linear region of ``net`` inside ``domain``.

    Parameters
    ----------
    net : Network
    domain : Box, Polytope, Space or Slice
        Its input dimension must equal ``net.input_dim``. Enumeration happens in the
        domain's coordinates (``t`` for a Slice).
    method : {"auto", "lp", "planar", "scipy"}
        ``"lp"``: the Numba engine; ``"scipy"``: the same subdivision with HiGHS LPs
        (slow reference); ``"planar"``: the 2-D polygon fast path (bounded 2-D domains
        only); ``"auto"`` picks ``"planar"`` on bounded 2-D domains, else ``"lp"``.
    executor : None, "serial", "processes", int or dask.distributed.Client
        ``None``: one serial run of the kernel, or work units in this process when a
        budget, ``checkpoint``, ``resume``, ``out`` or a progress callable is given (so
        a budget's partial result can be resumed). Anything else runs in *work units*
        (cells of part of the first hidden layer, see :mod:`polyregion.enumerate.scale`):
        ``"serial"`` in this process, an int ``n`` or ``"processes"`` in a local pool of
        ``n`` (or all) processes, a Dask client on its workers. The result is the same
        RegionSet, array for array, for every unit-based executor; its codes equal the
        ``None`` run's.
    progress : bool or callable
        ``True``: a tqdm bar on stderr (units done, regions, rate) in unit mode, a summary
        line otherwise; a callable gets a dict (regions, units_done, units_total,
        frontier, seconds, rate) after each batch of units.
    tolerances : Tolerances, optional
        Default :data:`polyregion.config.DEFAULT_TOLERANCES`.
    max_regions : int, optional
        Stop with :class:`BudgetExceededError` (holding the partial result) when more
        regions than this are found.
    max_seconds, max_memory : float, optional
        Budgets (wall seconds; bytes of the result's arrays in memory: uint8 codes,
        float64 points and radii). Every budget runs in work units and is checked
        between batches of units; near a budget, batches shrink to half of what the
        budget left affords at the rate seen so far, so a budget is exceeded by at most
        one small batch (a single unit when close). When hit,
        :class:`BudgetExceededError` holds the partial RegionSet (the units done) in
        ``.partial`` (with the prefix codes of the units still to do in
        ``.partial.frontier``); ``enumerate_regions(..., resume=err.partial)``, with any
        executor, finishes the job and returns the same result as an uninterrupted run.
    checkpoint : path, optional
        Directory where each completed batch is written atomically; a killed run
        restarts with ``resume=<directory>`` and redoes only unfinished units. Every
        shard is checked on resume (problem fingerprint, unit plan, SHA-256 digest, unit
        ids, prefix codes); files the library did not write are never overwritten or
        deleted (see docs/scale.md).
    resume : RegionSet or path, optional
        A partial result (``err.partial``) or a checkpoint directory to continue.
    batch_size : int, optional
        Work units per task (default: guided, from 64 units down to 1 at the end, capped
        so a task's result stays under 64 MB).
    out : path, optional
        Write the regions to this directory instead of keeping them in memory (work
        units; the directory is also the checkpoint) and return a disk-backed RegionSet
        (memory-mapped points and radii, bit-packed codes when every activation has two
        pieces; see :class:`~polyregion.enumerate.scale.DiskRegionSet`). The same call
        again continues an interrupted run, or opens the finished result.

    Returns
    -------
    RegionSet
        Regions sorted by activation code.

    Raises
    ------
    InvalidInputError, InvalidNetworkError, InvalidDomainError
        Bad arguments.
    BudgetExceededError
        ``max_regions``, ``max_seconds`` or ``max_memory`` was hit.
    CheckpointError
        A ``checkpoint``/``out``/``resume`` directory holds a shard of another problem or
        plan, a tampered or inconsistent shard, or files named like the library's that it
        did not write (a :class:`~polyregion.errors.FileFormatError`).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> W = [np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))]
    >>> b = [np.array([0.0, 0.0, -0.5]), np.zeros(1)]
    >>> net = pr.Network.from_arrays(W, b)
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> len(rs)      # 4 quadrants; x + y = 0.5 cuts 3 of them
    7
    >>> rs.codes[0]
    array([0, 0, 0], dtype=uint8)
    """
    domain, tol = _check(net, domain, method, tolerances)
    if max_regions is not None and (not isinstance(max_regions, (int, np.integer))
                                    or isinstance(max_regions, bool) or max_regions < 1):
        raise InvalidInputError(f"`max_regions` must be a positive int; got {max_regions!r}.")
    _check_budget("max_seconds", max_seconds)
    _check_budget("max_memory", max_memory)
    if batch_size is not None:
        _check_budget("batch_size", batch_size, (int, np.integer))
    method = _pick_method(method, domain)
    if out is not None and net.has_max:
        raise InvalidInputError("`out` is not supported for networks with max layers; "
                                "enumerate in memory or use `checkpoint=`.")
    if net.has_max:
        from ._maxpool import enumerate_max

        return enumerate_max(net, domain, method, executor=executor, progress=progress,
                             tolerances=tol, max_regions=max_regions,
                             max_seconds=max_seconds, max_memory=max_memory,
                             checkpoint=checkpoint, resume=resume, batch_size=batch_size)
    prep = Prepared(net, domain)
    # a budget runs in work units (in this process when executor is None): a budget's
    # partial result then holds the units still to do, and resume= finishes the job
    unit_mode = (executor is not None or max_regions is not None or max_seconds is not None
                 or max_memory is not None or checkpoint is not None or resume is not None
                 or callable(progress) or out is not None)
    if out is not None and len(prep.Ws) < 2:
        raise InvalidInputError("`out` needs a network with at least one hidden layer.")
    if unit_mode and len(prep.Ws) >= 2:
        from .scale import enumerate_in_units

        return enumerate_in_units(net, domain, prep, method, tol, executor=executor,
                                  batch_size=batch_size, max_regions=max_regions,
                                  max_seconds=max_seconds, max_memory=max_memory,
                                  checkpoint=checkpoint, resume=resume, progress=progress,
                                  out=out)
    t0 = time.perf_counter()
    polygons = {} if method == "planar" else None
    codes, pts, radii, n_lps, n_retries, n_failed, extra, complete = _run_kernel(
        method, prep, prep.A0, prep.b0, tol, max_regions, polygons)
    seconds = time.perf_counter() - t0
    n = len(codes)
    codes = (np.array(codes, dtype=np.uint8).reshape(n, net.n_neurons) if n else
             np.zeros((0, net.n_neurons), np.uint8))
    pts = prep.to_domain(np.array(pts, dtype=np.float64).reshape(n, domain.dim))
    radii = np.array(radii, dtype=np.float64) * prep.scale
    stats = RegionStats(method=method, seconds=seconds, n_lps=n_lps, n_regions=n,
                        n_retries=n_retries, n_failed=n_failed, extra=extra)
    # the planar kernel emits its regions in lexicographic code order (depth-first, the
    # lower piece first), so only the other kernels' output needs sorting
    rs = RegionSet(net, domain, codes, pts, radii, stats=stats, tolerances=tol,
                   sort=method != "planar")
    if polygons:  # the regions' polygons, for the graph (polyregion.graph)
        rs._cache["planar_polygons"] = polygons
    if progress:
        import sys

        print(f"polyregion: {rs!r}", file=sys.stderr)
    if not complete or (max_regions is not None and n > max_regions):
        raise BudgetExceededError(
            f"Enumeration stopped after {n} regions: `max_regions`={max_regions} was hit.",
            partial=rs,
        )
    return rs


def kernel_cap(max_regions):
    """The kernels' region cap (an int64; 0 = none): one more than ``max_regions`` so a
    hit is detected, clamped to 2**62 (no enumeration gets there; a Python int beyond
    int64 would not type in Numba)."""
    if not max_regions:
        return 0
    return int(min(int(max_regions), 2 ** 62)) + 1


#: The planar path keeps each region's polygon (:func:`enumerate_regions` in memory, for
#: the region graph) while they hold at most this many vertices in all (48 bytes each:
#: 48 MB, about 200,000 regions of 5 vertices); beyond, the graph takes the trie walk,
#: so a large enumeration whose graph is never built does not carry them.
MAX_POLYGON_VERTICES = 1 << 20


def _run_kernel(method, prep, A0, b0, tol, max_regions=None, polygons=None):
    """Run one kernel on the prepared net restricted to the cell ``{A0 x <= b0}``.

    Returns ``(codes, points, radii, n_lps, n_retries, n_failed, extra, complete)`` in the
    kernel's unit-scale coordinates (lists as the kernels return them). With a dict
    ``polygons``, the planar kernel also fills it with the regions' polygons (keys
    ``polys``, ``pptr``, ``doubt``, ``dup_tol``; left empty when there are too many).
    """
    from ._highs import call_kernel

    extra = {}
    if method == "lp":
        from ._kernels_engine import enumerate_lp

        codes, pts, radii, st, complete = call_kernel(
            enumerate_lp, prep.flat, A0, b0,
            tol.feasibility, tol.zero_row, tol.pivot, tol.pivot * 1e-2,
            tol.max_simplex_iter, kernel_cap(max_regions), np.zeros(prep.A0.shape[1]), -1.0)
        n_lps, n_retries, n_failed = (int(v) for v in st[:3])
        extra = _kernel_extra(st)
    elif method == "planar":
        from ._kernels_planar import enumerate_planar, enumerate_planar_polygons

        args = (prep.flat, A0, b0, tol.feasibility,
                tol.zero_row, kernel_cap(max_regions))
        if polygons is None:
            codes, pts, radii, st, complete = call_kernel(enumerate_planar, *args)
        else:
            dup_tol = DUPLICATE * tol.feasibility
            codes, pts, radii, st, complete, kept, polys, pptr, doubt = \
                call_kernel(enumerate_planar_polygons, *args, dup_tol, MAX_POLYGON_VERTICES)
            if kept:
                polygons.update(polys=polys, pptr=pptr, doubt=doubt, dup_tol=dup_tol)
        n_lps, n_retries, n_failed = int(st[0]), 0, 0
        extra = {"cuts": int(st[1]), "vertex_tests": int(st[2])}
    else:
        from ._scipy_engine import enumerate_scipy

        codes, pts, radii, n_lps, complete = enumerate_scipy(prep, tol, max_regions)
        n_retries = n_failed = 0
    if len(radii) and len(prep.Ws) >= 2:
        # every witness inside its own cell, against all hyperplanes of its code
        from ._witness import check_witnesses

        C = np.array(codes, dtype=np.uint8).reshape(len(radii), -1)
        pts, radii, n_clip, n_fix = check_witnesses(prep, A0, b0, C, pts, radii, tol)
        if n_clip or n_fix:
            extra = dict(extra, witness_radius_clipped=n_clip, witness_resolved=n_fix)
    return codes, pts, radii, n_lps, n_retries, n_failed, extra, complete
