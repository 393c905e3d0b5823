"""Beyond the 2019 paper, measured on the course's own tickets: two studies, shipped as tables.

- **Instability** (Frankle, Dziugaite, Roy & Carbin, ICML 2020, "Linear Mode Connectivity and the
  Lottery Ticket Hypothesis"): from θk (k = 0 or a rewinding point of the dense run), two copies of
  a subnetwork train with different data orders; the error barrier on the line between them says
  whether training from θk is stable. Subnetworks: the lecture's IMP tickets at 100%, 21.1% and
  3.6%, and at k = 0 their reinit and random-pruning controls (``stability``).
- **Pruning at initialisation** (Frankle, Dziugaite, Roy & Carbin, ICLR 2021, "Pruning Neural
  Networks at Initialization: Why Are We Missing the Mark?"): SNIP, GraSP, SynFlow and magnitude
  at θ0 prune to each level's density before training, as published (all layers ranked
  together), and again with each mask shuffled within its layers; next to the lecture's IMP
  ticket, its reinit control and random pruning with the ticket's layer sizes, which is the
  ticket's own mask shuffled within its layers (``init_pruning``).

Both start from the lecture experiment (its seeds, θ0, data orders, protocol and IMP masks) and
train through ``course.experiments.train_or_load`` (stacked, stored, resumable). Together they
take longer than the course's 10-minute budget has left, so ``python -m ticketlab beyond run``
computes them once and writes tables to ``data/beyond/`` with their provenance; notebooks 04 and
05 load the tables in a second. ``check`` re-trains a slice and compares it with the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from filelock import FileLock

from . import data as datasets
from .course.experiments import train_or_load
from .errors import ConfigError, DataError
from .init_pruning import grasp_scores, mask_global, sample_batch, shuffle_within_layers, snip_scores, synflow_mask
from .lottery import CONDITIONS, ExperimentConfig, Results, derived_seed, initial_weights, run_experiment, start_of
from .masks import Mask
from .models import build
from .pruning import scores_for
from .reference import made_by
from .stability import error_along_path, error_barrier
from .store import Store
from .training import RunSpec, train_stacked

HELP = "studies beyond the 2019 paper (instability, pruning at initialisation): run, or check the shipped tables"
FOLDER = datasets.DATA_DIR / "beyond"
STUDIES = ("instability", "init-pruning")
SEEDS = (0, 1, 2)

STABILITY_ROUNDS = (0, 7, 15)  # 100%, 21.1% and 3.6% remaining
REWIND_POINTS = (0, 100, 500, 2000)  # iterations of the dense run: θ0 and three rewinding points
STABILITY_CONTROLS = ("reinit", "random-prune")  # at k = 0 on the sparse levels: not tickets
STABLE_BARRIER = 0.02  # the ICML 2020 paper calls training stable when the barrier is within 2%

INIT_ROUNDS = (3, 7, 10, 15)  # 51.3, 21.1, 10.8 and 3.6% remaining: four of the lecture's control levels
INIT_METHODS = ("snip", "grasp", "synflow", "magnitude")
LECTURE_ROWS = {"ticket": "IMP ticket", "reinit": "IMP reinit", "random-prune": "random"}
SCORE_EXAMPLES = 1_000  # training examples that SNIP and GraSP score on
SHUFFLE_HURTS_PP = 0.5  # a mean drop larger than this (and than two standard errors) is a real loss

# ``check``: the same CPU and thread count reproduce the tables exactly; other rounding drifts
CHECK_TOLERANCE_PP = 0.5


def lecture(seeds=SEEDS) -> ExperimentConfig:
    """The lecture experiment whose tickets and controls both studies start from: notebooks 03-05's
    (every condition), so its runs are already in the store after those notebooks."""
    return ExperimentConfig.at_scale("lecture", seeds=tuple(seeds), conditions=CONDITIONS)


# ----------------------------------------------------------------------------- instability


@dataclass(frozen=True)
class Subnetwork:
    """A starting point for two copies: which network, from which weights, under which mask."""

    seed: int
    condition: str
    round: int
    rewind_iteration: int
    start: dict[str, torch.Tensor]
    mask: Mask


def copy_seeds(seed: int) -> tuple[int, int]:
    """The data orders of the two copies: both new, so neither is the run that found the mask."""
    return derived_seed(seed, "copy", 1), derived_seed(seed, "copy", 2)


def copy_config(config: ExperimentConfig, k: int):
    """How a copy from θk trains: the lecture's protocol for the remaining ``iterations`` − k, the
    test set evaluated only at the end (the path measures it; nothing is selected on it)."""
    rest = config.iterations - k
    return dataclasses.replace(config.train_config(), iterations=rest, test_every=rest)


def rewind_weights(config: ExperimentConfig, store: Store, data, points=REWIND_POINTS, progress=True) -> dict:
    """θk of every seed's dense run for every k in ``points``: {(seed, k): weights}.

    θk is the last weight of a k-iteration run from θ0 with the seed's data order
    (``ExperimentConfig.first_iterations``), so it needs no stored snapshot of the full run.
    """
    weights = {(s, 0): initial_weights(config.model, s, config.input_shape) for s in config.seeds}
    for k in sorted(set(points) - {0}):
        first_k = config.first_iterations(k)
        runs = [RunSpec(weights[s, 0], Mask.ones_like(weights[s, 0]), s) for s in config.seeds]
        trained = train_or_load(
            runs, data, first_k, model=config.model, purpose=f"θ{k} of the dense run", store=store, progress=progress
        )
        weights.update({(s, k): r.final for s, r in zip(config.seeds, trained)})
    return weights


def subnetworks(results: Results, rewound: dict, rounds=STABILITY_ROUNDS, points=REWIND_POINTS) -> list[Subnetwork]:
    """Each seed's ticket mask at each level from each θk, then its controls from θ0 (their own start)."""
    config, out = results.config, []
    for seed in config.seeds:
        for round_ in rounds:
            mask = results.mask(seed, round_)
            out += [Subnetwork(seed, "ticket", round_, k, rewound[seed, k], mask) for k in points]
            for condition in STABILITY_CONTROLS if round_ > 0 else ():
                start = start_of(config, results.store, condition, seed, round_)
                out.append(Subnetwork(seed, condition, round_, 0, start.init, start.mask))
    return out


