"""Local region density of trained digits MLPs in 64-D, with and without BN (issue 20, item 5).

Usage: python docs/reproductions/digits_density.py [--quick] [--no-fig] [--out DIR]

Trains small ReLU MLPs on scikit-learn's digits (pixels / 16, 64-D) with PyTorch (CPU,
fixed seeds), [64 -> 32 -> 32 -> 10] with and without BatchNorm1d after each hidden
Linear, and converts them with pr.from_torch: "no BN", "BN eval" (running statistics) and
"BN train" (training-mode BN conditioned on one mini-batch of 128 training digits,
``from_torch(model, batch=...)``). Prints (markdown) for docs/reproductions/digits_density.md:

1. exact local region counts (pr.local_complexity: every region meeting the l-inf window of
   radius r around a training digit, the window clipped to the pixel range [0, 1]), per
   model and seed: mean / median / max, seconds; paired comparisons BN vs no BN;
2. the l-inf window criterion (pr.bn.window_hits / pr.bn.hyperplane_meets_box) against
   exact enumeration for one-hidden-layer nets [64 -> 32 -> 10]: a neuron whose hyperplane
   meets the open window must take both codes among the window's regions, one that misses
   it must be constant (equal to its code at the centre);
3. the figure docs/figures/digits_density.png (counts per model, counts vs radius).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date

import numpy as np

import polyregion as pr

HERE = os.path.dirname(os.path.abspath(__file__))
FIG_DIR = os.path.join(HERE, "..", "figures")

MODELS = ("no BN", "BN eval", "BN train")


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="1 seed, 6 windows, 2 radii")
    p.add_argument("--no-fig", action="store_true")
    p.add_argument("--out", default=FIG_DIR, help="directory of the figure")
    return p.parse_args()


ARGS = parse() if __name__ == "__main__" else None
QUICK = bool(ARGS and ARGS.quick)
SEEDS = [0] if QUICK else [0, 1, 2]
N_WIN = 6 if QUICK else 25          # windows (training digits) per seed
RADII = [0.01, 0.02] if QUICK else [0.01, 0.02, 0.03]
BATCH = 128                         # mini-batch of the training-mode conversion
EPOCHS = 10


# ---------------------------------------------------------------------------- data, training
def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def mlp(widths, bn, seed):
    import torch

    torch.manual_seed(seed)
    layers, n = [], 64
    for w in widths:
        layers.append(torch.nn.Linear(n, w))
        if bn:
            layers.append(torch.nn.BatchNorm1d(w))
        layers.append(torch.nn.ReLU())
        n = w
    layers.append(torch.nn.Linear(n, 10))
    return torch.nn.Sequential(*layers)


def train(model, Xtr, ytr, Xte, yte, seed):
    """Adam (lr 1e-2), batches of 64, EPOCHS epochs; returns the test accuracy (eval mode)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    Xt, yt = torch.tensor(Xtr, dtype=torch.float32), torch.tensor(ytr)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(Xt), generator=g)
        for i in range(0, len(Xt), 64):
            idx = perm[i:i + 64]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.tensor(Xte, dtype=torch.float32)).argmax(1).numpy()
    return float(np.mean(pred == yte))


def models(widths, seed, data):
    """The three converted networks of one seed, plus the BN net imported in eval mode (for
    pr.bn, whose training-mode statistics are recomputed from the batch) and the batch."""
    Xtr, Xte, ytr, yte = data
    plain_m = mlp(widths, False, seed)
    bn_m = mlp(widths, True, seed)
    acc = {"no BN": train(plain_m, Xtr, ytr, Xte, yte, seed)}
    acc["BN eval"] = train(bn_m, Xtr, ytr, Xte, yte, seed)
    rng = np.random.default_rng(1000 + seed)
    batch = Xtr[rng.choice(len(Xtr), BATCH, replace=False)]
    nets = {"no BN": pr.from_torch(plain_m), "BN eval": pr.from_torch(bn_m),
            "BN train": pr.from_torch(bn_m, batch=batch)}
    # test accuracy of the BN net with the mini-batch statistics in place of running ones
    pred = pr.bn.fold(nets["BN train"]).forward(Xte).argmax(1)
    acc["BN train"] = float(np.mean(pred == yte))
    return nets, acc, batch


