"""Executors: who trains a plan's runs, and where.

``LocalExecutor`` is this machine: level by level, the ready runs of a level train as one stack
(stacking shares every matrix product's fixed cost; numbers do not depend on the stack). The
``DaskExecutor`` sends groups of runs to the workers of a ``dask.distributed`` cluster: a
``LocalCluster`` of N processes, or a running cluster started with dask-jobqueue (SLURM, PBS) or
the Dask Kubernetes operator (docs/scale-out.md). Workers share the hash-keyed store: each holds
its runs' locks while it trains them (``Store.claim``), a stored run is never retrained, and a run
whose worker dies is trained again by another (Dask reschedules the task; the dead worker's lock
dies with its process and its unfinished files have no summary, so they are redone).
"""

from __future__ import annotations

import os
from collections import defaultdict

import torch
from tqdm.auto import tqdm

from .errors import ConfigError, TicketlabError
from .plan import Plan, PlannedRun
from .store import Store


class LocalExecutor:
    """Train on this machine, lowest level first, every ready run of that level in one stack."""

    def run(self, plan: Plan, store: Store, progress: bool = True, device=None) -> None:
        from .lottery import train_runs

        pending = plan.pending(store)
        stored = {run.key for run in plan.runs} - {run.key for run in pending}
        bar = tqdm(
            total=len(plan.runs),
            initial=len(stored),
            desc=f"{plan.config.model} runs",
            unit="run",
            disable=not progress or not pending,
        )
        while pending:
            ready = [run for run in pending if stored.issuperset(run.needs)]
            level = min(run.round for run in ready)  # the plan lists every run after its inputs: never empty
            stack = [run for run in ready if run.round == level]
            train_runs(plan.config, store, stack, progress=progress, device=device)
            stored.update(run.key for run in stack)
            pending = [run for run in pending if run not in stack]
            bar.update(len(stack))
        bar.close()


class DaskExecutor:
    """Train on a Dask cluster: ``workers=N`` starts a local one, ``scheduler=`` joins a running
    one (its address, or the JSON scheduler file ``dask scheduler --scheduler-file`` writes),
    ``client=`` uses a client you made (e.g. from dask-jobqueue's ``SLURMCluster``).

    Runs are grouped by what they start from (a seed's ticket and its controls at one level; the
    one-shot runs of a seed, which need only its dense run), so the seeds' pruning chains run
    side by side and the groups of one chain follow each other. ``threads`` is each task's torch
    thread count (default: the machine's cores shared among local workers; a remote worker's own
    default). Results equal the local executor's at the same thread count (the thread count
    changes how floating-point sums are split: docs/reproducibility.md). ``gpus=True`` with
    ``workers=N`` starts one worker per GPU instead (dask-cuda's ``LocalCUDACluster``).
    """

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        client=None,
        threads: int | None = None,
        gpus: bool = False,
    ):
        if sum(x is not None for x in (workers, scheduler, client)) != 1:
            raise ConfigError(
                "the Dask executor needs exactly one of --workers N (a local cluster) "
                "or --scheduler ADDRESS (a running cluster)"
            )
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        self.workers, self.scheduler, self.client, self.gpus = workers, scheduler, client, gpus
        self.threads = threads if threads is not None or workers is None else max(1, (os.cpu_count() or 1) // workers)

    def run(self, plan: Plan, store: Store, progress: bool = True, device=None) -> None:
        from distributed import as_completed

        with self._connect() as client:
            futures = submit(client, plan, store, device=device, threads=self.threads)
            done = len(plan.runs) - sum(len(runs) for runs in futures.values())
            bar = tqdm(
                total=len(plan.runs),
                initial=done,
                desc=f"{plan.config.model} runs on Dask",
                unit="run",
                disable=not progress or not futures,
            )
            by_future = {future: runs for future, runs in futures.items()}
            for future in as_completed(list(futures)):
                _result(future, by_future[future])
                bar.update(len(by_future[future]))
            bar.close()

    def _connect(self):
        """A context that yields a client and, where it made them, closes the client and cluster."""
        import contextlib
        import logging

        from distributed import Client, LocalCluster

        if self.client is not None:
            return contextlib.nullcontext(self.client)
        if self.scheduler is not None:
            # a scheduler file (`dask scheduler --scheduler-file F` on a shared disk) or an address
            where = (
                dict(scheduler_file=self.scheduler)
                if self.scheduler.endswith(".json")
                else dict(address=self.scheduler)
            )
            try:
                return Client(**where, timeout="30s")
            except (OSError, TimeoutError) as err:
                raise ConfigError(
                    f"no Dask scheduler answers at {self.scheduler} ({err}); start one "
                    f"(docs/scale-out.md) or use --workers N for a local cluster"
                ) from None
        if self.gpus:
            return _ClusterClient(*_gpu_cluster(self.workers))
        cluster = LocalCluster(
            n_workers=self.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return _ClusterClient(cluster, Client(cluster))


def _gpu_cluster(workers: int):
    """A local cluster of one worker per GPU (dask-cuda pins each to its own device), and its client."""
    from distributed import Client

    try:
        from dask_cuda import LocalCUDACluster
    except ImportError:
        raise ConfigError("one Dask worker per GPU needs dask-cuda: pip install dask-cuda") from None
    available = torch.cuda.device_count()
    if workers > available:
        raise ConfigError(f"--workers {workers} with --device cuda needs {workers} GPUs; this machine has {available}")
    cluster = LocalCUDACluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
    return cluster, Client(cluster)


class _ClusterClient:
    """A client and the local cluster it was made for, closed together."""

    def __init__(self, cluster, client):
        self.cluster, self.client = cluster, client

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.cluster.close()


def submit(client, plan: Plan, store: Store, device=None, threads: int | None = None) -> dict:
    """Submit the plan's pending runs as Dask tasks, each after the tasks that make its inputs;
    returns {future: the runs it trains}."""
    pending = plan.pending(store)
    groups: dict[tuple, list[PlannedRun]] = defaultdict(list)
    for run in pending:
        groups[run.round, run.needs].append(run)
    maker: dict[str, object] = {}  # key of a pending run -> the future that trains it
    futures = {}
    for (round_, needs), runs in groups.items():  # in plan order: inputs are submitted first
        inputs = list({id(maker[key]): maker[key] for key in needs if key in maker}.values())
        name = f"ticketlab-{plan.config.model}-seed{runs[0].seed}-level{round_}-{runs[0].key}"
        future = client.submit(
            train_group, plan.config, str(store.root), runs, device, threads, *inputs, key=name, pure=False
        )
        futures[future] = runs
        maker.update({run.key: future for run in runs})
    return futures


def train_group(config, root: str, runs: list[PlannedRun], device, threads: int | None, *inputs) -> int:
    """One Dask task: train ``runs`` (one level, the same inputs) into the store at ``root``.
    ``inputs`` are the results of the tasks that stored what these runs start from: Dask passes
    them only to order the tasks."""
    from .lottery import train_runs

    if threads is not None:
        torch.set_num_threads(threads)
    return len(train_runs(config, Store(root), runs, progress=False, device=device))


def _result(future, runs: list[PlannedRun]) -> None:
    """A task's outcome; a worker that died again and again becomes one line, not a traceback."""
    from distributed import KilledWorker

    try:
        future.result()
    except KilledWorker:
        run = runs[0]
        raise TicketlabError(
            f"Dask workers died repeatedly training seed {run.seed} at level {run.round} "
            f"(out of memory?); finished runs are stored: run the same command again to resume"
        ) from None
