"""The notebooks' own figures (01 and 02), beside the paper's plots in ``plots``.

Notebook 01: one run's training curves, one-shot pruning without retraining, fine-tuning, weight
histograms and first-layer masks; notebook 02: the loss along a straight line and a toy
network's decision regions. Each takes tables, weights or masks (``course.experiments`` computes
them) and returns a ``Figure``; the pure helpers behind them (``pixel_connections``,
``decision_grid``) are here so tests can check what is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator
from torch import nn

from ..data import Splits
from ..errors import ConfigError
from ..masks import Mask
from ..models import build
from ..training import RunResult
from .plots import CONDITION_STYLE, DENSE_COLOR, PALETTE

if TYPE_CHECKING:  # the course's types, named in signatures only: figures never import the course
    from ..course.experiments import Panel, PrunedPoint

METHOD_STYLE = {  # colour and legend label of each one-shot pruning rule
    "magnitude": (PALETTE[0], "magnitude |w| (Han et al., 2015)"),
    "karnin": (PALETTE[3], "sensitivity (Karnin, 1990)"),
    "random": (PALETTE[7], "random"),
}
LINE_STYLES = ("-", "--", "-.", ":")


def training_figure(result: RunResult, title: str) -> Figure:
    """Validation loss and test accuracy of one run during training, its early-stop iteration marked."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    curve = result.curve
    for ax, column, label in zip(
        fig.subplots(1, 2), ("val_loss", "test_acc"), ("validation loss", "test accuracy (%)")
    ):
        values = curve[column] * (100 if column == "test_acc" else 1)
        ax.plot(curve["iteration"], values, color=PALETTE[0], marker="o", markersize=3)
        ax.axvline(
            result.early_stop_iteration,
            color=DENSE_COLOR,
            linestyle="--",
            linewidth=1,
            label=f"early stop (min. validation loss): iteration {result.early_stop_iteration:,}",
        )
        ax.set_xlabel("training iteration")
        ax.set_ylabel(label)
        trained = values.iloc[1:]  # the untrained start would flatten the rest of the curve
        ax.set_ylim(
            *((trained.min() * 0.95, trained.max() * 1.05) if column == "val_loss" else (trained.min() - 1, 100))
        )
    fig.axes[1].legend(fontsize=9, loc="lower right")
    fig.suptitle(title)
    return fig


def _percent_axis(ax, percents) -> None:
    """Log x axis of percent remaining running from 100 on the left towards sparse on the right."""
    ax.set_xscale("log")
    ax.set_xlim(max(percents) * 1.15, min(percents) / 1.15)
    ticks = [t for t in (100, 50, 20, 10, 5, 2, 1, 0.5) if min(percents) <= t <= max(percents)]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("percent of weights remaining (log scale)")


def one_shot_figure(table: pd.DataFrame, dense_accuracy: float) -> Figure:
    """Test accuracy without retraining against sparsity, one line per pruning rule."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for method, rows in table.groupby("method", sort=False):
        color, label = METHOD_STYLE.get(method, (PALETTE[5], method))
        ax.plot(rows["percent_remaining"], 100 * rows["accuracy"], marker="o", markersize=4, color=color, label=label)
    ax.axhline(100 * dense_accuracy, color=DENSE_COLOR, linestyle="--", linewidth=1, label="dense network")
    ax.axhline(10, color=DENSE_COLOR, linestyle=":", linewidth=1, label="chance (10 classes)")
    _percent_axis(ax, table["percent_remaining"])
    ax.set_ylabel("test accuracy without retraining (%)")
    ax.set_ylim(0, 100)
    ax.set_title("One-shot pruning of a trained LeNet-300-100, no retraining")
    ax.legend(loc="lower left")
    return fig


def fine_tune_figure(tuned: list[tuple[str, float, RunResult]], dense_accuracy: float) -> Figure:
    """Test accuracy during fine-tuning of (method, percent remaining, run) triples: one colour per
    method, one line style per sparsity; iteration 0 is the pruned network before any retraining."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    levels = sorted({percent for _, percent, _ in tuned}, reverse=True)
    for method, percent, result in tuned:
        color = METHOD_STYLE.get(method, (PALETTE[5], method))[0]
        ax.plot(
            result.curve["iteration"],
            100 * result.curve["test_acc"],
            color=color,
            marker="o",
            markersize=3,
            linestyle=LINE_STYLES[levels.index(percent) % len(LINE_STYLES)],
            label=f"{method} pruning, {percent:.1f}% remaining",
        )
    ax.axhline(100 * dense_accuracy, color=DENSE_COLOR, linestyle=":", linewidth=1, label="dense network")
    ax.set_xlabel("fine-tuning iteration (masked weights stay zero)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Brief fine-tuning recovers what one-shot pruning lost")
    ax.legend(loc="lower right", fontsize=9)
    return fig


def weight_histograms(weights: dict[str, torch.Tensor], mask: Mask, label: str) -> Figure:
    """Trained weights of every prunable layer, all of them against the survivors of ``mask``."""
    names = list(mask)
    fig = Figure(figsize=(4.2 * len(names), 4), layout="constrained")
    for ax, name in zip(fig.subplots(1, len(names)), names):
        values, kept = weights[name].flatten(), mask[name].flatten() > 0
        bins = np.linspace(values.min().item(), values.max().item(), 61)
        ax.hist(values.numpy(), bins=bins, color=DENSE_COLOR, alpha=0.35, label="before pruning")
        ax.hist(values[kept].numpy(), bins=bins, color=PALETTE[0], label=f"kept ({int(kept.sum()):,})")
        ax.set_yscale("log")
        ax.set_title(f"{name} ({values.numel():,} weights)", fontsize=10)
        ax.set_xlabel("trained weight value")
        ax.legend(fontsize=8)
    fig.axes[0].set_ylabel("number of weights (log scale)")
    fig.suptitle(f"Weights before and after pruning: {label}")
    return fig


