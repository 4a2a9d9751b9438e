"""Exact certificates for enumerated regions.

:func:`certify` re-checks, in exact rational arithmetic, that every region of a
:class:`~polyregion.RegionSet` is what it claims to be: its stored interior point lies
*strictly* inside the domain and *strictly* on its side of every hyperplane of its
activation code, and the exact forward pass at the point gives exactly that code. The
strict inequalities at one point prove that the open cell is non-empty, hence
full-dimensional: a certified region is a genuine linear region with a correct code and a
correct witness, whatever rounding happened during the enumeration.

Method. Every float64 is a dyadic rational ``N / 2**k``; sums and products of dyadic
rationals stay dyadic, so the forward pass is carried out with Python integers (one common
power-of-two denominator per array), which is exact and much faster than
:class:`fractions.Fraction`. The network weights and biases, the activation tables, the
domain's data (Box bounds, the stored Polytope ``A, b``, a Slice's origin and directions)
and the interior points are all taken exactly as the float64 numbers they are. A neuron
whose pre-activation at the point equals a breakpoint exactly is accepted only when it
is constant on the cell (its exact row of the cell's affine map is zero, or zero up to
the rounding of the weights: see :attr:`Certificate.ambiguous`).

Scope. The certificate is about the regions that were found: it proves each one is
genuine (soundness), not that none is missing (completeness). Eval-mode batch
normalisation involves ``sqrt(var + eps)``, which is irrational; networks with BN are
certified against their float64 fold (:meth:`Network.fold_bn`), and the report says so
(``exact_network=False``).

Cost: one exact forward pass per region, ``O(sum_l n_l n_{l-1})`` big-integer operations
(about 1e6 to 1e7 per second), plus an exact affine map for the rare region whose point
lies on a constant neuron's breakpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInputError
from .network import MaxPool, constant_row_scale

__all__ = ["certify", "Certificate", "AMBIGUITY"]

AMBIGUITY = 1e-12
"""Relative distance to a breakpoint within which a constant neuron's piece is a label
decided by rounding (see :attr:`Certificate.ambiguous`)."""


@dataclass
class Certificate:
    """The result of :func:`certify`.

    Attributes
    ----------
    n_regions : int
        Number of regions checked.
    certified : ndarray of bool, shape (n_regions,)
        ``certified[i]`` is True when region ``i`` was proved genuine.
    reasons : dict
        ``{i: message}`` for each region that could not be certified.
    exact_network : bool
        False when the network has batch normalisation and was certified in its float64
        fold (see the module docstring).
    ambiguous : dict
        ``{i: [(neuron, exact_piece), ...]}`` for certified regions whose stored code
        labels a *constant* neuron with the piece next to its exact one because its
        exact value lies within rounding (``AMBIGUITY``, relative) of the breakpoint
        between them; ``neuron`` is the flat index in the code. With an exact zero row
        on the cell, the cell is the same set either way (a constant neuron adds no
        constraint and the activation is continuous): only the label is
        rounding-dependent. A row that cancels only up to rounding (its exact norm at
        most ``AMBIGUITY`` times the size of the terms summed into it, e.g.
        ``a + b - fl(a + b)``) is also listed here, also when the point lies exactly on
        its breakpoint: the engines treat such a neuron as constant
        (docs/tolerances.md), so the exact micro-hyperplane it carries is not a region
        boundary of the result.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), [0.0]])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))          # the four quadrants
    >>> cert = pr.certify(rs)
    >>> cert.ok, cert.n_certified, cert.certified.tolist(), cert.failed.tolist(), cert.reasons
    (True, 4, [True, True, True, True], [], {})
    """

    n_regions: int
    certified: np.ndarray
    reasons: dict = field(default_factory=dict)
    exact_network: bool = True
    ambiguous: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every region is certified."""
        return bool(np.all(self.certified))

    @property
    def n_certified(self) -> int:
        return int(np.count_nonzero(self.certified))

    @property
    def failed(self) -> np.ndarray:
        """Indices of the regions that could not be certified."""
        return np.flatnonzero(~self.certified)

    def __repr__(self):
        extra = "" if self.exact_network else ", exact_network=False"
        if self.ambiguous:
            extra += f", ambiguous={len(self.ambiguous)}"
        return (f"Certificate(n_regions={self.n_regions}, n_certified={self.n_certified}, "
                f"failed={self.failed.tolist()[:10]}{'...' if len(self.failed) > 10 else ''}"
                f"{extra})")


