"""Time to build the region adjacency graph, relative to the enumeration time.

Usage: python benchmarks/graph_bench.py [--repeat N]

For each benchmark net (He-initialised, bias std 0.01, domain [-1, 1]^d) it enumerates the
regions, then builds the facet complex (Numba kernels) and the networkx graph, and prints
the best-of-N times (all measured in this process) and the ratios to the enumeration
(goal: <= 2): ``graph s`` is ``rs.adjacency()`` (facet complex plus the networkx graph),
``edges s`` is ``rs.adjacency(as_networkx=False)`` (the same graph as arrays). Counts are
checked: the graph has one node per region, no edge seen from one side only, no unmatched
facet piece, and the array form has the same edges. ``lps/reg`` are the facet LPs per
region (0 when the clipping decides every row); ``redo`` the regions the trie walk left
to the per-region kernel. Each repetition frees the previous one's objects before its clock
starts, so no step pays for freeing an earlier result.
"""

from __future__ import annotations

import argparse
import gc
import time

import polyregion as pr
from polyregion.bench.nets import he_net

CASES = [([64, 64, 64], 2), ([32, 32], 3)]


def run(repeat=3):
    rows = []
    for widths, d in CASES:
        net = he_net(widths, d)
        dom = pr.Box.cube(d)
        pr.enumerate_regions(net, dom)  # warm the JIT caches
        best = {"enum": float("inf"), "complex": float("inf"), "edges": float("inf"),
                "graph": float("inf")}
        for _ in range(repeat):
            # free the previous repetition's objects before the clock starts: freeing a
            # graph of 10^4-10^5 edges takes about a quarter of its building time
            rs = cx = el = G = None
            gc.collect()
            t0 = time.perf_counter()
            rs = pr.enumerate_regions(net, dom)
            t1 = time.perf_counter()
            cx = pr.graph.complex_of(rs)
            t2 = time.perf_counter()
            el = rs.adjacency(as_networkx=False)
            t3 = time.perf_counter()
            G = rs.adjacency()
            t4 = time.perf_counter()
            best["enum"] = min(best["enum"], t1 - t0)
            best["complex"] = min(best["complex"], t2 - t1)
            best["edges"] = min(best["edges"], t3 - t1)
            best["graph"] = min(best["graph"], (t2 - t1) + (t4 - t3))
        assert G.number_of_nodes() == len(rs)
        assert G.graph["stats"]["n_one_sided"] == 0
        assert G.graph["stats"]["n_unmatched"] == 0
        assert len(el) == G.number_of_edges() and all(G.has_edge(u, v) for u, v in
                                                      zip(el.u.tolist(), el.v.tolist()))
        lps = (cx.stats["facet_lps"] + cx.stats["box_lps"]) / max(len(rs), 1)
        rows.append((f"{d}-D {widths}", len(rs), G.number_of_edges(), len(cx.A), lps,
                     cx.stats["regions_redone"], best["enum"], best["complex"], best["edges"],
                     best["graph"], best["edges"] / best["enum"], best["graph"] / best["enum"]))
    print(f"{'net':<18}{'regions':>9}{'edges':>9}{'facets':>9}{'lps/reg':>8}{'redo':>6}"
          f"{'enum s':>8}{'facets s':>9}{'edges s':>8}{'graph s':>8}{'edges/enum':>11}"
          f"{'graph/enum':>11}")
    for r in rows:
        print(f"{r[0]:<18}{r[1]:>9}{r[2]:>9}{r[3]:>9}{r[4]:>8.2f}{r[5]:>6}{r[6]:>8.3f}"
              f"{r[7]:>9.3f}{r[8]:>8.3f}{r[9]:>8.3f}{r[10]:>11.1f}{r[11]:>11.1f}")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    run(ap.parse_args().repeat)
