"""Property-based fuzzing of the engine against the independent oracle (issue 8).

Random small networks (integer weights to force coincidences, or Gaussian ones),
activations, domains (Box, Space, bounded and unbounded Polytope, Slice of a larger
input) are enumerated with every method and checked against ``oracles.brute_force_unit``
(same codes, hence same count), and for the usual invariants:

- every interior point's forward code equals its region's code;
- the region's affine map equals ``net.forward`` at random points of the region
  (inside the certified ball around the interior point);
- the codes of random domain samples are a subset of the enumerated codes;
- ``pr.certify`` proves every region in exact arithmetic.

A neuron that is constant on a cell and sits within rounding of a breakpoint (e.g.
``0.1 * (-5) + 0.5`` with the float64 slope 0.1) has a piece that depends on rounding: the
float64 forward pass may label it differently at different points of the same cell.
Such labels are reported in ``cert.ambiguous`` and accepted in both versions here.

Profiles (registered in ``tests/conftest.py``): ``ci`` is the default (few examples,
``derandomize=True``, no deadline), so CI runs are deterministic; for a long local run::

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_fuzz.py
"""

import numpy as np
from hypothesis import given, settings, strategies as st

import polyregion as pr
from oracles import brute_force_unit, exact_codes

ACTIVATIONS = ["relu", "abs", "hardtanh", "relu6", "leaky_relu:0.1"]

