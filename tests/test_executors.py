"""Plans and executors: the plan lists every run after the runs it starts from, the local and the
Dask executor store the same numbers, per-run locks let workers share a store, and a worker
killed mid-run costs only that run.

The Dask tests use the toy MLP on two moons (seconds per run) and one torch thread everywhere:
the thread count changes how sums are split, and so the last bits of a result.
"""

import io
import os
import signal
import sys
import threading
import time

import pandas as pd
import pytest
import torch
from filelock import FileLock, Timeout

from ticketlab import cli, lottery
from ticketlab.errors import ConfigError
from ticketlab.executors import DaskExecutor
from ticketlab.plan import plan
from ticketlab.store import Store, run_key

TOY = lottery.ExperimentConfig.at_scale(
    "smoke",
    model="toy-mlp",
    seeds=(0, 1),
    iterations=200,
    eval_every=50,
    conditions=("ticket", "reinit", "random-prune", "one-shot"),
    control_rounds=(2, 3),
)
LENET = lottery.ExperimentConfig.at_scale("paper", conditions=lottery.CONDITIONS)


@pytest.fixture
def one_thread():
    """Torch on one thread in this process, as on the Dask workers of these tests."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def local_summary(tmp_path_factory):
    """The toy experiment's summary from the local executor, on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return lottery.run_experiment(TOY, Store(tmp_path_factory.mktemp("local")), progress=False).summary
    finally:
        torch.set_num_threads(before)


def key(config, condition, seed, round_):
    return run_key(config.run_spec(condition, seed, round_))


# --- the plan ---------------------------------------------------------------------------------


def test_plan_lists_every_run_of_the_experiment_once_and_after_everything_it_needs():
    runs = plan(LENET).runs
    assert len(runs) == sum(len(LENET.runs_at(r)) for r in range(LENET.rounds + 1)) == 5 * (19 + 18 * 4)
    assert len({run.key for run in runs}) == len(runs)
    seen = set()
    for run in runs:
        assert seen.issuperset(run.needs), run
        seen.add(run.key)


def test_a_ticket_and_its_controls_start_from_the_previous_ticket_and_one_shot_from_the_dense_run():
    needs = {(r.condition, r.seed, r.round): r.needs for r in plan(LENET).runs}
    assert needs["ticket", 3, 0] == ()
    for condition in ("ticket", "reinit", "random-prune", "sign-reinit"):
        assert needs[condition, 3, 7] == (key(LENET, "ticket", 3, 6),)
    assert needs["one-shot", 3, 7] == (key(LENET, "ticket", 3, 0),)


def test_rewound_runs_also_need_the_dense_run_that_holds_their_starting_weights():
    rewound = LENET.replace(rewind_iteration=500)
    needs = {(r.condition, r.seed, r.round): r.needs for r in plan(rewound).runs}
    assert needs["ticket", 0, 1] == (key(rewound, "ticket", 0, 0),)
    assert needs["reinit", 0, 5] == (key(rewound, "ticket", 0, 4), key(rewound, "ticket", 0, 0))


def test_the_plan_counts_stored_runs_and_collect_reads_exactly_the_planned_runs(local_summary, tmp_path):
    store = Store(tmp_path)
    lottery.run_experiment(TOY.replace(rounds=1, control_rounds=None, conditions=("ticket",)), store, progress=False)
    text = plan(TOY).describe(store)
    assert "20 runs (4 stored, 16 to train)" in text
    assert "level  1:    2 runs,  2 stored  (ticket)" in text
    assert "level  2:    8 runs,  0 stored  (ticket, reinit, random-prune, one-shot)" in text
    assert len(lottery.collect(TOY, store).summary) == 4


def test_the_plan_command_prints_the_plan_without_training(tmp_path, capsys):
    assert cli.main(["plan", "--model", "toy-mlp", "--scale", "smoke", "--store", str(tmp_path)]) == 0
    assert "plan: toy-mlp on moons, 4 runs (0 stored, 4 to train)" in capsys.readouterr().out
    assert not list((tmp_path / "runs").iterdir())


def test_one_stack_trains_one_level(tmp_path):
    runs = plan(TOY).runs
    with pytest.raises(ValueError, match="one level"):
        lottery.train_runs(TOY, Store(tmp_path), [runs[0], runs[-1]])


# --- per-run locks ----------------------------------------------------------------------------


def test_a_claimed_run_is_locked_for_other_processes_and_other_runs_are_not(tmp_path):
    store = Store(tmp_path)
    a, b = "0123456789abcdef", "fedcba9876543210"
    claimed, release = threading.Event(), threading.Event()

    def hold():
        with store.claim([a]):
            claimed.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert claimed.wait(10)
        with pytest.raises(Timeout):
            FileLock(tmp_path / "locks" / f"{a}.lock").acquire(timeout=0.2)
        with store.claim([b]):  # another run: no wait
            pass
    finally:
        release.set()
        holder.join()
    with store.claim([a, b]):
        pass


# --- Dask --------------------------------------------------------------------------------------


def test_dask_executor_needs_workers_or_a_scheduler():
    with pytest.raises(ConfigError, match="exactly one of --workers N"):
        DaskExecutor()
    with pytest.raises(ConfigError, match="at least 1"):
        DaskExecutor(workers=0)
    assert cli.main(["run", "--model", "toy-mlp", "--scale", "smoke", "--workers", "2"]) == 2


def test_one_worker_per_gpu_without_dask_cuda_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_cuda", None)  # as if it were not installed
    with pytest.raises(ConfigError, match="one Dask worker per GPU needs dask-cuda: pip install dask-cuda"):
        DaskExecutor(workers=2, gpus=True)._connect()


def test_the_command_line_on_two_dask_workers_stores_what_the_local_executor_stores(local_summary, tmp_path):
    out = tmp_path / "out"
    argv = [
        "run",
        "--model",
        "toy-mlp",
        "--scale",
        "smoke",
        "--seeds",
        "0",
        "1",
        "--iterations",
        "200",
        "--eval-every",
        "50",
        "--conditions",
        "ticket",
        "reinit",
        "random-prune",
        "one-shot",
        "--control-rounds",
        "2",
        "3",
        "--executor",
        "dask",
        "--workers",
        "2",
        "--no-progress",
        "--store",
        str(tmp_path / "store"),
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    expected = pd.read_csv(io.StringIO(local_summary.to_csv(index=False)))
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), expected)


def test_a_worker_killed_mid_run_loses_only_that_run(local_summary, tmp_path):
    from distributed import Client, LocalCluster

    store = Store(tmp_path)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        failure = []

        def execute():
            try:
                DaskExecutor(client=client, threads=1).run(plan(TOY), store, progress=False)
            except Exception as err:  # reported by the assertion below
                failure.append(err)

        runner = threading.Thread(target=execute)
        runner.start()
        deadline = time.monotonic() + 60
        while not any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.01)
        busy = next(worker for worker, tasks in client.processing().items() if tasks)
        os.kill(pids[busy], signal.SIGKILL)
        runner.join(300)
        assert not runner.is_alive() and not failure, failure
        assert pids[busy] not in client.run(os.getpid).values()  # it was killed (its nanny started another)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(r.key for r in plan(TOY).runs)
    assert not list(tmp_path.rglob("*.tmp"))
    pd.testing.assert_frame_equal(lottery.collect(TOY, store).summary, local_summary)
