"""Benchmarks shipped with polyregion.

- :mod:`polyregion.bench.nets`: the benchmark nets (one generator, :func:`~.nets.he_net`,
  and the named cases of the suites);
- :mod:`polyregion.bench.quick`: the quick suite (``polyregion bench --quick``), which
  runs from any install;
- :mod:`polyregion.bench.results`: the JSON writer (git revision, machine, load).

The full suite (every net and method in its own process, the peers ``regioncam`` and
``relucent``, the JIT compile times, the tables of benchmarks/README.md) lives in the
``benchmarks/`` directory of a source checkout, built on this package;
:func:`run_full` runs it (``polyregion bench`` without ``--quick``).
"""

from __future__ import annotations

import os
import sys

__all__ = ["SuiteNotFoundError", "source_root", "run_full"]


class SuiteNotFoundError(RuntimeError):
    """The full benchmark suite needs a source checkout of polyregion (its
    ``benchmarks/`` directory next to the ``polyregion`` package)."""


def source_root():
    """The source checkout this ``polyregion`` package was imported from (the directory
    holding ``polyregion/`` and ``benchmarks/``), or None for an installed package."""
    import polyregion

    root = os.path.dirname(os.path.dirname(os.path.abspath(polyregion.__file__)))
    suite = os.path.join(root, "benchmarks")
    if all(os.path.isfile(os.path.join(suite, f)) for f in ("__main__.py", "suite.py")):
        return root
    return None


def run_full(argv=()):
    """Run the full suite of the source checkout (``python -m benchmarks ARGV``) in this
    process; return its exit code. Raises :class:`SuiteNotFoundError` outside a checkout."""
    root = source_root()
    if root is None:
        import polyregion

        raise SuiteNotFoundError(
            "the full benchmark suite needs a source checkout of polyregion (its "
            "benchmarks/ directory); this polyregion is installed from "
            f"{os.path.dirname(os.path.abspath(polyregion.__file__))}. Run `polyregion "
            "bench --quick` for the quick suite shipped with the package, or `python -m "
            "benchmarks` in a checkout (pip install -e .).")
    if root not in sys.path:
        sys.path.insert(0, root)
    import benchmarks.__main__ as full

    here = os.path.realpath(os.path.dirname(full.__file__))
    if here != os.path.realpath(os.path.join(root, "benchmarks")):
        raise SuiteNotFoundError(
            f"`import benchmarks` found {here}, not the suite of the checkout {root}: "
            "another package named `benchmarks` was imported first.")
    return int(full.main(list(argv)) or 0)