# ---------------------------------------------------------------------------- helpers
def first_layer_hits(net, box):
    """Number of first-layer switching hyperplanes meeting the open box (any box: the
    criterion |w.c - t| < sum_i |w_i| h_i with centre c and half-widths h)."""
    plain = pr.bn.fold(net)
    W, b = plain.weights[0], plain.biases[0]
    c, h = 0.5 * (box.lo + box.hi), 0.5 * (box.hi - box.lo)
    nz = np.any(W != 0, axis=1)
    return int(np.sum(nz & (np.abs(W @ c + b) < np.abs(W) @ h)))


def table(rows, header):
    fmt = lambda v: f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- part 1
def local_counts(data):
    Xtr = data[0]
    print("## 1. Exact local region counts, [64 -> 32 -> 32 -> 10] ReLU MLPs\n")
    print(f"{len(SEEDS)} seed(s), {N_WIN} windows per seed centred on training digits "
          f"(the same digits for the three models of a seed), l-inf radii {RADII}, windows "
          "clipped to [0, 1]; BN train = training-mode BN conditioned on a mini-batch of "
          f"{BATCH} training digits.\n")
    res = {}     # (seed, model, r) -> LocalComplexity
    hits = {}    # (seed, model, r) -> first-layer hyperplanes meeting each window
    accs = {}
    for seed in SEEDS:
        t0 = time.perf_counter()
        nets, acc, _ = models([32, 32], seed, data)
        accs[seed] = acc
        print(f"seed {seed}: trained in {time.perf_counter() - t0:.1f} s; test accuracy "
              + ", ".join(f"{m} {acc[m]:.3f}" for m in MODELS), flush=True)
        idx = np.random.default_rng(100 + seed).choice(len(Xtr), N_WIN, replace=False)
        Xw = Xtr[idx]
        for r in RADII:
            for m in MODELS:
                # no budget: a budget runs the window in work units, 5-10x slower here
                lc = pr.local_complexity(nets[m], Xw, r, within=(0, 1))
                res[seed, m, r] = lc
                hits[seed, m, r] = np.array(
                    [first_layer_hits(nets[m], pr.window(x, r, within=(0, 1))) for x in Xw])
                print(f"  r={r} {m}: {lc}", flush=True)
    print()
    rows = []
    for seed in SEEDS:
        for m in MODELS:
            row = [seed, m, f"{accs[seed][m]:.3f}"]
            for r in RADII:
                c = res[seed, m, r].counts
                row += [f"{c.mean():.1f} / {int(np.median(c))} / {c.max()}"]
            row += [f"{sum(res[seed, m, r].seconds.sum() for r in RADII):.1f}"]
            rows.append(row)
    print(table(rows, ["seed", "model", "test acc."]
                + [f"r={r}: mean / median / max" for r in RADII] + ["seconds (all radii)"]))
    print()
    rows = []
    for m in MODELS:
        row = [m]
        for r in RADII:
            c = np.concatenate([res[s, m, r].counts for s in SEEDS])
            h = np.concatenate([hits[s, m, r] for s in SEEDS])
            row += [f"{c.mean():.1f} / {int(np.median(c))} / {c.max()}", f"{h.mean():.2f}"]
        rows.append(row)
    hdr = ["model (all seeds)"]
    for r in RADII:
        hdr += [f"r={r}: mean / median / max", "1st-layer hyperplanes in window"]
    print(table(rows, hdr))
    print()
    assert all(lc.complete.all() for lc in res.values())
    secs = np.concatenate([lc.seconds for lc in res.values()])
    cnts = np.concatenate([lc.counts for lc in res.values()])
    lps = np.concatenate([lc.n_lps for lc in res.values()])
    k = int(np.argmax(secs))
    print(f"{secs.size} windows, all complete (exact counts), {secs.sum():.1f} s of "
          f"enumeration: median {np.median(secs):.3f} s per window, slowest {secs[k]:.2f} s "
          f"({cnts[k]} regions); {cnts.sum()} regions, {lps.sum()} LPs in all "
          f"({secs.sum() / max(cnts.sum(), 1) * 1e3:.2f} ms per region)")
    print("\nPaired comparisons (same digit, same seed): windows where the first model "
          "has more / equal / fewer regions than the second\n")
    rows = []
    for a, b in (("BN eval", "no BN"), ("BN train", "no BN"), ("BN train", "BN eval")):
        for r in RADII:
            ca = np.concatenate([res[s, a, r].counts for s in SEEDS])
            cb = np.concatenate([res[s, b, r].counts for s in SEEDS])
            per_seed = []
            for s in SEEDS:
                x, y = res[s, a, r].counts, res[s, b, r].counts
                per_seed.append(f"{np.median(x) / np.median(y):.2g}")
            rows.append([f"{a} vs {b}", r, int(np.sum(ca > cb)), int(np.sum(ca == cb)),
                         int(np.sum(ca < cb)), f"{np.median(ca / cb):.2f}",
                         ", ".join(per_seed)])
    print(table(rows, ["pair", "r", "more", "equal", "fewer", "median ratio of counts",
                       "ratio of medians per seed"]))
    print()
    return res, hits


