"""Numbers that read an experiment: spreads over seeds, comparisons with the dense network and
between conditions, and the facts the notebooks quote against the paper.

Everything here is a pure function of the tables of ``lottery.Results`` (``summary`` and
``curves``), except the three ``*_of`` helpers at the end that read masks and θ0 from a
``Results``. Nothing trains. Comparisons are *paired by seed*: a ticket and its control share
θ0's seed and batch order, so the per-seed difference is the honest unit and the spread over
seeds (min/max, as in the paper's error bars) is reported next to every mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError

# the levels (percent of weights remaining) that Frankle & Carbin's Figure 3 plots for LeNet
PAPER_LEVELS = (100.0, 51.3, 21.1, 7.0, 3.6, 1.9)
METRICS = ("early_stop_iteration", "test_acc_at_early_stop")
SUMMARY_COLUMNS = ("condition", "seed", "round", "percent_remaining") + METRICS
CURVE_COLUMNS = ("condition", "seed", "round", "percent_remaining", "iteration")


class Spread(NamedTuple):
    """A mean over seeds with the min and max around it (the paper's error bars)."""

    mean: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values) -> Spread:
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        if not len(values):
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(float(values.mean()), float(values.min()), float(values.max()), len(values))

    def format(self, digits: int = 2, unit: str = "") -> str:
        """``'2.51x (1.90 to 3.10 over 2 seeds)'``: the text notebooks print for a claim."""
        if self.n == 0:
            return "n/a"
        mean = f"{self.mean:.{digits}f}{unit}"
        if self.n == 1:
            return f"{mean} (1 seed)"
        return f"{mean} ({self.min:.{digits}f} to {self.max:.{digits}f}{unit} over {self.n} seeds)"


# ----------------------------------------------------------------------------- checks


def check_columns(table: pd.DataFrame, columns, what: str = "summary", source: str | None = None) -> pd.DataFrame:
    """Raise DataError unless ``table`` is a non-empty DataFrame with ``columns``; ``source`` says
    where such a table comes from (default ``Results.<what>``)."""
    source = source or f"Results.{what}"
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"expected the {what} DataFrame of {source}, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"the {what} table lacks column {missing[0]!r}; pass {source}")
    if table.empty:
        raise DataError(f"the {what} table is empty: run the experiment first")
    return table


def check_condition(table: pd.DataFrame, condition: str) -> pd.DataFrame:
    """The rows of ``condition``; ConfigError naming the conditions that exist otherwise."""
    rows = table[table["condition"] == condition]
    if rows.empty:
        present = ", ".join(dict.fromkeys(table["condition"]))
        raise ConfigError(f"condition {condition!r} is not in these results; choose one of {present}")
    return rows


# ----------------------------------------------------------------------------- levels


def levels(table: pd.DataFrame, condition: str = "ticket") -> pd.DataFrame:
    """The rounds at which ``condition`` ran, with their percent remaining, densest first."""
    rows = check_condition(check_columns(table, ("condition", "round", "percent_remaining"), "summary"), condition)
    out = rows.groupby("round", as_index=False)["percent_remaining"].first()
    return out.sort_values("percent_remaining", ascending=False, ignore_index=True)


def nearest_round(table: pd.DataFrame, percent: float, condition: str = "ticket") -> int:
    """The round of ``condition`` whose percent remaining is closest to ``percent`` on a log scale
    (sparsity levels are a geometric ladder, so 'closest' means closest ratio)."""
    if not 0 < float(percent) <= 100:
        raise ConfigError(f"percent remaining {percent!r} is outside (0, 100]")
    available = levels(table, condition)
    distance = (np.log(available["percent_remaining"]) - math.log(percent)).abs()
    return int(available["round"].iloc[int(distance.values.argmin())])


def nearest_rounds(table: pd.DataFrame, percents=PAPER_LEVELS, condition: str = "ticket") -> list[int]:
    """``nearest_round`` for each level, without repeats (a small run may lack the sparse levels)."""
    return list(dict.fromkeys(nearest_round(table, p, condition) for p in percents))


# ----------------------------------------------------------------------------- spreads over seeds


