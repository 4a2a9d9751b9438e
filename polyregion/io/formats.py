"""On-disk formats: safe npz reading and domain (de)serialisation."""

from __future__ import annotations

import os

import numpy as np

from ..errors import FileFormatError


def read_npz(path) -> dict:
    """Read all arrays of an npz file, refusing pickled content."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileFormatError(f"No file at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except ValueError as exc:
        raise FileFormatError(
            f"{path!r} holds pickled objects or is not a valid npz file; refused ({exc})."
        ) from None
    except Exception as exc:
        raise FileFormatError(f"{path!r} is not a readable npz file: {exc}") from None


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