# ---------------------------------------------------------------------------- part 2
def criterion_check(data):
    Xtr = data[0]
    print("## 2. The l-inf window criterion vs exact enumeration, [64 -> 32 -> 10]\n")
    print("Unclipped windows {|x - x0|_inf <= r} around training digits; per (window, "
          "first-layer neuron): criterion 'meets the open window' (|w.x0 - c| < r ||w||_1) "
          "vs 'both codes appear among the enumerated regions of the window'.\n")
    rows, total = [], np.zeros(5, np.int64)
    full = 0
    n_win = 0
    t_all = time.perf_counter()
    for seed in SEEDS:
        nets, acc, batch = models([32], seed, data)
        idx = np.random.default_rng(200 + seed).choice(len(Xtr), N_WIN, replace=False)
        for m in MODELS:
            for r in RADII:
                agree_hit = agree_miss = hit_const = miss_split = touch = 0
                wrong_const = 0
                counts, t0 = [], time.perf_counter()
                n_full = 0
                for x0 in Xtr[idx]:
                    if m == "no BN":
                        W, b = nets[m].weights[0], nets[m].biases[0]
                        crit = pr.bn.hyperplane_meets_box(W, -b, x0, r, closed=False)
                        crit_c = pr.bn.hyperplane_meets_box(W, -b, x0, r, closed=True)
                    else:
                        # pr.bn recomputes the statistics (eval: running; train: the batch)
                        bat = None if m == "BN eval" else batch
                        crit = pr.bn.window_hits(nets["BN eval"], bat, x0, r, closed=False)[:, 0]
                        crit_c = pr.bn.window_hits(nets["BN eval"], bat, x0, r)[:, 0]
                    touch += int(np.sum(crit != crit_c))
                    rs = pr.enumerate_regions(nets[m], pr.window(x0, r))
                    codes = rs.codes[:, :32]
                    split = codes.min(0) != codes.max(0)
                    agree_hit += int(np.sum(crit & split))
                    agree_miss += int(np.sum(~crit & ~split))
                    hit_const += int(np.sum(crit & ~split))
                    miss_split += int(np.sum(~crit & split))
                    # a missed neuron keeps its code at the centre
                    c0 = nets[m].codes(x0[None])[0, :32]
                    wrong_const += int(np.sum(~crit & (codes != c0).any(0)))
                    counts.append(len(rs))
                    n_full += int(len(rs) == 2 ** int(crit.sum()))
                counts = np.array(counts)
                secs = time.perf_counter() - t0
                rows.append([seed, m, f"{acc[m]:.3f}", r,
                             f"{counts.mean():.1f} / {counts.max()}",
                             agree_hit, agree_miss, hit_const, miss_split, wrong_const,
                             f"{n_full}/{len(counts)}", f"{secs:.1f}"])
                total += [agree_hit, agree_miss, hit_const, miss_split, touch]
                full += n_full
                n_win += len(counts)
                print(f"  seed {seed} {m} r={r}: {secs:.1f} s", flush=True)
    print()
    print(table(rows, ["seed", "model", "test acc.", "r", "regions mean / max",
                       "meets & split", "misses & constant", "meets but constant",
                       "misses but split", "missed neuron off its centre code",
                       "windows with 2^(#meeting) regions", "seconds"]))
    print()
    n = int(total[:4].sum())
    print(f"Total: {n} (window, neuron) pairs in {n_win} windows; agreement "
          f"{int(total[0] + total[1])}/{n} (meets & split {total[0]}, misses & constant "
          f"{total[1]}); disagreements: meets but constant {total[2]}, misses but split "
          f"{total[3]}; hyperplanes touching the window without cutting it (closed != open "
          f"criterion): {total[4]}. Windows holding all 2^m sign patterns of the m "
          f"hyperplanes that meet them: {full}/{n_win}. "
          f"({time.perf_counter() - t_all:.1f} s)\n")


