"""On-disk formats: safe npz reading and domain (de)serialisation.

npz files are read member by member with :mod:`zipfile` and
:func:`numpy.lib.format.read_array` (``allow_pickle=False``), never with ``numpy.load``:
only the members a reader asks for are decompressed, and their sizes are checked against
:data:`MAX_NPZ_BYTES` from the zip directory before any of them is decompressed.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib

import numpy as np

from ..errors import FileFormatError

MAX_NPZ_BYTES = 4 * 2**30
"""Largest total uncompressed size, in bytes, of the arrays read from one npz file
(4 GiB). The sizes are taken from the zip directory before anything is decompressed;
a file over the limit is refused with :class:`~polyregion.FileFormatError`. Members a
reader does not use are never decompressed and do not count. Raise it for a trusted,
larger file: ``polyregion.io.formats.MAX_NPZ_BYTES = 16 * 2**30``."""

DOMAIN_MEMBER = re.compile(r"domain_(inner_)*(kind|lo|hi|A|b|d|origin|directions)")
"""Names of the arrays :func:`domain_to_arrays` writes (prefix ``domain_``)."""

TORCH_HINT = ('convert the model in Python with polyregion instead: '
              '`pr.from_torch(model).save("net.npz")` (pip install polyregion[torch]), then '
              'pass net.npz')


def _open_zip(path):
    """The open :class:`zipfile.ZipFile` of an npz file, after checking what it is."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileFormatError(f"No file at {path!r}.")
    if os.path.isdir(path):
        raise FileFormatError(f"{path!r} is not a readable npz file: it is a directory.")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise FileFormatError(f"{path!r} is not a readable npz file: {exc}") from None
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise FileFormatError(
            f"{path!r} holds pickled objects (it is a Python pickle, e.g. a torch.save file "
            f"of the legacy format), not an npz archive; refused: unpickling can run "
            f"arbitrary code. For a PyTorch model, {TORCH_HINT}.")
    if head[:6] == b"\x93NUMPY":
        raise FileFormatError(
            f"{path!r} is not a readable npz file: it is a single .npy array, not an npz "
            "(zip) archive of named arrays.")
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise FileFormatError(
            f"{path!r} is not a readable npz file: not an npz (zip) archive (it starts with "
            f"{head!r}).")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileFormatError(
            f"{path!r} is not a readable npz file: truncated or corrupt zip archive ({exc}).") \
            from None
    names = z.namelist()
    if any(n.endswith("data.pkl") or n.endswith("constants.pkl") for n in names):
        z.close()
        raise FileFormatError(
            f"{path!r} is a PyTorch file (a torch.save/torch.jit.save archive holding "
            f"data.pkl), not a polyregion npz file; refused: unpickling it can run arbitrary "
            f"code. {TORCH_HINT[0].upper() + TORCH_HINT[1:]}.")
    return z


def _members(z, path):
    """``{key: ZipInfo}`` of the ``key.npy`` members of ``z``."""
    out = {}
    for info in z.infolist():
        if not info.filename.endswith(".npy"):
            continue
        key = info.filename[:-4]
        if key in out:
            raise FileFormatError(
                f"{path!r} is not a valid npz file: it holds two members named "
                f"{info.filename!r}.")
        out[key] = info
    return out


def npz_names(path) -> set:
    """Names of the arrays of an npz file, read from its zip directory (nothing is
    decompressed).

    Raises
    ------
    FileFormatError
        Missing file, not a zip archive, a pickle or a PyTorch file.
    """
    path = os.fspath(path)
    with _open_zip(path) as z:
        return set(_members(z, path))


