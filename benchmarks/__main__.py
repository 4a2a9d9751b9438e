"""``python -m benchmarks [--quick] [--no-peers] [--no-scipy] [--no-compile] [--no-write]``

Full mode runs every net of :data:`benchmarks.nets.CASES` with every method, each in its
own process, and writes the table into benchmarks/README.md. ``--quick`` is the CI
smoke run: a few small nets in-process, counts of all methods must agree (a few seconds
once the Numba cache is warm); it writes nothing.
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    ap.add_argument("--quick", action="store_true", help="small in-process smoke run")
    ap.add_argument("--no-peers", action="store_true", help="skip regioncam and relucent")
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy baseline")
    ap.add_argument("--no-compile", action="store_true",
                    help="skip the fresh-cache compile-time measurement")
    ap.add_argument("--no-write", action="store_true", help="do not write README.md")
    ap.add_argument("--only", nargs="*", default=None, help="run only these net names")
    args = ap.parse_args(argv)

    from . import suite
    from .nets import CASES

    if args.quick:
        print("polyregion benchmarks --quick")
        failures = suite.quick()
        if failures:
            print("COUNT MISMATCH:\n  " + "\n  ".join(failures))
            return 1
        print("ok: counts agree across methods")
        return 0

    info = suite.machine_info()
    print(f"polyregion benchmarks on {info['cpu']} ({info['cores']} cores), {info['date']}")
    cases = [c for c in CASES if args.only is None or c[0] in args.only]
    rows, have = suite.run_suite(cases, peers=not args.no_peers, scipy=not args.no_scipy)
    problems = suite.check_counts(rows)
    comp = None if args.no_compile else suite.compile_times(suite.kernel_methods())
    text = suite.report(rows, have, info, comp, problems)
    print(text)
    if not args.no_write:
        suite.write_readme(text)
        print(f"wrote {suite.README}")
    if problems:
        print("COUNT MISMATCH:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
