"""Results on disk: ``codes.npy`` (bit-packed), ``points.npy``, ``radii.npy`` as memory maps.

:func:`write_region_dir` copies a run's shards into the directory in canonical order
(each unit's final rows are known from the unit sizes, so shards are copied in any order
and the driver holds one at a time); :class:`DiskRegionSet` opens it (codes through
:class:`PackedCodes`), :func:`iter_regions` streams regions.

Cost: one copy of the result; reading is by memory map.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..regions import RegionSet
from ._units import packable, row_keys
from .checkpoint import _RESULT_NAMES


# ------------------------------------------------------------------ results on disk
#: name of the file that marks a directory of regions (written last)
REGION_DIR_INFO = "regions.json"


def is_complete(path):
    info = os.path.join(os.fspath(path), REGION_DIR_INFO)
    if not os.path.exists(info):
        return False
    with open(info) as f:
        return bool(json.load(f).get("complete"))


def _npy_writer(path, dtype, shape):
    f = open(path, "wb")
    np.lib.format.write_array_header_2_0(
        f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
            "shape": tuple(int(s) for s in shape)})
    return f


def write_region_dir(path, ckpt, net, domain, prep, stats, tol, complete=True):
    """Copy the checkpoint's shards into ``codes.npy`` (bit-packed when every activation
    has two pieces), ``points.npy``, ``radii.npy`` (domain coordinates), units in
    ascending order, plus ``meta.npz`` (network, domain, stats, tolerances) and
    ``regions.json``; return the :class:`DiskRegionSet`.

    Every unit's final rows are known from the shards' unit sizes, so each shard is read
    once, in any order, and its units are written at their offsets: one shard in memory
    at a time, checked as it is read (:meth:`Checkpoint.read`). With ``complete`` the
    shards are then deleted (only those in the directory's journal; the manifest stays:
    it names the problem).
    """
    path = os.fspath(path)
    shards = ckpt.shards(check=False)  # each shard is checked when it is read below
    n_neur = net.n_neurons
    packed = packable(prep)
    width = -(-n_neur // 8) if packed else n_neur
    k = int(prep.dims[0])
    ids = np.concatenate([sh[1] for sh in shards]) if shards else np.zeros(0, np.int64)
    sizes = np.concatenate([sh[2] for sh in shards]) if shards else np.zeros(0, np.int64)
    o = np.argsort(ids)
    first = np.empty(len(ids), np.int64)  # final first row of each unit, in shard order
    first[o] = np.cumsum(sizes[o]) - sizes[o]
    n = int(sizes.sum())
    info = os.path.join(path, REGION_DIR_INFO)
    ckpt.note(*sorted(_RESULT_NAMES))  # in the journal before they are written
    if os.path.exists(info):
        os.remove(info)
    names = {"codes": (np.uint8, (n, width)), "points": (np.float64, (n, k)),
             "radii": (np.float64, (n,))}
    files = {key: _npy_writer(os.path.join(path, key + ".npy.tmp"), dt, sh)
             for key, (dt, sh) in names.items()}
    base = {key: f.tell() for key, f in files.items()}
    row = {"codes": width, "points": 8 * k, "radii": 8}
    try:
        u = 0
        for shard_path, sh_ids, sh_sizes, _ in shards:
            b = ckpt.read(shard_path)
            if not (np.array_equal(b.ids, sh_ids) and np.array_equal(b.sizes, sh_sizes)):
                raise ckpt._bad(shard_path, "it changed while the results were being written")
            r0, j = 0, 0
            while j < len(sh_ids):  # runs of consecutive units: one write each
                j2, size = j + 1, int(sh_sizes[j])
                while j2 < len(sh_ids) and sh_ids[j2] == sh_ids[j2 - 1] + 1:
                    size += int(sh_sizes[j2])
                    j2 += 1
                at = int(first[u + j])
                for key, arr in (("codes", b.codes[r0:r0 + size]),
                                 ("points", prep.to_domain(b.points[r0:r0 + size])),
                                 ("radii", b.radii[r0:r0 + size] * prep.scale)):
                    files[key].seek(base[key] + at * row[key])
                    np.ascontiguousarray(arr).tofile(files[key])
                r0 += size
                j = j2
            u += len(sh_ids)
            del b
    finally:
        for f in files.values():
            f.close()
    for key in names:
        os.replace(os.path.join(path, key + ".npy.tmp"), os.path.join(path, key + ".npy"))
    stats.n_regions = n
    meta = RegionSet(net, domain, np.zeros((0, n_neur), np.uint8), np.zeros((0, k)),
                     np.zeros(0), stats=stats, tolerances=tol, sort=False)
    meta.save(os.path.join(path, "meta.tmp.npz"))
    os.replace(os.path.join(path, "meta.tmp.npz"), os.path.join(path, "meta.npz"))
    with open(info + ".tmp", "w") as f:
        json.dump({"format": "polyregion-regions-dir", "version": 1, "n_regions": n,
                   "n_neurons": n_neur, "packed": packed, "complete": bool(complete),
                   "n_units_done": int(len(ids)), "fingerprint": ckpt.fingerprint}, f)
    os.replace(info + ".tmp", info)
    if complete:
        ckpt.clear_shards()
    return open_region_dir(path)


def open_region_dir(path):
    """Open a directory written by ``enumerate_regions(..., out=path)``."""
    from ..errors import FileFormatError

    path = os.fspath(path)
    try:
        with open(os.path.join(path, REGION_DIR_INFO)) as f:
            info = json.load(f)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path!r} is not a directory of regions written by "
                              f"enumerate_regions(..., out=...): {exc}") from None
    return DiskRegionSet(path, info)


def _open_npy(path):
    """A read-only memory map of an ``.npy`` file (a plain array when it is empty)."""
    arr = np.load(path, mmap_mode="r")
    return arr if arr.size else np.array(arr)


class PackedCodes:
    """Activation codes stored bit-packed (``np.packbits`` rows), read as if they were the
    ``(n_regions, n_neurons)`` uint8 array: indexing unpacks only the rows asked for;
    ``np.asarray(codes)`` unpacks everything (``n_regions * n_neurons`` bytes).

    Examples
    --------
    >>> import numpy as np
    >>> c = PackedCodes(np.packbits(np.array([[0, 1, 1], [1, 0, 0]], np.uint8), axis=1), 3)
    >>> c.shape, c[1].tolist(), np.asarray(c)[:, 1].tolist()
    ((2, 3), [1, 0, 0], [1, 0])
    """

    dtype = np.dtype(np.uint8)
    ndim = 2

    def __init__(self, packed, n_neurons):
        self.packed = packed
        self.shape = (packed.shape[0], int(n_neurons))

    def __len__(self):
        return self.shape[0]

    @property
    def size(self):
        return self.shape[0] * self.shape[1]

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        rows = np.unpackbits(np.asarray(self.packed[key]), axis=-1, count=self.shape[1])
        return rows[(Ellipsis,) + rest] if rest else rows

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, np.uint8)
        step = max(1, (1 << 24) // max(self.shape[1], 1))
        for s in range(0, len(self), step):
            out[s:s + step] = self[s:s + step]
        return out if dtype is None else out.astype(dtype)

    def __eq__(self, other):
        return np.asarray(self) == np.asarray(other)

    __hash__ = None


class DiskRegionSet(RegionSet):
    """A RegionSet whose arrays live in a directory (``enumerate_regions(..., out=path)``).

    ``points`` and ``radii`` are read-only memory maps; ``codes`` is a
    :class:`PackedCodes` over a memory map when every activation has two pieces, else a
    memory map of the uint8 codes. Everything a RegionSet does works; what needs all the
    codes at once (``save``, adjacency) unpacks them in memory. :meth:`index_of_codes`
    (and so :meth:`locate`) binary-searches the sorted codes on disk. Open one again with
    ``pr.RegionSet.load(path)``.
    """

    def __init__(self, path, info):
        from ..regions import RegionSet

        meta = RegionSet.load(os.path.join(path, "meta.npz"))
        super().__init__(meta.net, meta.domain, meta.codes, meta.points, meta.radii,
                         stats=meta.stats, tolerances=meta.tolerances, sort=False)
        raw = _open_npy(os.path.join(path, "codes.npy"))
        self._raw_codes = raw
        self.codes = PackedCodes(raw, info["n_neurons"]) if info["packed"] else raw
        self.points = _open_npy(os.path.join(path, "points.npy"))
        self.radii = _open_npy(os.path.join(path, "radii.npy"))
        self.path = path
        self.complete = bool(info["complete"])

    def __repr__(self):
        return super().__repr__()[:-1] + f", path={self.path!r})"

    def index_of_codes(self, codes):
        from ..regions import check_codes

        codes = check_codes(codes, self.net)  # the rules of RegionSet.index_of_codes
        if len(self) == 0:
            return np.full(len(codes), -1, np.int64)
        q = row_keys(np.packbits(codes, axis=1) if isinstance(self.codes, PackedCodes)
                     else codes)
        keys = row_keys(self._raw_codes)
        pos = np.clip(np.searchsorted(keys, q), 0, len(keys) - 1)
        return np.where(keys[pos] == q, pos, -1).astype(np.int64)