# ---------------------------------------------------------------------- dyadic arrays
def _dyadic(a):
    """Exact ``(N, k)`` with ``a == N / 2**k``: N an object array of Python ints."""
    a = np.asarray(a, dtype=np.float64)
    flat = a.ravel()
    nums, dens = [], []
    for v in flat.tolist():
        n, d = float(v).as_integer_ratio()
        nums.append(n)
        dens.append(d.bit_length() - 1)
    k = max(dens, default=0)
    N = np.empty(flat.shape[0], dtype=object)
    for i, (n, e) in enumerate(zip(nums, dens)):
        N[i] = n << (k - e)
    return N.reshape(a.shape), k


def _align(A, ka, B, kb):
    """Bring two dyadic arrays to the same denominator ``2**max(ka, kb)``."""
    if ka < kb:
        return A * (1 << (kb - ka)), B, kb
    if kb < ka:
        return A, B * (1 << (ka - kb)), ka
    return A, B, ka


def _matmul(A, ka, B, kb):
    return np.dot(A, B), ka + kb


def _add(A, ka, B, kb):
    A, B, k = _align(A, ka, B, kb)
    return A + B, k


def _to_float(N, k):
    """The dyadic array ``N / 2**k`` rounded to float64 (exact integer division)."""
    from fractions import Fraction

    out = np.array([float(Fraction(int(v), 1 << k)) for v in np.ravel(N).tolist()])
    return out.reshape(np.shape(N))


def _scaled_fraction(n, k, s):
    """``(n / 2**k) / 2**s`` as an exact Fraction (``k + s`` of either sign)."""
    from fractions import Fraction

    e = k + s
    return Fraction(n, 1 << e) if e >= 0 else Fraction(n << -e, 1)


def _unit_float(N, k):
    """``(F, s)``: the dyadic array ``N / 2**k`` as ``F * 2**s`` with ``max|F|`` in
    ``(1/2, 1]``, ``F`` rounded to float64 (no under- or overflow whatever the
    magnitude, so a tolerance test on ``F`` is the same test at any scale)."""
    from fractions import Fraction

    bits = max((abs(int(v)).bit_length() for v in np.ravel(N).tolist()), default=0)
    shift = bits - k  # value = (N / 2**bits) * 2**shift
    out = np.array([float(Fraction(int(v), 1 << bits)) for v in np.ravel(N).tolist()])
    return out.reshape(np.shape(N)), shift


def _obj(a):
    out = np.empty(np.shape(a), dtype=object)
    out[...] = a
    return out


# ---------------------------------------------------------------------- checks
def _domain_violations(domain, T):
    """Rows of T (enumeration coordinates) not strictly inside ``domain`` -> messages."""
    from .domain import Box, Polytope, Slice, Space

    inner = domain.inner if isinstance(domain, Slice) else domain
    bad = {}
    if isinstance(inner, Space):
        return bad
    if isinstance(inner, Box):
        # float comparisons are exact
        ok = np.all((T > inner.lo) & (T < inner.hi), axis=1)
        for i in np.flatnonzero(~ok):
            bad[int(i)] = "the interior point is not strictly inside the Box"
        return bad
    if isinstance(inner, Polytope):
        A, b = inner.halfspaces()
        NA, ka = _dyadic(A)
        NT, kt = _dyadic(T)
        lhs, kl = _matmul(NT, kt, NA.T, ka)
        Nb, kb = _dyadic(b)
        lhs, rhs, _ = _align(lhs, kl, np.broadcast_to(Nb, lhs.shape), kb)
        strict = np.all(lhs < rhs, axis=1) if lhs.size else np.ones(len(T), bool)
        for i in np.flatnonzero(~np.asarray(strict, bool)):
            bad[int(i)] = "the interior point is not strictly inside the Polytope"
        return bad
    # an unknown Domain subclass: use its own (float) membership test, strictly
    A, b = inner.halfspaces()
    if A.shape[0]:
        ok = np.all(T @ A.T < b, axis=1)
        for i in np.flatnonzero(~ok):
            bad[int(i)] = "the interior point is not strictly inside the domain"
    return bad


