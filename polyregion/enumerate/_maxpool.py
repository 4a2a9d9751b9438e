"""Exact enumeration of networks with max layers (max pooling, maxout).

A max layer ``z_w = max_{i in w} u_i`` is rewritten as a *tournament* of ReLU layers:
a pair ``(a, b)`` becomes the two neurons ``relu(b - a)`` (the comparison) and a carried
``a``, and ``max(a, b) = a + relu(b - a)``; ``ceil(log2 k)`` such levels reduce a window
of ``k`` entries to its maximum. The carried value must pass a ReLU unchanged: on a
bounded domain it is shifted by a power of two ``M`` above every value it can take there
(interval bounds), ``relu(a + M) - M = a``, so its hyperplane lies outside the domain and
never cuts; on an unbounded domain it is carried as ``relu(a) - relu(-a)``.

The expanded ReLU network computes the same function; its activation regions refine the
regions of the max network (a comparison between two entries that both lose, and on an
unbounded domain the sign of a carried value, cut regions that the max network does not
cut). The engine enumerates the expanded network and merges its cells by the *true* code
(the position of each window's maximum, read from the tournament): a region of the max
network is the union of the expanded cells with its code, every such union is a convex
full-dimensional cell, and every region contains at least one expanded cell, so the merge
is exact. The interior point and inscribed ball of the largest expanded cell are kept.
On an exact tie the tournament's comparison neuron is "on" (``relu`` codes ``u = 0`` as
piece 1), so the later entry wins — :class:`~polyregion.MaxPool`'s convention.
"""

from __future__ import annotations

import numpy as np

from ..errors import BudgetExceededError, InvalidInputError
from ..network import MaxPool, Network, get_activation

__all__ = ["Expansion", "enumerate_max"]

_RELU = get_activation("relu")


def _act_bounds(act, lo, hi):
    """Bounds of ``act(u)`` for ``u`` in ``[lo, hi]`` (elementwise; any PL activation)."""
    vals = [act(lo), act(hi)]
    for t in act.breakpoints:
        inside = (lo < t) & (t < hi)
        vals.append(np.where(inside, act(np.full_like(lo, t)), vals[0]))
    V = np.array(vals)
    return V.min(axis=0), V.max(axis=0)


def _pow2_above(x):
    """The smallest power of two >= 2 x (1.0 for x = 0)."""
    x = float(x)
    if not np.isfinite(x):
        raise InvalidInputError(
            "A max layer's values are not bounded in floating point on this domain.")
    return 1.0 if x <= 0.0 else float(np.ldexp(1.0, int(np.frexp(2.0 * x)[1])))


def input_box(domain):
    """The bounding box of ``domain`` in the network's input coordinates, or None."""
    if not domain.bounded:
        return None
    lo, hi = (np.asarray(v, float) for v in domain.bounds())
    D = getattr(domain, "directions", None)
    if D is None:
        return lo, hi
    c, r = 0.5 * (lo + hi), 0.5 * (hi - lo)
    xc = domain.origin + D.T @ c
    xr = np.abs(D.T) @ r
    return xc - xr, xc + xr


