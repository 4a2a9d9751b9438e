"""The ``polyregion`` command.

Subcommands::

    polyregion enumerate NET --box LO HI [--slice POINTS] [--method M] [--out FILE] [--json]
                         [--executor E] [--max-seconds S] [--checkpoint DIR] [--resume DIR]
    polyregion verify    NET --box LO HI [--slice POINTS] [-n N] [--seed S] [--json]
    polyregion estimate  NET --box LO HI [--slice POINTS] [-n N] [--seed S] [--json]
    polyregion plot      NET|REGIONS --out PNG [--box LO HI] [--slice POINTS] [--color-by C]
    polyregion bench     [--quick] [--only NAME ...] [--json [PATH]] [--no-scipy] [--no-peers]
                         [--no-compile] [--no-write]
    polyregion topology  NET --box LO HI [--slice POINTS] [--which above|below|boundary|class]
                         [--output K] [--threshold T] [--persistence] [--json]
    polyregion demo      [--out PNG] [--seed S] [--widths 16,16] [--save-net FILE] [--json]

``NET`` is a network file (``.npz``, see :func:`polyregion.load`, or ``.onnx``) and, for
``plot``, may also be a RegionSet file written by ``enumerate --out``. ``--box LO HI``
takes scalars (a cube) or comma lists (one bound per coordinate). ``--slice POINTS``
names a ``.npy``/``.txt`` file with three input points (rows): the domain is then the
plane through them (:meth:`polyregion.Slice.through`) and ``--box``, if given, bounds the
slice coordinates. Exit codes: 0 success, 2 bad input (any
:class:`~polyregion.PolyregionError` and usage errors), 1 anything else. ``--json``
prints one JSON object on stdout (schema in docs/cli.md). Progress bars go to stderr, only
when it is a terminal and ``--quiet`` is not given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2


class _UsageError(Exception):
    pass


# ---------------------------------------------------------------------- helpers
def _floats(text, what):
    try:
        return np.array([float(v) for v in str(text).strip().split(",")])
    except ValueError:
        raise _UsageError(f"{what} must be a number or a comma list of numbers; got {text!r}.") \
            from None


def _box(args, dim):
    from .domain import Box

    lo, hi = _floats(args.box[0], "LO of --box"), _floats(args.box[1], "HI of --box")
    if lo.size == 1:
        lo = np.full(dim, lo[0])
    if hi.size == 1:
        hi = np.full(dim, hi[0])
    if lo.size != dim or hi.size != dim:
        raise _UsageError(
            f"--box needs 1 or {dim} values for LO and HI; got {lo.size} and {hi.size}."
        )
    return Box(lo, hi)


def _load_points(path):
    from .errors import FileFormatError

    if not os.path.exists(path):
        raise FileFormatError(f"No points file at {path!r}.")
    try:
        P = np.load(path, allow_pickle=False) if path.endswith(".npy") else \
            np.loadtxt(path, delimiter="," if path.endswith(".csv") else None, ndmin=2)
    except Exception as exc:
        raise FileFormatError(f"{path!r} is not a readable .npy/.txt/.csv array: {exc}") from None
    return np.atleast_2d(np.asarray(P, dtype=float))


def _load_net(path):
    from .errors import FileFormatError
    from .network import load

    if str(path).endswith(".onnx"):
        from .io.onnx import from_onnx

        return from_onnx(path)
    if not os.path.exists(path):
        raise FileFormatError(f"No network file at {path!r}.")
    return load(path)


def _domain(args, net):
    from .domain import Slice

    if getattr(args, "slice", None):
        P = _load_points(args.slice)
        if P.shape != (3, net.input_dim):
            raise _UsageError(
                f"--slice needs a file with 3 points of dimension {net.input_dim} (3 rows); "
                f"got an array of shape {P.shape}."
            )
        s = Slice.through(P[0], P[1], P[2], margin=args.margin)
        if args.box:
            s = Slice(s.origin, s.directions, _box(args, 2))
        return s
    if not args.box:
        raise _UsageError("--box LO HI is required (or --slice POINTS).")
    return _box(args, net.input_dim)


def _show_progress(args):
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


COMPILE_NOTE = "polyregion: compiling kernels on first use (about a minute; cached afterwards)"


def _kernels_cold(method, dom):
    """True when the Numba cache holds no up-to-date compiled entry kernel for ``method``
    on ``dom`` (the planar kernel for a bounded 2-D domain, else the LP kernel); False
    when it does, for the scipy method, or when the cache cannot be inspected."""
    try:
        from .enumerate.engine import _pick_method

        method = _pick_method(method, dom)
        if method == "planar":
            from .enumerate._kernels_planar import enumerate_planar as kernel
        elif method == "lp":
            from .enumerate._kernels_engine import enumerate_lp as kernel
        else:
            return False
        # numba's index of the kernel's cache: empty when missing or stale (source changed)
        return not kernel._cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - a note, never a failure
        return False


def _note_compile(args, method, dom):
    """One line on stderr before a run that will compile the kernels (unless --quiet)."""
    if not getattr(args, "quiet", False) and _kernels_cold(method, dom):
        print(COMPILE_NOTE, file=sys.stderr, flush=True)


def _out_path(path, suffix=None):
    """The file an ``--out`` option will write (``suffix`` appended as numpy does), checked
    before any work: its directory must exist and be writable."""
    if suffix and not str(path).endswith(suffix):
        path = str(path) + suffix
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise _UsageError(f"--out {path!r}: the directory {parent!r} does not exist.")
    if not os.access(parent, os.W_OK):
        raise _UsageError(f"--out {path!r}: the directory {parent!r} is not writable.")
    if os.path.isdir(path):
        raise _UsageError(f"--out {path!r} is a directory; give a file name.")
    return path


def _domain_json(dom):
    from .domain import Box, Slice

    if isinstance(dom, Box):
        return {"kind": "box", "lo": dom.lo.tolist(), "hi": dom.hi.tolist()}
    if isinstance(dom, Slice):
        return {"kind": "slice", "dim": dom.dim, "input_dim": dom.input_dim,
                "inner": _domain_json(dom.inner)}
    return {"kind": type(dom).__name__.lower(), "dim": dom.dim}


def _summary(rs, command, **extra):
    out = {
        "command": command,
        "n_regions": len(rs),
        "dim": rs.dim,
        "input_dim": rs.net.input_dim,
        "n_neurons": rs.net.n_neurons,
        "widths": rs.net.widths,
        "method": rs.stats.method,
        "seconds": round(float(rs.stats.seconds), 6),
        "n_lps": int(rs.stats.n_lps),
        "domain": _domain_json(rs.domain),
    }
    out.update(extra)
    return out


def _emit(args, data, text):
    if getattr(args, "json", False):
        print(json.dumps(data, default=_json_default))
    else:
        print(text)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "__dict__"):
        return {k: v for k, v in vars(o).items() if not k.startswith("_")}
    return str(o)


def _enumerate(args, net, dom):
    from .enumerate import enumerate_regions

    kw = {}
    if getattr(args, "max_regions", None) is not None:
        if args.max_regions < 1:
            raise _UsageError(f"--max-regions must be a positive integer; got "
                              f"{args.max_regions}.")
        kw["max_regions"] = args.max_regions
    for name in ("max_seconds", "checkpoint", "resume"):
        if getattr(args, name, None) is not None:
            kw[name] = getattr(args, name)
    executor = getattr(args, "executor", None)
    if executor is not None:
        kw["executor"] = int(executor) if str(executor).isdigit() else executor
    progress = _show_progress(args)
    if progress and "executor" not in kw:
        kw["executor"] = "serial"  # work units: a live progress bar
    _note_compile(args, args.method, dom)
    try:
        return enumerate_regions(net, dom, method=args.method, progress=progress, **kw)
    except KeyboardInterrupt:
        where = kw.get("checkpoint") or kw.get("resume")
        print("polyregion: interrupted" + (
            f"; completed work units are in {where!r}: rerun with --resume {where}"
            if where else " (use --checkpoint DIR to keep completed work)"), file=sys.stderr)
        raise SystemExit(130) from None


# ---------------------------------------------------------------------- commands
def _cmd_enumerate(args):
    out = _out_path(args.out, ".npz") if args.out else None  # np.savez appends .npz
    net = _load_net(args.net)
    dom = _domain(args, net)
    rs = _enumerate(args, net, dom)
    if out:
        rs.save(out)
    _emit(args, _summary(rs, "enumerate", out=out),
          f"{len(rs)} regions ({rs.stats.method}, {rs.stats.seconds:.3g} s)"
          + (f"; saved to {out}" if out else ""))
    return EXIT_OK


def _as_dict(obj):
    return obj.to_dict() if hasattr(obj, "to_dict") else _json_default(obj)


def _cmd_verify(args):
    from .sampling import verify

    net = _load_net(args.net)
    dom = _domain(args, net)
    rs = _enumerate(args, net, dom)
    rep = verify(rs, n=args.n, seed=args.seed)
    ok = bool(rep.passed)
    data = _summary(rs, "verify", n_samples=args.n, seed=args.seed, passed=ok,
                    report=_as_dict(rep))
    _emit(args, data, f"{len(rs)} regions; sampling check with n={args.n}: "
                      f"{'passed' if ok else 'FAILED'}\n{rep}")
    return EXIT_OK if ok else EXIT_ERROR


def _cmd_estimate(args):
    from .sampling import estimate_count

    net = _load_net(args.net)
    dom = _domain(args, net)
    est = estimate_count(net, dom, n=args.n, seed=args.seed)
    data = {"command": "estimate", "n_samples": args.n, "seed": args.seed,
            "domain": _domain_json(dom), "estimate": _as_dict(est)}
    _emit(args, data, str(est))
    return EXIT_OK


def _cmd_plot(args):
    from .io.formats import npz_names
    from .plot import save_partition
    from .regions import RegionSet

    _out_path(args.out)
    if str(args.net).endswith(".npz") and "codes" in npz_names(args.net):
        rs = RegionSet.load(args.net)
        if args.box or args.slice:
            raise _UsageError("--box/--slice do not apply to a RegionSet file.")
    else:
        net = _load_net(args.net)
        dom = _domain(args, net)
        rs = _enumerate(args, net, dom)
    points = None
    if args.points:
        points = _load_points(args.points)
    save_partition(rs, args.out, color_by=args.color_by, points=points,
                   decision_boundary=args.decision_boundary, progress=_show_progress(args),
                   dpi=args.dpi)
    _emit(args, _summary(rs, "plot", out=args.out),
          f"{len(rs)} regions; picture saved to {args.out}")
    return EXIT_OK


def _cmd_bench(args):
    """``--quick``: the quick suite shipped in the package (any install, any directory);
    otherwise the full suite of the source checkout (``python -m benchmarks``), which
    raises :class:`polyregion.bench.SuiteNotFoundError` outside a checkout."""
    from .bench import run_full
    from .bench.quick import run_args

    if args.quick:
        full_only = [f for f in ("--no-peers", "--no-compile", "--no-write")
                     if getattr(args, f[2:].replace("-", "_"))]
        if full_only:
            raise _UsageError(f"{', '.join(full_only)}: options of the full suite, not of "
                              "--quick.")
        return int(run_args(args) or 0)
    argv = ["--only", *args.only] if args.only else []
    argv += [f for f in ("--no-peers", "--no-scipy", "--no-compile", "--no-write")
             if getattr(args, f[2:].replace("-", "_"))]
    if args.json == "-":
        raise _UsageError("the full suite needs a file: --json PATH.")
    if args.json:
        argv += ["--json", args.json]
    return int(run_full(argv) or 0)


def demo_network(seed=0, widths=(16, 16)):
    """The demo's network: He-initialised, 2 inputs, one output, biases ~ N(0, 0.1^2).

    Examples
    --------
    >>> from polyregion.cli import demo_network
    >>> demo_network().widths
    [16, 16]
    """
    from .bench.nets import he_weights
    from .network import Network

    Ws, bs = he_weights(widths, 2, seed, bias_std=0.1)
    return Network.from_arrays(Ws, bs)


def _cmd_demo(args):
    from .domain import Box
    from .enumerate import enumerate_regions
    from .plot import save_partition

    widths = tuple(int(w) for w in _floats(args.widths, "--widths"))
    if not widths or min(widths) < 1:
        raise _UsageError(f"--widths must be positive integers; got {args.widths!r}.")
    _out_path(args.out)
    if args.save_net:
        _out_path(args.save_net, ".npz")
    net = demo_network(args.seed, widths)
    if args.save_net:
        net.save(args.save_net)
    _note_compile(args, "auto", Box.cube(2))
    rs = enumerate_regions(net, Box.cube(2), progress=_show_progress(args))
    t0 = time.perf_counter()
    save_partition(rs, args.out, color_by="layer", decision_boundary=True,
                   progress=_show_progress(args))
    plot_s = time.perf_counter() - t0
    _emit(args, _summary(rs, "demo", out=args.out, plot_seconds=round(plot_s, 3)),
          f"{net!r}\n{len(rs)} linear regions in [-1, 1]^2 "
          f"(enumerated in {rs.stats.seconds:.3g} s); picture: {args.out}")
    return EXIT_OK


# ---------------------------------------------------------------------- parser
def add_input_options(q, plot=False):
    """The options every subcommand that enumerates shares: ``NET``, ``--box``,
    ``--slice``, ``--margin``, ``--method`` (read by :func:`_load_net` and :func:`_domain`)."""
    q.add_argument("net", metavar="NET" if not plot else "NET|REGIONS",
                   help="network file (.npz or .onnx)" + (
                       " or a RegionSet file from `enumerate --out`" if plot else ""))
    q.add_argument("--box", nargs=2, metavar=("LO", "HI"),
                   help="domain bounds: scalars or comma lists")
    q.add_argument("--slice", metavar="POINTS",
                   help="file with 3 input points: enumerate on the plane through them")
    q.add_argument("--margin", type=float, default=0.2,
                   help="relative margin of --slice around its points (default 0.2)")
    q.add_argument("--method", default="auto",
                   help="engine method (see enumerate_regions; default auto)")


def _parser():
    p = argparse.ArgumentParser(
        prog="polyregion",
        description="Exact linear regions of piecewise-linear neural networks.",
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"polyregion {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def common(q, plot=False):
        add_input_options(q, plot)
        q.add_argument("--max-regions", type=int, default=None,
                       help="stop with an error after this many regions (>= 1; default: "
                            "no limit)")
        q.add_argument("--executor", default=None,
                       help="'serial', 'processes' or a number of local processes "
                            "(work units; default: one serial run)")
        q.add_argument("--max-seconds", type=float, default=None,
                       help="stop with an error (and a resumable partial result) after this")
        q.add_argument("--checkpoint", metavar="DIR", default=None,
                       help="write completed work units to DIR (survives Ctrl-C and kills)")
        q.add_argument("--resume", metavar="DIR", default=None,
                       help="continue the run checkpointed in DIR")
        q.add_argument("--json", action="store_true", help="print a JSON summary")
        q.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    q = sub.add_parser("enumerate", help="enumerate the linear regions")
    common(q)
    q.add_argument("--out", metavar="FILE",
                   help="save the RegionSet (.npz; the suffix is added when missing)")
    q.set_defaults(func=_cmd_enumerate)

    q = sub.add_parser("verify", help="enumerate, then check against random sampling")
    common(q)
    q.add_argument("-n", type=int, default=100_000, help="number of samples")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_cmd_verify)

    q = sub.add_parser("estimate", help="estimate the number of regions by sampling")
    common(q)
    q.add_argument("-n", type=int, default=100_000, help="number of samples")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_cmd_estimate)

    q = sub.add_parser("plot", help="picture of a 2-D partition")
    common(q, plot=True)
    q.add_argument("--out", metavar="PNG", required=True, help="output picture")
    q.add_argument("--color-by", default="layer", choices=("layer", "code", "output", "density"))
    q.add_argument("--decision-boundary", action="store_true")
    q.add_argument("--points", metavar="FILE", help="data points to mark (.npy/.txt)")
    q.add_argument("--dpi", type=int, default=120)
    q.set_defaults(func=_cmd_plot)

    q = sub.add_parser("bench", help="run the benchmarks (--quick: from any install; "
                                     "the full suite: from a source checkout)")
    q.add_argument("--quick", action="store_true",
                   help="the quick suite shipped with the package: small nets, every "
                        "method, counts must agree")
    q.add_argument("--only", nargs="+", metavar="NAME", default=None,
                   help="run only these nets, e.g. --only '2-D [8]'")
    q.add_argument("--json", metavar="PATH", nargs="?", const="-", default=None,
                   help="write the results (rows, git revision, machine, load) as JSON to "
                        "PATH; --quick without PATH: print them on stdout. The full suite "
                        "writes benchmarks/results.json unless --no-write")
    q.add_argument("--no-scipy", action="store_true", help="skip the scipy baseline")
    q.add_argument("--no-peers", action="store_true",
                   help="full suite: skip regioncam and relucent")
    q.add_argument("--no-compile", action="store_true",
                   help="full suite: skip the fresh-cache compile-time measurement")
    q.add_argument("--no-write", action="store_true",
                   help="full suite: write neither benchmarks/README.md nor results.json")
    q.set_defaults(func=_cmd_bench)

    from .topology.cli import add_parser as add_topology_parser

    add_topology_parser(sub)  # polyregion topology (its options: polyregion/topology/cli.py)

    q = sub.add_parser("demo", help="a small random 2-D net: count its regions, save a picture")
    q.add_argument("--out", default="polyregion_demo.png", help="picture (default %(default)s)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--widths", default="16,16", help="hidden widths (default %(default)s)")
    q.add_argument("--save-net", metavar="FILE", help="also save the network (.npz)")
    q.add_argument("--json", action="store_true", help="print a JSON summary")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    q.set_defaults(func=_cmd_demo)
    return p


def _protect_negative(argv):
    """Let ``--box -1,-2 1,2`` through argparse (it takes ``-1,-2`` for an option)."""
    out, pending = [], 0
    for tok in argv:
        if pending and tok.startswith("-") and len(tok) > 1 and (tok[1].isdigit() or tok[1] == "."):
            tok = " " + tok
        pending = max(pending - 1, 0)
        if tok == "--box":
            pending = 2
        out.append(tok)
    return out


def main(argv=None) -> int:
    """Run the ``polyregion`` command; return its exit code.

    Examples
    --------
    >>> from polyregion.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    polyregion ...
    0
    """
    from .errors import PolyregionError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        args = parser.parse_args(_protect_negative(argv))
    except SystemExit as exc:  # --help, --version, usage errors (argparse prints them)
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_INPUT
    try:
        return args.func(args)
    except (PolyregionError, _UsageError) as exc:
        print(f"polyregion {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("polyregion: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the command line reports, never tracebacks
        print(f"polyregion {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
