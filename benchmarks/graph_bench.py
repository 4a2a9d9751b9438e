"""Time to build the region adjacency graph, relative to the enumeration time.

Usage: python benchmarks/graph_bench.py [--repeat N]

For each benchmark net (He-initialised, bias std 0.01, domain [-1, 1]^d) it enumerates the
regions, then builds the facet complex (Numba kernels) and the networkx graph, and prints
the best-of-N times (all measured in this process) and the ratio graph / enumeration
(goal: <= 2); ``graph s`` is the complex plus the networkx graph. Counts are checked: the
graph has one node per region, no edge seen from one side only, no unmatched facet
piece. ``lps/reg`` are the facet LPs per region (0 when the clipping screen decides every
row).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import polyregion as pr  # noqa: E402
from oracles import he_net  # noqa: E402

CASES = [([64, 64, 64], 2), ([32, 32], 3)]


def run(repeat=3):
    rows = []
    for widths, d in CASES:
        net = he_net(widths, d)
        dom = pr.Box.cube(d)
        pr.enumerate_regions(net, dom)  # warm the JIT caches
        best = {"enum": float("inf"), "complex": float("inf"), "graph": float("inf")}
        for _ in range(repeat):
            t0 = time.perf_counter()
            rs = pr.enumerate_regions(net, dom)
            t1 = time.perf_counter()
            cx = pr.graph.complex_of(rs)
            t2 = time.perf_counter()
            G = rs.adjacency()
            t3 = time.perf_counter()
            best["enum"] = min(best["enum"], t1 - t0)
            best["complex"] = min(best["complex"], t2 - t1)
            best["graph"] = min(best["graph"], t3 - t1)
        assert G.number_of_nodes() == len(rs)
        assert G.graph["stats"]["n_one_sided"] == 0
        assert G.graph["stats"]["n_unmatched"] == 0
        lps = (cx.stats["facet_lps"] + cx.stats["box_lps"]) / max(len(rs), 1)
        rows.append((f"{d}-D {widths}", len(rs), G.number_of_edges(), len(cx.A), lps,
                     best["enum"], best["complex"], best["graph"], best["graph"] / best["enum"]))
    print(f"{'net':<18}{'regions':>9}{'edges':>9}{'facets':>9}{'lps/reg':>9}{'enum s':>9}"
          f"{'facets s':>10}{'graph s':>9}{'ratio':>7}")
    for r in rows:
        print(f"{r[0]:<18}{r[1]:>9}{r[2]:>9}{r[3]:>9}{r[4]:>9.2f}{r[5]:>9.3f}{r[6]:>10.3f}"
              f"{r[7]:>9.3f}{r[8]:>7.1f}")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    run(ap.parse_args().repeat)