def pixel_connections(mask: Mask, layer: str = "fc1.weight", side: int = 28) -> torch.Tensor:
    """How many first-layer connections each input pixel keeps, as a ``side`` × ``side`` image."""
    kept = mask[layer].sum(0)
    if kept.numel() != side * side:
        raise ConfigError(f"layer {layer} has {kept.numel()} inputs, not {side}×{side} pixels")
    return kept.view(side, side)


def pixel_masks_figure(masks: dict[str, Mask], title: str) -> Figure:
    """One 28×28 image per labelled mask: bright pixels keep many of their first-layer connections."""
    fig = Figure(figsize=(4 * len(masks) + 1, 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(masks)))
    units = next(iter(masks.values()))["fc1.weight"].shape[0]
    images = {label: pixel_connections(mask).numpy() for label, mask in masks.items()}
    brightest = max(1.0, max(image.max() for image in images.values()))  # one colour scale for all panels
    for ax, (label, image) in zip(axes, images.items()):
        shown = ax.imshow(image, cmap="magma", vmin=0, vmax=brightest)
        ax.set_title(label, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label=f"connections kept (of {units} hidden units)")
    fig.suptitle(title)
    return fig


def explorer_figure(point: PrunedPoint, dense_accuracy: float) -> Figure:
    """The explorer's view of one pruned network: its first-layer mask and its accuracy."""
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
    units = point.mask["fc1.weight"].shape[0]
    shown = ax.imshow(pixel_connections(point.mask).numpy(), cmap="magma", vmin=0, vmax=units)
    fig.colorbar(shown, ax=ax, shrink=0.8, label=f"first-layer connections kept (of {units})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        f"{METHOD_STYLE.get(point.method, (None, point.method))[1]}\n"
        f"{point.percent_remaining:.1f}% remaining: test accuracy {100 * point.accuracy:.1f}% "
        f"(dense {100 * dense_accuracy:.1f}%)",
        fontsize=10,
    )
    return fig


def line_figure(lines: dict[str, pd.DataFrame], colors: dict[str, str] | None = None) -> Figure:
    """Loss along straight lines from θ0 (α = 0) to trained weights (α = 1), one per network."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for k, (label, table) in enumerate(lines.items()):
        color = (colors or {}).get(label, PALETTE[k % len(PALETTE)])
        ax.plot(table["alpha"], table["loss"], color=color, label=label, linewidth=2)
    for alpha, text in ((0, "θ0: initial weights"), (1, "trained weights")):
        ax.axvline(alpha, color=DENSE_COLOR, linestyle=":", linewidth=1)
        ax.annotate(
            text,
            (alpha, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -14),
            textcoords="offset points",
            fontsize=9,
            color=DENSE_COLOR,
        )
    ax.set_yscale("log")
    ax.set_xlabel("α along the line (1 − α)·θ0 + α·θ_trained")
    ax.set_ylabel("training loss (cross-entropy, log scale)")
    ax.set_title("A real slice of the loss landscape: the straight line from θ0 to the trained weights")
    ax.legend(loc="lower left")
    return fig


def decision_grid(model: nn.Module, weights: dict[str, torch.Tensor], mask: Mask | None, bounds, resolution: int = 150):
    """Probability of class 1 on a ``resolution`` × ``resolution`` grid over ``bounds`` (x0, x1, y0, y1)."""
    xs = torch.linspace(bounds[0], bounds[1], resolution)
    ys = torch.linspace(bounds[2], bounds[3], resolution)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([grid_x.flatten(), grid_y.flatten()], 1)
    params = {n: (w * mask[n] if mask is not None and n in mask else w) for n, w in weights.items()}
    with torch.no_grad():
        probability = torch.func.functional_call(model, params, (points,)).softmax(1)[:, 1]
    return xs.numpy(), ys.numpy(), probability.view(resolution, resolution).numpy()


def _bounds(x: torch.Tensor, margin: float = 0.5) -> tuple[float, float, float, float]:
    low, high = x.min(0).values - margin, x.max(0).values + margin
    return low[0].item(), high[0].item(), low[1].item(), high[1].item()


def decision_boundaries_figure(panels: list[Panel], data: Splits, title: str) -> Figure:
    """Side-by-side decision regions of trained toy networks over the test points."""
    fig = Figure(figsize=(5 * len(panels), 5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    model, bounds = build("toy-mlp"), _bounds(data.x_test)
    x, y = data.x_test.numpy(), data.y_test.numpy()
    for ax, panel in zip(axes, panels):
        xs, ys, probability = decision_grid(model, panel.weights, panel.mask, bounds)
        ax.contourf(xs, ys, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.45)
        ax.contour(xs, ys, probability, levels=[0.5], colors="black", linewidths=1.5)
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", s=8, edgecolors="white", linewidths=0.3)
        color = DENSE_COLOR if panel.condition == "dense" else CONDITION_STYLE[panel.condition][0]
        ax.set_title(f"{panel.label}\ntest accuracy {100 * panel.accuracy:.1f}%", color=color, fontsize=11)
        ax.set_xlabel("feature 1 (standardised)")
        ax.set_aspect("equal")
    axes[0].set_ylabel("feature 2 (standardised)")
    fig.suptitle(title)
    return fig