def run_instability(
    config: ExperimentConfig, store: Store, rounds=None, points=None, progress: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every copy pair (one stack per rewinding point) and measure its path: (pairs, paths).

    Each copy trains for the rest of the protocol, ``iterations`` − k, so every pair ends where the
    lecture's runs end. The barrier is measured on test error, as in the paper (nothing is
    selected on it), at ``stability.PATH_POINTS`` evenly spaced points. ``rounds`` and ``points``
    default to ``STABILITY_ROUNDS`` and ``REWIND_POINTS``.
    """
    rounds = STABILITY_ROUNDS if rounds is None else rounds
    points = REWIND_POINTS if points is None else points
    data = datasets.load(config.dataset)
    results = run_experiment(config, store, progress=progress)
    networks = subnetworks(results, rewind_weights(config, store, data, points, progress), rounds, points)
    model = build(config.model, in_shape=data.input_shape)
    pairs, paths = [], []
    for k in sorted({n.rewind_iteration for n in networks}):
        group = [n for n in networks if n.rewind_iteration == k]
        train = copy_config(config, k)
        runs = [RunSpec(n.start, n.mask, s) for n in group for s in copy_seeds(n.seed)]
        trained = train_or_load(
            runs, data, train, model=config.model, purpose=f"instability from θ{k}", store=store, progress=progress
        )
        for n, (a, b) in zip(group, zip(trained[::2], trained[1::2])):
            path = error_along_path(model, a.final, b.final, data.x_test, data.y_test, mask=n.mask)
            ends = path.iloc[[0, -1]]["error"]
            pairs.append(
                dict(
                    seed=n.seed,
                    condition=n.condition,
                    round=n.round,
                    percent_remaining=n.mask.percent_remaining,
                    rewind_iteration=k,
                    barrier=error_barrier(path),
                    loss_barrier=error_barrier(path, "loss"),
                    end_error=float(ends.mean()),
                    end_error_gap=float(abs(ends.iloc[0] - ends.iloc[1])),
                )
            )
            paths.append(path.assign(seed=n.seed, condition=n.condition, round=n.round, rewind_iteration=k))
    columns = ["seed", "condition", "round", "rewind_iteration"]
    return (
        pd.DataFrame(pairs).sort_values(columns, ignore_index=True),
        pd.concat(paths, ignore_index=True)[columns + ["alpha", "loss", "error"]],
    )


def barrier_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per subnetwork and rewinding point: the error barrier (mean, spread and largest over seeds)
    and the copies' end error, in percent, whether training is *stable* (every seed's barrier within
    ``STABLE_BARRIER``) and whether the subnetwork is *matching*: its end error no more than one
    standard deviation (over seeds) above the dense network's, trained from θ0 (the ICML 2020 paper's
    two notions; its abstract finds IMP subnetworks matching only when they are stable)."""
    keys = ["condition", "round", "rewind_iteration"]
    table = (
        pairs.groupby(keys, sort=False)
        .agg(
            percent_remaining=("percent_remaining", "first"),
            seeds=("seed", "nunique"),
            barrier=("barrier", "mean"),
            barrier_sd=("barrier", "std"),
            barrier_max=("barrier", "max"),
            end_error=("end_error", "mean"),
        )
        .reset_index()
    )
    for column in ("barrier", "barrier_sd", "barrier_max", "end_error"):
        table[column] = 100 * table[column]
    order = {c: i for i, c in enumerate(("ticket", *STABILITY_CONTROLS))}
    table = table.sort_values(keys, key=lambda c: c.map(order) if c.name == "condition" else c, ignore_index=True)
    dense = 100 * pairs.query("condition == 'ticket' and round == 0 and rewind_iteration == 0")["end_error"]
    if dense.empty:
        raise DataError("the pairs have no dense network from θ0 (ticket, round 0, k = 0) to compare with")
    table["stable"] = table["barrier_max"] <= 100 * STABLE_BARRIER
    table["matching"] = table["end_error"] <= dense.mean() + (dense.std() if len(dense) > 1 else 0.0)
    return table


