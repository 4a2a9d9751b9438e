"""Bit-for-bit check of a refactor: ``python -m benchmarks.identity OUT.npz``.

Writes every array a refactor must keep bit for bit: codes, points and radii of the
benchmark nets (every method; scipy on the two small 2-D nets), the facet complex's edge
arrays and the linear regions' labels up to 4-D, three other activations, a 64-D digits
window and a max-pooling net (189 arrays, ~10 minutes). Run it on the old and the new
revision (``PYTHONPATH=<clone>``), then compare:
``python -m benchmarks.identity --compare OLD.npz NEW.npz`` (exit 1 if any array differs).
The weights are drawn here, not by ``polyregion.bench``, so the check also holds across a
change of the package's generator.
"""
import os
import sys, hashlib
import numpy as np

def he(widths, d, seed=0, bias_std=0.01, out=1):
    rng = np.random.default_rng(seed)
    Ws, bs, n = [], [], d
    for w in list(widths) + [out]:
        Ws.append(rng.normal(size=(w, n)) * np.sqrt(2.0 / n)); bs.append(rng.normal(size=w) * bias_std); n = w
    return Ws, bs

CASES = [("1d", 1, (32, 32)), ("2d8", 2, (8,)), ("2d16", 2, (16, 16)), ("2d32", 2, (32, 32, 32)),
         ("2d64", 2, (64, 64, 64)), ("3d16", 3, (16, 16)), ("3d32", 3, (32, 32)), ("4d16", 4, (16, 16)),
         ("5d12", 5, (12, 12)), ("6d10", 6, (10, 10))]

def run(out):
    import polyregion as pr
    res = {}
    def put(key, rs, graph=True):
        res[key + ".codes"] = np.asarray(rs.codes); res[key + ".points"] = np.asarray(rs.points)
        res[key + ".radii"] = np.asarray(rs.radii)
        if graph:
            import polyregion.graph as g

            el = g.edge_list(rs)
            for name in ("u", "v", "a", "b", "point", "radius", "neuron_ptr", "neurons"):
                if hasattr(el, name):
                    res[key + ".el." + name] = np.asarray(getattr(el, name))
            lr = rs.linear_regions()
            res[key + ".lr"] = np.asarray(lr.labels if hasattr(lr, "labels") else lr.label)
        print(key, len(rs), flush=True)
    for name, d, w in CASES:
        Ws, bs = he(w, d)
        net = pr.Network.from_arrays(Ws, bs, activation="relu")
        box = pr.Box.cube(d)
        methods = ["lp", "planar"] if d == 2 else ["lp"]
        for m in methods:
            rs = pr.enumerate_regions(net, box, method=m)
            put(f"{name}.{m}", rs, graph=(d <= 4 and name != "2d64"))
        if d == 2:
            rs = pr.enumerate_regions(net, box, method="scipy") if name in ("2d8", "2d16") else None
            if rs is not None: put(f"{name}.scipy", rs, graph=False)
    # leaky / abs / hardtanh
    for act in ("leaky_relu", "abs", "hardtanh"):
        Ws, bs = he((12, 12), 3, seed=3)
        try:
            net = pr.Network.from_arrays(Ws, bs, activation=act)
        except Exception as e:
            print("skip", act, e); continue
        put(f"act.{act}", pr.enumerate_regions(net, pr.Box.cube(3)))
    # 64-D digits window
    z = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                         "digits_mlp_64d.npz"))
    Ws = [z[f"W{i}"] for i in range(3)]; bs = [z[f"b{i}"] for i in range(3)]
    net = pr.Network.from_arrays(Ws, bs, activation="relu")
    x = z["images"][0].ravel().astype(float) / 16.0 if z["images"].max() > 1.5 else z["images"][0].ravel().astype(float)
    rs = pr.enumerate_regions(net, pr.Box(x - 0.01, x + 0.01))
    put("digits.r01", rs, graph=False)
    # maxpool
    Ws, bs = he((8, 8), 2, seed=5)
    mp = pr.MaxPool([[0, 1], [2, 3], [4, 5], [6, 7]])
    try:
        W2 = np.random.default_rng(7).normal(size=(1, 4))
        net = pr.Network.from_arrays([Ws[0], W2], [bs[0], np.zeros(1)], activation=[mp])
        put("maxpool", pr.enumerate_regions(net, pr.Box.cube(2)))
    except Exception as e:
        print("maxpool skipped", repr(e))
    np.savez(out, **res)

def compare(a, b):
    A, B = np.load(a), np.load(b)
    ka, kb = set(A.files), set(B.files)
    bad = 0
    if ka != kb:
        print("keys differ:", sorted(ka ^ kb)); bad += 1
    for k in sorted(ka & kb):
        x, y = A[k], B[k]
        if x.shape != y.shape or x.dtype != y.dtype or x.tobytes() != y.tobytes():
            print("DIFF", k, x.shape, y.shape); bad += 1
    print(f"{len(ka & kb)} arrays compared, {bad} differ")
    return bad

if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(1 if compare(sys.argv[2], sys.argv[3]) else 0)
    run(sys.argv[1])
