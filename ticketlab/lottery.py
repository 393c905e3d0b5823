"""Lottery-ticket experiments: iterative magnitude pruning with resetting, and its controls.

Round r of the ticket prunes the ticket of round r-1 (the lowest-magnitude ``prune_rate`` of
its surviving weights per layer, the output layer at half rate), resets the survivors to θ0 (or
to θk, *rewinding*, when ``rewind_iteration`` = k > 0) and trains again. Controls run at chosen
rounds: reinit, random pruning, sign-preserving reinit and one-shot pruning, each an entry of
``conditions.REGISTRY`` that says how its run starts from the seed's stored runs.

An experiment runs as a plan (``plan.plan``: every run, its store key and the runs it starts
from), executed on this machine or a Dask cluster (``executors``) and read back by ``collect``.
Every run is stored under a hash of its spec, so finished runs are loaded, not retrained.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from dataclasses import dataclass, field

import pandas as pd
import torch

from . import data as datasets
from . import models
from .conditions import CONDITIONS as CONDITIONS  # the public name notebooks import from here
from .conditions import REGISTRY as CONDITION_REGISTRY
from .errors import ConfigError
from .masks import Mask
from .models import build
from .plan import PlannedRun, plan
from .pruning import (
    PRUNING_RULES,
    check_rate,
    counts_after_rounds,
    layer_rates,
)
from .store import Store, run_key
from .training import ENGINE_VERSION, RunSpec, TrainConfig, train_stacked

SCALES = {
    # seconds: for tests and a first look
    "smoke": dict(iterations=200, eval_every=50, rounds=3, seeds=(0,), control_rounds=(2,)),
    # the notebooks' default: minutes on a laptop CPU; notebook 05 grades what it shows against the paper
    "lecture": dict(
        # 3,500 iterations: with three seeds, the longest run that keeps all five notebooks inside
        # 10 minutes on 2 cores (measured: docs/benchmarks.md); notebook 03 shows what the cap does
        # to each effect against the paper-protocol reference
        iterations=3500,
        eval_every=100,
        test_every=500,
        rounds=16,
        seeds=(0, 1, 2),
        control_rounds=(3, 7, 9, 10, 15),  # 51.3, 21.1, 13.5, 10.7, 3.6%: the levels of the paper's claims
        # controls that no claim grades at 51.3, 13.5 or 10.7% run only at 21.1 and 3.6%
        rounds_by_condition=(("sign-reinit", (7, 15)), ("one-shot", (7, 15))),
    ),
    # Frankle & Carbin's LeNet protocol: 50K iterations, 5 trials, levels down to 1.9%
    "paper": dict(
        iterations=50_000, eval_every=100, test_every=1000, rounds=18, seeds=(0, 1, 2, 3, 4), control_rounds=None
    ),
}


def scale_from_env(default: str = "lecture") -> str:
    """The scale named by ``TICKETLAB_SCALE`` (for notebooks and the CLI), else ``default``."""
    return os.environ.get("TICKETLAB_SCALE", default)


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines an experiment; build one with ``ExperimentConfig.at_scale``."""

    model: str = "lenet"
    dataset: str = "mnist"
    iterations: int = 4000
    lr: float = 1.2e-3
    batch_size: int = 60
    eval_every: int = 100
    test_every: int | None = None
    weight_decay: float = 0.0
    rounds: int = 16
    prune_rate: float = 0.2
    pruning: str = "layerwise"  # a key of pruning.PRUNING_RULES
    conv_rate: float | None = None
    seeds: tuple[int, ...] = (0,)
    conditions: tuple[str, ...] = ("ticket",)
    control_rounds: tuple[int, ...] | None = None  # None: every round 1..rounds
    # (condition, rounds) pairs: these controls run at their own rounds instead of control_rounds
    rounds_by_condition: tuple[tuple[str, tuple[int, ...]], ...] = ()
    rewind_iteration: int = 0
    scale: str = "custom"

    @classmethod
    def at_scale(cls, scale: str = "lecture", model: str = "lenet", **overrides) -> ExperimentConfig:
        """The preset ``scale`` for ``model`` with the paper's learning rate; overrides win."""
        if scale not in SCALES:
            raise ConfigError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        entry = models.spec(model)
        base = dict(SCALES[scale], model=model, dataset=entry.dataset, lr=entry.lr, scale=scale)
        base.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("control_rounds") is not None and "rounds_by_condition" not in overrides:
            base["rounds_by_condition"] = ()  # your control rounds hold for every control
        if overrides.get("control_rounds") is None and base.get("control_rounds"):
            # fewer rounds than the preset: keep its control rounds that still exist, else the last round
            kept = tuple(r for r in base["control_rounds"] if r <= base["rounds"])
            base["control_rounds"] = kept or ((base["rounds"],) if base["rounds"] > 0 else ())
        return cls(**base)

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "conditions", _with_ticket(self.conditions))
        if self.control_rounds is not None:
            object.__setattr__(self, "control_rounds", tuple(sorted({int(r) for r in self.control_rounds})))
        own = tuple(
            (str(c), tuple(sorted({int(r) for r in rounds}))) for c, rounds in dict(self.rounds_by_condition).items()
        )
        object.__setattr__(self, "rounds_by_condition", own)
        self._validate()

    def _validate(self) -> None:
        allowed = models.spec(self.model).datasets
        if self.dataset not in datasets.DATASETS:
            raise ConfigError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(datasets.DATASETS)}")
        if self.dataset not in allowed:
            raise ConfigError(f"model {self.model!r} cannot train on {self.dataset!r}; use {' or '.join(allowed)}")
        if not self.seeds:
            raise ConfigError("the seed list is empty: give at least one seed, e.g. seeds=(0,)")
        if not isinstance(self.rounds, int) or self.rounds < 0:
            raise ConfigError(f"rounds must be a whole number >= 0, got {self.rounds!r}")
        check_rate(self.prune_rate)
        if self.pruning not in PRUNING_RULES:
            raise ConfigError(f"unknown pruning rule {self.pruning!r}; choose one of {', '.join(PRUNING_RULES)}")
        if self.conv_rate is not None:
            check_rate(self.conv_rate, "conv pruning rate")
        self.train_config()  # validates iterations, lr, batch size, evaluation interval
        if not 0 <= self.rewind_iteration <= self.iterations:
            raise ConfigError(
                f"rewind iteration {self.rewind_iteration} is beyond the training length 0..{self.iterations}"
            )
        unknown = [c for c, _ in self.rounds_by_condition if c not in CONDITION_REGISTRY or c == "ticket"]
        if unknown:
            controls = ", ".join(c for c in CONDITION_REGISTRY if c != "ticket")
            raise ConfigError(
                f"rounds_by_condition names {unknown[0]!r}, which is not a control; choose among {controls}"
            )
        bad = [r for r in (self.control_rounds or ()) if not 1 <= r <= self.rounds]
        if bad:
            raise ConfigError(
                f"control round {bad[0]} is outside 1..{self.rounds} (the pruning rounds of this experiment)"
            )
        params = dict(build(self.model, in_shape=self.input_shape).named_parameters())
        sizes = {n: params[n].numel() for n in self.rates()}
        counts_after_rounds(sizes, self.rates(), self.rounds)
        _check_every_round_prunes(self.model, sizes, self.rates(), self.rounds)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape: conv nets are built for it (a 1-channel image set needs 1-channel filters)."""
        return datasets.input_shape(self.dataset)

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            iterations=self.iterations,
            lr=self.lr,
            batch_size=self.batch_size,
            eval_every=self.eval_every,
            test_every=self.test_every,
            weight_decay=self.weight_decay,
        )

    def first_iterations(self, k: int) -> TrainConfig:
        """The protocol cut to its first ``k`` iterations, evaluated once: its last weights are θk of
        the full run bit for bit (a run's numbers never depend on its length or evaluation schedule)."""
        return dataclasses.replace(self.train_config(), iterations=k, eval_every=k, test_every=None)

    def rates(self) -> dict[str, float]:
        conv_rate = self.conv_rate if self.conv_rate is not None else models.spec(self.model).conv_rate
        return dict(_layer_rates(self.model, self.prune_rate, conv_rate))

    def rounds_of(self, condition: str) -> tuple[int, ...]:
        """The rounds at which ``condition`` trains: every round for the ticket, else its own rounds
        (``rounds_by_condition``) or ``control_rounds``; rounds beyond ``rounds`` never come."""
        every = tuple(range(1, self.rounds + 1))
        if condition == "ticket":
            return (0, *every)
        own = dict(self.rounds_by_condition).get(condition, self.control_rounds)
        return every if own is None else tuple(r for r in own if r in every)

    def describe_controls(self) -> str:
        """Where each control trains, for printing: ``'reinit at rounds [3, 7]; one-shot at rounds [7]'``."""
        controls = [f"{c} at rounds {list(self.rounds_of(c))}" for c in self.conditions if c != "ticket"]
        return "; ".join(controls) or "no controls"

    def runs_at(self, round_: int) -> list[tuple[str, int]]:
        """(condition, seed) pairs trained in ``round_``: the ticket always, controls at their rounds."""
        conditions = [c for c in self.conditions if round_ in self.rounds_of(c)]
        return [(c, s) for c in conditions for s in self.seeds]

    def run_spec(self, condition: str, seed: int, round_: int) -> dict:
        """The JSON-able facts that define one run (its store key is their hash)."""
        spec = dict(
            version=ENGINE_VERSION,
            model=self.model,
            dataset=self.dataset,
            condition=condition,
            seed=seed,
            round=round_,
            rewind_iteration=self.rewind_iteration,
            **dataclasses.asdict(self.train_config()),
        )
        if round_ > 0:  # the dense run does not depend on how later rounds prune
            spec.update(prune_rate=self.prune_rate, rates=self.rates())
            if self.pruning != "layerwise":  # the paper's rule leaves the keys of every stored run as they were
                spec.update(pruning=self.pruning)
        return spec

    def replace(self, **changes) -> ExperimentConfig:
        return dataclasses.replace(self, **changes)


def _check_every_round_prunes(model: str, sizes: dict[str, int], rates: dict[str, float], rounds: int) -> None:
    """Reject rounds past the point where rounding removes no weight: they would retrain the same ticket.

    At the paper's rates no layer ever empties (a layer of 2 weights loses round(0.4) = 0), so
    ``counts_after_rounds`` alone accepts any number of rounds.
    """
    counts = sizes
    for round_ in range(1, rounds + 1):
        pruned = counts_after_rounds(counts, rates, 1)
        if pruned == counts:
            raise ConfigError(
                f"{rounds} rounds is more than {model} has weights for: round {round_} would prune nothing "
                f"({sum(counts.values())} weights left); use at most {round_ - 1} rounds or a higher rate"
            )
        counts = pruned


def check_device(device) -> None:
    """Fail before loading any data on a device name torch does not know or this machine lacks."""
    if device is None:
        return
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}; choose cpu, cuda or mps") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(kind, False):
        raise ConfigError(f"device {device!r} is not available on this machine; use cpu or leave the device out")


