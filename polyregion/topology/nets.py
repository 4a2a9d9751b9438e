"""Hand-built ReLU networks whose decided sets have a known topology.

Shapes are built from l1 norms: the first layer holds ``relu(x_i - c_i)`` and
``relu(c_i - x_i)`` for every centre ``c`` and coordinate ``i`` it uses, so
``|x - c|_1`` is linear in it; a shape is the minimum of affine functions of those norms
(a diamond ``r - |x - c|_1``; an annulus/shell ``min(r_out - n, n - r_in)``; a solid
torus ``min(r_out - n_xy, n_xy - r_in, h - |z|)``), computed by a tournament of
``min(u, v) = relu(u) - relu(-u) - relu(u - v)`` layers. Several shapes are combined as
``f = sum_s relu(shape_s)`` (disjoint supports: ``{f >= t}`` for ``0 < t <`` every
shape's height is the disjoint union of the shapes shrunk by ``t``), or one shape is the
output itself. These nets are degenerate arrangements on purpose: every hyperplane of a
norm passes through its centre, pass-through pairs ``relu(u), relu(-u)`` are coincident
neurons, and whole regions have constant output.

Examples
--------
>>> import polyregion as pr
>>> from polyregion.topology.nets import shapes_net
>>> net = shapes_net(2, [("diamond", (0, 0), 1.0)], combine="min")   # f = 1 - |x|_1
>>> float(net.forward([[0.25, 0.25]])[0, 0])
0.5
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError

__all__ = ["shapes_net", "min_tree"]


def min_tree(forms, widths_out=None):
    """Layers computing ``min`` of each group of affine forms.

    Parameters
    ----------
    forms : list of list of (w, b)
        Group ``s`` is the list of affine forms ``w . z + b`` (``z`` the current layer's
        output, all ``w`` of the same length) whose minimum is wanted.

    Returns
    -------
    weights, biases, out : lists of hidden layers, and per group the final form ``(w, b)``
        on the last hidden layer's output (or on ``z`` when no layer was needed).
    """
    weights, biases = [], []
    groups = [list(g) for g in forms]
    while any(len(g) > 1 for g in groups):
        rows, bias, new_groups = [], [], []
        for g in groups:
            ng = []
            for i in range(0, len(g), 2):
                if i + 1 < len(g):
                    (wu, bu), (wv, bv) = g[i], g[i + 1]
                    base = len(rows)
                    rows += [wu, -wu, wu - wv]
                    bias += [bu, -bu, bu - bv]
                    ng.append((base, (1.0, -1.0, -1.0)))
                else:
                    wu, bu = g[i]
                    base = len(rows)
                    rows += [wu, -wu]
                    bias += [bu, -bu]
                    ng.append((base, (1.0, -1.0)))
            new_groups.append(ng)
        n = len(rows)
        weights.append(np.array(rows, float))
        biases.append(np.array(bias, float))
        groups = []
        for ng in new_groups:
            g = []
            for base, coef in ng:
                w = np.zeros(n)
                w[base:base + len(coef)] = coef
                g.append((w, 0.0))
            groups.append(g)
    return weights, biases, [g[0] for g in groups]


def shapes_net(d, shapes, combine="sum"):
    """A ReLU network of shapes with known topology (see the module docstring).

    Parameters
    ----------
    d : int
        Input dimension.
    shapes : list of tuples
        ``("diamond", centre, r)``: ``r - |x - c|_1`` (height ``r``);
        ``("annulus", centre, r_in, r_out)``: ``min(r_out - n, n - r_in)`` (an l1 shell in
        ``d >= 3``; height ``(r_out - r_in) / 2``); ``("torus", centre, r_in, r_out, h)``
        (3-D): ``min(r_out - n_xy, n_xy - r_in, h - |z - c_z|)``, ``n_xy`` the l1 norm in
        the first two coordinates.
    combine : {"sum", "min"}
        ``"sum"``: output ``sum_s relu(shape_s)``; ``"min"``: one shape, output the shape
        itself.

    Returns
    -------
    Network
    """
    from ..network import Network

    if combine not in ("sum", "min"):
        raise InvalidInputError(f"`combine` must be 'sum' or 'min'; got {combine!r}.")
    if combine == "min" and len(shapes) != 1:
        raise InvalidInputError("`combine='min'` takes exactly one shape.")
    W1, b1 = [], []
    norms = []   # (start, stop) of the first-layer units of each norm

    def norm(c, dims):
        start = len(W1)
        for i in dims:
            e = np.zeros(d)
            e[i] = 1.0
            W1.extend([e, -e])
            b1.extend([-c[i], c[i]])
        norms.append((start, len(W1)))
        return len(norms) - 1

    specs = []
    for sh in shapes:
        kind, c = sh[0], np.asarray(sh[1], float)
        if c.shape != (d,):
            raise InvalidInputError(f"A shape's centre must have {d} coordinates; got {c}.")
        if kind == "diamond":
            specs.append([(norm(c, range(d)), -1.0, sh[2])])
        elif kind == "annulus":
            k = norm(c, range(d))
            specs.append([(k, -1.0, sh[3]), (k, 1.0, -sh[2])])
        elif kind == "torus":
            if d != 3:
                raise InvalidInputError("A torus needs d = 3.")
            kxy, kz = norm(c, (0, 1)), norm(c, (2,))
            specs.append([(kxy, -1.0, sh[3]), (kxy, 1.0, -sh[2]), (kz, -1.0, sh[4])])
        else:
            raise InvalidInputError(f"Unknown shape {kind!r}: 'diamond', 'annulus' or "
                                    "'torus'.")
    H = len(W1)
    forms = []
    for spec in specs:
        g = []
        for k, sgn, off in spec:
            w = np.zeros(H)
            w[norms[k][0]:norms[k][1]] = sgn
            g.append((w, float(off)))
        forms.append(g)
    Ws, bs, outs = min_tree(forms)
    weights = [np.array(W1)] + Ws
    biases = [np.array(b1, float)] + bs
    n = weights[-1].shape[0]
    if combine == "min":
        w, b = outs[0]
        weights.append(np.asarray(w, float).reshape(1, n))
        biases.append(np.array([b]))
    else:
        weights.append(np.array([w for w, _ in outs], float).reshape(len(outs), n))
        biases.append(np.array([b for _, b in outs], float))
        weights.append(np.ones((1, len(outs))))
        biases.append(np.zeros(1))
    return Network.from_arrays(weights, biases, activation="relu")
