"""Scale benchmark: 1 vs N processes, per-task overhead of the executors, peak memory.

Run: ``python -m benchmarks.scale [--quick] [--regions-net WIDTHS]``. Prints a Markdown
table; timings are ratios measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import polyregion as pr
from benchmarks.nets import he_weights


def he_net(widths, d, seed=0):
    """The benchmark family (benchmarks/nets.py) as a Network."""
    return pr.Network.from_arrays(*he_weights(widths, d, seed=seed))


def timed(f, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def speedup_rows(nets, workers, repeat):
    rows = []
    for d, widths in nets:
        net, box = he_net(widths, d), pr.Box.cube(d)
        pr.enumerate_regions(net, box, executor="serial")  # JIT warm-up
        s0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        t1, r1 = timed(lambda: pr.enumerate_regions(net, box, executor="serial"), repeat)
        cpu1 = (resource.getrusage(resource.RUSAGE_SELF).ru_utime - s0) / repeat
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        p0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        tn, rn = timed(lambda: pr.enumerate_regions(net, box, executor=workers), repeat)
        cpu_children = (resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - c0) / repeat
        cpu_parent = (resource.getrusage(resource.RUSAGE_SELF).ru_utime - p0) / repeat
        assert r1 == rn and np.array_equal(r1.points, rn.points)
        rows.append((f"{d}-D {widths}", len(r1), r1.stats.extra["n_units"], t1, tn, t1 / tn,
                     cpu1, cpu_children, cpu_parent))
    return rows


def task_overhead(workers):
    """Seconds per task beyond its compute, for the process pool and a Dask LocalCluster."""
    net, box = he_net([64, 1], 2, seed=3), pr.Box.cube(2)  # many trivial units
    t_serial, rs = timed(lambda: pr.enumerate_regions(net, box, executor="serial",
                                                      batch_size=1), 2)
    n_tasks = rs.stats.extra["n_units"]
    out = {"tasks": n_tasks}
    t_pool, _ = timed(lambda: pr.enumerate_regions(net, box, executor=workers, batch_size=1), 2)
    out["processes"] = (t_pool * workers - t_serial) / n_tasks
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        return out
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as c, \
            Client(c) as client:
        pr.enumerate_regions(net, box, executor=client, batch_size=1)  # warm workers
        t_dask, _ = timed(lambda: pr.enumerate_regions(net, box, executor=client, batch_size=1), 2)
    out["dask"] = (t_dask * workers - t_serial) / n_tasks
    return out


def peak_memory(widths, d):
    """Peak RSS of a fresh process streaming all regions with iter_regions."""
    code = (
        "import resource, polyregion as pr, benchmarks.scale as s\n"
        f"net = s.he_net({list(widths)!r}, {d})\n"
        "n = 0\n"
        f"for c in pr.iter_regions(net, pr.Box.cube({d})):\n"
        "    n += len(c)\n"
        "print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    n, rss = out.stdout.split()
    return int(n), int(rss) / 1024, time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-net", default="96,96", help="widths of the 2-D streaming net")
    args = ap.parse_args(argv)
    nets = [(3, [16, 16])] if args.quick else [(3, [32, 32]), (4, [16, 16])]
    rows = speedup_rows(nets, args.workers, 1 if args.quick else 3)
    print(f"| net | regions | units | serial s | {args.workers} processes s | speed-up "
          "| serial CPU s | workers' CPU s | driver CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, u, t1, tn, sp, c1, cc, cp in rows:
        print(f"| {name} | {n} | {u} | {t1:.3f} | {tn:.3f} | {sp:.2f}x | {c1:.2f} | {cc:.2f} "
              f"| {cp:.2f} |")
    print(f"\nload average at the end: {os.getloadavg()}")
    if not args.quick:
        print("\nper-task overhead (s):", json.dumps(task_overhead(args.workers)))
        widths = [int(w) for w in args.memory_net.split(",")]
        n, rss_mb, secs = peak_memory(widths, 2)
        print(f"\nstreaming 2-D {widths}: {n} regions, peak RSS {rss_mb:.0f} MB, {secs:.1f} s")


if __name__ == "__main__":
    main()