# ---------------------------------------------------------------------------- figure
def figure(res, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"no BN": "tab:blue", "BN eval": "tab:orange", "BN train": "tab:green"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    r = RADII[-1]
    data = [np.concatenate([res[s, m, r].counts for s in SEEDS]) for m in MODELS]
    ax = axes[0]
    bp = ax.boxplot(data, tick_labels=MODELS, whis=(0, 100), patch_artist=True)
    for patch, m in zip(bp["boxes"], MODELS):
        patch.set_facecolor(colours[m])
        patch.set_alpha(0.5)
    for k, d in enumerate(data):
        jitter = np.random.default_rng(k).uniform(-0.12, 0.12, d.size)
        ax.scatter(k + 1 + jitter, d, s=8, c="k", alpha=0.6, zorder=3)
    ax.set_yscale("log")
    ax.set_ylabel("exact regions in the window")
    ax.set_title(f"l-inf windows of radius {r} around {data[0].size} training digits\n"
                 f"([64-32-32-10] ReLU, {len(SEEDS)} seed(s), whiskers = min/max)", fontsize=9)
    ax = axes[1]
    for m in MODELS:
        for s in SEEDS:
            med = [np.median(res[s, m, r_].counts) for r_ in RADII]
            mean = [res[s, m, r_].counts.mean() for r_ in RADII]
            ax.plot(RADII, med, "-o", c=colours[m], label=f"{m} (median)" if s == SEEDS[0]
                    else None, alpha=0.8)
            ax.plot(RADII, mean, ":", c=colours[m], label=f"{m} (mean)" if s == SEEDS[0]
                    else None, alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(RADII)
    ax.set_xticklabels([str(r_) for r_ in RADII])
    ax.set_xlabel("window radius r (pixels / 16 scale)")
    ax.set_ylabel("exact regions per window")
    ax.set_title("counts vs radius, one line per seed", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "digits_density.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {os.path.relpath(path)}")


def git_state():
    import subprocess

    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=HERE, capture_output=True, text=True,
                                        timeout=10).stdout.strip()
        head = run("rev-parse", "--short", "HEAD")
        dirty = run("status", "--porcelain", "--untracked-files=no", "--", "../../polyregion")
        return f"{head}{' + uncommitted changes in polyregion/' if dirty else ''}"
    except Exception:  # pragma: no cover - not a git checkout
        return "unknown"


def main():
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    print(f"# digits_density.py ({'quick' if QUICK else 'full'} run, {date.today()}, "
          f"polyregion {pr.__version__}, torch {torch.__version__}, Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs; code at {git_state()})\n")
    data = digits()
    # warm-up: compile the Numba kernels (cached on disk after the first run) before timing
    t1 = time.perf_counter()
    warm = pr.Network.from_arrays([np.ones((2, 64)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    pr.local_complexity(warm, np.full((1, 64), 0.5), 0.01, within=(0, 1))
    print(f"(warm-up / JIT: {time.perf_counter() - t1:.1f} s)\n")
    res, _ = local_counts(data)
    criterion_check(data)
    if not ARGS.no_fig:
        figure(res, ARGS.out)
    print(f"\n(total {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
