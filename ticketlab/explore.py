"""The small experiments of notebooks 01 and 02, and the pure functions behind their figures.

Notebook 01 prunes *one* trained LeNet in one shot, without retraining, by three rules
(magnitude, Karnin's sensitivity, random) and fine-tunes a few of the pruned networks; notebook
02 walks the straight line from θ0 to the trained weights and draws the decision boundaries of a
toy ticket. Everything that trains goes through ``train_or_load``, which keeps the results in
the store under a hash of the runs' exact starting tensors, so a re-run of a notebook loads them.
Everything else is a pure function of weights, masks and data, so tests call it directly.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator
from torch import nn
from tqdm.auto import tqdm

from . import data as datasets
from . import lottery
from .errors import ConfigError
from .masks import Mask
from .models import build, prunable_names
from .plots import CONDITION_STYLE, DENSE_COLOR, PALETTE
from .pruning import karnin_scores, prune_one_shot, scores_for
from .store import Store, run_key
from .training import ENGINE_VERSION, RunResult, RunSpec, TrainConfig, evaluate, train_stacked

METHODS = ("magnitude", "karnin", "random")
METHOD_STYLE = {  # colour and legend label of each one-shot pruning rule
    "magnitude": (PALETTE[0], "magnitude |w| (Han et al., 2015)"),
    "karnin": (PALETTE[3], "sensitivity (Karnin, 1990)"),
    "random": (PALETTE[7], "random"),
}
LINE_STYLES = ("-", "--", "-.", ":")
RANDOM_SCORE_SEED = 1234  # random pruning ranks weights by seeded noise, so its masks are reproducible


# ----------------------------------------------------------------------------- stored training


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of named tensors: the key changes whenever a starting weight or mask does."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()[:16]


def _stack_spec(purpose: str, model: str, runs: list[RunSpec], data: datasets.Splits, config: TrainConfig,
                track_updates: bool) -> dict:
    """The JSON-able facts that define a stack of runs (its store key is their hash)."""
    return dict(version=ENGINE_VERSION, purpose=purpose, model=model, dataset=data.name, track_updates=track_updates,
                **asdict(config),
                runs=[dict(init=_digest(r.init), mask=_digest(r.mask), data_seed=r.data_seed) for r in runs])


def train_or_load(runs: list[RunSpec], data: datasets.Splits, config: TrainConfig, *, model: str, purpose: str,
                  store: Store | None = None, track_updates: bool = False, progress: bool = True) -> list[RunResult]:
    """``training.train_stacked`` with memory: the results of the same runs are loaded from the store.

    ``purpose`` names the experiment in the stored spec; the key also covers a digest of every
    run's starting weights and mask, so a changed input can never load a stale result.
    """
    store = store if store is not None else Store()
    spec = _stack_spec(purpose, model, runs, data, config, track_updates)
    key = run_key(spec)
    if not store.has(key):
        with store.claim([key]):  # another process may have trained them while we waited
            if not store.has(key):
                results = train_stacked(build(model, in_shape=data.input_shape), runs, data, config,
                                        progress=progress, desc=purpose, track_updates=track_updates)
                _save_stack(store, key, spec, results)
    return _load_stack(store, key, len(runs))


def _save_stack(store: Store, key: str, spec: dict, results: list[RunResult]) -> None:
    """All runs of a stack under one key: per-run summaries, one curve table with a ``run`` column."""
    tracked = all(r.squared_updates is not None for r in results)
    tensors = {f"final_{k}": r.final for k, r in enumerate(results)}
    if tracked:
        tensors.update({f"squared_updates_{k}": r.squared_updates for k, r in enumerate(results)})
    curve = pd.concat([r.curve.assign(run=k) for k, r in enumerate(results)], ignore_index=True)
    store.save(key, spec, {"runs": [r.summary() for r in results], "tracked": tracked}, curve, tensors)


def _load_stack(store: Store, key: str, count: int) -> list[RunResult]:
    summary, curves = store.summary(key), store.curve(key)
    tracked = summary["tracked"]
    results = []
    for k in range(count):
        fields = {f: v for f, v in summary["runs"][k].items() if f != "val_loss_min"}
        results.append(RunResult(curve=curves[curves["run"] == k].drop(columns="run").reset_index(drop=True),
                                 final=store.tensors(key, f"final_{k}"), **fields,
                                 squared_updates=store.tensors(key, f"squared_updates_{k}") if tracked else None))
    return results


# ----------------------------------------------------------------------------- decision trees (01)


def tree_summary(named_trees: dict, data) -> pd.DataFrame:
    """Size and accuracy on each split of fitted trees (``trees.TreeData`` splits), one row per tree."""
    from . import trees  # here, not at the top: scikit-learn takes a second to import and only notebook 01 needs it

    splits = {"train": (data.X_train, data.y_train), "validation": (data.X_val, data.y_val),
              "test": (data.X_test, data.y_test)}
    return pd.DataFrame([{"tree": name, "leaves": trees.n_leaves(tree),
                          **{f"{split} accuracy": tree.score(x, y) for split, (x, y) in splits.items()}}
                         for name, tree in named_trees.items()])


# ----------------------------------------------------------------------------- one-shot pruning (01)


@dataclass(frozen=True)
class PrunedPoint:
    """One pruned network: which rule, how sparse, its mask and how it scores without retraining."""

    method: str
    round: int
    percent_remaining: float
    accuracy: float
    loss: float
    mask: Mask


def method_scores(dense: RunResult, init: dict[str, torch.Tensor], lr: float) -> dict[str, dict[str, torch.Tensor]]:
    """Importance of every weight of a trained network under each rule in ``METHODS``.

    Magnitude ranks by |w|; Karnin's sensitivity needs the Σ(Δw)² that ``track_updates``
    accumulated during training; random ranks by seeded noise (a mask with the same layer sizes).
    """
    if dense.squared_updates is None:
        raise ConfigError("Karnin's sensitivity needs the squared updates: train with track_updates=True")
    generator = torch.Generator().manual_seed(RANDOM_SCORE_SEED)
    names = prunable_names(dense.final)
    return {
        "magnitude": scores_for("magnitude", dense.final),
        "karnin": karnin_scores(dense.squared_updates, init, dense.final, lr),
        "random": {n: torch.rand(dense.final[n].shape, generator=generator) for n in names},
    }


@dataclass(frozen=True)
class OneShotPruner:
    """A trained network pruned in one shot, without retraining, to the paper's per-layer sizes.

    ``round_`` r means the sizes that r rounds of iterative pruning reach (the paper's ladder:
    fc layers lose ``rate`` of their survivors per round, the output layer half as much).
    """

    model: nn.Module
    weights: dict[str, torch.Tensor]
    scores: dict[str, dict[str, torch.Tensor]]
    rates: dict[str, float]
    x: torch.Tensor
    y: torch.Tensor

    def mask(self, method: str, round_: int) -> Mask:
        if method not in self.scores:
            raise ConfigError(f"unknown pruning method {method!r}; choose one of {', '.join(self.scores)}")
        return prune_one_shot(self.weights, self.rates, round_, scores=self.scores[method])

    def evaluate(self, method: str, round_: int) -> PrunedPoint:
        """Mask and accuracy of the network pruned by ``method`` to round ``round_``'s size."""
        mask = self.mask(method, round_)
        loss, accuracy = evaluate(self.model, self.weights, self.x, self.y, mask)
        return PrunedPoint(method, round_, mask.percent_remaining, accuracy, loss, mask)

    def table(self, rounds, methods=None, progress: bool = True) -> pd.DataFrame:
        """Accuracy without retraining for every method × round (no masks, one row each)."""
        pairs = [(m, r) for m in (methods or list(self.scores)) for r in rounds]
        rows = []
        for method, round_ in tqdm(pairs, desc="pruning and evaluating", disable=not progress, leave=False):
            point = self.evaluate(method, round_)
            rows.append(dict(method=method, round=round_, percent_remaining=point.percent_remaining,
                             accuracy=point.accuracy, loss=point.loss))
        return pd.DataFrame(rows)