def rewinding_effect(pairs: pd.DataFrame) -> pd.DataFrame:
    """What starting a ticket from θk instead of θ0 changes: per level and rewinding point k > 0, the
    end test error from θk minus from θ0 (pp; each seed's pair against its own pair from θ0), mean,
    min and max over seeds. The masks are the same (found by resetting to θ0)."""
    tickets = pairs[pairs["condition"] == "ticket"]
    wide = tickets.pivot_table(index=["round", "seed"], columns="rewind_iteration", values="end_error")
    if 0 not in wide.columns:
        raise DataError("the pairs have no tickets trained from θ0 to compare the rewinding points with")
    change = wide.drop(columns=0).sub(wide[0], axis=0).mul(100).stack().rename("change_pp").reset_index()
    table = change.groupby(["round", "rewind_iteration"])["change_pp"].agg(["mean", "min", "max"]).reset_index()
    levels = tickets.groupby("round")["percent_remaining"].first()
    table.insert(1, "percent_remaining", table["round"].map(levels))
    return table.rename(columns={"mean": "error_change_pp", "min": "lowest_seed", "max": "highest_seed"})


def stability_findings(table: pd.DataFrame) -> dict[str, bool]:
    """What the barrier table says, each statement with whether it holds on our runs: the ICML 2020
    paper's two claims about IMP subnetworks (its abstract: matching only when stable, and on MNIST
    stable from initialisation), then what it leaves open, the controls."""
    tickets, controls = table[table["condition"] == "ticket"], table[table["condition"] != "ticket"]
    from_theta0 = tickets[tickets["rewind_iteration"] == 0]
    return {
        "IMP tickets are stable from θ0 at every level (so resetting to θ0 suffices)": bool(
            from_theta0["stable"].all()
        ),
        "IMP tickets are matching only where they are stable": bool(
            not (tickets["matching"] & ~tickets["stable"]).any()
        ),
        "IMP tickets are stable from every rewinding point too": bool(tickets["stable"].all()),
        "the controls (reinit, random pruning) from θ0 are unstable at every sparse level": bool(
            not controls["stable"].any()
        ),
        "the controls are matching wherever they are stable": bool(controls.loc[controls["stable"], "matching"].all()),
    }


