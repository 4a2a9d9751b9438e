"""Root pytest configuration: doctests of optional-dependency code skip without it.

The README's test command runs in a bare environment (no torch, no onnx): a docstring
example that imports an optional extra is skipped, with the reason named, when that
package cannot be imported, exactly as the extra's unit tests skip by importorskip.
"""

import importlib.util
import re

import pytest

OPTIONAL = ("torch", "onnx", "onnxruntime", "dask", "sklearn")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)


def _missing(names):
    return [n for n in names if importlib.util.find_spec(n) is None]


def pytest_collection_modifyitems(config, items):
    for item in items:
        dtest = getattr(item, "dtest", None)
        if dtest is None:
            continue
        source = "\n".join(ex.source for ex in dtest.examples)
        wanted = set()
        for names in _IMPORT.findall(source):
            if names in OPTIONAL:
                wanted.add(names)
        for line in re.findall(r"^\s*import\s+(.+)$", source, re.M):
            wanted.update(n.strip().split(" ")[0].split(".")[0] for n in line.split(",")
                          if n.strip().split(" ")[0].split(".")[0] in OPTIONAL)
        if "from_onnx" in source:
            wanted.update(("onnx", "onnxruntime"))
        missing = _missing(sorted(wanted))
        if missing:
            item.add_marker(pytest.mark.skip(
                reason=f"optional dependency not installed: {', '.join(missing)}"))
