"""``python -m benchmarks [--quick] [--only NAME ...] [--no-peers] [--no-scipy] [--no-compile] [--no-write] [--json PATH]``

Full mode runs every net of :data:`polyregion.bench.nets.CASES` with every method, each
in its own process, writes the table into benchmarks/README.md and the rows, with the git
revision, machine and load, into benchmarks/results.json (``--json PATH`` elsewhere,
``--no-write``: neither). ``--quick`` is the quick suite shipped in the package
(:mod:`polyregion.bench.quick`, the same as ``polyregion bench --quick``): a few small
nets in-process, counts of all methods must agree; it writes nothing unless ``--json``
is given.
"""

from __future__ import annotations

import argparse
import sys


def parser():
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description=__doc__.split("\n\n")[1])
    add_arguments(ap)
    return ap


def add_arguments(ap):
    """The suite's options (also those of ``polyregion bench``)."""
    ap.add_argument("--quick", action="store_true",
                    help="the quick suite shipped in the package (in-process smoke run)")
    ap.add_argument("--only", nargs="+", metavar="NAME", default=None,
                    help="run only these nets, e.g. --only '3-D [16,16]'")
    ap.add_argument("--no-peers", action="store_true", help="skip regioncam and relucent")
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy baseline")
    ap.add_argument("--no-compile", action="store_true",
                    help="skip the fresh-cache compile-time measurement")
    ap.add_argument("--no-write", action="store_true",
                    help="write neither README.md nor results.json")
    ap.add_argument("--json", metavar="PATH", default=None,
                    help="results file (full suite: default benchmarks/results.json; "
                         "--quick: none unless given)")


def main(argv=None):
    args = parser().parse_args(argv)
    if args.quick:
        from polyregion.bench.quick import run_args

        return run_args(args)

    from polyregion.bench.nets import CASES
    from polyregion.bench.quick import select
    from polyregion.bench.results import RunInfo, write_json

    from . import suite

    cases = select(args.only, CASES)
    info = RunInfo("full", git_path=suite.ROOT)
    m = info.machine
    print(f"polyregion benchmarks on {m['cpu']} ({m['cores']} cores), {info.date}")
    rows, have = suite.run_suite(cases, peers=not args.no_peers, scipy=not args.no_scipy)
    problems = suite.check_counts(rows)
    comp = None if args.no_compile else suite.compile_times(suite.kernel_methods())
    text = suite.report(rows, have, info, comp, problems)
    print(text)
    if not args.no_write:
        suite.write_readme(text)
        print(f"wrote {suite.README}")
    path = args.json or (None if args.no_write else suite.RESULTS_JSON)
    if path:
        write_json(path, info, suite.json_rows(rows), nets=[c[0] for c in cases],
                   peers={k: bool(v) for k, v in have.items()}, compile_times=comp,
                   count_mismatches=problems,
                   limits=dict(scipy_timeout_s=suite.SCIPY_TIMEOUT,
                               scipy_max_regions=suite.SCIPY_MAX_REGIONS,
                               relucent_max_regions=suite.RELUCENT_MAX_REGIONS))
        print(f"wrote {path}")
    if problems:
        print("COUNT MISMATCH:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