# ----------------------------------------------------------------------------- pruning at initialisation


def init_masks(config: ExperimentConfig, seed: int, density: float, data) -> dict[str, Mask]:
    """The mask of every method in ``INIT_METHODS`` at θ0 of ``seed``, all layers ranked together
    to ``density`` (the methods as published). SNIP and GraSP score on ``SCORE_EXAMPLES`` training
    examples drawn with the seed; SynFlow is data-free, magnitude needs θ0 alone."""
    theta0 = initial_weights(config.model, seed, config.input_shape)
    model = build(config.model, in_shape=config.input_shape)
    x, y = sample_batch(data, SCORE_EXAMPLES, derived_seed(seed, "score-batch"))
    return {
        "snip": mask_global(snip_scores(model, theta0, x, y), density),
        "grasp": mask_global(grasp_scores(model, theta0, x, y), density),
        "synflow": synflow_mask(model, theta0, config.input_shape, density),
        "magnitude": mask_global(scores_for("init-magnitude", theta0, theta0), density),
    }


def run_init_pruning(config: ExperimentConfig, store: Store, rounds=None, progress: bool = True) -> pd.DataFrame:
    """Every method, as published and shuffled, at every level's density, trained from θ0 with the
    lecture's protocol and data orders (one stack per level); the lecture's ticket, reinit and
    random pruning at the same levels beside them. One row per run; ``rounds`` defaults to
    ``INIT_ROUNDS``."""
    rounds = INIT_ROUNDS if rounds is None else rounds
    data = datasets.load(config.dataset)
    results = run_experiment(config, store, progress=progress)
    rows = []
    for round_ in rounds:
        runs, labels = [], []
        for seed in config.seeds:
            theta0 = initial_weights(config.model, seed, config.input_shape)
            density = results.mask(seed, round_).density
            for method, mask in init_masks(config, seed, density, data).items():
                shuffled = shuffle_within_layers(
                    mask, torch.Generator().manual_seed(derived_seed(seed, method, round_))
                )
                for variant, m in (("as published", mask), ("shuffled", shuffled)):
                    runs.append(RunSpec(theta0, m, seed))
                    labels.append(dict(seed=seed, method=method, variant=variant))
        trained = train_or_load(
            runs,
            data,
            config.train_config(),
            model=config.model,
            purpose=f"pruning at initialisation, round {round_}",
            store=store,
            progress=progress,
        )
        rows += [_init_row(label, round_, run.mask, result, data) for label, run, result in zip(labels, runs, trained)]
        for condition, method in LECTURE_ROWS.items():
            for seed in config.seeds:
                row = results.summary.query("condition == @condition and seed == @seed and round == @round_").iloc[0]
                variant = "shuffled" if condition == "random-prune" else "as published"
                rows.append(
                    _init_row(
                        dict(seed=seed, method=method, variant=variant),
                        round_,
                        results.mask(seed, round_, condition),
                        row,
                        data,
                    )
                )
    return pd.DataFrame(rows).sort_values(["round", "method", "variant", "seed"], ignore_index=True)


def _init_row(label: dict, round_: int, mask: Mask, result, data) -> dict:
    """One table row: the run's numbers, its mask's density per layer (the method's allocation) and
    the share of its first layer on constant pixels (``constant_pixel_share``), in percent."""
    get = result.get if isinstance(result, pd.Series) else lambda f: getattr(result, f)
    return dict(
        **label,
        round=round_,
        percent_remaining=mask.percent_remaining,
        **{f"percent_{name.removesuffix('.weight')}": 100 * m.sum().item() / m.numel() for name, m in mask.items()},
        percent_fc1_on_constant_pixels=100 * constant_pixel_share(mask, data),
        test_acc_at_early_stop=float(get("test_acc_at_early_stop")),
        early_stop_iteration=int(get("early_stop_iteration")),
        final_test_acc=float(get("final_test_acc")),
    )