class _Exact:
    """The network's weights in exact dyadic form, converted once per certificate, and the
    exact linear part ``M0 / 2**k0`` of the network input in the enumeration coordinates
    (identity, or a Slice's directions transposed)."""

    def __init__(self, net, M0, k0):
        self.net, self.M0, self.k0 = net, M0, k0
        self.W = [_dyadic(W) for W in net.weights]

    def linear_part(self, code, layer):
        """Exact ``(G, kg)``: layer ``layer``'s pre-activations are ``G t / 2**kg + const``
        on the cell of ``code``."""
        return self._maps(code, layer)[:2]

    def _maps(self, code, layer):
        """``(G, kg, M, km)``: the exact linear part of layer ``layer``'s pre-activations
        and of its input (the previous layer's output) on the cell of ``code``."""
        net = self.net
        M, km = self.M0, self.k0
        off = 0
        for l in range(layer + 1):
            NW, kw = self.W[l]
            G, kg = _matmul(NW, kw, M, km)
            if l == layer:
                return G, kg, M, km
            act = net.activations[l]
            w = net.widths[l]
            piece = code[off:off + w].astype(int)
            off += w
            if isinstance(act, MaxPool):
                M, km = G[act.winners(piece)], kg
                continue
            Ns, ks = _dyadic(np.asarray(act.slopes)[piece])
            M, km = Ns[:, None] * G, ks + kg
        raise AssertionError("unreachable")  # pragma: no cover

    def row_is_zero(self, code, layer, unit, minus=None):
        """Is neuron ``unit``'s pre-activation (minus neuron ``minus``'s) constant on the
        cell?"""
        G, _ = self.linear_part(code, layer)
        row = G[unit] if minus is None else G[unit] - G[minus]
        return all(v == 0 for v in row.tolist())

    def row_cancels(self, code, layer, unit):
        """Is neuron ``unit``'s row on the cell zero up to rounding: its exact norm at most
        ``AMBIGUITY`` times the layer's row scale, the larger of its largest row and of
        ``max_i sum_j |W_ij| ||M_j||`` (the size of the terms summed into the rows; the
        rule by which the engines call a neuron constant)? An exact zero row cancels."""
        G, kg, M, km = self._maps(code, layer)
        if all(v == 0 for v in G[unit].tolist()):
            return True
        # The test is homogeneous in W and M (G = W M), so it is made on W, M and G
        # rescaled exactly by powers of two to unit size: subnormal or huge weights cannot
        # under- or overflow it into a false "cancels".
        NW, kw = self.W[layer]
        Wf, sw = _unit_float(NW, kw)
        # M: the previous layer's output map (first layer: the input's, e.g. a Slice's)
        Mf, sm = _unit_float(M, km)
        Gf = np.array([float(_scaled_fraction(int(v), kg, sw + sm)) for v in
                       np.ravel(G).tolist()]).reshape(G.shape)
        scale = constant_row_scale(Gf, Wf, Mf)
        return bool(np.linalg.norm(Gf[unit]) <= AMBIGUITY * scale)


