"""The npz file format of a network: writing, reading and checking it.

What it computes
----------------
:func:`network_to_arrays` gives the arrays of a :class:`~polyregion.Network` in the npz
format (``W0, b0, W1, b1, ...``, BN arrays, activation names, max-layer windows),
:func:`network_from_arrays` the network stored in such arrays (checked: layers numbered
``0 .. L-1`` without gaps, no array naming a missing layer, complete BN arrays, integer
windows), and :func:`load` the network of an npz file (``Network.save`` writes one).
The same arrays, with a prefix, are the network inside a RegionSet file.

Method and cost
---------------
Files are read member by member without pickles (:func:`polyregion.io.formats.read_npz`):
only the members named by :data:`NETWORK_MEMBER` are decompressed, at most
:data:`polyregion.io.formats.MAX_NPZ_BYTES` in total. Cost: linear in the file's size.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..errors import FileFormatError, InvalidInputError, InvalidNetworkError
from ..layers import MaxPool

__all__ = ["FORMAT_VERSION", "NETWORK_MEMBER", "load", "network_from_arrays",
           "network_to_arrays"]

FORMAT_VERSION = 1

NETWORK_MEMBER = re.compile(
    r"(W|b)(0|[1-9][0-9]*)|bn(0|[1-9][0-9]*)_(gamma|beta|mean|var|eps)|activation"
    r"|pool(0|[1-9][0-9]*)_windows")
"""Names of the arrays of a network in the npz format (:func:`load`), without prefix;
other members of a file are never read."""



def network_to_arrays(net, prefix="") -> dict:
    """The arrays of the npz format of :func:`load`, keys prefixed by ``prefix``."""
    arrays = {}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"{prefix}W{l}"] = W
        arrays[f"{prefix}b{l}"] = b
        bn = net.bn[l]
        if bn is not None:
            for k in ("gamma", "beta", "mean", "var"):
                arrays[f"{prefix}bn{l}_{k}"] = getattr(bn, k)
            arrays[f"{prefix}bn{l}_eps"] = np.array(bn.eps)
    arrays[f"{prefix}activation"] = np.array([a.name for a in net.activations] or ["relu"])
    for l, a in enumerate(net.activations):
        if isinstance(a, MaxPool):
            arrays[f"{prefix}pool{l}_windows"] = a.index
    return arrays


def _scalar(arr, kind, path, name):
    """One number stored in an npz array, or FileFormatError."""
    a = np.asarray(arr)
    if a.size != 1 or a.dtype.kind not in ("iuf" if kind is float else "iu"):
        raise FileFormatError(
            f"{path!r}: `{name}` must hold one {'number' if kind is float else 'integer'}; "
            f"got dtype {a.dtype}, shape {a.shape}.")
    return kind(a.ravel()[0])


def load(path) -> "Network":
    """Read a network from an npz file.

    The file holds ``W0, b0, W1, b1, ...`` (``W_l`` of shape (out, in)), an optional string
    array ``activation`` (one name, or one per hidden layer), optional eval-mode BN arrays
    ``bn{l}_gamma, bn{l}_beta, bn{l}_mean, bn{l}_var, bn{l}_eps``, for each max layer
    (activation name ``maxpool``) its windows ``pool{l}_windows`` (int, padded with -1),
    and an optional ``format_version``. Layers are numbered ``0 .. L-1`` without gaps.
    Only these arrays are read (other members are never decompressed), at most
    :data:`polyregion.io.formats.MAX_NPZ_BYTES` in total. Pickled objects are refused.

    Raises
    ------
    FileFormatError
        Missing, corrupt or truncated file, pickled content, a PyTorch file (convert it
        with ``pr.from_torch(model).save("net.npz")``), a gap in the layer numbers,
        arrays over the size limit, a newer format version.

    Examples
    --------
    >>> import numpy as np, polyregion as pr, tempfile, os
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> net.save(path)
    >>> pr.load(path) == net
    True
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise InvalidInputError(
            f"`path` must be a str or os.PathLike; got {type(path).__name__}.") from None
    if not os.path.exists(path):
        raise FileFormatError(f"No network file at {path!r}.")
    from .formats import read_npz

    data = read_npz(path, names=lambda k: k == "format_version" or NETWORK_MEMBER.fullmatch(k))
    if "format_version" in data:
        v = _scalar(data["format_version"], int, path, "format_version")
        if v > FORMAT_VERSION:
            raise FileFormatError(
                f"{path!r} has format_version {v}, newer than this polyregion understands "
                f"({FORMAT_VERSION}); upgrade polyregion."
            )
    return network_from_arrays(data, path)


