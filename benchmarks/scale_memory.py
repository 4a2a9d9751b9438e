"""Peak memory of a large enumeration written to disk (``enumerate_regions(..., out=dir)``).

Run: ``python -m benchmarks.scale_memory [--quick] [--dim D] [--widths W1,W2] [--workers N]``.

The enumeration runs in a fresh process (so nothing else is in its memory); the script
reports the region count, wall and CPU seconds, the peak resident set (``VmHWM``) of the
driver process and of the largest worker, the bytes on disk, and what the same result
would need in memory: ``n_regions * (n_neurons + 8 d + 8)`` bytes as a RegionSet's arrays
(uint8 codes, float64 points and radii), ``n_regions * (ceil(n_neurons / 8) + 8 d + 8)``
bit-packed. It then reopens the directory and checks a few points with ``locate``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, os, resource, sys, time
import numpy as np
import polyregion as pr
from polyregion.bench.nets import he_weights

d, widths, workers, out = json.loads(sys.argv[1])
net = pr.Network.from_arrays(*he_weights(widths, d))
box = pr.Box.cube(d)
pr.enumerate_regions(pr.Network.from_arrays(*he_weights([4, 4], d)), box, executor="serial")
before = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
rs = pr.enumerate_regions(net, box, out=out, executor=workers)
wall = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
disk = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
# reopen and check: points' codes are found at their own index
again = pr.RegionSet.load(out)
idx = np.random.default_rng(0).integers(0, len(again), size=200)
ok = bool(np.array_equal(again.locate(np.asarray(again.points[idx])), idx))
print(json.dumps({
    "n_regions": len(rs), "n_neurons": net.n_neurons, "n_units": rs.stats.extra["n_units"],
    "wall": wall, "cpu_driver": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    "cpu_workers": children.ru_utime + children.ru_stime,
    "rss_driver_mb": hwm / 1024, "rss_worker_mb": children.ru_maxrss / 1024,
    "disk_bytes": disk, "locate_ok": ok}))
"""


def run(d, widths, workers, keep=None):
    out = keep or tempfile.mkdtemp(prefix="polyregion-scale-")
    if os.path.exists(out):
        shutil.rmtree(out)
    try:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([d, widths, workers, out])],
                              capture_output=True, text=True, cwd=ROOT,
                              env=dict(os.environ, PYTHONPATH=ROOT))
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["process_seconds"] = time.perf_counter() - t
    finally:
        if keep is None:
            shutil.rmtree(out, ignore_errors=True)
    n, nn = res["n_regions"], res["n_neurons"]
    res["in_memory_bytes"] = n * (nn + 8 * d + 8)
    res["packed_bytes"] = n * (-(-nn // 8) + 8 * d + 8)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a ~10^5-region net (seconds)")
    ap.add_argument("--dim", type=int, default=5)
    ap.add_argument("--widths", default="36,36")
    ap.add_argument("--workers", default="2", help="an int, or 'serial'")
    ap.add_argument("--keep", default=None, help="write the regions here and keep them")
    args = ap.parse_args(argv)
    d, widths = (4, [20, 20]) if args.quick else (args.dim, [int(w) for w in args.widths.split(",")])
    workers = args.workers if args.workers == "serial" else int(args.workers)
    r = run(d, widths, workers, args.keep)
    mb = 1e6
    print(f"| net | regions | workers | wall s | driver CPU s | workers' CPU s | peak RSS driver MB "
          "| peak RSS largest worker MB | on disk MB | as RegionSet in RAM MB (packed) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {d}-D {widths} | {r['n_regions']:,} | {workers} | {r['wall']:.0f} | "
          f"{r['cpu_driver']:.1f} | {r['cpu_workers']:.1f} | {r['rss_driver_mb']:.0f} | "
          f"{r['rss_worker_mb']:.0f} | {r['disk_bytes'] / mb:,.0f} | "
          f"{r['in_memory_bytes'] / mb:,.0f} ({r['packed_bytes'] / mb:,.0f}) |")
    print(f"\n{r['n_units']} work units, {r['n_neurons']} neurons; locate check "
          f"{'passed' if r['locate_ok'] else 'FAILED'}; load average {os.getloadavg()}")
    assert r["locate_ok"]
    return r


if __name__ == "__main__":
    main()
