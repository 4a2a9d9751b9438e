"""Batch normalisation (BN) and the geometry of the spline partition.

What it computes
----------------
A BN layer sits between the affine map and the activation of a layer:
``u = W z + b``, ``y = gamma * (u - mu) / sigma + beta``, ``z' = act(y)`` with
``sigma = sqrt(var + eps)``. In *eval mode* ``mu, var`` are the stored running statistics;
in *training mode* they are the statistics of a mini-batch ``B`` (mean and biased
variance over the batch), computed layer by layer on the already-normalised outputs of
the layers before. Either way, conditioned on the statistics, BN is a per-neuron affine
map and folds into the layer:

    W' = diag(gamma / sigma) W,    b' = beta - (gamma / sigma) * mean_B(W z).

(``b`` cancels: ``b - mu = -mean_B(W z)``.) :func:`fold` returns that plain
:class:`~polyregion.Network`, which :func:`~polyregion.enumerate_regions` takes as is.

Neuron ``k`` switches where ``y_k = t`` for a breakpoint ``t`` of its activation, i.e.

    <w_k, z> = mean_B <w_k, z> + sigma_k * (t - beta_k) / gamma_k,

a translate of the *reference hyperplane* ``{<w_k, z> = <w_k, zbar>}`` through the batch
centroid ``zbar``, by ``(t - beta_k) / gamma_k`` batch standard deviations
(``-beta_k / gamma_k`` for ReLU), whatever ``b_k``. :func:`hyperplanes` returns these
hyperplanes for a layer (inside a parent region for deeper layers, where the upstream map
is affine). A hyperplane ``{w.x = c}`` meets the window ``{|x - x0|_inf <= r}`` iff
``|w.x0 - c| <= r ||w||_1`` (:func:`hyperplane_meets_box`, :func:`window_hits`).
:func:`local_density` counts, exactly, the regions that meet the window around each data
point. :func:`offset_jitter` and :func:`depth_geometry` measure the mini-batch jitter of
the boundaries and the representation of a batch through depth.

Cost
----
Folding, hyperplanes and window tests cost one pass of the batch through the network:
O(batch * sum of layer sizes). :func:`local_density` runs one exact enumeration per point
(a small problem: a window holds few regions), serially or on an executor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInputError, InvalidNetworkError
from .network import BatchNorm, MaxPool, Network, as_points, constant_row_scale

__all__ = [
    "batch_statistics", "fold", "with_bn", "hyperplanes", "BNHyperplanes",
    "hyperplane_meets_box", "window_hits", "local_density", "offset_jitter",
    "JitterResult", "depth_geometry", "DepthGeometry",
]


# ---------------------------------------------------------------------------- checks
def _check_net(net, scalar_only=False) -> Network:
    if not isinstance(net, Network):
        raise InvalidInputError(f"`net` must be a polyregion.Network; got {type(net).__name__}.")
    if scalar_only and net.has_max:
        raise InvalidNetworkError(
            "The BN hyperplane geometry is defined for neurons with scalar activations; this "
            "network has max layers (MaxPool). Folding BN (pr.bn.fold) and enumerating work.")
    return net


def _check_points(X, d: int, name: str, min_rows: int = 1) -> np.ndarray:
    return as_points(X, d, name, min_rows)


def _check_layer(net: Network, layer) -> int:
    if not isinstance(layer, (int, np.integer)) or not 0 <= layer < net.n_layers - 1:
        raise InvalidInputError(
            f"`layer` must be a hidden layer index in [0, {net.n_layers - 2}]; got {layer!r}."
        )
    return int(layer)


# ---------------------------------------------------------------------------- statistics
def _bn_scale(bn: BatchNorm, var: np.ndarray, layer: int) -> np.ndarray:
    """gamma / sqrt(var + eps), with gamma = 0 giving 0 even when var + eps = 0."""
    denom = var + bn.eps
    bad = (denom <= 0) & (bn.gamma != 0)
    if np.any(bad):
        raise InvalidInputError(
            f"BN of layer {layer}: the batch variance is 0 for neurons "
            f"{np.flatnonzero(bad).tolist()} and eps = {bn.eps}; variance 0 needs eps > 0 "
            "(or gamma = 0 for those neurons)."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(bn.gamma == 0, 0.0, bn.gamma / np.sqrt(np.where(denom > 0, denom, 1.0)))
    return s


def _push(net: Network, batch: np.ndarray, rescale: bool = True):
    """Push ``batch`` through ``net`` in training mode (``rescale=False``: recentering only).

    Returns ``(layers, stats, zs)``: the folded ``(W', b')`` per layer, the per-layer
    statistics ``(mean_B(W z), var_B(W z))`` (None for layers without BN) and the inputs
    ``z_l`` of every layer on the batch.
    """
    z = batch
    layers, stats, zs = [], [], []
    L = net.n_layers
    for l in range(L):
        W, b, bn = net.weights[l], net.biases[l], net.bn[l]
        zs.append(z)
        v = z @ W.T  # bias-free pre-activation: the bias cancels in training mode
        if bn is None:
            Wf, bf = W, b
            stats.append(None)
        else:
            m = v.mean(axis=0)
            var = v.var(axis=0)
            var[np.ptp(v, axis=0) == 0] = 0.0  # one distinct value: exactly 0
            s = _bn_scale(bn, var, l) if rescale else bn.gamma
            Wf, bf = W * s[:, None], bn.beta - s * m
            stats.append((m, var))
        layers.append((Wf, bf))
        u = z @ Wf.T + bf
        if l < L - 1:
            act = net.activations[l]
            j = act.piece(u)
            if isinstance(act, MaxPool):
                z = np.take_along_axis(u, act.winners(j), axis=1)
            else:
                z = np.asarray(act.slopes)[j] * u + np.asarray(act.intercepts)[j]
    return layers, stats, zs


def batch_statistics(net, batch) -> list:
    """Training-mode BN statistics of ``batch``, pushed layer by layer.

    Parameters
    ----------
    net : Network
    batch : array_like, shape (n, input_dim)

    Returns
    -------
    list
        One entry per layer: ``None`` for a layer without BN, else ``(mean, var)`` of the
        pre-activation ``u = W z + b`` over the batch (biased variance, as BN uses in
        training mode), each of shape (width,). ``z`` is the layer's input on the batch,
        computed with the batch statistics of the layers before.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.bn.with_bn(pr.Network.from_arrays([np.eye(2), np.ones((1, 2))],
    ...                                            [np.ones(2), np.zeros(1)]))
    >>> mean, var = pr.bn.batch_statistics(net, [[0.0, 1.0], [2.0, 3.0]])[0]
    >>> mean, var
    (array([2., 3.]), array([1., 1.]))
    """
    net = _check_net(net)
    batch = _check_points(batch, net.input_dim, "batch")
    _, stats, _ = _push(net, batch)
    return [None if s is None else (s[0] + b, s[1]) for s, b in zip(stats, net.biases)]


def fold(net, batch=None, rescale=True) -> Network:
    """Fold BN into the affine layers: eval mode, or training mode on a batch.

    Parameters
    ----------
    net : Network
        A network with BN on some layers (``bn=`` of :meth:`Network.from_arrays`).
    batch : array_like, shape (n, input_dim), optional
        ``None``: eval mode, the stored running statistics are folded. Otherwise training
        mode: every BN layer uses the mean and (biased) variance of its pre-activations
        over ``batch``, which is pushed through the network layer by layer (the statistics
        of layer ``l`` are computed on the outputs of the already-normalised layers
        ``< l``). ``gamma``, ``beta`` and ``eps`` come from ``net``; its running
        statistics are ignored.
    rescale : bool
        Training mode only. ``False`` keeps the recentering and drops the division by
        ``sigma``: ``y = gamma * (u - mu) + beta`` (the "recentering" component of BN
        studied on its own in :func:`depth_geometry`).

    Returns
    -------
    Network
        A plain network (no BN) whose forward pass equals the BN network's forward pass in
        that mode (in training mode: on any input, with the statistics of ``batch``).
        ``gamma = 0`` gives a zero row (a constant neuron, no hyperplane); ``gamma < 0``
        flips the row (the sides swap).

    Raises
    ------
    InvalidInputError
        ``batch`` has the wrong shape or is not finite; a neuron with ``gamma != 0`` has
        batch variance 0 and ``eps = 0``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> rng = np.random.default_rng(0)
    >>> net = pr.bn.with_bn(pr.Network.from_arrays(
    ...     [rng.normal(size=(4, 2)), rng.normal(size=(1, 4))], [rng.normal(size=4), np.zeros(1)]))
    >>> X = rng.normal(size=(32, 2)) + 3.0
    >>> plain = pr.bn.fold(net, X)
    >>> plain.has_bn
    False
    >>> u = X @ plain.weights[0].T + plain.biases[0]    # normalised pre-activations
    >>> bool(np.allclose(u.mean(0), 0) and np.allclose(u.var(0), 1, atol=1e-3))  # eps aside
    True
    """
    net = _check_net(net)
    if batch is None:
        for l, bn in enumerate(net.bn):
            if bn is not None:
                _bn_scale(bn, bn.var, l)
        return net.fold_bn()
    batch = _check_points(batch, net.input_dim, "batch")
    layers, _, _ = _push(net, batch, bool(rescale))
    return Network([W for W, _ in layers], [b for _, b in layers], list(net.activations))


def with_bn(net, gamma=1.0, beta=0.0, eps=1e-5, layers=None) -> Network:
    """A copy of ``net`` with BN after the affine map of the given layers.

    Parameters
    ----------
    net : Network
    gamma, beta : float or array_like
        BN scale and shift (broadcast to each layer's width).
    eps : float
    layers : sequence of int, optional
        Layers that get BN; default every hidden layer. Existing BN elsewhere is kept.
        Running statistics are set to mean 0, variance 1 (use :func:`fold` with a batch).

    Returns
    -------
    Network

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> [b is not None for b in pr.bn.with_bn(net).bn]
    [True, False]
    """
    net = _check_net(net)
    if layers is None:
        layers = range(net.n_layers - 1)
    layers = list(layers)
    for l in layers:
        if not isinstance(l, (int, np.integer)) or not 0 <= l < net.n_layers:
            raise InvalidInputError(
                f"`layers` must hold layer indices in [0, {net.n_layers - 1}]; got {l!r}."
            )
    bns = [None if b is None else dict(gamma=b.gamma, beta=b.beta, mean=b.mean, var=b.var,
                                       eps=b.eps) for b in net.bn]
    for l in layers:
        bns[l] = dict(gamma=gamma, beta=beta, mean=0.0, var=1.0, eps=eps)
    return Network.from_arrays(net.weights, net.biases, list(net.activations) or "relu", bn=bns)


# ---------------------------------------------------------------------------- hyperplanes
@dataclass(frozen=True)
class BNHyperplanes:
    """The switching hyperplanes of one BN layer, conditioned on a batch.

    Neuron ``k`` switches on the hyperplanes ``{x : normal[k] . x = rhs[k, j]}`` (input
    coordinates, inside ``region`` for deeper layers), one per breakpoint ``t_j``. They are
    translates of the reference hyperplane ``{normal[k] . x = level[k]}``.

    Attributes
    ----------
    layer : int
    breakpoints : ndarray (n_bp,)
        Breakpoints ``t_j`` of the layer's activation.
    normal : ndarray (width, input_dim)
        ``(W_l A)_k``: the layer's raw weights times the upstream affine map ``z_l = A x + c``
        (``A = I`` for layer 0).
    level : ndarray (width,)
        Reference hyperplane level in input coordinates: ``mean_B <w_k, z_l> - <w_k, c>``.
    rhs : ndarray (width, n_bp)
        ``level + sigma * (t - beta) / gamma``; NaN for constant neurons.
    offsets_std : ndarray (width, n_bp)
        ``(t - beta) / gamma``: offsets in batch-standardised units (NaN where gamma = 0).
    offsets_input : ndarray (width, n_bp)
        Signed Euclidean distance, in input coordinates, from the reference hyperplane to
        the switching hyperplane, along ``normal``: ``sigma * (t - beta) / (gamma ||normal||)``.
    layer_normal : ndarray (width, width_in)
        ``w_k``: the normals in the layer's own input space.
    centroid : ndarray (width_in,) or None
        Batch centroid ``mean_B z_l`` in the layer's input space (None in eval mode); the
        reference hyperplane of the layer's input space passes through it.
    mean, sigma : ndarray (width,)
        ``mean_B <w_k, z_l>`` (bias-free; eval mode: running mean minus bias) and
        ``sqrt(var + eps)``.
    constant : ndarray (width,) bool
        Neurons without a hyperplane here: ``gamma = 0``, or ``normal`` = 0 in the region.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.bn.with_bn(pr.Network.from_arrays([np.eye(2), np.ones((1, 2))],
    ...                                            [np.zeros(2), [0.0]]))
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    >>> h = pr.bn.hyperplanes(net, X)        # switches at x = 1 and y = 1 (batch means)
    >>> h.layer, h.normal.tolist(), h.level.tolist(), h.centroid.tolist()
    (0, [[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0], [1.0, 1.0])
    """

    layer: int
    breakpoints: np.ndarray
    normal: np.ndarray
    level: np.ndarray
    rhs: np.ndarray
    offsets_std: np.ndarray
    offsets_input: np.ndarray
    layer_normal: np.ndarray
    centroid: np.ndarray | None
    mean: np.ndarray
    sigma: np.ndarray
    constant: np.ndarray


def _upstream_map(folded: Network, layer: int, region) -> tuple:
    """Affine map ``z_layer = A x + c`` of the folded net on the region with this code."""
    d = folded.input_dim
    n_before = int(sum(folded.widths[:layer]))
    if layer == 0:
        return np.eye(d), np.zeros(d)
    if region is None:
        raise InvalidInputError(
            f"`region` (the activation code of the parent region, at least {n_before} "
            f"entries) is required for `layer` = {layer} > 0."
        )
    code = np.asarray(region).ravel()
    if code.shape[0] < n_before or not np.issubdtype(code.dtype, np.integer):
        raise InvalidInputError(
            f"`region` must be an integer activation code with at least {n_before} entries "
            f"(the neurons of layers < {layer}); got shape {code.shape}, dtype {code.dtype}."
        )
    A, c = np.eye(d), np.zeros(d)
    off = 0
    for l in range(layer):
        W, b = folded.weights[l], folded.biases[l]
        act = folded.activations[l]
        j = code[off:off + W.shape[0]].astype(int)
        if np.any(j < 0) or np.any(j >= act.n_pieces):
            raise InvalidInputError(
                f"`region` has a piece index outside [0, {act.n_pieces - 1}] in layer {l}."
            )
        s = np.asarray(act.slopes)[j]
        A, c = s[:, None] * (W @ A), s * (W @ c + b) + np.asarray(act.intercepts)[j]
        off += W.shape[0]
    return A, c


def hyperplanes(net, batch, layer=0, region=None, tolerances=None) -> BNHyperplanes:
    """Reference and switching hyperplanes of a BN layer, conditioned on a batch.

    Parameters
    ----------
    net : Network
        Layer ``layer`` must have BN (see :func:`with_bn`).
    batch : array_like (n, input_dim) or None
        Training mode: statistics of this batch, pushed layer by layer. ``None``: eval mode
        (running statistics; ``centroid`` is then None).
    layer : int
        Hidden layer index.
    region : array_like of int, optional
        For ``layer > 0``: activation code (of the network folded with ``batch``, see
        :func:`fold`) of the parent region; its first ``sum(widths[:layer])`` entries are
        used. On that region the upstream map is affine and the hyperplanes below are exact.
    tolerances : Tolerances, optional
        Its ``zero_row`` decides which neurons are constant on the region (``constant``;
        the rule of the engines, docs/tolerances.md). Default
        :data:`~polyregion.config.DEFAULT_TOLERANCES`; pass ``rs.tolerances`` for the
        regions of a RegionSet.

    Returns
    -------
    BNHyperplanes

    Raises
    ------
    InvalidInputError
        Bad ``layer``, ``region`` or ``batch``; the layer has no BN.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> W0 = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> net = pr.bn.with_bn(pr.Network.from_arrays([W0, np.ones((1, 2))],
    ...                     [np.array([5.0, -7.0]), np.zeros(1)]), beta=1.0, gamma=2.0, eps=0.0)
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    >>> h = pr.bn.hyperplanes(net, X)
    >>> h.level                 # through the centroid (1, 1); the biases 5, -7 cancel
    array([1., 2.])
    >>> h.offsets_std           # (t - beta) / gamma with t = 0
    array([[-0.5],
           [-0.5]])
    >>> h.sigma ** 2            # batch variances of the two pre-activations
    array([1., 2.])
    >>> np.round(h.rhs, 4)      # level + sigma * offset
    array([[0.5   ],
           [1.2929]])
    """
    net = _check_net(net, scalar_only=True)
    layer = _check_layer(net, layer)
    bn = net.bn[layer]
    if bn is None:
        raise InvalidInputError(
            f"`layer` {layer} has no BN; add it with polyregion.bn.with_bn(net, layers=[{layer}])."
        )
    W = net.weights[layer]
    if batch is None:
        folded = fold(net)
        mean = bn.mean - net.biases[layer]
        var = bn.var
        centroid = None
    else:
        batch = _check_points(batch, net.input_dim, "batch")
        layers, stats, zs = _push(net, batch)
        folded = Network([W_ for W_, _ in layers], [b_ for _, b_ in layers], list(net.activations))
        mean, var = stats[layer]
        centroid = zs[layer].mean(axis=0)
    _bn_scale(bn, var, layer)  # checks variance 0 with eps 0
    sigma = np.sqrt(var + bn.eps)
    A, c = _upstream_map(folded, layer, region)
    normal = W @ A
    level = mean - W @ c
    t = np.asarray(net.activations[layer].breakpoints, float)
    nrm = np.linalg.norm(normal, axis=1)
    # the constant-row scale of the engines (the terms only count beyond the first layer)
    gmax = constant_row_scale(normal, W, A) if layer > 0 else constant_row_scale(normal)
    from .config import DEFAULT_TOLERANCES

    zero_row = (DEFAULT_TOLERANCES if tolerances is None else tolerances).zero_row
    constant = (bn.gamma == 0) | (nrm <= zero_row * gmax) | (nrm == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        off_std = (t[None, :] - bn.beta[:, None]) / bn.gamma[:, None]
        off_std[bn.gamma == 0] = np.nan
        rhs = level[:, None] + sigma[:, None] * off_std
        off_in = sigma[:, None] * off_std / nrm[:, None]
    rhs[constant] = np.nan
    off_in[constant] = np.nan
    return BNHyperplanes(layer=layer, breakpoints=t, normal=normal, level=level, rhs=rhs,
                         offsets_std=off_std, offsets_input=off_in, layer_normal=W.copy(),
                         centroid=centroid, mean=mean, sigma=sigma, constant=constant)


def hyperplane_meets_box(w, c, x0, r, closed=True):
    """Whether hyperplanes ``{x : w . x = c}`` meet the l-inf window ``{|x - x0|_inf <= r}``.

    The criterion: ``|w . x0 - c| <= r * ||w||_1`` (the range of ``w . x`` over the box is
    ``w . x0 +- r ||w||_1``).

    Parameters
    ----------
    w : array_like (..., d)
        Normals (a zero normal meets the box iff ``c == 0``).
    c : array_like (...)
        Levels (broadcast against ``w[..., 0]``).
    x0 : array_like (d,) or (..., d)
        Window centre(s).
    r : float or array_like
        Half-width(s), >= 0.
    closed : bool
        ``True``: the closed box (touching counts). ``False``: the hyperplane meets the open
        box, i.e. cuts the window into two pieces with interior (strict inequality).

    Returns
    -------
    ndarray of bool, the broadcast shape of ``c`` and ``w[..., 0]``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> pr.bn.hyperplane_meets_box([1.0, 1.0], 2.0, [0.0, 0.0], 1.0)
    array(True)
    >>> pr.bn.hyperplane_meets_box([1.0, 1.0], 2.0, [0.0, 0.0], 1.0, closed=False)
    array(False)
    >>> pr.bn.hyperplane_meets_box([[1.0, 0.0], [0.0, 1.0]], [0.5, 1.5], [0.0, 0.0], 1.0)
    array([ True, False])
    """
    w = np.asarray(w, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    x0 = np.asarray(x0, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    if w.ndim < 1 or x0.shape[-1:] != w.shape[-1:]:
        raise InvalidInputError(
            f"`w` (..., d) and `x0` (d,) must agree in their last dimension; got {w.shape} "
            f"and {x0.shape}."
        )
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise InvalidInputError(f"`r` must be finite and >= 0; got {r}.")
    gap = np.abs(np.sum(w * x0, axis=-1) - c)
    reach = r * np.sum(np.abs(w), axis=-1)
    return np.asarray(gap <= reach) if closed else np.asarray(gap < reach)


def window_hits(net, batch, x0, r, closed=True) -> np.ndarray:
    """Which switching hyperplanes of the first layer meet the window around ``x0``.

    Parameters
    ----------
    net : Network
        Layer 0 must have BN.
    batch : array_like (n, input_dim) or None
        Batch whose statistics condition BN (None: eval mode).
    x0 : array_like (input_dim,)
    r : float
        Half-width of the l-inf window ``{|x - x0|_inf <= r}``.
    closed : bool
        See :func:`hyperplane_meets_box`.

    Returns
    -------
    ndarray of bool, shape (width_0, n_breakpoints)
        ``[k, j]``: the hyperplane of neuron ``k`` at breakpoint ``t_j`` meets the window
        (False for constant neurons).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.bn.with_bn(pr.Network.from_arrays([np.eye(2), np.ones((1, 2))],
    ...                                            [np.zeros(2), np.zeros(1)]))
    >>> X = np.array([[0.0, 0.0], [2.0, 4.0]])      # centroid (1, 2)
    >>> pr.bn.window_hits(net, X, [1.5, 0.0], 0.6).ravel()
    array([ True, False])
    """
    net = _check_net(net, scalar_only=True)
    x0 = _check_points(x0, net.input_dim, "x0")[0]
    r = float(r)
    if not np.isfinite(r) or r <= 0:
        raise InvalidInputError(f"`r` must be a finite number > 0; got {r}.")
    h = hyperplanes(net, batch, layer=0)
    hit = hyperplane_meets_box(h.normal[:, None, :], h.rhs, x0, r, closed=closed)
    hit[h.constant] = False
    return hit


# ---------------------------------------------------------------------------- density
def _density_domains(X, r, directions):
    from .domain import Box, Slice

    if directions is None:
        return [Box(x0 - r[i], x0 + r[i]) for i, x0 in enumerate(X)]
    return [Slice(x0, directions, Box.cube(directions.shape[0], radius=r[i]))
            for i, x0 in enumerate(X)]


def local_density(net, X, r, batch=None, directions=None, executor=None, tolerances=None,
                  chunk_size=16) -> np.ndarray:
    """Exact number of linear regions meeting the l-inf window around each point.

    Parameters
    ----------
    net : Network
        May hold BN layers.
    X : array_like (n, input_dim)
        Window centres.
    r : float or array_like (n,)
        Half-widths (> 0): the window around ``x`` is ``{y : |y - x|_inf <= r}``.
    batch : array_like, optional
        Training-mode BN conditioned on this batch (:func:`fold`); default eval mode.
    directions : array_like (k, input_dim), optional
        Count in the k-D slice ``{x + t @ directions : |t|_inf <= r}`` instead of the full
        window (regions of the slice, i.e. regions meeting the sliced window).
    executor : concurrent.futures.Executor, int, "processes" or dask.distributed.Client, optional
        Chunks of points are mapped on it (e.g. a ProcessPoolExecutor), as in
        :func:`polyregion.local_complexity`; default serial.
    tolerances : Tolerances, optional
        Passed to :func:`~polyregion.enumerate_regions`.
    chunk_size : int
        Points per task when an executor is given.

    Returns
    -------
    ndarray of int64, shape (n,)
        Number of full-dimensional regions with interior in each window (exact enumeration
        in ``Box(x - r, x + r)``). :func:`polyregion.local_complexity` gives the same
        counts with per-window budgets, clipping to a valid range and timings.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> pr.bn.local_density(net, [[0.0, 0.0], [0.5, 2.0], [3.0, 3.0]], 1.0)
    array([4, 2, 1])
    """
    net = _check_net(net, scalar_only=True)
    X = _check_points(X, net.input_dim, "X")
    r = np.broadcast_to(np.asarray(r, dtype=np.float64), (X.shape[0],)).copy() \
        if np.ndim(r) == 0 else np.asarray(r, dtype=np.float64)
    if r.shape != (X.shape[0],) or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise InvalidInputError(
            f"`r` must be a number > 0 or an array of {X.shape[0]} numbers > 0; got {r}."
        )
    if directions is not None:
        directions = np.asarray(directions, dtype=np.float64)
        if directions.ndim != 2 or directions.shape[1] != net.input_dim:
            raise InvalidInputError(
                f"`directions` must have shape (k, {net.input_dim}); got {directions.shape}."
            )
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise InvalidInputError(f"`chunk_size` must be a positive int; got {chunk_size!r}.")
    from .windows import count_in_domains

    plain = fold(net, batch)
    counts, *_ = count_in_domains(plain, _density_domains(X, r, directions),
                                  executor=executor, tolerances=tolerances,
                                  chunk_size=int(chunk_size))
    return counts


# ---------------------------------------------------------------------------- jitter
@dataclass(frozen=True)
class JitterResult:
    """Mini-batch jitter of the first layer's switching hyperplanes.

    Attributes
    ----------
    positions : ndarray (n_batches, width_0, n_bp)
        Signed position of each switching hyperplane along its unit normal,
        ``rhs / ||normal||``, for each mini-batch.
    reference : ndarray (width_0, n_bp)
        The same with the statistics of the whole data set.
    spread : ndarray (width_0,)
        Standard deviation of the data projected on each unit normal (the scale to compare
        the jitter with).
    code_changes : ndarray (n_batches,)
        Fraction of the data points whose full activation code (all layers) differs from
        their code under the whole-data statistics.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.bn.with_bn(pr.Network.from_arrays([np.eye(2), np.ones((1, 2))],
    ...                                            [np.zeros(2), [0.0]]))
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> res = pr.bn.offset_jitter(net, X, batch_size=50, n_batches=4)
    >>> res.positions.shape, res.reference.shape, res.spread.shape, res.code_changes.shape
    ((4, 2, 1), (2, 1), (2,), (4,))
    """

    positions: np.ndarray
    reference: np.ndarray
    spread: np.ndarray
    code_changes: np.ndarray

    @property
    def jitter(self) -> np.ndarray:
        """Standard deviation of the positions across mini-batches, (width_0, n_bp)."""
        return self.positions.std(axis=0)


def offset_jitter(net, X, batch_size, n_batches=100, seed=0) -> JitterResult:
    """How the BN boundaries move from mini-batch to mini-batch.

    Draws ``n_batches`` mini-batches of ``batch_size`` rows of ``X`` (without replacement
    within a batch), conditions training-mode BN on each and records where the first
    layer's switching hyperplanes sit and how many data points change region.

    Parameters
    ----------
    net : Network
        Layer 0 must have BN.
    X : array_like (n, input_dim)
    batch_size : int
        2 <= batch_size <= n.
    n_batches : int
    seed : int

    Returns
    -------
    JitterResult

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> rng = np.random.default_rng(0)
    >>> net = pr.bn.with_bn(pr.Network.from_arrays([rng.normal(size=(3, 2)),
    ...                     rng.normal(size=(1, 3))], [np.zeros(3), np.zeros(1)]))
    >>> X = rng.normal(size=(500, 2))
    >>> res = pr.bn.offset_jitter(net, X, batch_size=500, n_batches=3)
    >>> float(res.jitter.max()) < 1e-12      # the whole data set every time: no jitter
    True
    """
    net = _check_net(net, scalar_only=True)
    X = _check_points(X, net.input_dim, "X", min_rows=2)
    n = X.shape[0]
    if not isinstance(batch_size, (int, np.integer)) or not 2 <= batch_size <= n:
        raise InvalidInputError(f"`batch_size` must be an int in [2, {n}]; got {batch_size!r}.")
    if not isinstance(n_batches, (int, np.integer)) or n_batches < 1:
        raise InvalidInputError(f"`n_batches` must be a positive int; got {n_batches!r}.")
    rng = np.random.default_rng(seed)

    def where(batch):
        h = hyperplanes(net, batch, layer=0)
        return h.rhs / np.linalg.norm(h.normal, axis=1)[:, None]

    ref = where(X)
    ref_codes = fold(net, X).codes(X)
    pos = np.empty((n_batches,) + ref.shape)
    changes = np.empty(n_batches)
    for i in range(n_batches):
        B = X[rng.choice(n, size=batch_size, replace=False)]
        pos[i] = where(B)
        changes[i] = np.mean(np.any(fold(net, B).codes(X) != ref_codes, axis=1))
    unit = net.weights[0] / np.linalg.norm(net.weights[0], axis=1)[:, None]
    spread = (X @ unit.T).std(axis=0)
    return JitterResult(positions=pos, reference=ref, spread=spread, code_changes=changes)


# ---------------------------------------------------------------------------- depth
@dataclass(frozen=True)
class DepthGeometry:
    """Geometry of a batch's representation layer by layer (training-mode BN).

    Index ``l`` refers to the output ``z_{l+1}`` of hidden layer ``l`` (after BN and the
    activation) on the batch; the odd point is the one least similar to the others.

    Attributes
    ----------
    cosines : list of ndarray (n, n)
        Cosine similarity matrices (rows of zero norm give cosine 0).
    odd : ndarray (n_hidden,) int
        Index of the odd point: the smallest mean cosine to the other points.
    cluster_cosine : ndarray (n_hidden,)
        Smallest cosine between two points of the cluster (all points but the odd one).
    cluster_mean_cosine : ndarray (n_hidden,)
        Mean cosine over the pairs of distinct cluster points.
    odd_cosine : ndarray (n_hidden,)
        Cosine between the odd point and the cluster's mean.
    spread_ratio : ndarray (n_hidden,)
        Cluster diameter divided by the distance from the odd point to the cluster mean
        (-> 0 when the cluster is tight and the odd point far).
    norm_ratio : ndarray (n_hidden,)
        Norm of the odd point over the mean norm of the cluster points.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.bn.with_bn(pr.Network.from_arrays([np.eye(2), np.ones((1, 2))],
    ...                                            [np.zeros(2), [0.0]]))
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    >>> g = pr.bn.depth_geometry(net, X)     # one hidden layer: one entry per field
    >>> len(g.cosines), g.cosines[0].shape, g.odd.tolist()
    (1, (4, 4), [0])
    """

    cosines: list
    odd: np.ndarray
    cluster_cosine: np.ndarray
    cluster_mean_cosine: np.ndarray
    odd_cosine: np.ndarray
    spread_ratio: np.ndarray
    norm_ratio: np.ndarray


def _cos(Z):
    nrm = np.linalg.norm(Z, axis=1)
    safe = np.where(nrm > 0, nrm, 1.0)
    U = Z / safe[:, None]
    C = U @ U.T
    C[nrm == 0, :] = 0.0
    C[:, nrm == 0] = 0.0
    return C


def depth_geometry(net, batch, rescale=True) -> DepthGeometry:
    """Cluster / odd-point geometry of a batch through the hidden layers.

    Parameters
    ----------
    net : Network
        Typically random weights with BN on every hidden layer (:func:`with_bn`).
    batch : array_like (n, input_dim), n >= 3
    rescale : bool
        ``False``: the BN layers only recentre (no division by the batch std), see
        :func:`fold`.

    Returns
    -------
    DepthGeometry

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> rng = np.random.default_rng(0)
    >>> d, w, L = 4, 64, 12
    >>> Ws = [rng.normal(size=(w, d))] + [rng.normal(size=(w, w)) for _ in range(L - 1)]
    >>> net = pr.bn.with_bn(pr.Network.from_arrays(Ws + [rng.normal(size=(1, w))],
    ...                                            [np.zeros(w)] * L + [np.zeros(1)]))
    >>> g = pr.bn.depth_geometry(net, rng.normal(size=(6, d)))
    >>> len(g.cosines), g.odd.shape
    (12, (12,))
    """
    net = _check_net(net, scalar_only=True)
    batch = _check_points(batch, net.input_dim, "batch", min_rows=3)
    _, _, zs = _push(net, batch, bool(rescale))
    n = batch.shape[0]
    cos, odd, cc, cm, oc, sr, nr = [], [], [], [], [], [], []
    for Z in zs[1:]:
        C = _cos(Z)
        cos.append(C)
        mean_cos = (C.sum(axis=1) - np.diag(C)) / (n - 1)
        i = int(np.argmin(mean_cos))
        rest = np.delete(np.arange(n), i)
        R = Z[rest]
        Cr = C[np.ix_(rest, rest)]
        cc.append(float(Cr.min()))
        cm.append(float((Cr.sum() - np.trace(Cr)) / ((n - 1) * (n - 2))) if n > 2 else 1.0)
        m = R.mean(axis=0)
        oc.append(float(_cos(np.vstack([Z[i], m]))[0, 1]))
        diam = max(float(np.linalg.norm(R[:, None, :] - R[None, :, :], axis=2).max()), 0.0)
        far = float(np.linalg.norm(Z[i] - m))
        sr.append(diam / far if far > 0 else np.inf)
        rn = float(np.linalg.norm(R, axis=1).mean())
        nr.append(float(np.linalg.norm(Z[i])) / rn if rn > 0 else np.inf)
        odd.append(i)
    return DepthGeometry(cosines=cos, odd=np.array(odd), cluster_cosine=np.array(cc),
                         cluster_mean_cosine=np.array(cm),
                         odd_cosine=np.array(oc), spread_ratio=np.array(sr),
                         norm_ratio=np.array(nr))