class Expansion:
    """The tournament expansion of a network with max layers.

    Attributes
    ----------
    net : Network
        The expanded network (BN folded, no max layer); same input and output.
    true_layers : list
        Per layer of the original network: ``("copy", offset, width)`` (the expanded
        neurons that are this layer's neurons) or ``("max", matches, posmap)`` with
        ``matches[w]`` the list of levels of window ``w``, each a list of
        ``(slot_a, slot_b, neuron)`` pairs (``slot_b = -1``: carried alone), and
        ``posmap[w]`` the window positions of the first level's slots (an entry
        identical to a later entry of its window has none: it never wins).
    labels : ndarray (n_expanded, 2)
        ``(layer, unit)`` of the original network behind each expanded neuron (``unit``
        is the window for comparisons, ``-1`` for carried values).
    """

    def __init__(self, net: Network, box=None):
        net = net.fold_bn()
        self.source = net
        Ws, bs, acts = [], [], []
        labels = []
        true_layers = []
        k = net.input_dim
        T, t = np.eye(k), np.zeros(k)  # the current layer's input z = T h + t
        hbox = box
        n_exp = 0
        last = net.n_layers - 1
        for l, (W, b) in enumerate(zip(net.weights, net.biases)):
            U, v = W @ T, W @ t + b
            if l == last:
                Ws.append(U)
                bs.append(v)
                break
            act = net.activations[l]
            if not isinstance(act, MaxPool):
                Ws.append(U)
                bs.append(v)
                acts.append(act)
                true_layers.append(("copy", n_exp, U.shape[0]))
                labels.extend((l, j) for j in range(U.shape[0]))
                n_exp += U.shape[0]
                if hbox is not None:
                    lo, hi = self._pre_bounds(U, v, hbox)
                    hbox = _act_bounds(act, lo, hi)
                T, t = np.eye(U.shape[0]), np.zeros(U.shape[0])
                continue
            # a max layer: candidates are affine functions of h (rows of C, offsets c)
            C, c = U, v
            # rows of C of each window's slots; an entry identical to a later one of its
            # window (same row and offset) never wins (the last maximal position does), and
            # comparing the two would decide an exact tie by rounding noise after the
            # carried values' shifts, so it gets no slot; posmap: slot -> window position
            cands, posmap = [], []
            for win in act.windows:
                win = [int(i) for i in win]
                keep = [p for p, i in enumerate(win)
                        if not any(c[i] == c[j] and np.array_equal(C[i], C[j])
                                   for j in win[p + 1:])]
                cands.append([win[p] for p in keep])
                posmap.append(keep)
            matches = [[] for _ in act.windows]
            while any(len(s) > 1 for s in cands):
                M = None
                if hbox is not None:
                    lo, hi = self._pre_bounds(C, c, hbox)
                    M = _pow2_above(np.max(np.abs(np.concatenate([lo, hi]))))
                rows, offs, lab = [], [], []
                new_rows, new_offs = [], []  # the next slots, as combinations of neurons
                new_cands = []

                def carry(i, w):
                    """Neurons carrying candidate i; returns its combination (idx, coef)."""
                    if M is not None:
                        rows.append(C[i])
                        offs.append(c[i] + M)
                        lab.append((l, -1))
                        return [(len(rows) - 1, 1.0)], -M
                    rows.extend([C[i], -C[i]])
                    offs.extend([c[i], -c[i]])
                    lab.extend([(l, -1), (l, -1)])
                    return [(len(rows) - 2, 1.0), (len(rows) - 1, -1.0)], 0.0

                for w, slots in enumerate(cands):
                    level, nxt = [], []
                    for j in range(0, len(slots), 2):
                        a = slots[j]
                        comb, off = carry(a, w)
                        if j + 1 < len(slots):
                            bb = slots[j + 1]
                            rows.append(C[bb] - C[a])
                            offs.append(c[bb] - c[a])
                            lab.append((l, w))
                            comb = comb + [(len(rows) - 1, 1.0)]
                            level.append((j, j + 1, n_exp + len(rows) - 1))
                        else:
                            level.append((j, -1, -1))
                        new_rows.append(comb)
                        new_offs.append(off)
                        nxt.append(len(new_rows) - 1)
                    matches[w].append(level)
                    new_cands.append(nxt)
                R, r = np.array(rows), np.array(offs)
                Ws.append(R)
                bs.append(r)
                acts.append(_RELU)
                labels.extend(lab)
                n_exp += R.shape[0]
                if hbox is not None:
                    lo, hi = self._pre_bounds(R, r, hbox)
                    hbox = (np.maximum(lo, 0.0), np.maximum(hi, 0.0))
                C = np.zeros((len(new_rows), R.shape[0]))
                for s, comb in enumerate(new_rows):
                    for idx, coef in comb:
                        C[s, idx] += coef
                c = np.array(new_offs)
                cands = new_cands
            true_layers.append(("max", matches, posmap))
            T = C[[s[0] for s in cands]]
            t = c[[s[0] for s in cands]]
        self.net = Network.from_arrays(Ws, bs, activation=acts or "relu")
        self.bounded = box is not None
        self.true_layers = true_layers
        self.labels = np.array(labels, np.int64).reshape(-1, 2)

    @staticmethod
    def _pre_bounds(U, v, hbox):
        lo, hi = hbox
        mid, rad = 0.5 * (lo + hi), 0.5 * (hi - lo)
        cen, r = U @ mid + v, np.abs(U) @ rad
        return cen - r, cen + r

    def true_codes(self, codes):
        """Codes of the original network for codes of the expanded one."""
        codes = np.asarray(codes)
        n = codes.shape[0]
        out = []
        for kind, *rest in self.true_layers:
            if kind == "copy":
                off, w = rest
                out.append(codes[:, off:off + w])
                continue
            matches, posmap = rest
            layer = np.zeros((n, len(matches)), np.uint8)
            for w, levels in enumerate(matches):
                # the first level's slots hold the window positions posmap[w]
                pos = [np.full(n, p, np.uint8) for p in posmap[w]]
                for level in levels:
                    nxt = []
                    for a, b, q in level:
                        if b < 0:
                            nxt.append(pos[a])
                        else:
                            nxt.append(np.where(codes[:, q] >= 1, pos[b], pos[a]))
                    pos = nxt
                layer[:, w] = pos[0]
            out.append(layer)
        if not out:
            return np.zeros((n, 0), np.uint8)
        return np.ascontiguousarray(np.concatenate(out, axis=1), dtype=np.uint8)