def shuffle_drops(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, level and seed: test accuracy at early stop as published minus shuffled (pp).
    For IMP, the shuffled ticket is random pruning with the ticket's layer sizes (the lecture's
    random-prune control: the same θ0 and data order)."""
    runs = table.assign(method=table["method"].replace({"random": "IMP ticket"}))
    runs = runs[runs["method"] != "IMP reinit"]
    wide = runs.pivot_table(index=["method", "round", "seed"], columns="variant", values="test_acc_at_early_stop")
    drops = wide.assign(drop_pp=100 * (wide["as published"] - wide["shuffled"])).reset_index()
    levels = runs.groupby("round")["percent_remaining"].mean()
    return drops.assign(percent_remaining=drops["round"].map(levels))[
        ["method", "round", "percent_remaining", "seed", "as published", "shuffled", "drop_pp"]
    ]


def shuffle_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per method and level: accuracy as published and shuffled (percent, mean over seeds), the
    mean paired drop, its standard error, and whether shuffling hurts: a mean drop above
    ``SHUFFLE_HURTS_PP`` and above two standard errors (a real loss, not seed noise)."""
    drops = shuffle_drops(table)
    grouped = drops.groupby(["method", "round"])
    out = grouped.agg(
        percent_remaining=("percent_remaining", "first"),
        as_published=("as published", "mean"),
        shuffled=("shuffled", "mean"),
        drop_pp=("drop_pp", "mean"),
        drop_se=("drop_pp", "sem"),
    )
    out[["as_published", "shuffled"]] *= 100
    out["shuffling_hurts"] = (out["drop_pp"] > SHUFFLE_HURTS_PP) & (out["drop_pp"] > 2 * out["drop_se"])
    return out.reset_index()


