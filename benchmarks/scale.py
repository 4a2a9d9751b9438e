"""Scale benchmark: 1 vs N processes, the machine's own ceiling, per-task overhead.

Run: ``python -m benchmarks.scale [--quick] [--runs R]``. Prints a Markdown table; every
speed-up is a ratio of best-of-3 times measured in the same process, repeated ``R`` times,
with the CPU seconds of each side (serial, workers, driver) to separate the machine's
noise from serial work. The ceiling column runs two independent copies of the serial job
at once (see :func:`machine_ceiling`). Peak memory at scale: ``benchmarks/scale_memory.py``.
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

from polyregion.bench.nets import he_net  # noqa: F401  (also used by CEILING_CHILD)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(f, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def _cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def speedup_rows(nets, workers, repeat):
    """Per net: the serial unit run (``executor="serial"``), the direct kernel run
    (``executor=None``), the first parallel call (which starts the process pool) and the
    best of ``repeat`` later calls (which reuse it); CPU seconds of each side."""
    from polyregion.enumerate.scale import shutdown_pools

    rows = []
    for d, widths in nets:
        net, box = he_net(widths, d), pr.Box.cube(d)
        pr.enumerate_regions(net, box, executor="serial")  # JIT warm-up
        pr.enumerate_regions(net, box)
        s0 = _cpu(resource.RUSAGE_SELF)
        t1, r1 = timed(lambda: pr.enumerate_regions(net, box, executor="serial"), repeat)
        cpu1 = (_cpu(resource.RUSAGE_SELF) - s0) / repeat
        t_direct, r0 = timed(lambda: pr.enumerate_regions(net, box), repeat)
        shutdown_pools()
        c0, p0 = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
        t_cold, rc = timed(lambda: pr.enumerate_regions(net, box, executor=workers), 1)
        tn, rn = timed(lambda: pr.enumerate_regions(net, box, executor=workers), repeat)
        shutdown_pools()  # workers' CPU is counted in RUSAGE_CHILDREN once they exit
        # per parallel call (the first call and the reused-pool calls together)
        cpu_children = (_cpu(resource.RUSAGE_CHILDREN) - c0) / (repeat + 1)
        cpu_parent = (_cpu(resource.RUSAGE_SELF) - p0) / (repeat + 1)
        assert r1 == rn == rc == r0 and np.array_equal(r1.points, rn.points)
        rows.append(dict(name=f"{d}-D {widths}", regions=len(r1),
                         units=r1.stats.extra["n_units"], serial=t1, direct=t_direct,
                         cold=t_cold, parallel=tn, cpu_serial=cpu1,
                         cpu_workers=cpu_children, cpu_driver=cpu_parent))
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


CEILING_CHILD = r"""
import json, sys, time
import polyregion as pr
import benchmarks.scale as s
d, widths, reps = json.loads(sys.argv[1])
net, box = s.he_net(widths, d), pr.Box.cube(d)
pr.enumerate_regions(net, box, executor="serial")
ts = []
for _ in range(reps):
    t = time.perf_counter()
    pr.enumerate_regions(net, box, executor="serial")
    ts.append(time.perf_counter() - t)
print(json.dumps(sorted(ts)[len(ts) // 2]))
"""


def machine_ceiling(d, widths, reps=5):
    """The speed-up this machine gives right now to two *independent* copies of the serial
    job: ``2 * t(one copy alone) / t(two copies at once)`` (median times). A parallel run
    cannot beat it; on a shared virtual machine it is often well below 2."""
    def launch():
        return subprocess.Popen([sys.executable, "-c", CEILING_CHILD,
                                 json.dumps([d, list(widths), reps])],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                env=dict(os.environ, PYTHONPATH=ROOT))

    one = launch()
    t1 = json.loads(one.communicate()[0])
    pair = [launch(), launch()]
    t2 = max(json.loads(p.communicate()[0]) for p in pair)
    return 2 * t1 / t2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="repeat each speed-up measurement")
    args = ap.parse_args(argv)
    nets = [(3, [16, 16])] if args.quick else [(3, [32, 32]), (4, [16, 16])]
    runs = 1 if args.quick else args.runs
    print(f"| net | regions | units | serial s | direct s | {args.workers} processes s, first "
          f"call | {args.workers} processes s, pool reused | speed-up vs serial | vs direct "
          "| serial CPU s | workers' CPU s | driver CPU s | machine ceiling |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d, widths in nets:
        for _ in range(runs):
            [r] = speedup_rows([(d, widths)], args.workers, 1 if args.quick else 3)
            ceil = machine_ceiling(d, widths, 3 if args.quick else 5)
            print(f"| {r['name']} | {r['regions']} | {r['units']} | {r['serial']:.3f} | "
                  f"{r['direct']:.3f} | {r['cold']:.3f} | {r['parallel']:.3f} | "
                  f"{r['serial'] / r['parallel']:.2f}x | {r['direct'] / r['parallel']:.2f}x | "
                  f"{r['cpu_serial']:.2f} | {r['cpu_workers']:.2f} | {r['cpu_driver']:.2f} | "
                  f"{ceil:.2f}x |", flush=True)
    print(f"\nload average at the end: {os.getloadavg()}")
    if not args.quick:
        print("\nper-task overhead (s):", json.dumps(task_overhead(args.workers)))


if __name__ == "__main__":
    main()
