"""Checkpoints of a run in work units: a directory of shards that cannot lie.

``manifest.json`` (a fingerprint of the problem), a journal ``written.txt`` naming every
file the library creates there (before creating it), and one ``units_<first>.npz`` shard
per completed batch of units, written atomically (temp file + rename). A shard carries
the problem's fingerprint, the digest of the unit plan, its unit ids and a SHA-256 digest
of its arrays; on resume each is checked, and anything foreign, tampered or inconsistent
raises :class:`~polyregion.errors.CheckpointError`; files not in the journal are never
overwritten or deleted (:class:`Checkpoint`).

Cost: one hash of each shard's arrays when it is written and when it is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np

from ..errors import CheckpointError
from ._units import Batch, _prefixes_match, packable


# ------------------------------------------------------------------ checkpoints
#: version of the unit shards (sorted, packed rows; fingerprint, plan and digest inside);
#: part of the fingerprint, so a directory written by another version is refused rather
#: than misread
SHARD_VERSION = 3


#: a checkpoint directory's manifest (format, version, fingerprint of the problem)
MANIFEST = "manifest.json"


#: the journal of a checkpoint directory: the name of every file the library creates
#: there, appended *before* the file is created (so a kill never leaves a file of ours
#: unlisted); only files listed in it are ever overwritten or deleted
JOURNAL = "written.txt"


#: a shard (group 1: its first unit) or a shard being written (group 2)
_SHARD_NAME = re.compile(r"units_(\d{9})\.npz(\.tmp\.npz)?")


#: the files of a directory of regions (:func:`write_region_dir`) and their temporaries
_RESULT_NAMES = frozenset(["codes.npy", "points.npy", "radii.npy", "codes.npy.tmp",
                           "points.npy.tmp", "radii.npy.tmp", "meta.npz", "meta.tmp.npz",
                           "regions.json", "regions.json.tmp"])


#: the arrays of a shard covered by its digest, in digest order
_SHARD_ARRAYS = ("unit_ids", "sizes", "codes", "points", "radii", "packed", "n_lps")


def _library_name(name):
    """True for the names of files the library writes in a checkpoint directory."""
    return name in _RESULT_NAMES or _SHARD_NAME.fullmatch(name) is not None


def fingerprint(prep, method, tol) -> str:
    """SHA-256 of everything the regions depend on: the bytes, dtypes and shapes of the
    prepared network (weights, biases, activations' breakpoints, slopes and intercepts,
    layer widths), of the domain (half-spaces, centre, scale), and the method, the
    tolerances and :data:`SHARD_VERSION`. Two problems with the same shapes but other
    values have different fingerprints."""
    h = hashlib.sha256()
    for arr in (prep.W_flat, prep.b_flat, prep.dims, prep.n_bp, prep.bps, prep.slopes,
                prep.intercepts, prep.A0, prep.b0, np.array([prep.scale]), prep.center):
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}{arr.shape};".encode())
        h.update(arr.tobytes())
    h.update(repr((method, tol, SHARD_VERSION)).encode())
    return h.hexdigest()


def plan_digest(codes0) -> str:
    """SHA-256 of a unit plan (the prefix codes of the units, in order)."""
    codes0 = np.ascontiguousarray(codes0, dtype=np.uint8)
    return hashlib.sha256(repr(codes0.shape).encode() + codes0.tobytes()).hexdigest()


def _shard_digest(fp, plan, arrays):
    """SHA-256 of a shard's arrays (names, dtypes, shapes, bytes), its problem's
    fingerprint and its plan: detects a shard edited or corrupted after it was written."""
    h = hashlib.sha256()
    h.update(f"{fp};{plan};".encode())
    for name in _SHARD_ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}{a.shape};".encode())
        h.update(a.reshape(-1).view(np.uint8))  # the bytes, without a copy
    return h.hexdigest()


def _batch_problem(b, codes0, packed, width, k):
    """What is inconsistent in the :class:`Batch` ``b`` of a plan with prefix codes
    ``codes0`` (a sentence), or None: unit ids ascending and in range, one size per unit,
    arrays of the problem's dtypes and shapes with one row per region, finite points,
    positive radii, and every region's first-layer prefix equal to its unit's code."""
    ids, sizes = np.asarray(b.ids), np.asarray(b.sizes)
    n_units = len(codes0)
    if ids.dtype != np.int64 or ids.ndim != 1 or not len(ids):
        return "its `unit_ids` are not a non-empty 1-D int64 array"
    if np.any(np.diff(ids) <= 0) or ids[0] < 0 or ids[-1] >= n_units:
        return (f"its `unit_ids` must ascend strictly within [0, {n_units}) (the plan's "
                f"units); got {ids[:8].tolist()}{' ...' if len(ids) > 8 else ''}")
    if sizes.dtype != np.int64 or sizes.shape != ids.shape or np.any(sizes < 0):
        return "its `sizes` are not one non-negative int64 per unit"
    n = int(sizes.sum())
    codes, pts, radii = b.codes, b.points, b.radii
    if bool(b.packed) != packed or codes.dtype != np.uint8 or codes.shape != (n, width):
        form = "bit-packed" if packed else "one byte per neuron"
        return (f"its codes must be ({n}, {width}) uint8 ({form}); got {codes.shape} "
                f"{codes.dtype}, packed={bool(b.packed)}")
    if pts.dtype != np.float64 or pts.shape != (n, k) or radii.dtype != np.float64 \
            or radii.shape != (n,):
        return (f"its points and radii must be ({n}, {k}) and ({n},) float64; got "
                f"{pts.shape} {pts.dtype} and {radii.shape} {radii.dtype}")
    if not (np.all(np.isfinite(pts)) and np.all(np.isfinite(radii)) and np.all(radii > 0)):
        return "its points or radii are not finite, or a radius is not positive"
    if not _prefixes_match(codes, packed, codes0[ids], sizes):
        return ("a region's first-layer prefix code differs from the code of the unit it is "
                "filed under (`unit_ids` shifted or codes edited)")
    return None


class Checkpoint:
    """A directory of completed work units (see the module docstring).

    Files: ``manifest.json`` (format, version, fingerprint of the problem), the journal
    ``written.txt`` (every file the library creates here, listed before it is created)
    and one shard ``units_<first unit>.npz`` per completed batch, holding the problem's
    fingerprint, the digest of the unit plan, its unit ids and sizes, and a SHA-256
    digest of all of it. Opening a directory checks the manifest and refuses files named
    like the library's that the journal does not list; :meth:`shards` and :meth:`read`
    check every shard (fingerprint, plan, digest, unit ids against the plan and against
    the other shards, every region's prefix code against its unit's). Anything foreign,
    tampered or inconsistent raises :class:`~polyregion.errors.CheckpointError`; a file
    not listed in the journal is never overwritten or deleted.
    """

    def __init__(self, path, fp):
        self.path = os.fspath(path)
        self.fingerprint = fp
        self.codes0 = self.plan = None
        os.makedirs(self.path, exist_ok=True)
        man = os.path.join(self.path, MANIFEST)
        if os.path.exists(man):
            try:
                with open(man) as f:
                    info = json.load(f)
            except (OSError, ValueError) as exc:
                raise CheckpointError(f"Checkpoint directory {self.path!r}: its {MANIFEST} "
                                      f"cannot be read ({exc}).") from None
            if not isinstance(info, dict) or "fingerprint" not in info:
                raise CheckpointError(
                    f"Directory {self.path!r} has a {MANIFEST} that polyregion did not "
                    "write; it is not used as a checkpoint and nothing in it is changed: "
                    "use a new directory.")
            if info.get("version") != SHARD_VERSION:
                raise CheckpointError(
                    f"Checkpoint {self.path!r} was written by another polyregion version "
                    f"(shard version {info.get('version')!r}; this one reads "
                    f"{SHARD_VERSION}); use a new directory.")
            if info.get("fingerprint") != fp:
                raise CheckpointError(
                    f"Checkpoint {self.path!r} belongs to a different problem (network, "
                    "domain, method or tolerances differ, or another polyregion version "
                    "wrote it); use a new directory.")
            self._written = self._read_journal()
            foreign = sorted(n for n in os.listdir(self.path)
                             if _library_name(n) and n not in self._written)
            if foreign:
                more = " ..." if len(foreign) > 5 else ""
                raise CheckpointError(
                    f"Checkpoint {self.path!r} holds files named like polyregion's that it "
                    f"did not write ({', '.join(foreign[:5])}{more}; not in {JOURNAL}): "
                    "they are neither used nor deleted; move them away.")
        else:
            clash = sorted(n for n in os.listdir(self.path)
                           if _library_name(n) or n in (JOURNAL, MANIFEST + ".tmp"))
            if clash:
                more = " ..." if len(clash) > 5 else ""
                raise CheckpointError(
                    f"Directory {self.path!r} holds files named like polyregion's "
                    f"({', '.join(clash[:5])}{more}) but no "
                    f"polyregion {MANIFEST}; they would be overwritten or deleted, so the "
                    "directory is refused: use a new or empty directory for `checkpoint=` "
                    "or `out=`.")
            self._written = set()
            with open(man + ".tmp", "w") as f:
                json.dump({"format": "polyregion-checkpoint", "version": SHARD_VERSION,
                           "fingerprint": fp, "journal": JOURNAL}, f)
            os.replace(man + ".tmp", man)

    def _read_journal(self):
        try:
            with open(os.path.join(self.path, JOURNAL)) as f:
                text = f.read()
        except FileNotFoundError:  # killed between the manifest and the first shard
            return set()
        lines = text.split("\n")
        return set(lines[:-1])  # the last piece is "" or a line cut short by a kill

    def note(self, *names):
        """List ``names`` in the journal (before creating them)."""
        new = [n for n in names if n not in self._written]
        if new:
            text = "".join(n + "\n" for n in new).encode()
            with open(os.path.join(self.path, JOURNAL), "ab+") as f:
                if f.seek(0, os.SEEK_END) > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":  # a line cut short by a kill: start a new one
                        text = b"\n" + text
                f.write(text)
            self._written.update(new)

    def bind(self, codes0, prep):
        """Tie the directory to the unit plan ``codes0`` of the problem ``prep``: shards
        are written and checked against it."""
        self.codes0 = codes0
        self.plan = plan_digest(codes0)
        self.packed = packable(prep)
        n_neur = int(sum(prep.dims[1:-1]))
        self.width = -(-n_neur // 8) if self.packed else n_neur
        self.k = int(prep.dims[0])

    def _bad(self, path, what):
        return CheckpointError(f"Checkpoint shard {path!r}: {what}. It was not written by "
                               "this run's problem and plan, or was changed since; nothing "
                               "was deleted: move it away (its units are then redone).")

    def shards(self, check=True):
        """Completed shards, and no unit in two of them: a list of ``(path, unit_ids,
        sizes, n_lps)`` (a shard cut short by a kill is a temporary file and is ignored:
        its units run again). With ``check`` every shard is read whole and checked by
        :meth:`read`; without, only its unit ids and sizes are read (whoever then reads
        the shard must use :meth:`read`)."""
        out = []
        covered = np.zeros(len(self.codes0), bool)
        for name in sorted(os.listdir(self.path)):
            m = _SHARD_NAME.fullmatch(name)
            if m is None or m.group(2):
                continue
            path = os.path.join(self.path, name)
            if name not in self._written:
                raise self._bad(path, f"not listed in {JOURNAL} (a foreign file)")
            if check:
                b = self.read(path)
                ids, sizes, n_lps = b.ids, b.sizes, b.n_lps
            else:
                try:
                    with np.load(path, allow_pickle=False) as f:
                        ids, sizes, n_lps = f["unit_ids"], f["sizes"], int(f["n_lps"])
                except Exception as exc:
                    raise self._bad(path, f"cannot be read as a shard ({type(exc).__name__}: "
                                          f"{exc})") from None
                if ids.dtype != np.int64 or ids.ndim != 1 or sizes.shape != ids.shape \
                        or np.any(ids < 0) or np.any(ids >= len(covered)):
                    raise self._bad(path, "its `unit_ids` or `sizes` are malformed or out of "
                                          "the plan's range")
            if np.any(covered[ids]):
                dup = ids[covered[ids]]
                raise self._bad(path, f"units {dup[:8].tolist()} are also in another shard")
            covered[ids] = True
            out.append((path, ids, sizes, n_lps))
        return out

    def read(self, path):
        """The :class:`Batch` stored in shard ``path``, checked: it carries this
        problem's fingerprint and plan, its arrays match its digest, its name is its first
        unit, and :func:`_batch_problem` finds nothing wrong."""
        try:
            with np.load(path, allow_pickle=False) as f:
                z = {key: f[key] for key in _SHARD_ARRAYS + ("fingerprint", "plan", "digest")}
        except Exception as exc:  # not a zip, truncated, a key missing, pickled objects
            raise self._bad(path, f"cannot be read as a shard ({type(exc).__name__}: "
                                  f"{exc})") from None
        if z["fingerprint"].shape or str(z["fingerprint"]) != self.fingerprint:
            raise self._bad(path, "written for another problem (network, domain, method or "
                                  "tolerances): its fingerprint differs")
        if z["plan"].shape or str(z["plan"]) != self.plan:
            raise self._bad(path, "written for another plan of work units")
        if z["digest"].shape or str(z["digest"]) != _shard_digest(self.fingerprint,
                                                                  self.plan, z):
            raise self._bad(path, "its contents do not match its SHA-256 digest (tampered "
                                  "or corrupt)")
        if z["packed"].shape or z["n_lps"].shape or z["packed"].dtype.kind not in "iub" \
                or z["n_lps"].dtype.kind not in "iu":
            raise self._bad(path, "`packed` and `n_lps` must be integer scalars")
        b = Batch(z["unit_ids"], z["codes"], bool(int(z["packed"])), z["points"], z["radii"],
                  int(z["n_lps"]), z["sizes"])
        problem = _batch_problem(b, self.codes0, self.packed, self.width, self.k)
        if problem is None and os.path.basename(path) != f"units_{int(b.ids[0]):09d}.npz":
            problem = f"its name does not match its first unit {int(b.ids[0])}"
        if problem is not None:
            raise self._bad(path, problem)
        return b

    def save(self, res):
        name = f"units_{int(res.ids[0]):09d}.npz"
        tmp = name + ".tmp.npz"
        self.note(name, tmp)
        arrays = dict(unit_ids=np.ascontiguousarray(res.ids, dtype=np.int64),
                      sizes=np.ascontiguousarray(res.sizes, dtype=np.int64),
                      codes=np.ascontiguousarray(res.codes, dtype=np.uint8),
                      points=np.ascontiguousarray(res.points, dtype=np.float64),
                      radii=np.ascontiguousarray(res.radii, dtype=np.float64),
                      packed=np.array(int(res.packed), np.int64),
                      n_lps=np.array(int(res.n_lps), np.int64))
        digest = _shard_digest(self.fingerprint, self.plan, arrays)
        np.savez(os.path.join(self.path, tmp), fingerprint=np.array(self.fingerprint),
                 plan=np.array(self.plan), digest=np.array(digest), **arrays)
        os.replace(os.path.join(self.path, tmp), os.path.join(self.path, name))

    def clear_shards(self):
        """Delete the shards and shard temporaries listed in the journal; nothing else."""
        for name in sorted(self._written):
            path = os.path.join(self.path, name)
            if _SHARD_NAME.fullmatch(name) and os.path.exists(path):
                os.remove(path)