def _read_member(z, info, path):
    """One array member: its header checked against the zip size, then read without
    pickles."""
    name = info.filename
    fmt = np.lib.format
    try:
        with z.open(info) as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            header = f.tell()
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as exc:
        raise FileFormatError(
            f"{path!r} is not a valid npz file: member {name!r} is not a .npy array "
            f"({exc}).") from None
    if dtype.hasobject:
        raise FileFormatError(
            f"{path!r} holds pickled objects (member {name!r} has dtype {dtype}); refused: "
            "loading them could run arbitrary code (polyregion reads with "
            "allow_pickle=False).")
    n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if info.file_size - header != n_bytes:
        raise FileFormatError(
            f"{path!r} is not a valid npz file: member {name!r} is truncated or padded: its "
            f"header declares shape {shape} of dtype {dtype} ({n_bytes} bytes of data) but "
            f"the member holds {info.file_size - header} bytes after its header.")
    try:
        with z.open(info) as f:
            return fmt.read_array(f, allow_pickle=False)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as exc:
        raise FileFormatError(
            f"{path!r} is not a readable npz file: member {name!r} is corrupt ({exc}).") \
            from None


def read_npz(path, names=None, max_bytes=None) -> dict:
    """Read the arrays of an npz file, refusing pickled content.

    Parameters
    ----------
    path : str or os.PathLike
    names : callable, optional
        ``names(key) -> bool`` selects the arrays to read; the other members are never
        decompressed. Default: every array.
    max_bytes : int, optional
        Largest total uncompressed size of the arrays read; default
        :data:`MAX_NPZ_BYTES` (read when called).

    Returns
    -------
    dict
        ``{key: ndarray}``.

    Raises
    ------
    FileFormatError
        Missing file, not a zip archive (a text file, a single .npy, a pickle, a PyTorch
        file), a corrupt or truncated archive or member, a member whose .npy header
        disagrees with its size in the zip directory, pickled (object) arrays, arrays
        larger than ``max_bytes`` in total.
    """
    path = os.fspath(path)
    limit = MAX_NPZ_BYTES if max_bytes is None else int(max_bytes)
    with _open_zip(path) as z:
        members = _members(z, path)
        wanted = {k: info for k, info in members.items() if names is None or names(k)}
        total = 0
        for key, info in wanted.items():
            total += info.file_size
            if total > limit:
                raise FileFormatError(
                    f"{path!r}: the arrays to read would decompress to more than the limit "
                    f"of {limit} bytes (member {info.filename!r} alone: {info.file_size} "
                    "bytes); refused. The limit is polyregion.io.formats.MAX_NPZ_BYTES "
                    "(or `max_bytes`); raise it only for a file you trust.")
        return {k: _read_member(z, info, path) for k, info in wanted.items()}


def domain_to_arrays(domain, prefix="domain_") -> dict:
    from ..domain import Box, Polytope, Slice, Space

    if isinstance(domain, Box):
        return {prefix + "kind": np.array("box"), prefix + "lo": domain.lo, prefix + "hi": domain.hi}
    if isinstance(domain, Polytope):
        return {prefix + "kind": np.array("polytope"), prefix + "A": domain.A, prefix + "b": domain.b}
    if isinstance(domain, Space):
        return {prefix + "kind": np.array("space"), prefix + "d": np.array(domain.dim)}
    if isinstance(domain, Slice):
        out = {prefix + "kind": np.array("slice"), prefix + "origin": domain.origin,
               prefix + "directions": domain.directions}
        out.update(domain_to_arrays(domain.inner, prefix + "inner_"))
        return out
    raise FileFormatError(f"Cannot save domain of type {type(domain).__name__}.")


def domain_from_arrays(data: dict, prefix="domain_"):
    from ..domain import Box, Polytope, Slice, Space

    kind = str(data[prefix + "kind"])
    if kind == "box":
        return Box(data[prefix + "lo"], data[prefix + "hi"])
    if kind == "polytope":
        return Polytope(data[prefix + "A"], data[prefix + "b"])
    if kind == "space":
        return Space(int(data[prefix + "d"]))
    if kind == "slice":
        return Slice(data[prefix + "origin"], data[prefix + "directions"],
                     domain_from_arrays(data, prefix + "inner_"))
    raise FileFormatError(f"Unknown domain kind {kind!r}.")
