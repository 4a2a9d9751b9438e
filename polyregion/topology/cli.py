"""The ``polyregion topology`` subcommand.

::

    polyregion topology NET --box LO HI [--slice POINTS] [--which above|below|boundary|class]
                        [--output K] [--threshold T] [--persistence] [--json]

Enumerates the regions of ``NET`` in the domain (the options of ``enumerate``), then
prints the Betti numbers of the set chosen by ``--which`` (:func:`polyregion.betti_numbers`);
``--persistence`` adds the persistence diagram of the sublevel filtration of output
``K`` (:func:`polyregion.persistence`). ``add_parser(subparsers)`` registers the
subcommand on the ``polyregion`` parser and ``run(args)`` runs it (exit codes as for
the other subcommands: 0 success, 2 bad input, 1 anything else);
``python -m polyregion.topology.cli NET ...`` runs it alone.

JSON (``--json``): ``command, n_regions, dim, domain, which, output, threshold, betti,
euler_characteristic, f_vector`` (of the refined complex), ``n_components, n_holes``
(2-D: holes = bounded components of the complement), ``compactification`` (``R`` of
the box replacing an unbounded domain, or null), ``seconds`` (topology only); with
``--persistence`` also ``persistence: {diagram: [[[birth, death], ...] per dimension],
critical_values}``, ``inf`` written as null.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["add_parser", "run", "main"]


def add_parser(subparsers):
    """Register the ``topology`` subcommand on an argparse ``subparsers`` object.

    Returns the subparser (its default ``func`` is :func:`run`).
    """
    from ..cli import add_input_options

    q = subparsers.add_parser(
        "topology", help="Betti numbers and persistence of what the network decides")
    add_input_options(q)  # NET, --box, --slice, --margin, --method, as every subcommand
    q.add_argument("--which", default="above", choices=("above", "below", "boundary", "class"),
                   help="{f >= t}, {f <= t}, {f = t}, or the class region argmax = K "
                        "(default above)")
    q.add_argument("--output", type=int, default=0, help="output K (default 0)")
    q.add_argument("--threshold", type=float, default=0.0, help="t (default 0)")
    q.add_argument("--persistence", action="store_true",
                   help="also the persistence diagram of the sublevel filtration of K")
    q.add_argument("--json", action="store_true", help="print a JSON summary")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    q.set_defaults(func=run)
    return q


def _finite(x):
    return None if not np.isfinite(x) else float(x)


def _run(args):
    from .. import cli as _cli
    from ..enumerate import enumerate_regions
    from .homology import decision_topology
    from .persistence import persistence

    net = _cli._load_net(args.net)
    dom = _cli._domain(args, net)
    rs = enumerate_regions(net, dom, method=args.method)
    t0 = time.perf_counter()
    top = decision_topology(rs, args.which, args.output, args.threshold)
    _, n_comp = top.components()
    holes = top.holes() if rs.dim == 2 else None
    data = {"command": "topology", "n_regions": len(rs), "dim": rs.dim,
            "domain": _cli._domain_json(dom), "which": args.which, "output": args.output,
            "threshold": args.threshold, "betti": list(top.betti),
            "euler_characteristic": top.euler_characteristic,
            "f_vector": list(top.lattice.f_vector), "n_components": n_comp,
            "n_holes": None if holes is None else len(holes),
            "compactification": top.compactification}
    what = {"above": f"{{f_{args.output} >= {args.threshold:g}}}",
            "below": f"{{f_{args.output} <= {args.threshold:g}}}",
            "boundary": f"{{f_{args.output} = {args.threshold:g}}}",
            "class": f"{{argmax = {args.output}}}"}[args.which]
    text = [f"{what} in {len(rs)} regions: Betti numbers {tuple(top.betti)}, Euler "
            f"characteristic {top.euler_characteristic}"
            + (f"; compactified by the box [-{top.compactification:.3g}, "
               f"{top.compactification:.3g}]^{rs.dim}" if top.compactification else "")]
    if args.persistence:
        P = persistence(rs, args.output)
        D = P.diagram()
        data["persistence"] = {
            "diagram": [[[float(b), _finite(d)] for b, d in Dk] for Dk in D],
            "critical_values": P.critical_values.tolist()}
        for k, Dk in enumerate(D):
            text.append(f"H{k}: " + (", ".join(f"[{b:.4g}, {d:.4g})" for b, d in Dk)
                                     if len(Dk) else "none"))
    data["seconds"] = round(time.perf_counter() - t0, 6)
    _cli._emit(args, data, "\n".join(text))
    return _cli.EXIT_OK


def run(args) -> int:
    """Run the subcommand on parsed ``args``; return the exit code.

    Examples
    --------
    >>> import argparse
    >>> from polyregion.topology.cli import add_parser, run
    >>> p = argparse.ArgumentParser(); sub = p.add_subparsers(dest="command")
    >>> _ = add_parser(sub)
    >>> run(p.parse_args(["topology", "missing.npz", "--box", "0", "1"]))
    2
    """
    from .. import cli as _cli
    from ..errors import PolyregionError

    try:
        return _run(args)
    except (PolyregionError, _cli._UsageError) as exc:
        print(f"polyregion topology: error: {exc}", file=sys.stderr)
        return _cli.EXIT_INPUT
    except Exception as exc:  # noqa: BLE001 - the command line reports, never tracebacks
        print(f"polyregion topology: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return _cli.EXIT_ERROR


def main(argv=None) -> int:
    """``python -m polyregion.topology.cli NET --box LO HI ...``: the subcommand alone."""
    from .. import cli as _cli

    p = argparse.ArgumentParser(prog="polyregion")
    sub = p.add_subparsers(dest="command")
    add_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = p.parse_args(_cli._protect_negative(["topology"] + argv))
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else _cli.EXIT_INPUT
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
