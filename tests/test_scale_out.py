"""Results on disk: ``enumerate_regions(..., out=dir)``, DiskRegionSet, PackedCodes, and the
canonical-order assembly of work units (against independent in-memory runs)."""

import os

import numpy as np
import pytest

import polyregion as pr
from oracles import he_net
from polyregion.enumerate import scale
from polyregion.errors import BudgetExceededError, InvalidInputError
from test_scale import problem, reference, same_arrays  # noqa: F401  (fixtures)


def test_out_equals_in_memory(tmp_path, problem, reference):
    net, box = problem
    rs = pr.enumerate_regions(net, box, out=tmp_path / "r")
    assert isinstance(rs, scale.DiskRegionSet)
    assert isinstance(rs.codes, scale.PackedCodes)  # relu: one bit per neuron on disk
    assert same_arrays(rs, reference) and rs == reference
    # the direct single-kernel run sorted by RegionSet (lexsort) has the same codes: the
    # order assembled from units without a global sort is the canonical one
    assert np.array_equal(np.asarray(rs.codes), pr.enumerate_regions(net, box).codes)
    info = np.load(tmp_path / "r" / "codes.npy", mmap_mode="r")
    assert info.shape == (len(reference), -(-net.n_neurons // 8))
    assert not any(f.startswith("units_") for f in os.listdir(tmp_path / "r"))
    # geometry on demand, point location by binary search on disk
    X = np.random.default_rng(0).uniform(-1, 1, size=(500, 3))
    assert np.array_equal(rs.locate(X), reference.locate(X))
    assert np.array_equal(rs.index_of_codes(reference.codes), np.arange(len(reference)))
    missing = np.ones((1, net.n_neurons), np.uint8)
    assert rs.index_of_codes(missing)[0] == reference.index_of_codes(missing)[0]
    A, b = rs.halfspaces(7)
    A2, b2 = reference.halfspaces(7)
    assert np.allclose(A, A2) and np.allclose(b, b2)
    # reopened, and the same call again opens the finished result
    again = pr.RegionSet.load(tmp_path / "r")
    assert isinstance(again, scale.DiskRegionSet) and same_arrays(again, reference)
    assert same_arrays(pr.enumerate_regions(net, box, out=tmp_path / "r"), reference)


def test_out_with_processes_and_three_piece_codes(tmp_path):
    net, box = he_net([8, 6], 3, seed=4, bias_std=0.3, activation="hardtanh"), pr.Box.cube(3)
    ref = pr.enumerate_regions(net, box, executor="serial")
    assert ref.codes.max() == 2  # three pieces: codes are stored as bytes, not bits
    rs = pr.enumerate_regions(net, box, executor=2, batch_size=2, out=str(tmp_path / "h"))
    assert not isinstance(rs.codes, scale.PackedCodes)
    assert same_arrays(rs, ref)
    assert np.array_equal(rs.index_of_codes(ref.codes), np.arange(len(ref)))


def test_out_budget_then_continue(tmp_path, problem, reference):
    net, box = problem
    out = tmp_path / "b"
    with pytest.raises(BudgetExceededError, match="out=") as err:
        pr.enumerate_regions(net, box, out=out, max_regions=30, batch_size=2)
    part = err.value.partial
    assert isinstance(part, scale.DiskRegionSet) and not part.complete
    assert 30 < len(part) < len(reference)
    assert set(map(bytes, np.asarray(part.codes))) <= set(map(bytes, reference.codes))
    assert len(part.frontier) > 0
    done = pr.enumerate_regions(net, box, out=out, resume=part, batch_size=3)
    assert done.complete and same_arrays(done, reference)


def test_out_argument_errors(tmp_path, problem):
    net, box = problem
    with pytest.raises(InvalidInputError, match="`out` is also the checkpoint"):
        pr.enumerate_regions(net, box, out=tmp_path / "a", checkpoint=tmp_path / "b")
    pr.enumerate_regions(net, box, out=tmp_path / "a")
    other = he_net([10, 8], 3, seed=2)
    with pytest.raises(InvalidInputError, match="different problem"):
        pr.enumerate_regions(other, box, out=tmp_path / "a")
    with pytest.raises(pr.errors.FileFormatError, match="not a directory of regions"):
        pr.RegionSet.load(tmp_path)


def test_assemble_any_completion_order(problem, reference):
    """Batches handed back in any order assemble into the canonical order."""
    net, box = problem
    from polyregion.enumerate.engine import Prepared

    prep = Prepared(net, box)
    batches = [ev[1] for ev in scale.run_units(prep, "lp", reference.tolerances,
                                               batch_size=5) if ev[0] == "batch"]
    assert len(batches) > 3
    rng = np.random.default_rng(0)
    shuffled = [batches[i] for i in rng.permutation(len(batches))]
    codes, pts, radii = scale.assemble(shuffled, net.n_neurons)
    assert np.array_equal(codes, reference.codes)
    assert np.array_equal(prep.to_domain(pts), reference.points)


def test_packed_codes_index_like_array():
    rng = np.random.default_rng(3)
    full = rng.integers(0, 2, size=(7, 13)).astype(np.uint8)
    pc = scale.PackedCodes(np.packbits(full, axis=1), 13)
    assert pc.shape == full.shape and len(pc) == 7
    assert np.array_equal(np.asarray(pc), full)
    assert np.array_equal(pc[3], full[3])
    assert np.array_equal(pc[2:5], full[2:5])
    assert np.array_equal(pc[[6, 0]], full[[6, 0]])
    assert np.array_equal(pc[:, 4:9], full[:, 4:9])
    assert pc[1, 12] == full[1, 12]
    assert np.all(pc == full)


def test_out_never_deletes_files_it_did_not_write(tmp_path, problem, reference):
    net, box = problem
    out = tmp_path / "r"
    out.mkdir()
    (out / "units_notes.txt").write_text("mine")  # was deleted with the shards
    rs = pr.enumerate_regions(net, box, out=out, batch_size=4)
    assert same_arrays(rs, reference)
    assert (out / "units_notes.txt").read_text() == "mine"
    assert not any(f.startswith("units_0") for f in os.listdir(out))  # our shards are gone
    # a file named like the library's and no polyregion manifest: refused, untouched
    for name in ("units_000000000.npz", "codes.npy"):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        (d / name).write_bytes(b"user data")
        with pytest.raises(pr.CheckpointError, match="no polyregion manifest"):
            pr.enumerate_regions(net, box, out=d)
        assert os.listdir(d) == [name] and (d / name).read_bytes() == b"user data"
    # dropped into a directory polyregion did write: foreign, refused, never deleted
    part = tmp_path / "p"
    with pytest.raises(BudgetExceededError):
        pr.enumerate_regions(net, box, out=part, max_regions=100, batch_size=2)
    (part / "units_000000999.npz").write_bytes(b"user data")
    with pytest.raises(pr.CheckpointError, match="did not write"):
        pr.enumerate_regions(net, box, out=part)
    assert (part / "units_000000999.npz").read_bytes() == b"user data"
