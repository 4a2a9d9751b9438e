"""Topology benchmark: polyregion's exact Betti numbers against relucent 1.0.

For random generic MLPs (relucent's ``mlp(widths, init="uniform")``: PyTorch's default
initialisation, biases included, so the arrangement is generic and relucent accepts
it), both libraries compute the Betti numbers over GF(2) of the decision boundary
``{f = 0}`` in all of ``R^d``:

- relucent: ``add_output_relu`` (the output's zero set becomes a bent hyperplane),
  ``explore_for_topology`` (BFS over all regions, Gurobi LPs), then
  ``boundary_complex(output neuron).betti_numbers(compactify="truncate")``;
- polyregion: ``enumerate_regions(net, Space(d))`` then
  ``betti_numbers(rs, "boundary")`` (box compactification: same homotopy type as the
  truncation).

and the persistence diagram of the sublevel filtration of the output ``f`` (relucent:
``persistent_homology`` of its explored complex with a lower-star filtration by ``f``,
``compactify="truncate"``; polyregion: ``persistence(rs)``, the pairs of ``R^d``):
every polyregion pair with a finite birth must be one of relucent's pairs, and
relucent's other pairs must be born at values that are not critical values of ``f``
(values of its truncation cells; counted).

Counts must agree (the script asserts it); times are wall-clock seconds in this
process, one repetition each (relucent's exploration is the dominant cost; its Gurobi
environment is created once before the clock starts). Results go to
``benchmarks/topology.json`` and a table into ``benchmarks/README.md`` (section
"Topology").

Run: ``python -m benchmarks.topology`` (about two minutes); ``--quick`` for two nets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = [  # (input dim, hidden widths, seed)
    (2, [8, 8], 0), (2, [8, 8], 1), (2, [12, 12], 2), (2, [16, 16], 3),
    (3, [6, 6], 5), (3, [8, 8], 6),
]


def relucent_net(d, widths, seed):
    from relucent.model.builders import mlp, set_seeds

    set_seeds(seed)
    return mlp([d] + list(widths) + [1], init="uniform")


def to_polyregion(rnet, output_relu=False):
    """The same network for polyregion; ``output_relu``: with relucent's extra ReLU on the
    output (a hidden layer of width 1 and an identity output), whose regions are the
    regions relucent explores."""
    import polyregion as pr

    W, b = [], []
    for name, layer in rnet.layers.items():
        if hasattr(layer, "weight"):
            W.append(np.asarray(layer.weight, float))
            b.append(np.asarray(layer.bias, float).reshape(-1))
    if output_relu:
        W.append(np.ones((1, 1)))
        b.append(np.zeros(1))
    return pr.Network.from_arrays(W, b)


def output_filtration(net):
    """The sublevel filtration of the output ``f`` (before relucent's output ReLU) on
    relucent's complex: relucent's ``AffineOutputFiltration`` with the value at each cell's
    representative point taken from ``f`` itself. (relucent 1.0.0's own
    ``AffineOutputFiltration(row=0)`` multiplies ``W @ x`` with the ``(d, 1)`` matrix
    ``Polyhedron.W`` of its ``mlp`` nets and raises ValueError; and on the complex of
    ``add_output_relu`` it would filter by ``relu(f)``.) Lower star, as relucent's."""
    from relucent.topology import AffineOutputFiltration

    class OutputFiltration(AffineOutputFiltration):
        def raw_cell_value(self, tag, attrs):
            poly = attrs.get("poly")
            if poly is None:
                return float("inf")
            x = np.asarray(poly.interior_point, float).reshape(1, -1)
            return float(net.forward(x)[0, 0])

    return OutputFiltration(row=0)


def run_relucent(rnet, d, net):
    import relucent as rl
    from relucent.model.builders import add_output_relu

    t0 = time.perf_counter()
    c = rl.Complex(add_output_relu(rnet))
    rl.explore_for_topology(c, nworkers=1)
    t_explore = time.perf_counter() - t0
    bc = c.boundary_complex(c.n - 1)
    betti = bc.betti_numbers(compactify="truncate") if len(bc) else {}
    t_betti = time.perf_counter() - t0
    out = dict(regions=len(c), betti=[int(betti.get(k, 0)) for k in range(d)],
               seconds_explore=t_explore, seconds_betti=t_betti)
    try:
        t1 = time.perf_counter()
        pd = c.persistent_homology(output_filtration(net))
        out["seconds_persistence"] = time.perf_counter() - t1
        out["pairs"] = _relucent_pairs(pd, d)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        out["persistence_error"] = f"{type(exc).__name__}: {exc}"[:200]
    return out


def _relucent_pairs(pd, d):
    return [sorted([float(p.birth), float(p.death)] for p in pd.pairs
                   if int(p.dimension) == k and float(p.death) > float(p.birth))
            for k in range(d)]


def compare_diagrams(ours, theirs, critical, rtol=1e-6):
    """Match polyregion's pairs with a finite birth (R^d) to relucent's pairs (same
    dimension, births and deaths to ``rtol``). relucent's unmatched pairs must be born at
    a value that is none of the critical values of ``f`` (vertex values of the
    partition): values of its truncation cells (``compactify="truncate"``), standing for
    polyregion's classes born at ``-inf`` or for nothing at all.
    Returns (agree, number of relucent truncation pairs)."""
    crit = np.asarray(critical, float)
    agree, extra = True, 0
    for x, y in zip(ours, theirs):
        Y = [list(p) for p in y]
        for b, d in x:
            if not np.isfinite(b):
                continue
            hit = [i for i, (b2, d2) in enumerate(Y) if abs(b2 - b) <= rtol * max(1, abs(b))
                   and ((np.isinf(d) and np.isinf(d2)) or abs(d2 - d) <= rtol * max(1, abs(d)))]
            if not hit:
                agree = False
            else:
                Y.pop(hit[0])
        for b2, _ in Y:
            extra += 1
            if len(crit) and np.min(np.abs(crit - b2)) <= rtol * max(1, abs(b2)):
                agree = False   # born at a critical value of f: a class polyregion lacks
    return agree, extra


def run_polyregion(net, net_relu, d):
    import polyregion as pr

    t0 = time.perf_counter()
    rs = pr.enumerate_regions(net, pr.Space(d))
    t_enum = time.perf_counter() - t0
    betti = pr.betti_numbers(rs, "boundary")
    t_betti = time.perf_counter() - t0
    t1 = time.perf_counter()
    P = pr.persistence(rs)
    t_pers = time.perf_counter() - t1
    # the complex relucent explores (its output ReLU splits regions along f = 0)
    rs2 = pr.enumerate_regions(net_relu, pr.Space(d))
    cv = P.critical_values
    return dict(regions=len(rs), regions_with_output_relu=len(rs2), betti=list(betti),
                seconds_enumerate=t_enum, seconds_betti=t_betti, seconds_persistence=t_pers,
                pairs=[sorted(map(list, D.tolist())) for D in P.diagram()],
                critical_values=cv.tolist())


def write_readme(rows, meta):
    """Replace the "Topology" section of benchmarks/README.md (appended when missing)."""
    path = os.path.join(HERE, "README.md")
    lines = ["## Topology", "",
             "`python -m benchmarks.topology` (benchmarks/topology.py): Betti numbers of the "
             "decision boundary `{f = 0}` in all of R^d and the sublevel persistence diagram "
             "of the output, polyregion (`enumerate_regions(net, Space(d))` + "
             "`betti_numbers(rs, \"boundary\")`; `persistence(rs)`) against relucent 1.0.0 "
             "(`explore_for_topology` + `boundary_complex(...).betti_numbers(compactify="
             "\"truncate\")`; `persistent_homology` of a lower-star filtration by f) on "
             "generic random MLPs "
             "(relucent's `mlp(..., init=\"uniform\")`), same process, one run each. "
             "Regions: relucent's count (its output ReLU splits regions along f = 0) against "
             "polyregion's on the same net with that ReLU. Betti time: exploration/"
             "enumeration plus Betti numbers; persistence time: after exploration/"
             "enumeration. Diagrams agree: every polyregion pair with a finite birth (the pairs "
             "of R^d) is one of relucent's, to 1e-6, and relucent's other pairs are born at "
             "values that are not critical values of f (values of its truncation cells, "
             "`compactify=\"truncate\"`: classes polyregion has born at -inf, or none in "
             "R^d), counted in the column \"relucent extra\". "
             "relucent's own `AffineOutputFiltration` raises ValueError on its `mlp` nets "
             "(it multiplies `W @ x` with a `(d, 1)` W); the benchmark subclasses it to take "
             "the value of f at each cell's representative point.",
             "",
             f"Measured {meta['date']}, git {meta['git']}, {meta['machine']}, load "
             f"{meta['load']:.2f}.", "",
             "| net | regions (pr / relucent) | Betti {f=0} (pr / relucent) | Betti s (pr / "
             "relucent) | ratio | pairs (pr) | diagrams agree | relucent extra | "
             "persistence s (pr / relucent) | ratio |",
             "|---|---:|---|---:|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        o, t = r["polyregion"], r["relucent"]
        if "error" in t:
            lines.append(f"| {r['net']} | {o['regions_with_output_relu']} / - | "
                         f"{tuple(o['betti'])} / error | {o['seconds_betti']:.3f} / - | - | "
                         f"- | - | - | - | - |  relucent: {t['error']}")
            continue
        lines.append(
            f"| {r['net']} | {o['regions_with_output_relu']} / {t['regions']} | "
            f"{tuple(o['betti'])} / {tuple(t['betti'])} | {o['seconds_betti']:.3f} / "
            f"{t['seconds_betti']:.2f} | {r['ratio_betti']:.0f}x | "
            f"{sum(len(D) for D in o['pairs'])} | "
            f"{'yes' if r.get('diagrams_agree') else 'NO'} | "
            f"{r.get('relucent_truncation_pairs', '-')} | "
            f"{o['seconds_persistence']:.3f} / {t.get('seconds_persistence', float('nan')):.2f}"
            f" | {r.get('ratio_persistence', float('nan')):.0f}x |")
    lines.append("")
    section = "\n".join(lines) + "\n"
    text = open(path).read() if os.path.exists(path) else ""
    start = text.find("\n## Topology\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start + 1] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as fh:
        fh.write(text)


def git_rev():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    try:
        import relucent  # noqa: F401
        import relucent as rl
        from relucent.model.builders import add_output_relu
        # the Gurobi environment and kernels, once, before any clock
        c = rl.Complex(add_output_relu(relucent_net(2, [2], 0)))
        rl.explore_for_topology(c, nworkers=1)
    except Exception as exc:  # noqa: BLE001
        print(f"relucent cannot run here: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    import polyregion as pr

    for d in (2, 3):   # kernels and imports, once, before any clock
        warm = pr.enumerate_regions(pr.Network.from_arrays(
            [np.eye(d), np.ones((1, d))], [np.zeros(d), -np.ones(1) * 0.5]), pr.Space(d))
        pr.betti_numbers(warm, "boundary")
        pr.persistence(warm)
    rows = []
    for d, widths, seed in (NETS[:2] if args.quick else NETS):
        rnet = relucent_net(d, widths, seed)
        ours = run_polyregion(to_polyregion(rnet), to_polyregion(rnet, True), d)
        try:
            theirs = run_relucent(rnet, d, to_polyregion(rnet))
        except Exception as exc:  # noqa: BLE001 - recorded, not hidden
            theirs = dict(error=f"{type(exc).__name__}: {exc}"[:300])
        row = dict(net=f"{d}-D {widths} seed {seed}", polyregion=ours, relucent=theirs)
        if "error" not in theirs:
            row["regions_agree"] = ours["regions_with_output_relu"] == theirs["regions"]
            row["betti_agree"] = ours["betti"] == theirs["betti"]
            if "pairs" in theirs:
                row["diagrams_agree"], row["relucent_truncation_pairs"] = \
                    compare_diagrams(ours["pairs"], theirs["pairs"], ours["critical_values"])
                row["ratio_persistence"] = theirs["seconds_persistence"] / \
                    ours["seconds_persistence"]
            row["ratio_betti"] = theirs["seconds_betti"] / ours["seconds_betti"]
        rows.append(row)
        short = {k: v for k, v in row.items() if k not in ("polyregion", "relucent")}
        print(json.dumps(short, default=float), flush=True)
    meta = dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), git=git_rev(),
                machine=f"{platform.machine()} {os.cpu_count()} cpus, "
                        f"python {platform.python_version()}",
                load=os.getloadavg()[0])
    if not args.no_write:
        with open(os.path.join(HERE, "topology.json"), "w") as fh:
            json.dump(dict(meta=meta, rows=rows), fh, indent=1, default=float)
    if not args.no_write:
        write_readme(rows, meta)
    bad = [r["net"] for r in rows if r.get("betti_agree") is False]
    if bad:
        print(f"Betti numbers disagree on {bad}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