def one_shot_pruner(dense: RunResult, init: dict[str, torch.Tensor], config: lottery.ExperimentConfig,
                    x: torch.Tensor, y: torch.Tensor) -> OneShotPruner:
    """The pruner of notebook 01 for a dense run trained with ``track_updates=True``."""
    return OneShotPruner(build(config.model, in_shape=tuple(x.shape[1:])), dense.final,
                         method_scores(dense, init, config.lr), config.rates(), x, y)


def training_figure(result: RunResult, title: str) -> Figure:
    """Validation loss and test accuracy of one run during training, its early-stop iteration marked."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    curve = result.curve
    for ax, column, label in zip(fig.subplots(1, 2), ("val_loss", "test_acc"), ("validation loss", "test accuracy (%)")):
        values = curve[column] * (100 if column == "test_acc" else 1)
        ax.plot(curve["iteration"], values, color=PALETTE[0], marker="o", markersize=3)
        ax.axvline(result.early_stop_iteration, color=DENSE_COLOR, linestyle="--", linewidth=1,
                   label=f"early stop (min. validation loss): iteration {result.early_stop_iteration:,}")
        ax.set_xlabel("training iteration")
        ax.set_ylabel(label)
        trained = values.iloc[1:]  # the untrained start would flatten the rest of the curve
        ax.set_ylim(*((trained.min() * 0.95, trained.max() * 1.05) if column == "val_loss" else (trained.min() - 1, 100)))
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
        ax.plot(result.curve["iteration"], 100 * result.curve["test_acc"], color=color, marker="o", markersize=3,
                linestyle=LINE_STYLES[levels.index(percent) % len(LINE_STYLES)],
                label=f"{method} pruning, {percent:.1f}% remaining")
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
    ax.set_title(f"{METHOD_STYLE.get(point.method, (None, point.method))[1]}\n"
                 f"{point.percent_remaining:.1f}% remaining: test accuracy {100 * point.accuracy:.1f}% "
                 f"(dense {100 * dense_accuracy:.1f}%)", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- the hypothesis (02)


def log10_subnetworks(total: int, kept: int) -> float:
    """log10 of C(total, kept), the number of ways to keep ``kept`` of ``total`` weights."""
    if not 0 <= kept <= total:
        raise ConfigError(f"cannot keep {kept} of {total} weights; kept must be in 0..{total}")
    return (math.lgamma(total + 1) - math.lgamma(kept + 1) - math.lgamma(total - kept + 1)) / math.log(10)


def loss_along_line(model: nn.Module, start: dict[str, torch.Tensor], end: dict[str, torch.Tensor],
                    x: torch.Tensor, y: torch.Tensor, alphas, mask: Mask | None = None) -> pd.DataFrame:
    """Loss and accuracy of (1-α)·start + α·end for each α, under ``mask`` if given.

    α = 0 is the initialisation, α = 1 the trained network; α outside [0, 1] looks past both.
    """
    rows = []
    for alpha in alphas:
        weights = {n: (1 - alpha) * start[n] + alpha * end[n] for n in start}
        loss, accuracy = evaluate(model, weights, x, y, mask)
        rows.append(dict(alpha=float(alpha), loss=loss, accuracy=accuracy))
    return pd.DataFrame(rows)


def line_figure(lines: dict[str, pd.DataFrame], colors: dict[str, str] | None = None) -> Figure:
    """Loss along straight lines from θ0 (α = 0) to trained weights (α = 1), one per network."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for k, (label, table) in enumerate(lines.items()):
        color = (colors or {}).get(label, PALETTE[k % len(PALETTE)])
        ax.plot(table["alpha"], table["loss"], color=color, label=label, linewidth=2)
    for alpha, text in ((0, "θ0: initial weights"), (1, "trained weights")):
        ax.axvline(alpha, color=DENSE_COLOR, linestyle=":", linewidth=1)
        ax.annotate(text, (alpha, 1), xycoords=("data", "axes fraction"), xytext=(4, -14),
                    textcoords="offset points", fontsize=9, color=DENSE_COLOR)
    ax.set_yscale("log")
    ax.set_xlabel("α along the line (1 − α)·θ0 + α·θ_trained")
    ax.set_ylabel("training loss (cross-entropy, log scale)")
    ax.set_title("A real slice of the loss landscape: the straight line from θ0 to the trained weights")
    ax.legend(loc="lower left")
    return fig


