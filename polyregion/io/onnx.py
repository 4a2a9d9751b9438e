"""Import ONNX models as :class:`~polyregion.Network` (extra ``onnx``).

What it converts
----------------
A graph that is one chain from its single input to its single output, of the operators

- affine: ``Gemm`` (any ``alpha``, ``beta``, ``transA = 0``, ``transB``), ``MatMul`` by a
  constant matrix, ``Add``/``Sub``/``Mul``/``Div`` with a constant;
- activations: ``Relu``, ``LeakyRelu``, ``Clip`` (``[0, 6]`` is ``relu6``, ``[-1, 1]``
  ``hardtanh``, other bounds exact affine rescalings, half-lines shifted ReLUs);
- ``BatchNormalization`` (inference form: ``scale, B, mean, var``, per channel);
- shape-only: ``Flatten`` (``axis = 1``), ``Reshape`` (a flat vector in row-major order
  does not change), ``Identity``, ``Dropout`` (inference: identity).

Constants are graph initializers or ``Constant`` nodes. Any other operator raises
:class:`~polyregion.InvalidNetworkError` naming the node.

Self-check
----------
The converted network is compared with onnxruntime's output on ``n_check``
standard-normal inputs (in the model's dtype, usually float32); they must agree to
``rtol * (1 + max|output|)`` with ``rtol = 1e-4`` (float32 rounding), else
:class:`~polyregion.InvalidNetworkError`.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import FileFormatError, InvalidNetworkError
from ._chain import assemble, check_close, clip_ops

__all__ = ["from_onnx"]

CHECK_RTOL_ONNX = 1e-4


def _import_onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # pragma: no cover - exercised only without onnx
        raise ImportError(
            "polyregion.from_onnx needs onnx and onnxruntime: pip install polyregion[onnx]."
        ) from None
    return onnx, numpy_helper


def _attrs(onnx, node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _broadcast(c, n, what):
    c = np.asarray(c, dtype=np.float64)
    if c.size == 1:
        return np.full(n, float(c.ravel()[0]))
    if c.size == n:
        return c.ravel()
    raise InvalidNetworkError(f"{what}: a constant of shape {c.shape} does not fit {n} features.")


def from_onnx(path, check=True, n_check=64, seed=0, rtol=CHECK_RTOL_ONNX):
    """Convert an ONNX model file (or ``onnx.ModelProto``) to a :class:`~polyregion.Network`.

    Parameters
    ----------
    path : str or os.PathLike or onnx.ModelProto
    check : bool
        Run the self-check against onnxruntime (see the module docstring).
    n_check, seed : int
        Number of random inputs of the self-check and their seed.
    rtol : float
        Tolerance of the self-check, relative to ``1 + max|output|``.

    Returns
    -------
    Network
        Input: one sample flattened in row-major order.

    Raises
    ------
    ImportError
        onnx/onnxruntime are not installed (``pip install polyregion[onnx]``).
    FileFormatError
        The file is missing or not an ONNX model.
    InvalidNetworkError
        Unsupported operator (named), a graph that is not a chain, or a failed self-check.

    Examples
    --------
    >>> import numpy as np, onnx, polyregion as pr
    >>> from onnx import helper, numpy_helper, TensorProto
    >>> W = numpy_helper.from_array(np.array([[1.0, -1.0], [0.5, 2.0]], np.float32), "W")
    >>> b = numpy_helper.from_array(np.array([0.1, -0.2], np.float32), "b")
    >>> graph = helper.make_graph(
    ...     [helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1),
    ...      helper.make_node("Relu", ["h"], ["y"])], "g",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])], [W, b])
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    >>> pr.from_onnx(model)
    Network(input_dim=2, widths=[2], output_dim=2, activation=relu)
    """
    onnx, numpy_helper = _import_onnx()
    if isinstance(path, onnx.ModelProto):
        model = path
    else:
        p = os.fspath(path)
        if not os.path.exists(p):
            raise FileFormatError(f"No ONNX file at {p!r}.")
        try:
            model = onnx.load(p)
        except Exception as exc:
            raise FileFormatError(f"{p!r} is not a readable ONNX model: {exc}") from None
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for node in g.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(_attrs(onnx, node)["value"])
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1 or len(g.output) != 1:
        raise InvalidNetworkError(
            f"The ONNX graph must have one input and one output; got {len(inputs)} inputs and "
            f"{len(g.output)} outputs."
        )
    inp = inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inp.type.tensor_type.shape.dim]
    if len(dims) < 2 or any(d is None or d <= 0 for d in dims[1:]):
        raise InvalidNetworkError(
            f"The ONNX input {inp.name!r} must have shape (batch, ...) with known sizes after "
            f"the batch axis; got {dims}."
        )
    in_shape = tuple(int(d) for d in dims[1:])
    shape = in_shape
    cur = inp.name
    ops = []
    for node in g.node:
        op = node.op_type
        if op == "Constant":
            continue
        name = node.name or f"{op}({', '.join(node.input)})"
        args = [x for x in node.input if x]
        if op == "Identity" and args and args[0] in consts:  # an alias of a constant
            consts[node.output[0]] = consts[args[0]]
            continue
        flowing = [x for x in args if x not in consts]
        if flowing != [cur]:
            raise InvalidNetworkError(
                f"Node {name!r} ({op}) is not part of a plain chain from the input to the "
                "output (branches and operations between two tensors are not supported)."
            )
        at = _attrs(onnx, node)
        n = int(np.prod(shape))
        if op == "Gemm":
            if at.get("transA", 0) or args[0] != cur or len(shape) != 1:
                raise InvalidNetworkError(f"Node {name!r} (Gemm): only x @ B (+ C) on a flat "
                                          "input with transA = 0 is supported.")
            B = np.asarray(consts[args[1]], np.float64)
            W = B if at.get("transB", 0) else B.T
            W = float(at.get("alpha", 1.0)) * W
            c = (float(at.get("beta", 1.0)) * _broadcast(consts[args[2]], W.shape[0], name)
                 if len(args) > 2 else np.zeros(W.shape[0]))
            if W.shape[1] != n:
                raise InvalidNetworkError(f"Node {name!r} (Gemm) takes {W.shape[1]} inputs; "
                                          f"got {n} features.")
            ops.append(("affine", W, c))
            shape = (W.shape[0],)
        elif op == "MatMul":
            if args[0] != cur or len(shape) != 1:
                raise InvalidNetworkError(f"Node {name!r} (MatMul): only x @ B with a constant "
                                          "matrix B on a flat input is supported.")
            B = np.asarray(consts[args[1]], np.float64)
            if B.ndim != 2 or B.shape[0] != n:
                raise InvalidNetworkError(f"Node {name!r} (MatMul): B of shape {B.shape} does "
                                          f"not take {n} features.")
            ops.append(("affine", B.T, np.zeros(B.shape[1])))
            shape = (B.shape[1],)
        elif op in ("Add", "Sub", "Mul", "Div"):
            (k,) = [x for x in args if x in consts] or [None]
            if k is None or len(args) != 2:
                raise InvalidNetworkError(f"Node {name!r} ({op}) needs one constant operand.")
            try:
                c = np.broadcast_to(np.asarray(consts[k], np.float64), (1,) + shape).reshape(-1)
            except ValueError:
                raise InvalidNetworkError(
                    f"Node {name!r} ({op}): a constant of shape {np.shape(consts[k])} does not "
                    f"broadcast to the features' shape {shape}."
                ) from None
            first_const = args[0] == k
            I = np.eye(n)
            if op == "Add":
                ops.append(("affine", I, c))
            elif op == "Sub":
                ops.append(("affine", -I, c) if first_const else ("affine", I, -c))
            elif op == "Mul":
                ops.append(("affine", np.diag(c), np.zeros(n)))
            else:
                if first_const:
                    raise InvalidNetworkError(f"Node {name!r} (Div): constant / x is not "
                                              "piecewise linear.")
                ops.append(("affine", np.diag(1.0 / c), np.zeros(n)))
        elif op == "Relu":
            ops.append(("act", "relu"))
        elif op == "LeakyRelu":
            ops.append(("act", f"leaky_relu:{float(at.get('alpha', 0.01))!r}"))
        elif op == "Clip":
            lo, hi = at.get("min", -np.inf), at.get("max", np.inf)
            if len(node.input) > 1 and node.input[1]:
                lo = float(np.asarray(consts[node.input[1]]).ravel()[0])
            if len(node.input) > 2 and node.input[2]:
                hi = float(np.asarray(consts[node.input[2]]).ravel()[0])
            ops.extend(clip_ops(lo, hi))
        elif op == "BatchNormalization":
            gamma, beta, mean, var = (np.asarray(consts[x], np.float64) for x in args[1:5])
            reps = n // max(gamma.size, 1)
            if gamma.size * reps != n:
                raise InvalidNetworkError(f"Node {name!r} (BatchNormalization) over "
                                          f"{gamma.size} channels does not fit shape {shape}.")
            ops.append(("bn", *(np.repeat(x.ravel(), reps) for x in (gamma, beta, mean, var)),
                        float(at.get("epsilon", 1e-5))))
        elif op == "Flatten":
            if at.get("axis", 1) != 1:
                raise InvalidNetworkError(f"Node {name!r} (Flatten): only axis = 1 is supported.")
            shape = (n,)
        elif op == "Reshape":
            target = [int(v) for v in np.asarray(consts[args[1]]).ravel()]
            full = (1,) + shape
            target = [full[i] if v == 0 else v for i, v in enumerate(target)]
            try:
                shape = tuple(np.empty(full).reshape(target).shape[1:])
            except ValueError:
                raise InvalidNetworkError(f"Node {name!r} (Reshape) to {target} does not fit "
                                          f"shape {shape}.") from None
        elif op in ("Identity", "Dropout"):
            pass
        else:
            raise InvalidNetworkError(
                f"Cannot convert node {name!r}: unsupported ONNX operator {op!r}. Supported: "
                "Gemm, MatMul, Add, Sub, Mul, Div, Relu, LeakyRelu, Clip, "
                "BatchNormalization, Flatten, Reshape, Identity, Dropout."
            )
        cur = node.output[0]
    if cur != g.output[0].name:
        raise InvalidNetworkError(
            f"The ONNX graph output {g.output[0].name!r} is not the end of the chain ({cur!r})."
        )
    net = assemble(ops, int(np.prod(in_shape)))
    if check:
        try:
            import onnxruntime as ort
        except ImportError:  # pragma: no cover
            raise ImportError(
                "The self-check of from_onnx needs onnxruntime: pip install polyregion[onnx] "
                "(or pass check=False)."
            ) from None
        elem = inp.type.tensor_type.elem_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(elem)
        X = np.random.default_rng(seed).normal(size=(n_check,) + in_shape).astype(dtype)
        sess = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        y_ref = sess.run(None, {inp.name: X})[0]
        check_close(net.forward(X.reshape(n_check, -1).astype(np.float64)), y_ref,
                    "the ONNX model", rtol)
    return net
