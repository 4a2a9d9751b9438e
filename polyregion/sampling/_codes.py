"""Activation patterns of sampled points: evaluated, packed, keyed, counted and looked up.

What it computes
----------------
:class:`_Codec` gives the activation codes of a chunk of points (the network's forward
pass, :mod:`polyregion._forward`, or with tolerances the engines' cell codes) and packs
them into bytes and 64-bit keys; :class:`_PatternTable` counts the distinct packed
patterns of a stream of chunks; :class:`_CodeIndex` finds packed patterns among the codes
of a RegionSet.

Method and cost
---------------
Each pattern is packed into bits (one bit per neuron for two-piece activations,
``ceil(log2(pieces))`` bits otherwise) and keyed by the packed word itself when it fits
in 64 bits, else by a 64-bit splitmix hash of the packed bytes; the first packed pattern
of every key is kept and compared, and the rare rows whose hash collides with a
different pattern are counted exactly by their bytes. Memory is therefore
``O(distinct patterns x (16 + packed bytes))`` plus one chunk, whatever the number of
points. Time is one forward pass per point plus ``O(log distinct)`` per row for the
sorted-key merge and lookup.
"""

from __future__ import annotations

import math

import numpy as np

from .._forward import cell_codes, forward_codes

#: The forward pass's codes of the rows of ``T`` (equal to ``Network.codes``), under the
#: name the tests import.
_forward_codes = forward_codes