def accuracy_table(table: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy at early stop (percent, mean over seeds) of every method as published and of
    the lecture's three runs, one row per method and one column per level (percent remaining)."""
    shown = table[(table["variant"] == "as published") | (table["method"] == "random")]
    wide = shown.pivot_table(index="method", columns="round", values="test_acc_at_early_stop", aggfunc="mean") * 100
    levels = shown.groupby("round")["percent_remaining"].mean()
    wide.columns = [f"{levels[r]:.1f}%" for r in wide.columns]
    order = [m for m in (*LECTURE_ROWS.values(), *INIT_METHODS) if m in wide.index]
    return wide.loc[order].rename_axis(None)


def agreement_2021(table: pd.DataFrame) -> dict[str, bool]:
    """The ICLR 2021 paper's findings (its abstract), graded on our pruning-at-init ``table``: shuffling within
    layers never hurts SNIP, GraSP, SynFlow or magnitude at init, it does hurt the IMP ticket,
    and the IMP ticket is more accurate than every method at init at every level."""
    shuffled = shuffle_table(table)
    at_init = shuffled[shuffled["method"].isin(INIT_METHODS)]
    accuracy = accuracy_table(table)
    best_at_init = accuracy.loc[[m for m in INIT_METHODS if m in accuracy.index]].max()
    return {
        "shuffling never hurts SNIP, GraSP, SynFlow or magnitude at init": not at_init["shuffling_hurts"].any(),
        "shuffling hurts the IMP ticket at some level": bool(
            shuffled.loc[shuffled["method"] == "IMP ticket", "shuffling_hurts"].any()
        ),
        "the IMP ticket beats every method at init at every level": bool(
            (accuracy.loc["IMP ticket"] > best_at_init).all()
        ),
    }


def verdict_2021(table: pd.DataFrame) -> str:
    """One sentence: whether our numbers agree with the 2021 paper, from ``agreement_2021``."""
    findings = agreement_2021(table)
    held = sum(findings.values())
    if held == len(findings):
        return "Our numbers agree with the ICLR 2021 paper: all three of its findings hold on LeNet."
    if held == 0:
        return "Our numbers do not agree with the ICLR 2021 paper: none of its three findings holds on LeNet."
    failed = "; ".join(f for f, ok in findings.items() if not ok)
    return f"Our numbers agree with the ICLR 2021 paper only in part: {held} of {len(findings)} findings hold (not: {failed})."


def constant_pixel_share(mask: Mask, data, layer: str = "fc1.weight") -> float:
    """The fraction of ``layer``'s surviving weights that read an input pixel with the same value in
    every training image (MNIST's blank border, after normalisation): such a weight only adds a
    constant, a second bias, and carries nothing about the image.

    A method that sees data can tell: a weight's gradient is its input times the back-propagated
    error, and with a constant input the errors of different examples largely cancel, so SNIP's
    |g ⊙ θ| is small there. A data-free method, or a mask shuffled within its layer, spends about
    the constant pixels' share of the layer on them.
    """
    if layer not in mask:
        raise ConfigError(f"the mask has no layer {layer!r}; it has {', '.join(mask)}")
    pixels = data.x_train.flatten(1)
    constant = pixels.max(dim=0).values == pixels.min(dim=0).values
    weights = mask[layer]
    if weights.shape[1] != constant.numel():
        raise ConfigError(f"{layer} reads {weights.shape[1]} inputs, the data have {constant.numel()} pixels")
    return float(weights[:, constant].sum() / weights.sum())


# ----------------------------------------------------------------------------- tables


@dataclass
class Studies:
    """The shipped tables: instability pairs and paths, pruning-at-init runs, and provenance."""

    pairs: pd.DataFrame
    paths: pd.DataFrame
    init_pruning: pd.DataFrame
    provenance: dict

    def minutes(self, study: str) -> float:
        """How long ``study`` took to compute (provenance), in minutes."""
        return self.provenance[study]["wall_s"] / 60


FILES = {"pairs": "instability.csv", "paths": "instability_paths.csv.gz", "init_pruning": "init_pruning.csv"}


def load(folder: Path = FOLDER) -> Studies:
    """The shipped tables of both studies."""
    folder = Path(folder)
    paths = [folder / name for name in (*FILES.values(), "provenance.json")]
    absent = [p.name for p in paths if not p.exists()]
    if absent:
        raise DataError(f"{folder} lacks {', '.join(absent)}; compute them with: python -m ticketlab beyond run")
    tables = {field: pd.read_csv(folder / name) for field, name in FILES.items()}
    return Studies(**tables, provenance=json.loads((folder / "provenance.json").read_text()))


def run(studies, store: Store, folder: Path = FOLDER, seeds=SEEDS, progress: bool = True) -> Path:
    """Compute ``studies`` and write their tables and provenance into ``folder`` (others kept)."""
    config, folder = lecture(seeds), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    provenance_file = folder / "provenance.json"
    for study in studies:
        if study not in STUDIES:
            raise ConfigError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}")
        start = time.time()
        if study == "instability":
            pairs, paths = run_instability(config, store, progress=progress)
            pairs.to_csv(folder / FILES["pairs"], index=False, float_format="%.6g")
            paths.to_csv(
                folder / FILES["paths"], index=False, float_format="%.6g", compression={"method": "gzip", "mtime": 0}
            )
        else:
            run_init_pruning(config, store, progress=progress).to_csv(
                folder / FILES["init_pruning"], index=False, float_format="%.6g"
            )
        entry = dict(
            seeds=list(config.seeds),
            commands=[f"python -m ticketlab beyond run --study {study}"],
            **made_by(start, time.time() - start),
        )
        with FileLock(str(provenance_file) + ".lock"):  # the two studies may run in two processes
            provenance = json.loads(provenance_file.read_text()) if provenance_file.exists() else {}
            provenance[study] = entry
            provenance_file.write_text(json.dumps(provenance, indent=1, sort_keys=True) + "\n")
        print(f"beyond: {study} written to {folder} in {entry['wall_s'] / 60:.1f} min", flush=True)
    return folder