def _check_max_layer(ex, codes, l, off, U, ku, fail):
    """Exact checks of a max layer: each stored position holds its window's maximum and
    every other entry equal to it there is identical to it on the cell. Returns the
    layer's exact output (the stored maxima)."""
    act = ex.net.activations[l]
    stored = codes[:, off:off + act.n_out].astype(np.int64)
    win = act.winners(np.minimum(stored, act.sizes - 1))
    linear = {}  # region -> exact linear part of this layer (computed once per region)
    for w, window in enumerate(act.windows):
        V = U[:, list(window)]
        top = V.max(axis=1)
        mine = U[np.arange(U.shape[0]), win[:, w]]
        for i in np.flatnonzero(mine != top):
            fail(i, f"the exact code differs from the stored code at window {w} of max layer "
                    f"{l} (stored position {int(stored[i, w])} is not the maximum)")
        ties = (V == top[:, None]).sum(axis=1) > 1
        for i in np.flatnonzero(ties & (mine == top)):
            for p, j in enumerate(window):
                if j == win[i, w] or V[i, p] != top[i]:
                    continue
                if i not in linear:
                    linear[i] = ex.linear_part(codes[i], l)[0]
                G = linear[i]
                if not all(v == 0 for v in (G[j] - G[win[i, w]]).tolist()):
                    fail(i, f"the interior point lies exactly on a tie of window {w} of max "
                            f"layer {l} (positions {p} and {int(stored[i, w])})")
                    break
    return U[np.arange(U.shape[0])[:, None], win], ku


def _label_only(ex, code, layer, unit, Urow, ku, act, exact_piece, stored_piece):
    """A constant neuron whose exact value is within AMBIGUITY of the breakpoint between
    its exact and its stored (adjacent) piece: the stored piece is a rounding label."""
    if abs(exact_piece - stored_piece) != 1:
        return False
    t = float(act.breakpoints[min(exact_piece, stored_piece)])
    from fractions import Fraction

    u = float(Fraction(int(Urow[unit]), 1 << ku))
    scale = max(1.0, abs(t), max(abs(float(Fraction(int(v), 1 << ku))) for v in Urow.tolist()))
    if not abs(u - t) <= AMBIGUITY * scale:
        return False
    return ex.row_cancels(code, layer, unit)


