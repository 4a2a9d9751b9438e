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


def _worker_pids(n):
    from polyregion.enumerate import scale

    entry = scale._POOLS.get(n)
    return None if entry is None else sorted(entry[0]._processes)


def test_process_pool_reused_across_calls(problem, reference):
    from polyregion.enumerate import scale

    net, box = problem
    scale.shutdown_pools()
    assert _worker_pids(2) is None
    first = pr.enumerate_regions(net, box, executor=2)
    pids = _worker_pids(2)
    assert pids is not None and len(pids) == 2
    # another problem on the same pool: each call ships its own payload
    other = pr.enumerate_regions(he_net([6, 5], 2, seed=4), pr.Box.cube(2), executor=2,
                                 method="lp")
    assert other == pr.enumerate_regions(he_net([6, 5], 2, seed=4), pr.Box.cube(2),
                                         method="lp")
    again = pr.enumerate_regions(net, box, executor=2, batch_size=2)
    assert _worker_pids(2) == pids
    assert same_arrays(first, reference) and same_arrays(again, reference)
    scale.shutdown_pools()
    assert _worker_pids(2) is None


def test_process_pool_after_budget_stop(problem, reference):
    net, box = problem
    with pytest.raises(BudgetExceededError):
        pr.enumerate_regions(net, box, executor=2, max_regions=5, batch_size=1)
    assert same_arrays(pr.enumerate_regions(net, box, executor=2), reference)


def test_process_pool_idle_shutdown(problem, monkeypatch):
    from polyregion.enumerate import scale

    net, box = problem
    scale.shutdown_pools()
    monkeypatch.setattr(scale, "POOL_IDLE_SECONDS", 0.05)
    pr.enumerate_regions(net, box, executor=2)
    deadline = time.time() + 10
    while _worker_pids(2) is not None and time.time() < deadline:
        time.sleep(0.05)
    assert _worker_pids(2) is None


def test_dead_worker_raises_executor_error(problem, reference, monkeypatch):
    from polyregion.enumerate import scale

    net, box = problem
    real = scale.run_batch

    def dying(payload, unit_ids, codes0):  # runs in the worker (fork inherits the patch)
        if 3 in list(unit_ids):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(payload, unit_ids, codes0)

    scale.shutdown_pools()
    monkeypatch.setattr(scale, "run_batch", dying)
    with pytest.raises(pr.ExecutorError, match="worker process .* died"):
        pr.enumerate_regions(net, box, executor=2, batch_size=1)
    monkeypatch.setattr(scale, "run_batch", real)
    scale.shutdown_pools()
    assert same_arrays(pr.enumerate_regions(net, box, executor=2), reference)


def test_dask_local_cluster_identical(problem, reference):
    distributed = pytest.importorskip("dask.distributed")
    net, box = problem
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rs = pr.enumerate_regions(net, box, executor=client, batch_size=4)
        # more calls on the same client and problem: each call's payload used to get the
        # same content-hash key, and the release of an earlier call's future then
        # deleted the data under a later call's tasks ("lost dependencies")
        again = [pr.enumerate_regions(net, box, executor=client, batch_size=1)
                 for _ in range(3)]
    assert same_arrays(rs, reference)
    assert all(same_arrays(r, reference) for r in again)


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