def expansion_for(net, domain):
    """The :class:`Expansion` of ``net`` for enumeration on ``domain``."""
    return Expansion(net, input_box(domain))


def merge(net, domain, sub, ex):
    """The RegionSet of ``net`` from the RegionSet ``sub`` of its expansion ``ex``."""
    from ..regions import RegionSet, RegionStats

    tc = ex.true_codes(sub.codes)
    n = tc.shape[0]
    carried = np.flatnonzero(ex.labels[:, 1] < 0)
    if ex.bounded and n and len(carried) and np.any(sub.codes[:, carried] == 0):
        from ..errors import SolverError

        raise SolverError(  # pragma: no cover - the shift bounds every carried value
            "A carried value of a max layer's tournament left its interval bound; the "
            "enumeration of this max network is not exact. Please report this network.")
    if n:
        m = tc.shape[1]
        # by code (the primary key is lexsort's last), then the largest ball first
        order = np.lexsort([-sub.radii] + [tc[:, j] for j in range(m - 1, -1, -1)])
        tcs = tc[order]
        first = np.ones(n, bool)
        first[1:] = np.any(tcs[1:] != tcs[:-1], axis=1)
        keep = order[first]
    else:
        keep = np.zeros(0, np.int64)
    st = sub.stats
    extra = dict(st.extra)
    extra.update(expanded_cells=int(n), expanded_neurons=int(ex.net.n_neurons))
    stats = RegionStats(method=st.method, seconds=st.seconds, n_lps=st.n_lps,
                        n_regions=int(len(keep)), n_retries=st.n_retries,
                        n_failed=st.n_failed, extra=extra)
    # ``keep`` follows the code order of the lexsort: already canonical
    return RegionSet(net, domain, tc[keep], sub.points[keep], sub.radii[keep],
                     stats=stats, tolerances=sub.tolerances, sort=False)


def enumerate_max(net, domain, method, resume=None, **kwargs):
    """``enumerate_regions`` for a network with max layers (see the module docstring)."""
    from .engine import enumerate_regions

    ex = expansion_for(net, domain)
    if resume is not None and not isinstance(resume, (str, bytes)) \
            and not hasattr(resume, "__fspath__"):
        resume = getattr(resume, "_expanded", resume)
    try:
        sub = enumerate_regions(ex.net, domain, method=method, resume=resume, **kwargs)
    except BudgetExceededError as exc:
        partial = merge(net, domain, exc.partial, ex)
        partial._expanded = exc.partial
        for attr in ("frontier", "checkpoint"):  # what resume= and the user look at
            if hasattr(exc.partial, attr):
                setattr(partial, attr, getattr(exc.partial, attr))
        raise BudgetExceededError(
            str(exc) + " (counts of a network with max layers are of expanded cells; "
            "resume with the partial result as usual)", partial=partial) from None
    return merge(net, domain, sub, ex)
