"""The quick benchmark suite: ``polyregion bench --quick`` (or ``python -m polyregion.bench``).

Small He-initialised nets (:data:`polyregion.bench.nets.QUICK_CASES`) on [-1, 1]^d,
enumerated in this process by every method (``"lp"``, ``"planar"`` on 2-D nets,
``"scipy"``) after one JIT warm-up call per method; the region counts of all methods
must agree (exit code 1 otherwise). A few seconds once the Numba cache is warm. It writes
nothing unless ``--json PATH`` is given (``--json`` alone prints the results as JSON on
stdout). Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time

from .nets import QUICK_CASES, he_net

__all__ = ["KERNEL_METHODS", "run", "check_counts", "main"]

#: polyregion's own kernels (``"planar"`` runs on 2-D domains only)
KERNEL_METHODS = ("lp", "planar")


def _methods(d, scipy=True):
    return [m for m in KERNEL_METHODS if m != "planar" or d == 2] + (["scipy"] if scipy else [])


def run(cases=QUICK_CASES, scipy=True, log=print):
    """Rows ``{net, d, widths, method, count, seconds, regions_per_s, n_lps,
    lps_per_region}``, one per (net, method), measured in this process."""
    import polyregion as pr

    warm = set()
    rows = []
    for name, d, widths in cases:
        net, box = he_net(widths, d), pr.Box.cube(d)
        for m in _methods(d, scipy):
            if m not in warm:  # JIT compile or cache load, left out of the timings
                pr.enumerate_regions(he_net((3,), 2, seed=1), pr.Box.cube(2), method=m)
                warm.add(m)
            t = time.perf_counter()
            rs = pr.enumerate_regions(net, box, method=m)
            sec = time.perf_counter() - t
            row = dict(net=name, d=d, widths=list(widths), method=m, count=len(rs),
                       seconds=sec, regions_per_s=len(rs) / max(sec, 1e-9),
                       n_lps=int(rs.stats.n_lps), lps_per_region=float(rs.stats.lps_per_region))
            rows.append(row)
            log(f"  {name:12s} {m:7s} {len(rs):6d} regions {sec:7.3f} s "
                f"{row['n_lps']:7d} LPs ({row['lps_per_region']:.2f}/region)")
    return rows


def check_counts(rows):
    """Messages for the nets whose methods disagree on the count (empty: all agree)."""
    by_net = {}
    for r in rows:
        by_net.setdefault(r["net"], {})[r["method"]] = r["count"]
    return [f"{net}: counts differ {c}" for net, c in by_net.items() if len(set(c.values())) > 1]


def select(names, cases=QUICK_CASES):
    """The cases named in ``names`` (all when None), in the suite's order."""
    if names is None:
        return list(cases)
    known = {c[0] for c in cases}
    unknown = [n for n in names if n not in known]
    if unknown:
        import polyregion as pr

        raise pr.InvalidInputError(
            f"unknown net(s) {', '.join(map(repr, unknown))}; the quick suite's nets: "
            + ", ".join(repr(c[0]) for c in cases) + ".")
    return [c for c in cases if c[0] in names]


def parser(prog="python -m polyregion.bench"):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[1])
    add_arguments(ap)
    return ap


def add_arguments(ap):
    ap.add_argument("--only", nargs="+", metavar="NAME", default=None,
                    help="run only these nets, e.g. --only '2-D [8]'")
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy baseline")
    ap.add_argument("--json", metavar="PATH", nargs="?", const="-", default=None,
                    help="write the results as JSON (rows, git revision, machine, load) to "
                         "PATH; without PATH, print them on stdout (progress on stderr)")


def main(argv=None, log=print):
    """Run the quick suite; return the exit code (0: counts agree, 1: they do not)."""
    args = parser().parse_args(argv)
    return run_args(args, log)


def run_args(args, log=print):
    """Run the suite for parsed options (``only``, ``no_scipy``, ``json``)."""
    import json

    from .results import RunInfo, document, write_json

    cases = select(args.only)
    to_stdout = args.json == "-"
    if to_stdout:  # stdout holds the JSON object only
        def log(*a, **k):
            print(*a, file=sys.stderr, **k)
    info = RunInfo("quick")
    log("polyregion benchmarks --quick")
    rows = run(cases, scipy=not args.no_scipy, log=log)
    problems = check_counts(rows)
    if to_stdout:
        print(json.dumps(document(info, rows, count_mismatches=problems), indent=1))
    elif args.json:
        write_json(args.json, info, rows, count_mismatches=problems)
        log(f"wrote {args.json}")
    if problems:
        log("COUNT MISMATCH:\n  " + "\n  ".join(problems))
        return 1
    log("ok: counts agree across methods")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
