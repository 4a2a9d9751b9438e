"""Run one (net, method) measurement and print it as one JSON line.

``python -m benchmarks.worker NAME METHOD`` — run in a fresh process by the suite so
that peak memory (``ru_maxrss`` growth over the resident size before the run) belongs to
this one enumeration.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

from polyregion.bench.nets import case_by_name, he_net, he_weights


def _rss_kib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _polyregion(d, widths, method):
    import polyregion as pr

    box = pr.Box.cube(d)
    # first call: JIT compile or load from the cache, reported separately
    t = time.perf_counter()
    pr.enumerate_regions(he_net((3,), d, seed=1), box, method=method)
    first_call = time.perf_counter() - t
    net = he_net(widths, d)
    rss0 = _rss_kib()
    t = time.perf_counter()
    rs = pr.enumerate_regions(net, box, method=method)
    sec = time.perf_counter() - t
    st = rs.stats
    return dict(count=len(rs), seconds=sec, n_lps=st.n_lps, first_call=first_call,
                lps_per_region=st.lps_per_region, mem_kib=max(_peak_kib() - rss0, 0),
                extra=st.extra)


def _regioncam(d, widths):
    import regioncam

    Ws, bs = he_weights(widths, d)
    t = time.perf_counter()
    rc = regioncam.Regioncam(size=1.0)
    rc.linear(np.eye(2, dtype=np.float32), np.zeros(2, np.float32))  # warm-up
    first_call = time.perf_counter() - t
    rss0 = _rss_kib()
    t = time.perf_counter()
    rc = regioncam.Regioncam(size=1.0)  # the square [-1, 1]^2
    for W, b in zip(Ws[:-1], bs[:-1]):  # regioncam computes in float32
        rc.linear(np.ascontiguousarray(W.T, dtype=np.float32), b.astype(np.float32))
        rc.relu()
    count = int(rc.num_faces)
    sec = time.perf_counter() - t
    return dict(count=count, seconds=sec, first_call=first_call,
                mem_kib=max(_peak_kib() - rss0, 0))


def _relucent(d, widths):
    import relucent
    import relucent.model.model as mm

    Ws, bs = he_weights(widths, d)
    layers = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        layers.append(mm.LinearLayer(np.asarray(W, float), np.asarray(b, float)))
        if i < len(Ws) - 1:
            layers.append(mm.ReLULayer())
    cx = relucent.Complex(mm.ReLUNetwork(layers))
    start = np.full(d, 0.01234)
    rss0 = _rss_kib()
    t = time.perf_counter()
    res = cx.bfs(start=start, cube_radius=1.0, cube_mode="intersect", nworkers=1, verbose=0)
    sec = time.perf_counter() - t
    return dict(count=len(cx), seconds=sec, mem_kib=max(_peak_kib() - rss0, 0),
                extra=dict(complete=bool(res.complete), verified=bool(res.verified)))


def measure(name, method):
    _, d, widths = case_by_name(name)
    if method == "regioncam":
        return _regioncam(d, widths)
    if method == "relucent":
        return _relucent(d, widths)
    return _polyregion(d, widths, method)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    name, method = argv
    try:
        out = measure(name, method)
        out["ok"] = True
    except Exception as exc:  # reported in the table, never hidden
        out = dict(ok=False, error=f"{type(exc).__name__}: {str(exc)[:200]}")
    print("RESULT " + json.dumps(out, default=float), flush=True)


if __name__ == "__main__":
    main()