def network_from_arrays(data, path, prefix="") -> "Network":
    """The :class:`Network` stored in ``data`` (arrays of :func:`network_to_arrays`)."""
    from ..network import Network

    layer = {k: NETWORK_MEMBER.fullmatch(k[len(prefix):]) for k in data if k.startswith(prefix)}
    found = sorted({int(m.group(2)) for m in layer.values() if m and m.group(1) == "W"})
    n = len(found)
    if n == 0:
        raise FileFormatError(f"{path!r} holds no layer: expected arrays W0, b0, ...")
    if found != list(range(n)):
        missing = min(set(range(found[-1] + 1)) - set(found))
        raise FileFormatError(
            f"{path!r}: layers must be numbered 0 .. L-1 without gaps; found arrays of layers "
            f"{found}, layer {missing} (W{missing}, b{missing}) is missing.")
    for k, m in layer.items():
        if m and m.group(1) == "b" and int(m.group(2)) >= n:
            raise FileFormatError(f"{path!r}: array {k[len(prefix):]} has no matching "
                                  f"W{m.group(2)}.")
        if m and (m.group(3) and int(m.group(3)) >= n or m.group(5) and int(m.group(5)) >= n - 1):
            raise FileFormatError(
                f"{path!r}: array {k[len(prefix):]} names a layer the file does not have "
                f"(layers 0 .. {n - 1}, hidden layers 0 .. {n - 2}).")
    weights, biases, bns = [], [], []
    for l in range(n):
        if f"{prefix}b{l}" not in data:
            raise FileFormatError(f"{path!r}: array W{l} has no matching b{l}.")
        weights.append(data[f"{prefix}W{l}"])
        biases.append(data[f"{prefix}b{l}"])
        if f"{prefix}bn{l}_gamma" in data:
            try:
                bns.append({k: data[f"{prefix}bn{l}_{k}"] for k in ("gamma", "beta", "mean", "var")}
                           | {"eps": _scalar(data[f"{prefix}bn{l}_eps"], float, path, f"bn{l}_eps")})
            except KeyError as exc:
                raise FileFormatError(f"{path!r}: incomplete BN arrays of layer {l}: {exc}") from None
        else:
            bns.append(None)
    activation = "relu"
    if f"{prefix}activation" in data:
        a = data[f"{prefix}activation"]
        if a.dtype.kind not in "US":
            raise FileFormatError(f"{path!r}: `activation` must be a string array.")
        names = [str(x) for x in np.atleast_1d(a)]
        activation = names[0] if len(names) == 1 else names
        if "maxpool" in names:
            if len(names) != n - 1:
                raise FileFormatError(f"{path!r}: a net with max layers needs one `activation` "
                                      "name per hidden layer.")
            activation = list(names)
            for l, name in enumerate(names):
                if name != "maxpool":
                    continue
                idx = data.get(f"{prefix}pool{l}_windows")
                if idx is None or idx.ndim != 2 or idx.dtype.kind not in "iu":
                    raise FileFormatError(f"{path!r}: max layer {l} needs an integer 2-D array "
                                          f"pool{l}_windows.")
                try:
                    activation[l] = MaxPool([row[row >= 0] for row in idx])
                except InvalidNetworkError as exc:
                    raise FileFormatError(f"{path!r}: pool{l}_windows: {exc}") from None
    return Network.from_arrays(weights, biases, activation=activation,
                               bn=bns if any(b is not None for b in bns) else None)
