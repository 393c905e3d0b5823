"""Figures of the two studies beyond the 2019 paper (``ticketlab.beyond``), drawn from its tables.

Like ``plots``: each function returns a titled matplotlib ``Figure``, never trains, and draws means
over seeds with min-to-max bands (seaborn's ``errorbar`` set to the range).
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..analysis import check_columns
from ..beyond import INIT_METHODS, STABLE_BARRIER, shuffle_drops
from .plots import CONDITION_STYLE, DENSE_COLOR, PALETTE, _percent_axis

SOURCE = "ticketlab.beyond.load()"  # where the tables these figures read come from
RANGE = ("pi", 100)  # seaborn's interval over 100% of the seeds: min to max, like the course's bands
METHOD_LABELS = {
    "snip": "SNIP",
    "grasp": "GraSP",
    "synflow": "SynFlow",
    "magnitude": "magnitude at init",
    "IMP ticket": "IMP ticket (reset to θ0)",
    "IMP reinit": "IMP reinit",
    "random": "random (ticket's layer sizes)",
}


def instability(pairs: pd.DataFrame, paths: pd.DataFrame) -> Figure:
    """Left: the error barrier against the rewinding point, one line per level of the IMP tickets,
    their controls' barriers from θ0 as separate markers. Right: test error along the path at the
    sparsest level, ticket against controls from θ0 (the shape a barrier measures)."""
    check_columns(pairs, ("condition", "round", "percent_remaining", "rewind_iteration", "barrier"), "pairs", SOURCE)
    check_columns(paths, ("condition", "round", "rewind_iteration", "alpha", "error"), "paths", SOURCE)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    seeds = pairs["seed"].nunique()
    fig.suptitle(
        f"Instability analysis: two copies trained from θk with different data orders\n"
        f"LeNet-300-100 on MNIST (mean over {seeds} seeds, band = min to max)",
        fontsize=13,
    )
    points = sorted(pairs["rewind_iteration"].unique())
    position = {k: i for i, k in enumerate(points)}
    shown = pairs.assign(
        barrier_pct=100 * pairs["barrier"],
        x=pairs["rewind_iteration"].map(position),
        level=pairs["percent_remaining"].round(1).astype(str) + "%",
    )
    tickets = shown[shown["condition"] == "ticket"]
    levels = sorted(tickets["level"].unique(), key=lambda s: -float(s[:-1]))
    sns.lineplot(
        tickets, x="x", y="barrier_pct", hue="level", hue_order=levels, palette=PALETTE[: len(levels)],
        marker="o", errorbar=RANGE, ax=left,
    )  # fmt: skip
    controls = shown[shown["condition"] != "ticket"]
    stats = controls.groupby(["condition", "level"], sort=False)["barrier_pct"].agg(["mean", "min", "max"])
    for (condition, level), s in stats.iterrows():  # beside θ0, reinit left of the ticket, random pruning right
        left.errorbar(
            -0.08 if condition == "reinit" else 0.08, s["mean"], yerr=[[s["mean"] - s["min"]], [s["max"] - s["mean"]]],
            fmt="s" if condition == "reinit" else "^", color=PALETTE[levels.index(level)] if level in levels else DENSE_COLOR,
            markersize=7, capsize=3, label=f"{condition} at {level}",
        )  # fmt: skip
    left.axhline(100 * STABLE_BARRIER, color=DENSE_COLOR, linestyle="--", linewidth=1, label="2%: stable below")
    left.set_xticks(range(len(points)), [f"θ{k}" for k in points])
    left.set(xlabel="copies start from (rewinding point k)", ylabel="error barrier on test (pp)")
    left.legend(fontsize=8, title="IMP ticket at", title_fontsize=8)
    sparsest = int(pairs["round"].max())
    line = paths[(paths["round"] == sparsest) & (paths["rewind_iteration"] == 0)]
    line = line.assign(error_pct=100 * line["error"])
    conditions = list(dict.fromkeys(line["condition"]))
    sns.lineplot(
        line, x="alpha", y="error_pct", hue="condition", hue_order=conditions,
        palette={c: CONDITION_STYLE[c][0] for c in conditions}, errorbar=RANGE, ax=right,
    )  # fmt: skip
    percent = pairs.loc[pairs["round"] == sparsest, "percent_remaining"].iloc[0]
    right.set(
        xlabel="α: (1 − α)·copy 1 + α·copy 2", ylabel="test error (%)",
        title=f"the path at {percent:.1f}% remaining, from θ0",
    )  # fmt: skip
    right.legend(fontsize=9)
    return fig


def pruning_at_init(table: pd.DataFrame) -> Figure:
    """Left: test accuracy at early stop against percent remaining for each method as published,
    with the IMP ticket, its reinit and random pruning. Right: what shuffling each mask within its
    layers costs (as published minus shuffled, pp); for the IMP ticket, the shuffled mask is random
    pruning with its layer sizes."""
    columns = ("method", "variant", "round", "percent_remaining", "test_acc_at_early_stop")
    check_columns(table, columns, "init_pruning", SOURCE)
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    fig.suptitle(
        f"Pruning at initialisation against IMP tickets\nLeNet-300-100 on MNIST "
        f"(mean over {table['seed'].nunique()} seeds, band and bars = min to max)",
        fontsize=13,
    )
    order = ["IMP ticket", "IMP reinit", "random", *INIT_METHODS]
    colours = dict(zip(order, PALETTE))
    shown = table[(table["variant"] == "as published") | (table["method"] == "random")]
    shown = shown.assign(accuracy=100 * shown["test_acc_at_early_stop"], label=shown["method"].map(METHOD_LABELS))
    sns.lineplot(
        shown, x="percent_remaining", y="accuracy", hue="label", hue_order=[METHOD_LABELS[m] for m in order],
        palette={METHOD_LABELS[m]: colours[m] for m in order}, marker="o", errorbar=RANGE, err_style="bars",
        err_kws={"capsize": 3}, ax=left,
    )  # fmt: skip
    _percent_axis(left, shown["percent_remaining"])
    left.set(ylabel="test accuracy at early stop (%)")
    left.legend(fontsize=8)
    drops = shuffle_drops(table)
    drops = drops.assign(level=drops["percent_remaining"].round(1).astype(str) + "%")
    methods = ["IMP ticket", *INIT_METHODS]
    sns.barplot(
        drops, x="level", y="drop_pp", hue="method", hue_order=methods, order=_by_density(drops["level"]),
        palette={m: colours[m] for m in methods}, errorbar=RANGE, ax=right,
    )  # fmt: skip
    right.axhline(0, color=DENSE_COLOR, linewidth=1)
    right.set(xlabel="weights remaining", ylabel="accuracy lost by shuffling (pp)", title="the shuffle check")
    handles, labels = right.get_legend_handles_labels()
    right.legend(handles, [METHOD_LABELS[m] for m in labels], fontsize=8)
    return fig


def _by_density(levels: pd.Series) -> list[str]:
    """Level labels such as "21.1%", densest first (pruning reads left to right)."""
    return sorted(levels.unique(), key=lambda label: -float(label.rstrip("%")))