def toy_config(scale: str) -> lottery.ExperimentConfig:
    """The toy ticket of notebook 02: the two-moons MLP, 4 seeds, ticket and random reinit at every
    round. It prunes 40% per round (the paper: 20%) to reach sparse levels in 8 short rounds."""
    quick = scale == "smoke"
    return lottery.ExperimentConfig.at_scale(scale, model="toy-mlp").replace(
        iterations=200 if quick else 500, eval_every=25, test_every=None, rounds=3 if quick else 8, prune_rate=0.4,
        seeds=(0, 1, 2, 3), conditions=("ticket", "reinit"), control_rounds=None)


@dataclass(frozen=True)
class Panel:
    """One trained toy network to draw: its label, weights, mask and test accuracy."""

    label: str
    condition: str
    weights: dict[str, torch.Tensor]
    mask: Mask | None
    accuracy: float


@dataclass(frozen=True)
class ToyTickets:
    """The toy experiment's results plus the trained weights of its random reinitialisations
    (the engine stores trained weights for tickets only, so those are retrained once and stored)."""

    results: lottery.Results
    reinit_finals: dict[tuple[int, int], dict[str, torch.Tensor]]
    data: datasets.Splits

    def panels(self, seed: int, round_: int) -> list[Panel]:
        """Dense network, ticket and reinitialised ticket of ``seed`` at ``round_``."""
        rounds = range(1, self.results.config.rounds + 1)
        if (seed, round_) not in self.reinit_finals:
            raise ConfigError(f"no toy ticket for seed {seed}, round {round_}; seeds "
                              f"{', '.join(map(str, self.results.config.seeds))}, rounds {rounds.start}..{rounds.stop - 1}")
        model = build("toy-mlp")
        mask = self.results.mask(seed, round_)
        percent = mask.percent_remaining
        networks = [("dense network (100%)", "dense", self.results.final_weights(seed, 0), None),
                    (f"winning ticket ({percent:.1f}%)", "ticket", self.results.final_weights(seed, round_), mask),
                    (f"random reinit ({percent:.1f}%)", "reinit", self.reinit_finals[seed, round_], mask)]
        return [Panel(label, condition, weights, mask, evaluate(model, weights, self.data.x_test, self.data.y_test, mask)[1])
                for label, condition, weights, mask in networks]


