"""An experiment as a plan: every run it needs, its store key, and the runs it starts from.

Why a plan: iterative pruning is a graph, not a loop. A seed's ticket at level n starts from its
ticket at level n-1 (whose trained weights give the mask); the reinit, random-pruning and
sign-reinit controls at level n need that same mask; one-shot pruning needs only the dense run;
rewinding needs the dense run's weights at iteration k. Written down once, the graph lets any
executor (``executors.LocalExecutor`` on this machine, ``executors.DaskExecutor`` on a cluster)
run what is ready, in any order and on any worker, and lets ``python -m ticketlab plan`` say
how much is left before anything trains.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .conditions import DENSE, REGISTRY
from .store import Store, run_key


@dataclass(frozen=True)
class PlannedRun:
    """One run of an experiment: what it is, where it is stored, and which stored runs it starts from."""

    condition: str
    seed: int
    round: int
    key: str
    needs: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """Every run of ``config``, each listed after the runs it needs."""

    config: object  # lottery.ExperimentConfig (not imported: lottery runs plans)
    runs: tuple[PlannedRun, ...]

    def pending(self, store: Store) -> list[PlannedRun]:
        """The runs not yet stored, in plan order."""
        return [run for run in self.runs if not store.has(run.key)]

    def describe(self, store: Store, hours_left: float | None = None) -> str:
        """A few lines for the terminal: runs per level, how many are stored, what is left."""
        stored = {run.key for run in self.runs if store.has(run.key)}
        per_round, done = Counter(r.round for r in self.runs), Counter(r.round for r in self.runs if r.key in stored)
        config = self.config
        lines = [
            f"plan: {config.model} on {config.dataset}, {len(self.runs)} runs "
            f"({len(stored)} stored, {len(self.runs) - len(stored)} to train), "
            f"{config.iterations:,} iterations each, seeds {list(config.seeds)}"
        ]
        for round_ in sorted(per_round):
            conditions = sorted({r.condition for r in self.runs if r.round == round_}, key=config.conditions.index)
            count = per_round[round_]
            lines.append(
                f"  level {round_:2d}: {count:4d} run{'s' if count != 1 else ' '}, {done[round_]:2d} stored  "
                f"({', '.join(conditions)})"
            )
        if hours_left is not None:
            lines.append(
                f"estimated time to train what is left: {_duration(hours_left)} on this machine "
                f"(the bench's measured per-level costs)"
            )
        return "\n".join(lines)


def plan(config) -> Plan:
    """The runs of ``config`` (an ``ExperimentConfig``) with their dependencies, round by round."""
    runs = []
    for round_ in range(config.rounds + 1):
        for condition, seed in config.runs_at(round_):
            key = run_key(config.run_spec(condition, seed, round_))
            runs.append(PlannedRun(condition, seed, round_, key, _needs(config, condition, seed, round_)))
    return Plan(config, tuple(runs))


def _needs(config, condition: str, seed: int, round_: int) -> tuple[str, ...]:
    """Keys of the stored runs whose tensors this run's starting weights or mask are built from."""
    if round_ == 0:
        return ()
    dense = run_key(config.run_spec("ticket", seed, 0))
    if REGISTRY[condition].starts_from == DENSE:  # e.g. one-shot: the dense run's weights, pruned once
        return (dense,)
    previous = run_key(config.run_spec("ticket", seed, round_ - 1))  # its weights and mask give this mask
    rewind = (dense,) if config.rewind_iteration and previous != dense else ()
    return (previous,) + rewind


def _duration(hours: float) -> str:
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def estimated_hours(plan_: Plan, store: Store, record: Path) -> float | None:
    """Hours to train the plan's pending runs at the per-level costs the last ``bench`` measured
    on this machine (``record``), or None where there is no record or the model is not LeNet."""
    from . import bench

    costs = bench.load_level_costs(record)
    if costs is None or plan_.config.model != "lenet":
        return None
    pending = plan_.pending(store)
    return sum(plan_.config.iterations * bench.cost_at(costs, run.round) for run in pending) / 3.6e6