def certify(rs) -> Certificate:
    """Prove, in exact arithmetic, that each region of ``rs`` is a genuine region.

    For every region ``i`` the check is: ``rs.points[i]`` lies strictly inside the
    domain; the exact forward pass at the point reproduces ``rs.codes[i]``; and no
    non-constant neuron sits exactly on a breakpoint there. Together these say the open
    cell of that code contains the point, so it is full-dimensional. Codes must also be
    distinct. See the module docstring for the method and its scope (it does not prove
    that no region is missing).

    Parameters
    ----------
    rs : RegionSet

    Returns
    -------
    Certificate
        ``cert.ok`` is True when every region is certified; ``cert.reasons`` says why
        each other region failed.

    Raises
    ------
    InvalidInputError
        ``rs`` is not a RegionSet or its arrays are inconsistent.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> net = pr.Network.from_arrays([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> rs = pr.enumerate_regions(net, pr.Box.cube(2))
    >>> cert = pr.certify(rs)
    >>> cert.ok, cert.n_certified
    (True, 4)
    >>> rs.points[0] = [0.0, 0.5]            # on the hyperplane x = 0: not interior
    >>> pr.certify(rs).reasons[0][:39]
    'the exact code differs from the stored '
    """
    from .domain import Slice
    from .regions import RegionSet

    if not isinstance(rs, RegionSet):
        raise InvalidInputError(f"`rs` must be a polyregion.RegionSet; got {type(rs).__name__}.")
    net = rs.net
    domain = rs.domain
    codes = np.asarray(rs.codes)
    T = np.asarray(rs.points, dtype=np.float64)
    n = codes.shape[0]
    if codes.ndim != 2 or codes.shape[1] != net.n_neurons or T.shape != (n, domain.dim):
        raise InvalidInputError(
            f"`rs` is inconsistent: codes of shape {codes.shape} and points of shape "
            f"{T.shape} for a network of {net.n_neurons} neurons on a {domain.dim}-D domain.")
    exact_network = not net.has_bn
    if net.has_bn:
        net = net.fold_bn()
    certified = np.ones(n, bool)
    reasons = {}
    ambiguous = {}

    def fail(i, msg):
        if certified[i]:
            certified[i] = False
            reasons[int(i)] = msg

    finite = np.all(np.isfinite(T), axis=1)
    for i in np.flatnonzero(~finite):
        fail(i, "the interior point is not finite")
    Tf = np.where(finite[:, None], T, 0.0)
    for i, msg in _domain_violations(domain, Tf).items():
        fail(i, msg)
    if n > 1 and codes.shape[1]:
        order = np.lexsort(codes.T[::-1])
        dup = np.all(codes[order[1:]] == codes[order[:-1]], axis=1)
        for j in np.flatnonzero(dup):
            fail(order[j + 1], f"its code repeats the code of region {int(order[j])}")
    elif n > 1:
        for i in range(1, n):
            fail(i, "a network without hidden neurons has exactly one region")
    if n == 0 or net.n_neurons == 0:
        return Certificate(n, certified, reasons, exact_network, ambiguous)

    # exact network input Z / 2**kz for every region, and its linear part in t
    NT, kt = _dyadic(Tf)
    if isinstance(domain, Slice):
        NO, ko = _dyadic(domain.origin)
        ND, kd = _dyadic(domain.directions)
        Z, kz = _add(*_matmul(NT, kt, ND, kd), np.broadcast_to(NO, (n, NO.shape[0])), ko)
        M0, k0 = ND.T.copy(), kd
    else:
        Z, kz = NT, kt
        M0, k0 = _obj(np.eye(domain.dim, dtype=np.int64)), 0
    ex = _Exact(net, M0, k0)
    off = 0
    for l in range(net.n_layers - 1):
        W, b = net.weights[l], net.biases[l]
        NW, kw = ex.W[l]
        Nb, kb = _dyadic(b)
        U, ku = _add(*_matmul(Z, kz, NW.T, kw), np.broadcast_to(Nb, (n, Nb.shape[0])), kb)
        act = net.activations[l]
        if isinstance(act, MaxPool):
            Z, kz = _check_max_layer(ex, codes, l, off, U, ku, fail)
            off += act.n_out
            continue
        Nt, kbp = _dyadic(np.asarray(act.breakpoints))
        U2, T2, kc = _align(U, ku, Nt, kbp)
        # exact piece index: number of breakpoints <= u (searchsorted side="right")
        piece = np.zeros(U.shape, np.int64)
        on_bp = np.zeros(U.shape, bool)
        for t in T2.tolist():
            piece += np.asarray(U2 >= t, bool)
            on_bp |= np.asarray(U2 == t, bool)
        stored = codes[:, off:off + W.shape[0]].astype(np.int64)
        diff = piece != stored
        for i, j in zip(*np.nonzero(diff)):
            if _label_only(ex, codes[i], l, int(j), U[i], ku, act, int(piece[i, j]),
                           int(stored[i, j])):
                ambiguous.setdefault(int(i), []).append((off + int(j), int(piece[i, j])))
                continue
            fail(i, f"the exact code differs from the stored code at neuron {j} of layer "
                    f"{l} (exact piece {int(piece[i, j])}, stored {int(stored[i, j])})")
        for i, j in zip(*np.nonzero(on_bp & ~diff)):
            if not certified[i] or ex.row_is_zero(codes[i], l, int(j)):
                continue
            if ex.row_cancels(codes[i], l, int(j)):  # a rounding-level row: a label
                ambiguous.setdefault(int(i), []).append((off + int(j), int(piece[i, j])))
                continue
            fail(i, f"the interior point lies exactly on a breakpoint hyperplane of "
                    f"neuron {j} of layer {l}")
        # continue along the stored code (regions that failed are already reported)
        pc = np.minimum(stored, act.n_pieces - 1)
        Ns, ks = _dyadic(np.asarray(act.slopes)[pc])
        Nc, kc2 = _dyadic(np.asarray(act.intercepts)[pc])
        Z, kz = _add(Ns * U, ks + ku, Nc, kc2)
        off += W.shape[0]
    for i in list(ambiguous):
        if not certified[i]:
            del ambiguous[i]
    return Certificate(n, certified, reasons, exact_network, ambiguous)
