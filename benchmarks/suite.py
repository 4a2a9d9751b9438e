"""The benchmark driver: runs every (net, method) in its own process, checks the counts,
prints the table, writes it into benchmarks/README.md and the rows to
benchmarks/results.json. Nets: :mod:`polyregion.bench.nets`; the quick suite and the JSON
writer: :mod:`polyregion.bench`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from polyregion.bench.quick import KERNEL_METHODS

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
README = os.path.join(HERE, "README.md")
RESULTS_JSON = os.path.join(HERE, "results.json")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

SCIPY_TIMEOUT = 60.0  # the baseline is reported only where it finishes within this
SCIPY_MAX_REGIONS = 20_000  # beyond this, scipy (~1 ms per LP) cannot finish in time
RELUCENT_MAX_REGIONS = 500
PEER_TIMEOUT = 120.0


def kernel_methods():
    return list(KERNEL_METHODS)


def run_worker(name, method, timeout):
    cmd = [sys.executable, "-m", "benchmarks.worker", name, method]
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(ok=False, error=f"not finished in {timeout:.0f} s", timeout=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            out["wall"] = time.perf_counter() - t
            return out
    return dict(ok=False, error=(p.stderr.strip().splitlines() or ["no output"])[-1][:200])


def peer_available(mod):
    try:
        __import__(mod)
        return True
    except Exception:
        return False


def run_suite(cases, peers=True, scipy=True, log=print):
    rows = []
    kmethods = kernel_methods()
    have = {m: peers and peer_available(m) for m in ("regioncam", "relucent")}
    for name, d, widths in cases:
        res = {}
        for m in kmethods:
            if m == "planar" and d != 2:
                continue
            res[m] = run_worker(name, m, timeout=1800)
            log(f"  {name:16s} {m:9s} {_short(res[m])}")
        ref = next((r for r in res.values() if r.get("ok")), None)
        n_ref = ref["count"] if ref else None
        if scipy:
            if n_ref is not None and n_ref <= SCIPY_MAX_REGIONS:
                res["scipy"] = run_worker(name, "scipy", timeout=SCIPY_TIMEOUT + 30)
                r = res["scipy"]
                if r.get("ok") and r["seconds"] > SCIPY_TIMEOUT:
                    r.update(ok=False, error=f"took {r['seconds']:.0f} s > {SCIPY_TIMEOUT:.0f} s",
                             slow_count=r["count"])
            else:
                res["scipy"] = dict(ok=False, skipped=True,
                                    error=f"skipped: > {SCIPY_MAX_REGIONS} regions")
            log(f"  {name:16s} {'scipy':9s} {_short(res['scipy'])}")
        if have["regioncam"] and d == 2:
            res["regioncam"] = run_worker(name, "regioncam", timeout=PEER_TIMEOUT)
            log(f"  {name:16s} {'regioncam':9s} {_short(res['regioncam'])}")
        if have["relucent"] and n_ref is not None and n_ref <= RELUCENT_MAX_REGIONS:
            res["relucent"] = run_worker(name, "relucent", timeout=PEER_TIMEOUT)
            log(f"  {name:16s} {'relucent':9s} {_short(res['relucent'])}")
        rows.append(dict(name=name, d=d, widths=list(widths), results=res))
    return rows, have


def _short(r):
    if not r.get("ok"):
        return r.get("error", "failed")
    s = f"{r['count']} regions  {r['seconds']:.3f} s"
    if "n_lps" in r:
        s += f"  {r['n_lps']} LPs"
    return s


def check_counts(rows):
    """Our methods must agree exactly; peers are compared and reported."""
    problems = []
    for row in rows:
        ours = {m: r["count"] for m, r in row["results"].items()
                if r.get("ok") and m in ("lp", "planar", "scipy")}
        if len(set(ours.values())) > 1:
            problems.append(f"{row['name']}: counts differ {ours}")
    return problems


def _fmt_s(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _ratio(a, b):
    if not (a.get("ok") and b.get("ok")) or a["seconds"] <= 0:
        return "—"
    return f"{b['seconds'] / a['seconds']:.0f}x" if b["seconds"] / a["seconds"] >= 10 else \
        f"{b['seconds'] / a['seconds']:.2g}x"


def table(rows, have):
    kms = kernel_methods()
    lines = [
        "| net | regions | method | seconds | regions/s | n_lps | LPs/region | peak MiB "
        "| vs scipy | vs regioncam | vs relucent |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        res = row["results"]
        for m in kms:
            if m not in res:
                continue
            r = res[m]
            if not r.get("ok"):
                lines.append(f"| {row['name']} | — | {m} | {r.get('error')} | | | | | | | |")
                continue
            sc = res.get("scipy", {})
            vs_scipy = _ratio(r, sc) if sc.get("ok") else (
                "n/a (" + sc.get("error", "not run") + ")" if sc else "n/a")
            rc = res.get("regioncam")
            vs_rc = _ratio(r, rc) if rc else "n/a"
            rl = res.get("relucent")
            vs_rl = _ratio(r, rl) if rl else "n/a"
            lines.append(
                f"| {row['name']} | {r['count']} | {m} | {_fmt_s(r['seconds'])} | "
                f"{r['count'] / max(r['seconds'], 1e-9):,.0f} | {r['n_lps']} | "
                f"{r['lps_per_region']:.2f} | {r['mem_kib'] / 1024:.1f} | {vs_scipy} | "
                f"{vs_rc} | {vs_rl} |")
        for m in ("scipy", "regioncam", "relucent"):
            if m not in res:
                continue
            r = res[m]
            if not r.get("ok"):
                if m == "scipy":
                    lines.append(f"| {row['name']} | — | scipy | {r.get('error')} "
                                 "| | | | | | | |")
                else:
                    lines.append(f"| {row['name']} | — | {m} | failed: {r.get('error')} "
                                 "| | | | | | | |")
                continue
            ref = next((res[k] for k in kms if k in res and res[k].get("ok")), None)
            same = ref is not None and ref["count"] == r["count"]
            cnt = f"{r['count']}" + ("" if same else f" (≠ {ref['count'] if ref else '?'})")
            lps = (f"{r['n_lps']} | {r['lps_per_region']:.2f}" if "n_lps" in r else "— | —")
            lines.append(
                f"| {row['name']} | {cnt} | {m} | {_fmt_s(r['seconds'])} | "
                f"{r['count'] / max(r['seconds'], 1e-9):,.0f} | {lps} | "
                f"{r['mem_kib'] / 1024:.1f} | | | |")
    return "\n".join(lines)


def lp_summary(rows):
    tot_lps = tot_reg = 0
    per = []
    for row in rows:
        r = row["results"].get("lp")
        if r and r.get("ok"):
            tot_lps += r["n_lps"]
            tot_reg += r["count"]
            per.append(r["lps_per_region"])
    if not per:
        return ""
    return (f"method=\"lp\" over the suite: {tot_lps:,} LPs for {tot_reg:,} regions "
            f"= {tot_lps / tot_reg:.2f} LPs per region overall; mean of the per-net "
            f"ratios {sum(per) / len(per):.2f}.")


def compile_times(methods):
    """First call in a fresh process with an empty Numba cache (compile), then in a
    second process with that cache (load): the second must not recompile."""
    code = (
        "import time, json, numpy as np, polyregion as pr\n"
        "from polyregion.bench.nets import he_net\n"
        "import importlib\n"
        "out = {}\n"
        "for m in %r:\n"
        "    t = time.perf_counter()\n"
        "    pr.enumerate_regions(he_net((3,), 2, seed=1), pr.Box.cube(2), method=m)\n"
        "    out[m] = {'seconds': time.perf_counter() - t}\n"
        "    mod = importlib.import_module('polyregion.enumerate._kernels_' + "
        "('engine' if m == 'lp' else m))\n"
        "    disp = getattr(mod, 'enumerate_' + m)\n"
        "    out[m]['cache_hits'] = sum(disp.stats.cache_hits.values())\n"
        "    out[m]['cache_misses'] = sum(disp.stats.cache_misses.values())\n"
        "print('RESULT ' + json.dumps(out))\n" % (list(methods),))
    res = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for which in ("fresh cache", "second process"):
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=3600)
            wall = time.perf_counter() - t
            line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
            res[which] = json.loads(line[0][7:]) if line else {"error": p.stderr[-300:]}
            res[which]["_wall"] = wall
    return res


def write_readme(text, begin=BEGIN, end=END):
    """Replace the block between the markers ``begin`` and ``end`` of README.md."""
    old = open(README).read() if os.path.exists(README) else ""
    if begin in old and end in old:
        new = old[:old.index(begin)] + begin + "\n" + text + "\n" + end + \
            old[old.index(end) + len(end):]
    else:
        new = old + "\n" + begin + "\n" + text + "\n" + end + "\n"
    with open(README, "w") as f:
        f.write(new)


def run_line(info, shared=False):
    """``Run of DATE on CPU, N cores (load average L at the start), versions`` for a
    :class:`polyregion.bench.results.RunInfo`."""
    m = info.machine
    load = info.load_start[0] if info.load_start else float("nan")
    return (f"Run of {info.date} on {m['cpu']}, {m['cores']} cores (load average {load:.1f} "
            f"at the start{': the machine is shared' if shared else ''}), {m['system']}, "
            f"Python {m['python']}, NumPy {m['numpy']}, SciPy {m['scipy']}, "
            f"Numba {m['numba']}")


def _speedup(a, b):
    """``b``'s seconds / ``a``'s seconds when both finished, else None."""
    if a and b and a.get("ok") and b.get("ok") and a["seconds"] > 0:
        return b["seconds"] / a["seconds"]
    return None


def json_rows(rows):
    """One flat row per (net, method) for benchmarks/results.json."""
    out = []
    for row in rows:
        res = row["results"]
        for m, r in res.items():
            o = dict(net=row["name"], d=row["d"], widths=row["widths"], method=m,
                     ok=bool(r.get("ok")))
            if r.get("ok"):
                o.update(count=r["count"], seconds=r["seconds"],
                         regions_per_s=r["count"] / max(r["seconds"], 1e-9),
                         n_lps=r.get("n_lps"), lps_per_region=r.get("lps_per_region"),
                         peak_mib=r["mem_kib"] / 1024, first_call_seconds=r.get("first_call"))
                if m in KERNEL_METHODS:
                    o.update(vs_scipy=_speedup(r, res.get("scipy")),
                             vs_regioncam=_speedup(r, res.get("regioncam")),
                             vs_relucent=_speedup(r, res.get("relucent")))
                if r.get("extra"):
                    o["extra"] = r["extra"]
            else:
                o.update(error=r.get("error"), count=r.get("slow_count"), seconds=r.get("seconds"))
            out.append(o)
    return out


def report(rows, have, info, comp, problems):
    out = []
    out.append(run_line(info, shared=True) + ".")
    out.append("")
    peers = []
    for m in ("regioncam", "relucent"):
        peers.append(f"`{m}` " + ("installed" if have.get(m) else "not installed / not run"))
    out.append("Peers: " + "; ".join(peers) + ".")
    out.append("")
    out.append(table(rows, have))
    out.append("")
    s = lp_summary(rows)
    if s:
        out.append(s)
        out.append("")
    if problems:
        out.append("**Count mismatches:** " + "; ".join(problems))
    else:
        out.append("Counts of all polyregion methods agree on every net (asserted).")
    if comp:
        out.append("")
        out.append("JIT cost (first call of a tiny enumeration, excluded from the timings "
                   "above):")
        out.append("")
        out.append("| method | fresh Numba cache (compile) | second process (cache load) "
                   "| second process cache misses |")
        out.append("|---|---:|---:|---:|")
        f, s2 = comp.get("fresh cache", {}), comp.get("second process", {})
        for m in kernel_methods():
            a, b = f.get(m, {}), s2.get(m, {})
            out.append(f"| {m} | {a.get('seconds', float('nan')):.1f} s | "
                       f"{b.get('seconds', float('nan')):.2f} s | "
                       f"{b.get('cache_misses', '?')} |")
    return "\n".join(out)