@functools.cache
def _layer_rates(model: str, prune_rate: float, conv_rate: float) -> tuple:
    """Per-layer rates, cached: run specs ask for them for every run, and building a model costs."""
    return tuple(layer_rates(build(model), prune_rate, conv_rate).items())


def _with_ticket(conditions) -> tuple[str, ...]:
    unknown = [c for c in conditions if c not in CONDITION_REGISTRY]
    if unknown:
        raise ConfigError(f"unknown condition {unknown[0]!r}; choose from {', '.join(CONDITION_REGISTRY)}")
    return ("ticket",) + tuple(c for c in dict.fromkeys(conditions) if c != "ticket")


def derived_seed(seed: int, *tags) -> int:
    """A seed for a run's extra randomness (reinit values, random masks) that never collides with θ0's."""
    digest = hashlib.sha256("/".join(map(str, (seed,) + tags)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def initial_weights(model: str, seed: int, in_shape: tuple[int, ...] | None = None) -> dict[str, torch.Tensor]:
    """θ0 of seed ``seed`` for inputs of ``in_shape``: rebuilt on demand, never stored, because it
    is deterministic."""
    return {n: p.detach().clone() for n, p in build(model, seed=seed, in_shape=in_shape).named_parameters()}


@dataclass
class Results:
    """Tidy tables of an experiment plus access to its stored masks and weights."""

    config: ExperimentConfig
    store: Store
    curves: pd.DataFrame
    summary: pd.DataFrame
    keys: dict = field(repr=False, default_factory=dict)

    def key(self, seed: int, round_: int, condition: str = "ticket") -> str:
        """The store key of one run of this experiment; ConfigError for a run it does not have."""
        if condition not in self.config.conditions or int(seed) not in self.config.seeds:
            raise ConfigError(
                f"this experiment has no {condition!r} run of seed {seed}: its conditions are "
                f"{', '.join(self.config.conditions)}, its seeds {list(self.config.seeds)}"
            )
        if int(round_) not in self.config.rounds_of(condition):
            raise ConfigError(
                f"{condition!r} did not run at round {round_}; it ran at rounds {list(self.config.rounds_of(condition))}"
            )
        # int(): seeds and rounds often come from DataFrame cells (numpy integers), which would hash differently
        return run_key(self.config.run_spec(condition, int(seed), int(round_)))

    def mask(self, seed: int, round_: int, condition: str = "ticket") -> Mask:
        return Mask({n: m.float() for n, m in self.store.tensors(self.key(seed, round_, condition), "mask").items()})

    def final_weights(self, seed: int, round_: int) -> dict[str, torch.Tensor]:
        """The ticket's trained weights θj at the end of ``round_``."""
        return self.store.tensors(self.key(seed, round_, "ticket"), "final")

    def initial_weights(self, seed: int) -> dict[str, torch.Tensor]:
        return initial_weights(self.config.model, seed, self.config.input_shape)


def run_experiment(
    config: ExperimentConfig, store: Store | None = None, progress: bool = True, device=None, executor=None
) -> Results:
    """Run (or load) every run of ``config`` and return its tables.

    The experiment is planned (``plan.plan``: every run, its key and what it starts from), the
    plan is executed (``executor``, default ``executors.LocalExecutor``: this machine, stacked
    level by level; ``executors.DaskExecutor``: a Dask cluster) and the stored runs are collected.
    """
    from .executors import LocalExecutor  # executors call back into train_runs

    check_device(device)
    store = store if store is not None else Store()
    executor = executor if executor is not None else LocalExecutor()
    executor.run(plan(config), store, progress=progress, device=device)
    return collect(config, store)


def train_runs(
    config: ExperimentConfig, store: Store, runs: list[PlannedRun], progress: bool = False, device=None
) -> list[str]:
    """Train the given runs of one level as one stack and store them; returns the keys trained.

    Every input a run needs must be stored. Each run's lock is held while it trains, and a run
    that another process stored meanwhile is skipped, so any number of executors can share a store.
    """
    rounds = {run.round for run in runs}
    if len(rounds) > 1:
        raise ValueError(f"one stack trains one level; got levels {sorted(rounds)}")
    with store.claim([run.key for run in runs]):
        todo = [run for run in runs if not store.has(run.key)]
        round_ = rounds.pop() if rounds else None
        if round_ == 0 and config.rewind_iteration:
            todo = _rewind_from_reset(config, store, todo, progress, device)
        if not todo:
            return []
        data = datasets.load(config.dataset)
        starts = [start_of(config, store, run.condition, run.seed, run.round) for run in todo]
        results = train_stacked(
            build(config.model, in_shape=data.input_shape),
            starts,
            data,
            config.train_config(),
            rewind_iteration=config.rewind_iteration if round_ == 0 and config.rewind_iteration else None,
            device=device,
            progress=progress,
            desc=f"level {round_}: {len(starts)} runs",
        )
        for run, start, result in zip(todo, starts, results):
            _save(config, store, run, start.mask, result)
    return [run.key for run in todo]


def _rewind_from_reset(config: ExperimentConfig, store: Store, todo: list, progress: bool, device) -> list:
    """Round 0 of a rewinding experiment from the stored round 0 of the resetting one; returns
    the runs still to train.

    Why: both are the same dense run (same θ0, data seed and protocol); rewinding only keeps θk
    as well. So the stored run's curve, summary and final weights are copied and θk comes from
    training k iterations, which are the first k iterations of that run bit for bit (a run's
    numbers never depend on when evaluation happens or which runs share its stack). A rewinding run
    of the lecture (``python -m ticketlab run --rewind-iteration k``) thereby skips retraining the
    dense network that notebook 02 trained.
    """
    reset = config.replace(rewind_iteration=0)
    reusable = [run for run in todo if store.has(run_key(reset.run_spec(run.condition, run.seed, 0)))]
    if not reusable:
        return todo
    data = datasets.load(config.dataset)
    k = config.rewind_iteration
    first_k = config.first_iterations(k)
    starts = [start_of(config, store, run.condition, run.seed, 0) for run in reusable]
    results = train_stacked(
        build(config.model, in_shape=data.input_shape),
        starts,
        data,
        first_k,
        device=device,
        progress=progress,
        desc=f"level 0: θ{k} of {len(starts)} stored runs",
    )
    for run, result in zip(reusable, results):
        stored = run_key(reset.run_spec(run.condition, run.seed, 0))
        tensors = {name: store.tensors(stored, name) for name in ("mask", "final")}
        store.save(
            run.key,
            config.run_spec(run.condition, run.seed, 0),
            store.summary(stored),
            store.curve(stored),
            {**tensors, "rewind": result.final},
        )
    return [run for run in todo if run not in reusable]


def _save(config: ExperimentConfig, store: Store, run: PlannedRun, mask: Mask, result) -> None:
    tensors = {"mask": {n: m.bool() for n, m in mask.items()}}
    if run.condition == "ticket":
        tensors["final"] = result.final
        if result.rewind is not None:
            tensors["rewind"] = result.rewind
    summary = dict(result.summary(), percent_remaining=mask.percent_remaining)
    store.save(run.key, config.run_spec(run.condition, run.seed, run.round), summary, result.curve, tensors)


def start_of(config: ExperimentConfig, store: Store, condition: str, seed: int, round_: int) -> RunSpec:
    """Starting weights and mask of one run (``conditions.REGISTRY``), built from the stored runs it needs."""
    if round_ == 0:
        theta0 = initial_weights(config.model, seed, config.input_shape)
        return RunSpec(_StoredInputs(config, store, seed, 0).start, Mask.ones_like(theta0), seed)
    weights, mask = CONDITION_REGISTRY[condition].start(_StoredInputs(config, store, seed, round_))
    return RunSpec(weights, mask, seed)


class _StoredInputs:
    """``conditions.Inputs`` of one seed at one level, each read from the store when first asked for
    (a one-shot run never reads the previous ticket, so it can start once the dense run exists)."""

    def __init__(self, config: ExperimentConfig, store: Store, seed: int, round_: int):
        self.config, self.store, self.seed, self.round = config, store, seed, round_
        self.rates, self.prune_rate, self.rule = config.rates(), config.prune_rate, PRUNING_RULES[config.pruning]

    @functools.cached_property
    def theta0(self) -> dict[str, torch.Tensor]:
        return initial_weights(self.config.model, self.seed, self.config.input_shape)

    @functools.cached_property
    def start(self) -> dict[str, torch.Tensor]:
        if self.config.rewind_iteration and self.round > 0:
            return self.store.tensors(run_key(self.config.run_spec("ticket", self.seed, 0)), "rewind")
        return self.theta0

    @functools.cached_property
    def ticket_mask(self) -> Mask:
        return _ticket_mask(self.config, self.store, self.seed, self.round)

    @functools.cached_property
    def dense_final(self) -> dict[str, torch.Tensor]:
        return self.store.tensors(run_key(self.config.run_spec("ticket", self.seed, 0)), "final")

    def fresh(self, tag: str) -> dict[str, torch.Tensor]:
        return initial_weights(self.config.model, derived_seed(self.seed, tag, self.round), self.config.input_shape)

    def generator(self, tag: str) -> torch.Generator:
        return torch.Generator().manual_seed(derived_seed(self.seed, tag, self.round))


def _ticket_mask(config: ExperimentConfig, store: Store, seed: int, round_: int) -> Mask:
    """The ticket's mask for ``round_``: round_-1's ticket pruned by the experiment's rule, on its final weights."""
    previous = run_key(config.run_spec("ticket", seed, round_ - 1))
    mask = Mask({n: m.float() for n, m in store.tensors(previous, "mask").items()})
    return PRUNING_RULES[config.pruning].step(store.tensors(previous, "final"), mask, config.rates(), config.prune_rate)


def collect(config: ExperimentConfig, store: Store) -> Results:
    """Assemble the tidy tables of every finished run of ``config`` from the store."""
    curves, summaries = [], []
    for run in plan(config).runs:
        if not store.has(run.key):
            continue
        ident = dict(
            model=config.model, dataset=config.dataset, condition=run.condition, seed=run.seed, round=run.round
        )
        summary = store.summary(run.key)
        summaries.append({**ident, **summary})
        curves.append(store.curve(run.key).assign(**ident, percent_remaining=summary["percent_remaining"]))
    columns = ["model", "dataset", "condition", "seed", "round", "percent_remaining"]
    curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=columns)
    curves = curves[columns + [c for c in curves.columns if c not in columns]]
    summary = pd.DataFrame(summaries)
    if len(summary):
        summary = summary[columns + [c for c in summary.columns if c not in columns]]
    return Results(config, store, curves, summary)
