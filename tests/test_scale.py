"""Work units, executors, budgets, checkpoints and resume."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import polyregion as pr
from oracles import he_net
from polyregion.errors import BudgetExceededError, InvalidInputError


@pytest.fixture(scope="module")
def problem():
    return he_net([10, 8], 3, seed=1), pr.Box.cube(3)


@pytest.fixture(scope="module")
def reference(problem):
    net, box = problem
    return pr.enumerate_regions(net, box, executor="serial")


def same_arrays(a, b):
    return (np.array_equal(np.asarray(a.codes), np.asarray(b.codes))
            and np.array_equal(a.points, b.points)
            and np.array_equal(a.radii, b.radii))


def test_units_equal_direct_run(problem, reference):
    net, box = problem
    direct = pr.enumerate_regions(net, box)
    assert direct == reference
    assert reference.stats.extra["n_units"] > 1


def test_process_pool_identical(problem, reference):
    net, box = problem
    rs = pr.enumerate_regions(net, box, executor=2, batch_size=3)
    assert same_arrays(rs, reference)


def test_dask_local_cluster_identical(problem, reference):
    distributed = pytest.importorskip("dask.distributed")
    net, box = problem
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rs = pr.enumerate_regions(net, box, executor=client, batch_size=4)
    assert same_arrays(rs, reference)


def test_iter_regions_chunks(problem, reference):
    net, box = problem
    chunks = list(pr.iter_regions(net, box, batch_size=5))
    assert len(chunks) > 1
    codes = np.vstack([c.codes for c in chunks])
    assert len(codes) == len(reference)
    assert {c.tobytes() for c in codes} == {c.tobytes() for c in reference.codes}


def test_budget_then_resume(problem, reference):
    net, box = problem
    with pytest.raises(BudgetExceededError, match="max_regions") as err:
        pr.enumerate_regions(net, box, executor="serial", max_regions=20, batch_size=2)
    part = err.value.partial
    assert 20 < len(part) < len(reference)
    assert set(map(bytes, part.codes)) <= set(map(bytes, reference.codes))
    assert len(part.frontier) > 0
    done = pr.enumerate_regions(net, box, executor="serial", resume=part, batch_size=2)
    assert same_arrays(done, reference)


def test_time_and_memory_budgets(problem):
    net, box = problem
    with pytest.raises(BudgetExceededError, match="max_memory"):
        pr.enumerate_regions(net, box, executor="serial", max_memory=100, batch_size=1)
    with pytest.raises(BudgetExceededError, match="max_seconds"):
        pr.enumerate_regions(net, box, executor="serial", max_seconds=1e-9, batch_size=1)
    with pytest.raises(InvalidInputError, match="max_seconds"):
        pr.enumerate_regions(net, box, max_seconds=-1)
    with pytest.raises(InvalidInputError, match="executor"):
        pr.enumerate_regions(net, box, executor="threads")


def test_progress_callback(problem, reference):
    net, box = problem
    seen = []
    rs = pr.enumerate_regions(net, box, progress=seen.append, batch_size=8)
    assert rs == reference
    assert seen[-1]["units_done"] == seen[-1]["units_total"]
    assert seen[-1]["regions"] == len(reference)


def test_checkpoint_resume_after_sigkill(tmp_path, problem, reference):
    net, box = problem
    net.save(tmp_path / "net.npz")
    ck = tmp_path / "ck"
    script = textwrap.dedent(f"""
        import time, polyregion as pr
        import polyregion.enumerate.scale as sc
        orig = sc.run_batch
        def slow(*a, **k):
            time.sleep(0.05)
            return orig(*a, **k)
        sc.run_batch = slow
        net = pr.load({str(tmp_path / 'net.npz')!r})
        pr.enumerate_regions(net, pr.Box.cube(3), executor="serial", checkpoint={str(ck)!r},
                             batch_size=2)
        print("finished")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        shards = [f for f in os.listdir(ck) if f.startswith("units_")] if ck.exists() else []
        if len(shards) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    shards = [f for f in os.listdir(ck) if f.startswith("units_") and f.endswith(".npz")
              and ".tmp" not in f]
    n_units = reference.stats.extra["n_units"]
    assert 0 < len(shards) < (n_units + 1) // 2  # killed mid-run
    done = pr.enumerate_regions(net, box, executor="serial", resume=str(ck), batch_size=2)
    assert same_arrays(done, reference)
    # a checkpoint of another problem is refused
    other = he_net([10, 8], 3, seed=2)
    with pytest.raises(InvalidInputError, match="different problem"):
        pr.enumerate_regions(other, box, executor="serial", checkpoint=str(ck))
