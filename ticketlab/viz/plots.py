"""Paper-style figures of an experiment, drawn from the tables of ``lottery.Results``.

Each function returns a matplotlib ``Figure`` (titled, labelled, with a legend) and never trains:
it reads ``Results.curves`` / ``Results.summary``, or masks and θ0 through ``Results``. Lines are
means over seeds and shaded bands span the min and max over seeds, as in Frankle & Carbin's
error bars. Levels are percent of weights remaining on a log axis that runs from 100 down,
so pruning reads left to right. Figures are not registered with pyplot: a notebook shows each
once, as a cell's value, and it is freed when no longer referenced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

from .. import analysis, models
from .. import data as datasets
from ..analysis import PAPER_LEVELS
from ..conditions import REGISTRY as CONDITION_REGISTRY
from ..errors import ConfigError, StoreError

# seaborn's default palette: every figure and diagram of the course draws in the same colours
PALETTE = tuple(sns.color_palette("deep").as_hex())
DENSE_COLOR = "#555555"
# colour and legend label of each condition, the same in every figure (labels: conditions.REGISTRY)
CONDITION_STYLE = {
    name: (PALETTE[i], condition.label) for i, (name, condition) in enumerate(CONDITION_REGISTRY.items())
}
METRIC_LABELS = {
    "early_stop_iteration": "early-stop iteration (min. validation loss)",
    "test_acc_at_early_stop": "test accuracy at early stop (%)",
    "test_acc": "test accuracy (%)",
    "val_acc": "validation accuracy (%)",
    "val_loss": "validation loss",
    "test_loss": "test loss",
    "final_train_acc": "training accuracy at the end (%)",
    "final_test_acc": "test accuracy at the end (%)",
}
PERCENT_METRICS = ("test_acc_at_early_stop", "test_acc", "val_acc", "final_train_acc", "final_test_acc")
BAND_ALPHA = 0.2
LAYER_MARKERS = ("o", "s", "^", "D", "v", "P")
WIDE, TALL = (12, 4.5), (7, 4.5)


def use_course_style() -> None:
    """Draw every later figure in the course's style: seaborn's default theme."""
    sns.set_theme()


# ----------------------------------------------------------------------------- helpers


def _figure(title: str, table: pd.DataFrame, figsize=WIDE, ncols: int = 1, what: str | None = None):
    """A constrained-layout figure whose title names the experiment and what lines and bands mean
    (``what`` says it for a figure that is not a mean over seeds, e.g. one seed's histogram)."""
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    fig.suptitle(f"{title}\n{_experiment_name(table, what)}", fontsize=13)
    return fig, axes


def _experiment_name(table: pd.DataFrame, what: str | None = None) -> str:
    seeds = table["seed"].nunique() if "seed" in table else 0
    what = what or (f"mean over {seeds} seeds, band = min to max" if seeds > 1 else "1 seed")
    if "model" not in table or table.empty:
        return what
    model, dataset = table["model"].iloc[0], table["dataset"].iloc[0]
    model_title = models.REGISTRY[model].title if model in models.REGISTRY else model
    return f"{model_title} on {datasets.title(dataset)} ({what})"


def _style(condition: str) -> tuple[str, str]:
    return CONDITION_STYLE.get(condition, (PALETTE[len(CONDITION_STYLE) % len(PALETTE)], condition))


def _scaled(metric: str, values):
    """Accuracies are plotted in percent, everything else as measured."""
    return 100.0 * np.asarray(values, dtype=float) if metric in PERCENT_METRICS else np.asarray(values, dtype=float)


def _mean_band(ax, x, mean, low, high, *, color: str, label: str, marker: str | None = "o", linestyle: str = "-"):
    """A mean line with a shaded min-to-max band around it."""
    ax.plot(x, mean, color=color, label=label, marker=marker, markersize=4, linestyle=linestyle)
    ax.fill_between(x, low, high, color=color, alpha=BAND_ALPHA, linewidth=0)


def _percent_axis(ax, percents) -> None:
    """Log x axis of percent remaining, inverted (100 on the left), ticked at the levels shown."""
    percents = sorted(set(np.round(np.asarray(percents, dtype=float), 1)), reverse=True)
    ticks = percents if len(percents) <= 7 else _level_ticks(percents)
    ax.set_xscale("log")
    ax.set_xlim(percents[0] * 1.15, percents[-1] / 1.15)  # left > right: pruning reads left to right
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("percent of weights remaining (log scale)")


def _level_ticks(percents: list[float]) -> list[float]:
    """The paper's levels where the data are on LeNet's ladder, else every other level of its own
    (a toy pruned at 40% per round never reaches 51.3% or 21.1%)."""
    on_ladder = [p for p in PAPER_LEVELS if any(abs(p - q) <= 0.1 for q in percents)]
    return on_ladder if len(on_ladder) >= 3 else percents[::2]


def _zoom_to_learned(ax, lines: list[np.ndarray]) -> None:
    """Hide the untrained start (about 10% accuracy) so the differences between trained curves show."""
    later = np.concatenate([line[len(line) // 5 :] for line in lines if len(line)])
    later = later[~np.isnan(later)]
    if len(later):
        low, high = later.min(), later.max()
        margin = max(0.25 * (high - low), 0.1)
        ax.set_ylim(low - margin, high + margin)


def _legend(ax) -> None:
    ax.legend(fontsize=9, loc="best", frameon=True)


# ----------------------------------------------------------------------------- training curves


def accuracy_curves(
    curves: pd.DataFrame,
    percents: Sequence[float] = PAPER_LEVELS,
    *,
    rounds: Sequence[int] | None = None,
    condition: str = "ticket",
    metric: str = "test_acc",
) -> Figure:
    """Test accuracy over training iterations at several sparsity levels (the paper's Figure 3).

    ``percents`` picks the nearest levels that exist (a small experiment may only reach a few);
    ``rounds`` names rounds directly instead.
    """
    analysis.check_columns(curves, analysis.CURVE_COLUMNS + (metric,), "curves")
    rows = analysis.check_condition(curves, condition)
    chosen = list(dict.fromkeys(rounds)) if rounds is not None else analysis.nearest_rounds(rows, percents, condition)
    _check_rounds(rows, chosen, condition)
    stats = analysis.curve_stats(rows, metric)
    fig, (ax,) = _figure(
        f"{METRIC_LABELS.get(metric, metric).capitalize()} during training: {_style(condition)[1]}", rows, figsize=TALL
    )
    plotted = []
    for color, round_ in zip(PALETTE, chosen):
        level = stats[stats["round"] == round_]
        mean, low, high = (_scaled(metric, level[c]) for c in ("mean", "min", "max"))
        _mean_band(
            ax,
            level["iteration"],
            mean,
            low,
            high,
            color=color,
            marker=None,
            label=f"{level['percent_remaining'].iloc[0]:.1f}% remaining",
        )
        plotted.append(mean)
    if metric in PERCENT_METRICS:
        _zoom_to_learned(ax, plotted)
    ax.set_xlabel("training iteration")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    _legend(ax)
    return fig


def condition_curves(
    curves: pd.DataFrame, round_: int | None = None, percent: float = 21.1, conditions: Sequence[str] | None = None
) -> Figure:
    """Validation loss and test accuracy during training of every condition at one sparsity level,
    with the dense network for reference (default: the controls' level nearest ``percent``)."""
    analysis.check_columns(curves, analysis.CURVE_COLUMNS + ("val_loss", "test_acc"), "curves")
    conditions = _conditions(curves, conditions)
    controls = [c for c in conditions if c != "ticket"]
    if round_ is None:
        round_ = analysis.nearest_round(curves, percent, controls[0] if controls else "ticket")
    _check_rounds(curves, [round_], conditions[0])
    level = curves[curves["round"] == round_]
    fig, axes = _figure(
        f"Training at {level['percent_remaining'].iloc[0]:.1f}% of weights remaining: ticket and controls",
        curves,
        ncols=2,
    )
    dense = curves[(curves["condition"] == "ticket") & (curves["round"] == 0)]
    for ax, metric in zip(axes, ("val_loss", "test_acc")):
        plotted = []
        runs = [(c, level[level["condition"] == c]) for c in conditions] + [("dense", dense)]
        for condition, rows in runs:
            if rows.empty:
                continue
            stats = analysis.curve_stats(rows, metric)
            mean, low, high = (_scaled(metric, stats[c]) for c in ("mean", "min", "max"))
            color, label = (DENSE_COLOR, "dense network") if condition == "dense" else _style(condition)
            _mean_band(
                ax,
                stats["iteration"],
                mean,
                low,
                high,
                color=color,
                label=label,
                marker=None,
                linestyle="--" if condition == "dense" else "-",
            )
            plotted.append(mean)
        if metric == "test_acc":
            _zoom_to_learned(ax, plotted)
        else:
            _clip_loss(ax, plotted)
        ax.set_xlabel("training iteration")
        ax.set_ylabel(METRIC_LABELS[metric])
    _legend(axes[1])
    return fig


def _clip_loss(ax, lines: list[np.ndarray]) -> None:
    """Start the loss axis below the untrained loss (about 2.3) so the minima are visible."""
    later = np.concatenate([line[len(line) // 5 :] for line in lines if len(line)])
    if len(later):
        ax.set_ylim(0.9 * np.nanmin(later), 1.2 * np.nanmax(later))


# ----------------------------------------------------------------------------- against sparsity


def early_stop_vs_density(
    summary: pd.DataFrame,
    conditions: Sequence[str] | None = None,
    title: str = "Early stopping and accuracy against sparsity",
) -> Figure:
    """Early-stop iteration and test accuracy at early stop against percent remaining (the paper's
    Figures 4 and 5): one colour per condition, the dense network as a dashed line."""
    analysis.check_columns(summary, analysis.SUMMARY_COLUMNS)
    conditions = _conditions(summary, conditions)
    stats = analysis.level_stats(summary)
    series = [(*_style(condition), stats[stats["condition"] == condition]) for condition in conditions]
    return _density_panels(
        title, summary, series, dense=stats[(stats["condition"] == "ticket") & (stats["round"] == 0)]
    )


def iterative_vs_one_shot(summary: pd.DataFrame) -> Figure:
    """Iterative pruning (the ticket) against one-shot pruning to the same per-layer sizes."""
    return early_stop_vs_density(summary, ("ticket", "one-shot"), title="Iterative against one-shot pruning")


def rewinding(summaries: Mapping[str, pd.DataFrame], condition: str = "ticket") -> Figure:
    """Tickets reset to θ0 against tickets rewound to an early iteration θk, one colour per label
    (e.g. ``{"reset to θ0": results.summary, "rewind to iteration 100": rewound.summary}``)."""
    if not summaries:
        raise ConfigError("rewinding needs at least one labelled summary, e.g. {'reset to θ0': results.summary}")
    series, tables = [], []
    for color, (label, summary) in zip(PALETTE, summaries.items()):
        analysis.check_columns(summary, analysis.SUMMARY_COLUMNS)
        rows = analysis.check_condition(summary, condition)
        series.append((color, label, analysis.level_stats(rows)))
        tables.append(rows)
    first = next(iter(summaries.values()))
    dense = analysis.level_stats(first[(first["condition"] == "ticket") & (first["round"] == 0)])
    return _density_panels("Resetting to θ0 against rewinding to θk", pd.concat(tables), series, dense=dense)


def generalisation(
    summary: pd.DataFrame,
    conditions: Sequence[str] | None = None,
    title: str = "Training and test accuracy at the end of training",
) -> Figure:
    """Training and test accuracy at the last iteration against percent remaining (the paper's
    Figure 4b): a network that fits its training set equally well but scores higher on test data
    generalises better."""
    metrics = ("final_train_acc", "final_test_acc")
    analysis.check_columns(summary, analysis.SUMMARY_COLUMNS + metrics)
    conditions = _conditions(summary, conditions)
    stats = analysis.level_stats(summary, metrics)
    series = [(*_style(condition), stats[stats["condition"] == condition]) for condition in conditions]
    dense = stats[(stats["condition"] == "ticket") & (stats["round"] == 0)]
    return _density_panels(title, summary, series, dense, metrics)


def _density_panels(title: str, table: pd.DataFrame, series, dense: pd.DataFrame, metrics=analysis.METRICS) -> Figure:
    """Two panels against percent remaining (default: early-stop iteration and test accuracy at early stop)."""
    fig, axes = _figure(title, table, ncols=2)
    for ax, metric in zip(axes, metrics):
        for color, label, rows in series:
            rows = rows.sort_values("percent_remaining", ascending=False)
            mean, low, high = (_scaled(metric, rows[f"{metric}_{s}"]) for s in ("mean", "min", "max"))
            _mean_band(ax, rows["percent_remaining"], mean, low, high, color=color, label=label)
        if not dense.empty:
            ax.axhline(
                _scaled(metric, dense[f"{metric}_mean"]).mean(),
                color=DENSE_COLOR,
                linestyle="--",
                linewidth=1,
                label="dense network",
            )
        _percent_axis(ax, table["percent_remaining"])
        ax.set_ylabel(METRIC_LABELS[metric])
    _legend(axes[1])
    return fig


def _conditions(table: pd.DataFrame, conditions: Sequence[str] | None) -> list[str]:
    """The requested conditions (checked), or every condition present in a stable order."""
    if conditions is None:
        present = set(table["condition"])
        return [c for c in CONDITION_STYLE if c in present] + sorted(present - set(CONDITION_STYLE))
    for condition in conditions:
        analysis.check_condition(table, condition)
    return list(conditions)


def _check_rounds(table: pd.DataFrame, rounds: Sequence[int], condition: str) -> None:
    available = sorted(set(table.loc[table["condition"] == condition, "round"]))
    missing = [r for r in rounds if r not in available]
    if missing:
        raise ConfigError(f"round {missing[0]} has no {condition!r} runs; choose from {', '.join(map(str, available))}")


# ----------------------------------------------------------------------------- inside the ticket


def layer_sparsity(source, seed: int | None = None) -> Figure:
    """Percent of weights remaining per layer through the rounds (the output layer is pruned at half rate).

    ``source`` is a ``Results`` (masks are read for ``seed``) or a table from
    ``analysis.layer_remaining_of``.
    """
    table = source if isinstance(source, pd.DataFrame) else analysis.layer_remaining_of(source, seed)
    analysis.check_columns(table, ("round", "layer", "percent_remaining"), "layer")
    name_source = source if isinstance(source, pd.DataFrame) else source.summary
    fig, (ax,) = _figure(
        "Weights remaining per layer through the rounds", name_source, figsize=TALL, what="the same for every seed"
    )
    layers = [name for name in dict.fromkeys(table["layer"]) if name != "all"]
    # layers pruned at the same rate lie on one line: wide and pale under narrow and dashed, so each shows
    widths = np.linspace(5, 1.5, len(layers))
    for i, (color, marker, layer) in enumerate(zip(PALETTE, LAYER_MARKERS * len(layers), layers)):
        rows = table[table["layer"] == layer]
        label = f"{layer} (output layer, half rate)" if layer == layers[-1] else layer
        ax.plot(
            rows["round"],
            rows["percent_remaining"],
            marker=marker,
            markersize=4 + 2 * widths[i],
            fillstyle="none",
            color=color,
            label=label,
            linewidth=widths[i],
            linestyle=("-", "--", ":", "-.")[i % 4],
            alpha=0.6 if i == 0 else 1.0,
        )
    overall = table[table["layer"] == "all"]
    if not overall.empty:
        ax.plot(overall["round"], overall["percent_remaining"], color="black", linestyle="--", label="whole network")
    _log_percent_yaxis(ax, table["percent_remaining"])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("pruning round")
    ax.set_ylabel("percent of weights remaining (log scale)")
    _legend(ax)
    return fig


def _log_percent_yaxis(ax, percents) -> None:
    """Log y axis of percent remaining with round-number ticks (1-2-5 steps, or 10-unit steps if
    the range is narrow, as in a smoke run)."""
    low, high = float(np.min(percents)), float(np.max(percents))
    ax.set_yscale("log")
    ticks = [t for t in (100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1) if low <= t <= high]
    if len(ticks) < 3:
        ticks = [t for t in range(10, 101, 10) if low <= t <= high] or [high]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def first_layer_masks(results, seed: int | None = None, rounds: Sequence[int] | None = None) -> Figure:
    """How many first-layer connections of each input pixel survive, as 28×28 images, one per round
    (default: the rounds nearest 51.3, 21.1, 7.0 and 3.6% remaining; round 0 keeps every connection),
    on one logarithmic colour scale shared by all panels, so that panels compare."""
    summary, seed = results.summary, analysis.resolve_seed(results, seed)
    rounds = list(rounds) if rounds is not None else analysis.nearest_rounds(summary, PAPER_LEVELS[1:5])
    _check_rounds(summary, rounds, "ticket")
    images = [analysis.first_layer_connections_of(results, seed, r) for r in rounds]
    fig, axes = _figure(
        "Which input pixels keep their first-layer connections",
        summary[summary["seed"] == seed],
        figsize=(3.2 * len(rounds) + 1.5, 3.8),
        ncols=len(rounds),
        what=f"seed {seed}",
    )
    percents = summary[summary["condition"] == "ticket"].groupby("round")["percent_remaining"].first()
    units = next(iter(results.mask(seed, 0).values())).shape[0]
    norm = mpl.colors.LogNorm(vmin=1, vmax=units)
    cmap = mpl.colormaps["magma"].with_extremes(bad="black")  # no connection left: black
    for ax, round_, image in zip(axes, rounds, images):
        shown = ax.imshow(np.ma.masked_less(np.asarray(image), 1), cmap=cmap, norm=norm)
        ax.set_title(f"round {round_}: {percents[round_]:.1f}% remaining", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes), shrink=0.75, label=f"connections kept (of {units}, log scale)")
    fig.supxlabel("bright pixels keep many of their connections; black ones none", fontsize=10)
    return fig


def survivor_init_distribution(
    results, seed: int | None = None, round_: int | None = None, layer: str | None = None
) -> Figure:
    """Histogram of the initial values θ0 of the weights that survive pruning and of those pruned
    (default: the first layer at the round nearest 21.1% remaining)."""
    summary, seed = results.summary, analysis.resolve_seed(results, seed)
    if round_ is None:
        pruned = summary[(summary["condition"] == "ticket") & (summary["round"] > 0)]
        if pruned.empty:
            raise ConfigError("these results have no pruned round yet; run at least 1 round")
        round_ = analysis.nearest_round(pruned, 21.1)
    _check_rounds(summary, [round_], "ticket")
    layer = layer or next(iter(results.mask(seed, round_)))
    table = analysis.survivor_init_of(results, seed, round_, layer)
    percent = summary.loc[(summary["condition"] == "ticket") & (summary["round"] == round_), "percent_remaining"].iloc[
        0
    ]
    fig, (ax,) = _figure(
        f"Where the survivors started: θ0 of {layer} at {percent:.1f}% remaining",
        summary,
        figsize=TALL,
        what=f"seed {seed}",
    )
    bins = np.linspace(table["theta0"].min(), table["theta0"].max(), 61)
    for survived, color, label in ((False, DENSE_COLOR, "pruned"), (True, PALETTE[0], "survived")):
        values = table.loc[table["survived"] == survived, "theta0"]
        ax.hist(
            values,
            bins=bins,
            color=color,
            alpha=0.6,
            label=f"{label}: {len(values):,} weights, mean |θ0| = {values.abs().mean():.3f}",
        )
    ax.set_xlabel("initial value θ0")
    ax.set_ylabel("number of weights")
    _legend(ax)
    return fig


def round_overview(results, seed: int | None = None, round_: int = 0) -> Figure:
    """One round of the ticket at a glance (for the round browser): first-layer mask, θ0 of
    survivors vs pruned, and its test accuracy during training next to the dense network's."""
    summary, seed = results.summary, analysis.resolve_seed(results, seed)
    _check_rounds(summary, [round_], "ticket")
    percent = summary.loc[(summary["condition"] == "ticket") & (summary["round"] == round_), "percent_remaining"].iloc[
        0
    ]
    fig, (ax_mask, ax_init, ax_curve) = _figure(
        f"Round {round_}: {percent:.1f}% of weights remaining (seed {seed})",
        summary[summary["seed"] == seed],
        figsize=(14, 4.2),
        ncols=3,
    )
    _mask_panel(fig, ax_mask, results, seed, round_)
    table = analysis.survivor_init_of(results, seed, round_)
    bins = np.linspace(table["theta0"].min(), table["theta0"].max(), 41)
    for survived, color, label in ((False, DENSE_COLOR, "pruned"), (True, PALETTE[0], "survived")):
        ax_init.hist(table.loc[table["survived"] == survived, "theta0"], bins=bins, color=color, alpha=0.6, label=label)
    ax_init.set(title="θ0 of the first layer", xlabel="initial value θ0", ylabel="number of weights")
    _legend(ax_init)
    curves = results.curves[(results.curves["seed"] == seed) & (results.curves["condition"] == "ticket")]
    plotted = []
    for round_shown, color, label in ((0, DENSE_COLOR, "dense network"), (round_, PALETTE[0], f"round {round_}")):
        rows = curves[curves["round"] == round_shown].dropna(subset=["test_acc"])
        ax_curve.plot(rows["iteration"], 100 * rows["test_acc"], color=color, label=label)
        plotted.append(100 * rows["test_acc"].to_numpy())
    _zoom_to_learned(ax_curve, plotted)
    ax_curve.set(title="test accuracy during training", xlabel="training iteration", ylabel=METRIC_LABELS["test_acc"])
    _legend(ax_curve)
    return fig


def _mask_panel(fig, ax, results, seed: int, round_: int) -> None:
    try:
        image = analysis.first_layer_connections_of(results, seed, round_)
    except ConfigError:  # not an image model: show the per-layer table's numbers instead
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            results.mask(seed, round_).report().round(1).to_string(index=False),
            ha="center",
            va="center",
            family="monospace",
            fontsize=8,
        )
        return
    shown = ax.imshow(image, cmap="magma", vmin=0, vmax=max(1.0, image.max()))
    ax.set(title="first-layer connections kept per pixel", xticks=[], yticks=[])
    fig.colorbar(shown, ax=ax, shrink=0.8)


# ----------------------------------------------------------------------------- for the CLI


VERDICT_COLORS = {"reproduced": PALETTE[2], "partly": PALETTE[8], "not": PALETTE[3], "untested": "#DDDDDD"}


def reproduction_scoreboard(table: pd.DataFrame, title: str = "The paper's claims on our runs") -> Figure:
    """``report.reproduction_table`` (or ``report.side_by_side`` of several experiments) as a figure
    for slides: one row per claim, the paper's number, ours, and each verdict as a coloured cell."""
    experiments = [c[: -len(" verdict")] for c in table.columns if c.endswith(" verdict")]
    if not experiments and "verdict" in table.columns:
        table = table.rename(
            columns={
                "ours": "ours (mean, min to max over seeds)",
                "verdict": "ours (mean, min to max over seeds) verdict",
            }
        )
        experiments = ["ours (mean, min to max over seeds)"]
    missing = [c for c in ("claim", "paper") if c not in table.columns] + ([] if experiments else ["verdict"])
    if missing or table.empty:
        raise ConfigError(
            "give the table of report.reproduction_table(results.summary): "
            + (f"it lacks {', '.join(missing)}" if missing else "it is empty")
        )
    columns = ["claim", "paper"] + [c for name in experiments for c in (name, f"{name} verdict")]
    labels = ["claim", "paper"] + [c for name in experiments for c in (name, "verdict")]
    widths = [0.3, 0.14] + [w for _ in experiments for w in (0.46 / len(experiments) - 0.08, 0.08)]
    fig = Figure(figsize=(13 + 3 * (len(experiments) - 1), 0.36 * (len(table) + 1) + 0.7), layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    grid = ax.table(
        cellText=table[columns].to_numpy().tolist(), colLabels=labels, loc="center", cellLoc="left", colWidths=widths
    )
    grid.auto_set_font_size(False)
    grid.set_fontsize(9)
    grid.scale(1, 1.6)
    for i, name in enumerate(experiments):
        for row, verdict in enumerate(table[f"{name} verdict"], start=1):
            grid[row, 3 + 2 * i].set_facecolor(VERDICT_COLORS.get(verdict, "white"))
    for col in range(len(columns)):
        grid[0, col].set_text_props(weight="bold")
    counts = [table[f"{name} verdict"].value_counts() for name in experiments]
    tallies = [
        "; ".join(
            (f"{name}: " if len(experiments) > 1 else "") + ", ".join(f"{int(c.get(v, 0))} {v}" for v in VERDICT_COLORS)
            for name, c in zip(experiments, counts)
        )
    ]
    fig.suptitle(f"{title}: {tallies[0]}")
    return fig


def save_experiment_figures(results, out_dir, dpi: int = 120) -> list[Path]:
    """Write the paper-style PNGs that these results support into ``out_dir``; return their paths.

    Figures that need a condition or level the experiment lacks are skipped, so this works for a
    one-seed smoke run as well as for the full protocol.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"figure folder {out} cannot be created ({err.strerror}); give a writable folder") from None
    paths = []
    for name, draw in _experiment_figures(results):
        path = out / f"{name}.png"
        draw().savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def _experiment_figures(results) -> list[tuple[str, object]]:
    """(file name, drawing function) for every figure these results support."""
    summary, curves = results.summary, results.curves
    if summary.empty:
        return []
    conditions = set(summary["condition"])
    pruned = bool((summary["round"] > 0).any())
    figures = [
        ("accuracy_curves", lambda: accuracy_curves(curves)),
        ("early_stop_vs_density", lambda: early_stop_vs_density(summary)),
        ("layer_sparsity", lambda: layer_sparsity(results)),
    ]
    if conditions - {"ticket"}:
        figures.append(("condition_curves", lambda: condition_curves(curves)))
    if "one-shot" in conditions:
        figures.append(("iterative_vs_one_shot", lambda: iterative_vs_one_shot(summary)))
    if _has_pixel_input(results):
        figures.append(("first_layer_masks", lambda: first_layer_masks(results)))
    if pruned:
        figures.append(("survivor_init_distribution", lambda: survivor_init_distribution(results)))
    return figures


def _has_pixel_input(results) -> bool:
    try:
        analysis.first_layer_connections_of(results)
    except ConfigError:
        return False
    return True