class _Codec:
    """Packs activation codes into bytes and 64-bit keys. With ``tolerances`` (and the
    domain's ``frame``, :func:`~polyregion.network.domain_frame`) the codes follow the
    engines' constant-neuron rule (:func:`~polyregion.network.cell_codes`)."""

    def __init__(self, enum_net, key_mask=None, tolerances=None, frame=None):
        self.net, self.tolerances = enum_net, tolerances
        self.frame = (None, 1.0) if frame is None else frame
        self.layers = enum_net.effective_layers()
        self.acts = list(enum_net.activations)
        self.n_neurons = enum_net.n_neurons
        pieces = max([a.n_pieces for a in self.acts], default=2)
        self.bits = max(1, int(math.ceil(math.log2(pieces))))
        self.nbytes = max(1, self.bits * ((self.n_neurons + 7) // 8))
        self.nwords = (self.nbytes + 7) // 8
        # keys are the packed word itself (exact) when it fits in 64 bits
        self.exact = self.nwords == 1 and key_mask is None
        self.key_mask = None if key_mask is None else np.uint64(key_mask)

    def codes(self, T):
        if self.tolerances is not None:
            return cell_codes(self.net, T, self.tolerances, *self.frame)
        return forward_codes(self.layers, self.acts, T)

    def pack(self, codes):
        m = codes.shape[0]
        if self.n_neurons == 0:
            return np.zeros((m, 1), np.uint8)
        if self.bits == 1:
            return np.packbits(codes, axis=1)
        return np.concatenate([np.packbits((codes >> k) & 1, axis=1)
                               for k in range(self.bits)], axis=1)

    def unpack(self, packed):
        if self.n_neurons == 0:
            return np.zeros((packed.shape[0], 0), np.uint8)
        per = (self.n_neurons + 7) // 8
        out = np.zeros((packed.shape[0], self.n_neurons), np.uint8)
        for k in range(self.bits):
            plane = np.unpackbits(packed[:, k * per:(k + 1) * per], axis=1,
                                  count=self.n_neurons)
            out |= plane << k
        return out

    def keys(self, packed):
        m = packed.shape[0]
        buf = np.zeros((m, self.nwords * 8), np.uint8)
        buf[:, :packed.shape[1]] = packed
        words = buf.view(np.uint64)
        if self.nwords == 1:
            h = words[:, 0].copy()
        else:
            h = np.full(m, np.uint64(0x9E3779B97F4A7C15))
            for j in range(self.nwords):
                h = _mix64(h ^ words[:, j])
        if self.key_mask is not None:  # testing hook: force collisions
            h &= self.key_mask
        return h


def _mix64(x):
    """The splitmix64 finaliser (a bijection of uint64 with good avalanche)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _PatternTable:
    """Counts of distinct packed patterns, merged chunk by chunk (sorted 64-bit keys)."""

    def __init__(self, codec):
        self.codec = codec
        self.keys = np.zeros(0, np.uint64)
        self.counts = np.zeros(0, np.int64)
        self.reps = np.zeros((0, codec.nbytes), np.uint8)
        self.spill = {}  # packed bytes -> count, for rows whose key collided
        self.n = 0

    def _spill(self, rows, counts):
        for r, c in zip(rows, counts):
            k = r.tobytes()
            self.spill[k] = self.spill.get(k, 0) + int(c)

    def add(self, packed, keys):
        self.n += len(keys)
        uk, first, inv, cnt = np.unique(keys, return_index=True, return_inverse=True,
                                        return_counts=True)
        inv = inv.ravel()
        reps = packed[first]
        if not self.codec.exact:
            bad = np.any(packed != reps[inv], axis=1)
            if bad.any():
                self._spill(packed[bad], np.ones(int(bad.sum()), np.int64))
                cnt = np.bincount(inv[~bad], minlength=len(uk))
                keep = cnt > 0
                uk, reps, cnt = uk[keep], reps[keep], cnt[keep]
        pos = np.searchsorted(self.keys, uk)
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] == uk[found]
        new = ~found
        if not self.codec.exact and found.any():
            fi = np.flatnonzero(found)
            clash = np.any(self.reps[pos[fi]] != reps[fi], axis=1)
            if clash.any():
                self._spill(reps[fi[clash]], cnt[fi[clash]])
                found[fi[clash]] = False
        self.counts[pos[found]] += cnt[found]
        if new.any():
            p = pos[new]
            self.keys = np.insert(self.keys, p, uk[new])
            self.counts = np.insert(self.counts, p, cnt[new])
            self.reps = np.insert(self.reps, p, reps[new], axis=0)

    def result(self):
        """``(packed patterns, counts)`` of all distinct patterns."""
        reps, counts = self.reps, self.counts.copy()
        if not self.spill:
            return reps, counts
        extra_rows, extra_counts = [], []
        for k, c in self.spill.items():
            row = np.frombuffer(k, np.uint8)[None, :]
            key = self.codec.keys(row)[0]
            p = int(np.searchsorted(self.keys, key))
            if p < len(self.keys) and self.keys[p] == key and np.array_equal(reps[p], row[0]):
                counts[p] += c
            else:
                extra_rows.append(row[0])
                extra_counts.append(c)
        if extra_rows:
            reps = np.vstack([reps, np.array(extra_rows, np.uint8)])
            counts = np.concatenate([counts, np.array(extra_counts, np.int64)])
        return reps, counts


class _CodeIndex:
    """Vectorised lookup of packed patterns among the codes of a RegionSet."""

    def __init__(self, codec, codes):
        self.codec = codec
        packed = codec.pack(np.ascontiguousarray(codes, dtype=np.uint8))
        keys = codec.keys(packed)
        order = np.argsort(keys, kind="stable")
        self.keys, self.idx, self.packed = keys[order], order, packed
        dup = np.flatnonzero(self.keys[1:] == self.keys[:-1])
        self.spill = {}
        if len(dup):  # colliding keys (or duplicate codes): exact lookup by bytes
            rows = np.unique(np.concatenate([dup, dup + 1]))
            for r in rows[::-1]:
                self.spill[packed[order[r]].tobytes()] = int(order[r])

    def lookup(self, packed, keys):
        if len(self.keys) == 0:
            return np.full(len(keys), -1, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        match = self.keys[pos] == keys
        cand = self.idx[pos]
        ok = match.copy()
        if not self.codec.exact:
            ok[match] = np.all(self.packed[cand[match]] == packed[match], axis=1)
        out = np.where(ok, cand, -1).astype(np.int64)
        if self.spill:
            for r in np.flatnonzero(match & ~ok):
                out[r] = self.spill.get(packed[r].tobytes(), -1)
        return out