# ----------------------------------------------------------------------------- checking


def check(studies: Studies | None = None, progress: bool = False) -> pd.DataFrame:
    """Re-train two runs' worth of the tables from scratch and compare: seed 0's dense pair from θ0
    (its barrier and end error) and seed 0's SNIP run at the sparsest level (its mask's layer
    densities exactly, its accuracy within ``CHECK_TOLERANCE_PP``). Neither needs the lecture's
    tickets: θ0, the data and the ladder's densities decide both."""
    studies = studies if studies is not None else load()
    config = lecture((0,))
    data = datasets.load(config.dataset)
    network = build(config.model, in_shape=data.input_shape)
    threads = torch.get_num_threads()
    torch.set_num_threads(int(studies.provenance["instability"].get("threads", 1)))
    try:
        theta0 = initial_weights(config.model, 0, config.input_shape)
        train = copy_config(config, 0)
        runs = [RunSpec(theta0, Mask.ones_like(theta0), s) for s in copy_seeds(0)]
        a, b = train_stacked(network, runs, data, train, progress=progress, desc="check: dense pair")
        path = error_along_path(network, a.final, b.final, data.x_test, data.y_test)
        round_ = max(INIT_ROUNDS)
        shipped = studies.init_pruning.query(
            "seed == 0 and round == @round_ and method == 'snip' and variant == 'as published'"
        )
        if shipped.empty:
            raise DataError("the shipped tables have no SNIP run of seed 0 at the sparsest level")
        mask = init_masks(config, 0, float(shipped["percent_remaining"].iloc[0]) / 100, data)["snip"]
        (snip,) = train_stacked(
            network, [RunSpec(theta0, mask, 0)], data, config.train_config(), progress=progress, desc="check: SNIP"
        )
    finally:
        torch.set_num_threads(threads)
    row = studies.pairs.query("seed == 0 and condition == 'ticket' and round == 0 and rewind_iteration == 0").iloc[0]
    snip_row = _init_row({}, round_, mask, snip, data)
    gaps = {
        "dense pair from θ0: barrier (pp)": 100 * abs(error_barrier(path) - row["barrier"]),
        "dense pair from θ0: end error (pp)": 100 * abs(path.iloc[[0, -1]]["error"].mean() - row["end_error"]),
        "SNIP at 3.6%: accuracy (pp)": 100
        * abs(snip_row["test_acc_at_early_stop"] - shipped["test_acc_at_early_stop"].iloc[0]),
    }
    layers = [c for c in shipped if c.startswith("percent_")]
    rows = [
        dict(check=name, gap=gap, tolerance=CHECK_TOLERANCE_PP, ok=gap <= CHECK_TOLERANCE_PP)
        for name, gap in gaps.items()
    ]
    same = all(np.isclose(snip_row[c], shipped[c].iloc[0], atol=1e-3) for c in layers)
    rows.append(dict(check="SNIP at 3.6%: layer densities", gap=0.0 if same else 1.0, tolerance=0.0, ok=same))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("run", "check"),
        help="run: compute the studies and write their tables; check: re-train a slice",
    )
    parser.add_argument(
        "--study", nargs="+", default=list(STUDIES), choices=STUDIES, help="studies to run (default both)"
    )
    parser.add_argument("--store", default=None, help="results store (default: results/)")
    parser.add_argument("--out", default=str(FOLDER), help=f"folder of the tables (default {FOLDER})")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def main(args: argparse.Namespace) -> int:
    if args.action == "check":
        table = check(load(Path(args.out)), progress=not args.no_progress)
        print(table.to_string(index=False))
        ok = bool(table["ok"].all())
        print(
            "beyond check: "
            + ("the re-trained slice matches the shipped tables" if ok else "MISMATCH beyond tolerance")
        )
        return 0 if ok else 1
    run(args.study, Store(args.store), Path(args.out), progress=not args.no_progress)
    return 0