def level_stats(table: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """Per condition and round: percent remaining, number of seeds, and mean/min/max/std of each metric."""
    check_columns(table, ("condition", "seed", "round", "percent_remaining") + tuple(metrics))
    grouped = table.groupby(["condition", "round"], sort=False)
    out = grouped.agg(percent_remaining=("percent_remaining", "first"), seeds=("seed", "nunique"))
    for metric in metrics:
        stats = grouped[metric].agg(["mean", "min", "max", "std"])
        out[[f"{metric}_{s}" for s in stats.columns]] = stats.values
    return out.reset_index().sort_values(["condition", "round"], ignore_index=True)


def curve_stats(curves: pd.DataFrame, metric: str = "test_acc") -> pd.DataFrame:
    """Per condition, round and iteration: mean/min/max of ``metric`` over seeds.

    Points where the metric was not measured (test curves can be sparser than validation ones)
    are dropped, so every row is an average of real measurements.
    """
    check_columns(curves, CURVE_COLUMNS + (metric,), "curves")
    measured = curves.dropna(subset=[metric])
    grouped = measured.groupby(["condition", "round", "iteration"])
    out = grouped.agg(
        percent_remaining=("percent_remaining", "first"),
        seeds=("seed", "nunique"),
        mean=(metric, "mean"),
        min=(metric, "min"),
        max=(metric, "max"),
    )
    return out.reset_index()


# ----------------------------------------------------------------------------- against the dense network


def with_dense(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` plus each run's comparison with the dense network of the same seed.

    Adds ``acc_gain_pp`` (test accuracy at early stop minus dense, in percentage points) and
    ``percent_earlier`` (how much earlier than dense the run reaches minimum validation loss;
    the paper's "38% earlier" at 21%).
    """
    check_columns(summary, SUMMARY_COLUMNS)
    dense = check_condition(summary, "ticket")
    dense = dense[dense["round"] == 0]
    if dense.empty:
        raise DataError("the summary has no dense run (ticket, round 0) to compare with")
    dense = dense.set_index("seed")[list(METRICS)].add_prefix("dense_")
    out = summary.join(dense, on="seed")
    out["acc_gain_pp"] = 100.0 * (out["test_acc_at_early_stop"] - out["dense_test_acc_at_early_stop"])
    out["percent_earlier"] = 100.0 * (
        1.0 - out["early_stop_iteration"] / out["dense_early_stop_iteration"].replace(0, np.nan)
    )
    return out


def relative_to_dense(summary: pd.DataFrame) -> pd.DataFrame:
    """``level_stats`` of the metrics and of the per-seed gains over dense, per condition and round."""
    return level_stats(with_dense(summary), METRICS + ("acc_gain_pp", "percent_earlier"))


def dense_reference(summary: pd.DataFrame, metric: str = "test_acc_at_early_stop") -> Spread:
    """The dense network's ``metric`` over seeds (round 0 of the ticket)."""
    rows = check_condition(check_columns(summary, SUMMARY_COLUMNS), "ticket")
    return Spread.of(rows.loc[rows["round"] == 0, metric])


def _condition_levels(summary: pd.DataFrame, condition: str) -> pd.DataFrame:
    check_condition(check_columns(summary, SUMMARY_COLUMNS), condition)
    table = relative_to_dense(summary)
    table = table[(table["condition"] == condition) & (table["round"] > 0)]
    return table.sort_values("percent_remaining", ascending=False, ignore_index=True)


def fastest_level(summary: pd.DataFrame, condition: str = "ticket") -> pd.Series | None:
    """The pruned level where ``condition`` reaches minimum validation loss earliest (mean over seeds)."""
    table = _condition_levels(summary, condition)
    return None if table.empty else table.loc[table["early_stop_iteration_mean"].idxmin()]


def most_accurate_level(summary: pd.DataFrame, condition: str = "ticket") -> pd.Series | None:
    """The pruned level where ``condition``'s test accuracy at early stop is highest (mean over seeds)."""
    table = _condition_levels(summary, condition)
    return None if table.empty else table.loc[table["test_acc_at_early_stop_mean"].idxmax()]


def below_dense_from(summary: pd.DataFrame, condition: str = "reinit", every_seed: bool = False) -> pd.Series | None:
    """The densest level from which on ``condition`` stays below dense accuracy at every sparser level.

    "Stays" makes the answer robust to one noisy level near 100%. With ``every_seed`` a level
    counts as below only if even its best seed is below its dense network. None if the
    sparsest level is not below dense.
    """
    table = _condition_levels(summary, condition)
    below = table["acc_gain_pp_max" if every_seed else "acc_gain_pp_mean"] < 0
    if table.empty or not below.iloc[-1]:
        return None
    first = len(below) - int(np.argmin(below.values[::-1])) if not below.all() else 0
    return table.iloc[first]


# ----------------------------------------------------------------------------- ticket against a control


def paired(summary: pd.DataFrame, control: str, reference: str = "ticket") -> pd.DataFrame:
    """One row per seed and round where both ran: ``speedup`` (control's early-stop iteration over
    the reference's: 2.51 = the reference stops 2.51x earlier) and ``acc_gain_pp`` (reference
    minus control test accuracy at early stop, in percentage points)."""
    check_columns(summary, SUMMARY_COLUMNS)
    keys = ["seed", "round"]
    ref = check_condition(summary, reference).set_index(keys)[["percent_remaining", *METRICS]]
    other = check_condition(summary, control).set_index(keys)[list(METRICS)]
    both = ref.merge(other, left_index=True, right_index=True, suffixes=(f"_{reference}", f"_{control}")).reset_index()
    es_ref, es_other = both[f"early_stop_iteration_{reference}"], both[f"early_stop_iteration_{control}"]
    both["speedup"] = es_other / es_ref.replace(0, np.nan)
    both["acc_gain_pp"] = 100.0 * (
        both[f"test_acc_at_early_stop_{reference}"] - both[f"test_acc_at_early_stop_{control}"]
    )
    return both.sort_values(["round", "seed"], ignore_index=True)


@dataclass(frozen=True)
class Comparison:
    """A reference condition against a control at one level, with the per-seed table behind it."""

    reference: str
    control: str
    round: int
    percent_remaining: float
    per_seed: pd.DataFrame
    speedup: Spread
    acc_gain_pp: Spread


def compare_at(
    summary: pd.DataFrame, control: str = "reinit", percent: float = 21.1, reference: str = "ticket"
) -> Comparison:
    """``reference`` vs ``control`` at the control's level nearest ``percent`` (the paper: 21.1%)."""
    round_ = nearest_round(summary, percent, control)
    rows = paired(summary, control, reference)
    rows = rows[rows["round"] == round_].reset_index(drop=True)
    if rows.empty:
        raise DataError(f"no seed has both {reference!r} and {control!r} at round {round_}")
    return Comparison(
        reference,
        control,
        round_,
        float(rows["percent_remaining"].iloc[0]),
        rows,
        Spread.of(rows["speedup"]),
        Spread.of(rows["acc_gain_pp"]),
    )


def compare_levels(summary: pd.DataFrame, control: str, reference: str = "ticket") -> pd.DataFrame:
    """``compare_at`` at every round where the control ran: mean/min/max of speedup and accuracy gain."""
    return level_stats(paired(summary, control, reference).assign(condition=control), ("speedup", "acc_gain_pp"))


def spread_of(level: pd.Series, metric: str) -> Spread:
    """The ``Spread`` of ``metric`` in one row of ``level_stats`` / ``relative_to_dense``."""
    return Spread(level[f"{metric}_mean"], level[f"{metric}_min"], level[f"{metric}_max"], int(level["seeds"]))


# ----------------------------------------------------------------------------- inside the ticket (reads Results)


def layer_remaining_of(results, seed: int | None = None) -> pd.DataFrame:
    """Percent of weights remaining per layer (and ``all``) at every ticket round of one seed."""
    seed = resolve_seed(results, seed)
    rows = []
    for round_ in sorted(levels(results.summary, "ticket")["round"]):
        mask = results.mask(seed, round_)
        report = mask.report()
        rows += [
            {"round": round_, "layer": r.layer, "percent_remaining": r.percent_remaining} for r in report.itertuples()
        ]
        rows.append({"round": round_, "layer": "all", "percent_remaining": mask.percent_remaining})
    return pd.DataFrame(rows)


def first_layer_connections_of(
    results, seed: int | None = None, round_: int = 0, condition: str = "ticket"
) -> np.ndarray:
    """How many first-layer connections of each input pixel survive, as an (H, W) image."""
    mask = results.mask(resolve_seed(results, seed), int(round_), condition)
    first = next(iter(mask))
    weights = mask[first]
    side = math.isqrt(weights.shape[1]) if weights.dim() == 2 else 0
    if side * side != weights.shape[-1] or weights.dim() != 2:
        raise ConfigError(
            f"first layer {first} has shape {tuple(weights.shape)}; pixel images need a fully "
            f"connected first layer on square grey images (lenet on mnist or fashion-mnist)"
        )
    return weights.sum(0).reshape(side, side).numpy()


def survivor_init_of(results, seed: int | None = None, round_: int = 1, layer: str | None = None) -> pd.DataFrame:
    """θ0 of every weight of ``layer`` (default: the first) with whether it survives in ``round_``."""
    seed = resolve_seed(results, seed)
    mask = results.mask(seed, int(round_))
    layer = layer or next(iter(mask))
    if layer not in mask:
        raise ConfigError(f"layer {layer!r} is not prunable; choose one of {', '.join(mask)}")
    theta0 = results.initial_weights(seed)[layer].flatten()
    return pd.DataFrame({"theta0": theta0.numpy(), "survived": mask[layer].flatten().bool().numpy()})


def resolve_seed(results, seed: int | None = None) -> int:
    """``seed`` if these results have it (ConfigError otherwise); the first seed when None."""
    seeds = sorted(set(results.summary["seed"])) if len(results.summary) else []
    if not seeds:
        raise DataError("these results have no finished runs: run the experiment first")
    if seed is None:
        return int(seeds[0])
    if seed not in seeds:
        raise ConfigError(f"seed {seed!r} is not in these results; choose one of {', '.join(map(str, seeds))}")
    return int(seed)