def toy_tickets(config: lottery.ExperimentConfig, store: Store | None = None, progress: bool = True) -> ToyTickets:
    """Run (or load) the toy experiment and the reinitialised tickets' trained weights."""
    results = lottery.run_experiment(config, store=store, progress=progress)
    pairs = [(s, r) for r in range(1, config.rounds + 1) for s in config.seeds]
    runs = [lottery.start_of(config, results.store, "reinit", s, r) for s, r in pairs]
    data = datasets.load(config.dataset)
    finals = train_or_load(runs, data, config.train_config(), model=config.model, purpose="toy reinit weights",
                           store=results.store, progress=progress)
    return ToyTickets(results, {pair: f.final for pair, f in zip(pairs, finals)}, data)


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


def decision_boundaries_figure(panels: list[Panel], data: datasets.Splits, title: str) -> Figure:
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


def condition_table(summary: pd.DataFrame, metric: str = "test_acc_at_early_stop") -> pd.DataFrame:
    """Mean of ``metric`` over seeds, one row per sparsity level and one column per condition
    (accuracies in percent); the dense network is the ticket's round 0."""
    table = summary.pivot_table(index="round", columns="condition", values=metric, aggfunc="mean")
    table = table * (100 if "acc" in metric else 1)
    table.insert(0, "percent remaining", summary.groupby("round")["percent_remaining"].first())
    table.columns.name = None
    return table
