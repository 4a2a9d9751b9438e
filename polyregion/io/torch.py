"""Import PyTorch modules as :class:`~polyregion.Network` (extra ``torch``).

What it converts
----------------
``nn.Sequential`` (nested allowed) and simple modules whose ``forward`` is a chain of
calls (traced with ``torch.fx``) built from:

- affine layers: ``Linear``; ``Conv1d``, ``Conv2d``, ``AvgPool1d``, ``AvgPool2d``,
  ``AdaptiveAvgPool1d``, ``AdaptiveAvgPool2d`` (unrolled to dense affine maps by pushing
  the unit basis through the layer, so every padding and stride option is exact);
- activations: ``ReLU``, ``LeakyReLU``, ``Hardtanh`` (any bounds: ``[-1, 1]`` is
  ``hardtanh``, ``[0, 6]`` is ``relu6``, others an exact affine rescaling of hardtanh),
  ``ReLU6``; the functional forms ``F.relu``, ``F.leaky_relu``, ``F.hardtanh``,
  ``F.relu6``, ``torch.relu``;
- ``BatchNorm1d`` and ``BatchNorm2d``: running statistics (eval mode), or, with ``batch``,
  the statistics of that batch (training mode conditioned on the batch: each BN layer sees
  the batch as normalised by the layers before it; mean and biased variance, as PyTorch
  normalises in training mode). ``BatchNorm1d`` on ``(C,)`` features is kept as the
  layer's BN (so :mod:`polyregion.bn` sees it). ``BatchNorm2d`` on ``(C, H, W)`` maps (and
  ``BatchNorm1d`` on ``(C, L)``) has one statistic per *channel*, over the batch and all
  positions; conditioned on it, it is the per-channel affine map
  ``y = s_c u + t_c`` (``s_c = gamma_c / sqrt(var_c + eps)``, ``t_c = beta_c - s_c mean_c``),
  folded into the neighbouring affine layers. It is not kept as a layer's BN: the
  per-neuron batch statistics of :mod:`polyregion.bn` are not a per-channel BN's, so
  ``bn.fold(net, batch)`` leaves such a net unchanged; condition a CNN on a batch with
  ``from_torch(model, batch=X)``;
- shape-only and inert layers: ``Flatten``, ``Unflatten``, ``Identity``, ``Dropout``
  (converted as in eval mode: identity);
- ``MaxPool1d/2d`` and their adaptive forms (any kernel, stride, padding, dilation,
  ceil mode), anywhere in the chain: each becomes a max layer (:class:`~polyregion.MaxPool`,
  one code entry per window: the position of its maximum), enumerated exactly.

Images are flattened in PyTorch's (C, H, W) row-major order: the network's input is
``x.flatten()`` of one sample. Any other layer raises
:class:`~polyregion.InvalidNetworkError` naming the layer.

Image CNNs
----------
``Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d -> Flatten -> Linear`` becomes a network with
two hidden layers: the convolution (BN folded in) with one ReLU per position of each
channel, then an identity layer carrying the :class:`~polyregion.MaxPool` windows; a code
is the ReLU pattern followed by the position of each window's maximum (row-major inside
the window). Pass ``input_shape=(C, H, W)`` (or a ``batch``)::

    net = pr.from_torch(model.eval(), input_shape=(1, 28, 28))     # 784 inputs
    x0 = image.reshape(-1)                                          # pixels in [0, 1]
    rs = pr.enumerate_regions(net, pr.Box(np.clip(x0 - r, 0, 1), np.clip(x0 + r, 0, 1)))
    rs2 = pr.enumerate_regions(net, pr.Slice.through(x0, x1, x2))   # the plane of 3 images

Cost: the dense affine maps hold ``(C_out H_out W_out) x (C_in H_in W_in)`` entries (the
unit basis is pushed through the layer once: ``n_in`` forward passes). A max layer is
enumerated on a tournament of ReLUs (about ``2 k`` neurons for a window of ``k`` entries,
6 for a 2x2 window, on a bounded domain; see :mod:`polyregion.enumerate._maxpool`). 2-D
slices through images are fast (tens of thousands of regions in seconds); full-dimensional
windows cost LPs in 64 or 784 dimensions, and their counts grow fast with the radius, so
only small l-inf windows finish in seconds: radius ~2e-3 around an 8x8 digit, <= 1e-3
around a 28x28 image (``tests/test_io_cnn.py`` lists measured sizes).

Self-check
----------
The converted network is compared with the module (cast to float64, eval mode; with
``batch``, BN in training mode on the batch) on ``n_check`` standard-normal inputs and on
the batch; it must agree to ``rtol * (1 + max|output|)`` with ``rtol = 1e-6``, else
:class:`~polyregion.InvalidNetworkError`.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import InvalidInputError, InvalidNetworkError
from ._chain import CHECK_RTOL, assemble, check_close, clip_ops

__all__ = ["from_torch"]


def _import_torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - exercised only without torch
        raise ImportError(
            "polyregion.from_torch needs PyTorch: pip install polyregion[torch] "
            "(or pip install torch)."
        ) from None
    return torch


def _leaves(torch, module, prefix=""):
    """The chain of (name, module-or-function spec) that ``module`` computes."""
    nn = torch.nn
    if isinstance(module, nn.Sequential):
        out = []
        for name, child in module.named_children():
            out.extend(_leaves(torch, child, f"{prefix}{name}."))
        return out
    if _is_leaf(torch, module):
        return [(prefix.rstrip(".") or type(module).__name__, module)]
    return _traced(torch, module, prefix)


_AFFINE_UNROLL = ("Conv1d", "Conv2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
                  "AdaptiveAvgPool2d")
_KNOWN = ("Linear", "ReLU", "LeakyReLU", "Hardtanh", "ReLU6", "Identity", "Flatten",
          "Unflatten", "Dropout", "BatchNorm1d", "BatchNorm2d", "MaxPool1d", "MaxPool2d",
          "AdaptiveMaxPool1d", "AdaptiveMaxPool2d") + _AFFINE_UNROLL


def _is_leaf(torch, module):
    # known layers, and childless modules (unknown ones are then reported by name)
    return type(module).__name__ in _KNOWN or len(list(module.children())) == 0


def _traced(torch, module, prefix):
    F = torch.nn.functional
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as exc:
        raise InvalidNetworkError(
            f"Cannot convert module {type(module).__name__!r}: it is not an nn.Sequential "
            f"and torch.fx could not trace its forward ({type(exc).__name__}: {exc}). Wrap "
            "its layers in an nn.Sequential."
        ) from None
    funcs = {F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.leaky_relu: "leaky_relu",
             F.hardtanh: "hardtanh", torch.flatten: "flatten", F.dropout: "identity"}
    methods = {"relu": "relu", "flatten": "flatten"}
    out, prev = [], None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if prev is not None:
                raise InvalidNetworkError(
                    f"Cannot convert module {type(module).__name__!r}: forward takes more than "
                    "one input."
                )
            prev = node
            continue
        if node.op == "output":
            if node.args[0] is not prev:
                raise InvalidNetworkError(
                    f"Cannot convert module {type(module).__name__!r}: its output is not the "
                    "last operation of a chain."
                )
            break
        tensor_args = [a for a in node.args if hasattr(a, "op")]
        if len(tensor_args) != 1 or tensor_args[0] is not prev or \
                any(hasattr(v, "op") for v in node.kwargs.values()):
            raise InvalidNetworkError(
                f"Cannot convert module {type(module).__name__!r}: operation {node.name!r} "
                "is not part of a plain chain of layers (branches, residual connections and "
                "arithmetic between tensors are not supported)."
            )
        name = f"{prefix}{node.name}"
        if node.op == "call_module":
            sub = gm.get_submodule(node.target)
            out.extend(_leaves(torch, sub, f"{prefix}{node.target}."))
        elif node.op == "call_function" and node.target in funcs:
            out.append((name, ("function", funcs[node.target], node.args[1:], node.kwargs)))
        elif node.op == "call_method" and node.target in methods:
            out.append((name, ("function", methods[node.target], node.args[1:], node.kwargs)))
        else:
            raise InvalidNetworkError(
                f"Cannot convert operation {name!r} ({node.op} {node.target!r}) of module "
                f"{type(module).__name__!r}: unsupported."
            )
        prev = node
    return out


def _np(t):
    return t.detach().cpu().double().numpy()


def _unroll(torch, layer, shape):
    """Dense (W, b, out_shape) of an affine layer acting on per-sample ``shape``."""
    n = int(np.prod(shape))
    m = copy.deepcopy(layer).double().eval()
    with torch.no_grad():
        y0 = m(torch.zeros((1,) + tuple(shape), dtype=torch.float64))
        Y = m(torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(shape))) - y0
    return Y.reshape(n, -1).T.numpy().copy(), y0.reshape(-1).numpy().copy(), tuple(y0.shape[1:])


_BATCHNORM = ("BatchNorm1d", "BatchNorm2d")


def _bn_op(name, tname, layer, shape, bn_stats):
    """The operation of a BN layer acting on per-sample ``shape``.

    ``BatchNorm1d`` on ``(C,)`` features is a ``("bn", ...)`` operation (kept as the layer's
    BN when it sits before an activation, so :mod:`polyregion.bn` sees it). ``BatchNorm1d``
    on ``(C, L)`` and ``BatchNorm2d`` on ``(C, H, W)`` normalise per *channel*, with
    statistics over the batch and the positions; conditioned on those statistics the layer
    is the elementwise affine map ``y = s_c u + t_c`` (``s_c = gamma_c / sqrt(var_c + eps)``,
    ``t_c = beta_c - s_c mean_c``) repeated over the ``H * W`` positions of channel ``c``
    in (C, H, W) order. It is emitted as a ``("scale", s, t)`` operation and folded into
    the neighbouring affine maps: :mod:`polyregion.bn`'s per-neuron batch statistics would
    not be a per-channel BN's, so it is not kept as a layer's BN.
    """
    spatial = {"BatchNorm1d": (0, 1), "BatchNorm2d": (2,)}[tname]
    n = layer.num_features
    if len(shape) - 1 not in spatial or shape[0] != n:
        want = "(C,) or (C, L)" if tname == "BatchNorm1d" else "(C, H, W)"
        raise InvalidNetworkError(
            f"Layer {name!r} ({tname} over {n} channels) receives features of shape {shape}; "
            f"it needs {want} per sample with C = {n}."
        )
    gamma = _np(layer.weight) if layer.affine else np.ones(n)
    beta = _np(layer.bias) if layer.affine else np.zeros(n)
    if id(layer) in bn_stats:
        mean, var = bn_stats[id(layer)]
    elif layer.track_running_stats and layer.running_mean is not None:
        mean, var = _np(layer.running_mean), _np(layer.running_var)
    else:
        raise InvalidNetworkError(
            f"Layer {name!r} ({tname}) keeps no running statistics: pass `batch=` to convert "
            "it conditioned on a batch."
        )
    eps = float(layer.eps)
    if len(shape) == 1:
        return ("bn", gamma, beta, mean, var, eps)
    s = gamma / np.sqrt(var + eps)
    t = beta - s * mean
    k = int(np.prod(shape[1:]))
    return ("scale", np.repeat(s, k), np.repeat(t, k))


_MAXPOOL = ("MaxPool1d", "MaxPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d")


def _maxpool_ops(torch, layer, shape):
    """A max-pooling layer as a max layer: the window of each output, found by pushing the
    unit basis through the layer (every kernel, stride, padding, dilation and ceil-mode
    option is then exact: padded positions are never the maximum in PyTorch)."""
    n = int(np.prod(shape))
    m = copy.deepcopy(layer).double().eval()
    with torch.no_grad():
        Y = m(torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(shape)))
    out_shape = tuple(Y.shape[1:])
    member = (Y.reshape(n, -1) > 0.5).numpy().T  # (n_out, n_in): window of each output
    windows = [np.flatnonzero(row) for row in member]
    if min(len(w) for w in windows) == 0 or max(len(w) for w in windows) > 255:
        raise InvalidNetworkError(
            f"Cannot convert layer {type(layer).__name__}: windows must hold 1 to 255 inputs; "
            f"got sizes {min(len(w) for w in windows)} to {max(len(w) for w in windows)}."
        )
    return [("max", windows)], out_shape


def _function_ops(name, kind, args, kwargs):
    if kind == "relu":
        return [("act", "relu")]
    if kind == "relu6":
        return [("act", "relu6")]
    if kind == "identity":
        return []
    if kind == "leaky_relu":
        slope = args[0] if args else kwargs.get("negative_slope", 0.01)
        return [("act", f"leaky_relu:{float(slope)!r}")]
    if kind == "hardtanh":
        lo = args[0] if len(args) > 0 else kwargs.get("min_val", -1.0)
        hi = args[1] if len(args) > 1 else kwargs.get("max_val", 1.0)
        return clip_ops(lo, hi)
    raise InvalidNetworkError(f"Cannot convert operation {name!r} ({kind}).")  # pragma: no cover


def _convert(torch, chain, shape, bn_stats):
    """Operations of the chain, starting from per-sample ``shape``."""
    ops = []
    for name, layer in chain:
        if isinstance(layer, tuple):  # traced function call
            _, kind, args, kwargs = layer
            if kind == "flatten":
                start = args[0] if args else kwargs.get("start_dim", 0)
                end = args[1] if len(args) > 1 else kwargs.get("end_dim", -1)
                if start != 1 or end != -1:
                    raise InvalidNetworkError(
                        f"Cannot convert {name!r}: only flatten(x, 1) is supported; got "
                        f"start_dim={start}, end_dim={end}."
                    )
                shape = (int(np.prod(shape)),)
            else:
                ops.extend(_function_ops(name, kind, args, kwargs))
            continue
        tname = type(layer).__name__
        if tname == "Linear":
            if len(shape) != 1 or shape[0] != layer.in_features:
                raise InvalidNetworkError(
                    f"Layer {name!r} (Linear with {layer.in_features} inputs) receives "
                    f"features of shape {shape}; add an nn.Flatten before it."
                )
            b = _np(layer.bias) if layer.bias is not None else np.zeros(layer.out_features)
            ops.append(("affine", _np(layer.weight), b))
            shape = (layer.out_features,)
        elif tname in _AFFINE_UNROLL:
            W, b, shape = _unroll(torch, layer, shape)
            ops.append(("affine", W, b))
        elif tname == "ReLU":
            ops.append(("act", "relu"))
        elif tname == "LeakyReLU":
            ops.append(("act", f"leaky_relu:{float(layer.negative_slope)!r}"))
        elif tname in ("Hardtanh", "ReLU6"):
            ops.extend(clip_ops(layer.min_val, layer.max_val))
        elif tname in ("Identity", "Dropout"):
            pass
        elif tname == "Flatten":
            if layer.start_dim != 1 or layer.end_dim != -1:
                raise InvalidNetworkError(
                    f"Cannot convert {name!r}: only Flatten(start_dim=1, end_dim=-1) is "
                    f"supported; got start_dim={layer.start_dim}, end_dim={layer.end_dim}."
                )
            shape = (int(np.prod(shape)),)
        elif tname == "Unflatten":
            with torch.no_grad():
                shape = tuple(layer(torch.zeros((1,) + tuple(shape))).shape[1:])
        elif tname in _BATCHNORM:
            ops.append(_bn_op(name, tname, layer, shape, bn_stats))
        elif tname in _MAXPOOL:
            pool_ops, shape = _maxpool_ops(torch, layer, shape)
            ops.extend(pool_ops)
        else:
            raise InvalidNetworkError(
                f"Cannot convert layer {name!r} ({tname}): unsupported layer type. Supported: "
                f"{', '.join(_KNOWN)}."
            )
    return ops


def _reference(torch, module, X, bn_train, bn_stats=None):
    """Outputs of a float64 copy of ``module``; BN on the batch stats if ``bn_train``.

    With ``bn_stats`` (id of the original BN -> (mean, var)), BN layers run in eval mode
    with those statistics instead of their running ones.
    """
    m = copy.deepcopy(module).double().eval()
    originals = [x for x in module.modules()]
    copies = [x for x in m.modules()]
    for orig, cp in zip(originals, copies):
        if isinstance(cp, torch.nn.modules.batchnorm._BatchNorm):
            if bn_train:
                cp.train()
            elif bn_stats is not None and id(orig) in bn_stats:
                mean, var = bn_stats[id(orig)]
                cp.running_mean = torch.as_tensor(mean, dtype=torch.float64)
                cp.running_var = torch.as_tensor(var, dtype=torch.float64)
                cp.track_running_stats = True
    with torch.no_grad():
        y = m(torch.as_tensor(X, dtype=torch.float64))
    return y.reshape(len(X), -1).numpy()


def _batch_stats(torch, module, batch):
    """Batch mean and biased variance at the input of every BN layer (training mode)."""
    m = copy.deepcopy(module).double().eval()
    stats, hooks = {}, []
    for orig, cp in zip(module.modules(), m.modules()):
        if isinstance(cp, torch.nn.modules.batchnorm._BatchNorm):
            cp.train()

            def hook(mod, inputs, key=id(orig)):
                x = inputs[0].detach()
                dims = [0] + list(range(2, x.dim()))
                stats[key] = (x.mean(dim=dims).numpy().copy(),
                              x.var(dim=dims, unbiased=False).numpy().copy())
            hooks.append(cp.register_forward_pre_hook(hook))
    with torch.no_grad():
        m(torch.as_tensor(batch, dtype=torch.float64))
    for h in hooks:
        h.remove()
    return stats


def from_torch(module, batch=None, input_shape=None, check=True, n_check=64, seed=0,
               rtol=CHECK_RTOL):
    """Convert a PyTorch module to a :class:`~polyregion.Network`.

    Parameters
    ----------
    module : torch.nn.Module
        An ``nn.Sequential`` (or a module whose forward is a chain of supported layers;
        see the module docstring).
    batch : array_like or torch.Tensor, shape (n, *input_shape), optional
        Convert batch normalisation in training mode, conditioned on this batch; default:
        eval mode with the running statistics.
    input_shape : tuple of int, optional
        Shape of one input sample, e.g. ``(1, 8, 8)`` for a convolutional net; inferred
        from the first layer when it is ``Linear`` or ``BatchNorm1d`` (as ``(C,)``), or from
        ``batch``.
    check : bool
        Run the self-check (forward pass equal to the module's; see the module docstring).
    n_check, seed : int
        Number of random inputs of the self-check and their seed.
    rtol : float
        Tolerance of the self-check, relative to ``1 + max|output|``.

    Returns
    -------
    Network
        Input: one sample flattened in (C, H, W) order.

    Raises
    ------
    ImportError
        PyTorch is not installed (``pip install polyregion[torch]``).
    InvalidNetworkError
        Unsupported layer (named in the message), shapes that do not chain, or a failed
        self-check.

    Examples
    --------
    >>> import torch, polyregion as pr
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    >>> net = pr.from_torch(model)
    >>> net.widths, net.input_dim
    ([8], 2)
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise InvalidInputError(f"`module` must be a torch.nn.Module; got {type(module).__name__}.")
    chain = _leaves(torch, module)
    if batch is not None:
        batch = np.asarray(batch.detach().cpu().double().numpy() if hasattr(batch, "detach")
                           else batch, dtype=np.float64)
        if batch.ndim < 2 or batch.shape[0] < 2:
            raise InvalidInputError(
                f"`batch` must have shape (n, *input_shape) with n >= 2; got {batch.shape}."
            )
    if input_shape is None:
        if batch is not None:
            input_shape = batch.shape[1:]
        else:
            first = next((layer for _, layer in chain if not isinstance(layer, tuple)
                          and type(layer).__name__ not in ("Identity", "Dropout")), None)
            if type(first).__name__ == "Linear":
                input_shape = (first.in_features,)
            elif type(first).__name__ == "BatchNorm1d":
                input_shape = (first.num_features,)
            else:
                raise InvalidInputError(
                    "Cannot infer the input shape of the module (its first layer is "
                    f"{type(first).__name__}); pass `input_shape=`, e.g. (1, 8, 8)."
                )
    input_shape = tuple(int(s) for s in np.atleast_1d(input_shape))
    if batch is not None and batch.shape[1:] != input_shape:
        raise InvalidInputError(
            f"`batch` must have shape (n, {', '.join(map(str, input_shape))}); got {batch.shape}."
        )
    bn_stats = _batch_stats(torch, module, batch) if batch is not None else {}
    ops = _convert(torch, chain, input_shape, bn_stats)
    net = assemble(ops, int(np.prod(input_shape)))
    if check:
        X = np.random.default_rng(seed).normal(size=(n_check,) + input_shape)
        y_ref = _reference(torch, module, X, False, bn_stats if batch is not None else None)
        check_close(net.forward(X.reshape(n_check, -1)), y_ref, "the PyTorch module", rtol)
        if batch is not None:
            y_ref = _reference(torch, module, batch, True)
            check_close(net.forward(batch.reshape(len(batch), -1)), y_ref,
                        "the PyTorch module on `batch` (BN in training mode)", rtol)
    return net