# a third of the profile's examples for the oracle-heavy test, all of them for the rest
N_ORACLE = max(5, settings.default.max_examples // 3)


@st.composite
def problems(draw, max_d=3, max_width=3, max_hidden=2):
    """(net, domain) pairs; sizes kept small enough for the brute-force oracle."""
    d = draw(st.integers(1, max_d))
    n_hidden = draw(st.integers(1, max_hidden))
    widths = draw(st.lists(st.integers(1, max_width), min_size=n_hidden, max_size=n_hidden))
    acts = draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=n_hidden, max_size=n_hidden))
    integer = draw(st.booleans())
    kind = draw(st.sampled_from(["box", "space", "polytope", "unbounded", "slice"]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_in = d + 2 if kind == "slice" else d
    Ws, bs, n = [], [], n_in
    for w in widths + [1]:
        if integer:
            W = rng.integers(-2, 3, size=(w, n)).astype(float)
            b = rng.integers(-4, 5, size=w) / 2.0
        else:
            W = rng.normal(size=(w, n))
            b = rng.normal(size=w) * 0.5
        if len(Ws) < n_hidden and acts[len(Ws)] in ("hardtanh", "relu6"):
            W = W * (6.0 if acts[len(Ws)] == "relu6" else 2.0)  # reach both breakpoints
        Ws.append(W)
        bs.append(b)
        n = w
    net = pr.Network.from_arrays(Ws, bs, activation=acts)
    if kind == "box":
        lo = rng.uniform(-2, 0, size=d)
        domain = pr.Box(lo, lo + rng.uniform(0.5, 3, size=d))
    elif kind == "space":
        domain = pr.Space(d)
    elif kind == "polytope":  # a random simplex-like polytope around the origin
        A = rng.normal(size=(d + 2, d))
        domain = pr.Polytope(np.vstack([A, np.eye(d), -np.eye(d)]),
                             np.concatenate([np.ones(d + 2), np.full(2 * d, 2.0)]))
    elif kind == "unbounded":  # a half-space
        a = rng.normal(size=(1, d))
        domain = pr.Polytope(a, rng.normal(size=1))
    else:
        D = (np.eye(n_in)[:d] if integer else rng.normal(size=(d, n_in)))
        origin = np.zeros(n_in) if integer else rng.normal(size=n_in) * 0.3
        domain = pr.Slice(origin, D, pr.Box.cube(d, radius=1.5))
    return net, domain


def methods_for(domain):
    return ("lp", "planar") if domain.dim == 2 and domain.bounded else ("lp",)


def codes_of(rs):
    return [tuple(int(v) for v in c) for c in rs.codes]


def sample_domain(domain, rng, n):
    if domain.bounded:
        lo, hi = domain.bounds()
        T = rng.uniform(lo, hi, size=(n, domain.dim))
    else:
        T = domain.interior_point() + rng.normal(size=(n, domain.dim)) * 5.0
    return T[domain.contains(T)]


def describe(net, domain):
    """Everything needed to rebuild a failing example."""
    parts = [f"activations={[a.name for a in net.activations]}"]
    parts += [f"W{l}={W.tolist()} b{l}={b.tolist()}"
              for l, (W, b) in enumerate(zip(net.weights, net.biases))]
    for name in ("lo", "hi", "A", "b", "origin", "directions"):
        if hasattr(domain, name):
            parts.append(f"{name}={np.asarray(getattr(domain, name)).tolist()}")
    return f"{domain!r}: " + "; ".join(parts)


def float_codes_agree(net, domain, T, codes, known):
    """Float64 codes of the points T are ``codes`` (per row) or, where rounding of the
    forward pass decides a neuron that sits exactly on a breakpoint (a constant neuron,
    e.g. 6 z1 - 6 z2 with z1 = z2 on the cell), their exact rational codes are."""
    fc = net.codes(domain.to_input(T))
    ok = np.array([tuple(c) in known for c in fc.tolist()]) if codes is None else \
        np.all(fc == codes, axis=1)
    for i in np.flatnonzero(~ok):
        ex = exact_codes(net, domain.to_input(T[i:i + 1]))[0]
        ok[i] = ex in known if codes is None else ex == tuple(int(v) for v in codes[i])
    return ok


def relabelled(rs, cert):
    """Stored codes plus, for regions whose constant neuron sits within rounding of a
    breakpoint (``cert.ambiguous``), the codes with those neurons' exact pieces."""
    known = set(codes_of(rs))
    for i, changes in cert.ambiguous.items():
        for subset in ([c] for c in changes):
            code = rs.codes[i].astype(int).copy()
            for k, q in subset + (changes if len(changes) > 1 else []):
                code[k] = q
            known.add(tuple(int(v) for v in code))
    return known


def check_invariants(net, rs, rng):
    domain = rs.domain
    info = describe(net, domain)
    # every region is certified in exact arithmetic
    cert = pr.certify(rs)
    assert cert.ok, (cert.reasons, info)
    known = relabelled(rs, cert)
    # interior points: strictly inside the domain, with their region's code (up to the
    # rounding-decided label of constant neurons exactly at a breakpoint)
    assert np.all(rs.radii > 0), info
    assert np.all(domain.contains(rs.points)), info
    plain = np.array([i not in cert.ambiguous for i in range(len(rs))])
    assert np.all(float_codes_agree(net, domain, rs.points[plain], rs.codes[plain], None)), info
    # affine maps reproduce the forward pass inside each region's certified ball
    for i in range(min(len(rs), 12)):
        u = rng.normal(size=(4, rs.dim))
        u /= np.linalg.norm(u, axis=1)[:, None]
        T = rs.points[i] + 0.9 * rs.radii[i] * u * rng.uniform(0, 1, size=(4, 1))
        M, c = rs.affine_map(i)
        fx = net.forward(domain.to_input(T))
        np.testing.assert_allclose(T @ M.T + c, fx, rtol=1e-7,
                                   atol=1e-7 * (1 + np.abs(fx).max()))
    # codes of random samples of the domain are among the regions' codes
    T = sample_domain(domain, rng, 3000)
    assert np.all(float_codes_agree(net, domain, T, None, known)), info


@settings(max_examples=N_ORACLE)
@given(problems())
def test_fuzz_methods_equal_oracle(problem):
    net, domain = problem
    rs = pr.enumerate_regions(net, domain, method="lp")
    assert codes_of(rs) == brute_force_unit(net, domain), describe(net, domain)
    for m in methods_for(domain)[1:]:
        assert codes_of(pr.enumerate_regions(net, domain, method=m)) == codes_of(rs), \
            (m, describe(net, domain))
    check_invariants(net, rs, np.random.default_rng(0))


@settings(max_examples=max(3, N_ORACLE // 2))
@given(problems(max_d=2, max_width=2))
def test_fuzz_scipy_path_equals_lp(problem):
    net, domain = problem
    assert (codes_of(pr.enumerate_regions(net, domain, method="scipy"))
            == codes_of(pr.enumerate_regions(net, domain, method="lp"))), describe(net, domain)


@given(problems(max_d=4, max_width=6, max_hidden=3))
def test_fuzz_invariants_larger_nets(problem):
    net, domain = problem
    rs = pr.enumerate_regions(net, domain)
    for m in methods_for(domain):
        assert codes_of(pr.enumerate_regions(net, domain, method=m)) == codes_of(rs), \
            (m, describe(net, domain))
    check_invariants(net, rs, np.random.default_rng(1))
