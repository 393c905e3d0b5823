"""The small experiments of notebooks 01 and 02 (their figures: ``viz.lesson_figures``).

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

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import data as datasets
from .. import lottery
from ..errors import ConfigError
from ..masks import Mask
from ..models import build, prunable_names
from ..pruning import karnin_scores, prune_one_shot, scores_for
from ..store import Store, run_key
from ..training import ENGINE_VERSION, RunResult, RunSpec, TrainConfig, evaluate, train_stacked

METHODS = ("magnitude", "karnin", "random")
RANDOM_SCORE_SEED = 1234  # random pruning ranks weights by seeded noise, so its masks are reproducible


# ----------------------------------------------------------------------------- stored training


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of named tensors: the key changes whenever a starting weight or mask does."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()[:16]


def _stack_spec(
    purpose: str, model: str, runs: list[RunSpec], data: datasets.Splits, config: TrainConfig, track_updates: bool
) -> dict:
    """The JSON-able facts that define a stack of runs (its store key is their hash)."""
    return dict(
        version=ENGINE_VERSION,
        purpose=purpose,
        model=model,
        dataset=data.name,
        track_updates=track_updates,
        **asdict(config),
        runs=[dict(init=_digest(r.init), mask=_digest(r.mask), data_seed=r.data_seed) for r in runs],
    )


def train_or_load(
    runs: list[RunSpec],
    data: datasets.Splits,
    config: TrainConfig,
    *,
    model: str,
    purpose: str,
    store: Store | None = None,
    track_updates: bool = False,
    progress: bool = True,
) -> list[RunResult]:
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
                results = train_stacked(
                    build(model, in_shape=data.input_shape),
                    runs,
                    data,
                    config,
                    progress=progress,
                    desc=purpose,
                    track_updates=track_updates,
                )
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
        results.append(
            RunResult(
                curve=curves[curves["run"] == k].drop(columns="run").reset_index(drop=True),
                final=store.tensors(key, f"final_{k}"),
                **fields,
                squared_updates=store.tensors(key, f"squared_updates_{k}") if tracked else None,
            )
        )
    return results


# ----------------------------------------------------------------------------- decision trees (01)


def tree_summary(named_trees: dict, data) -> pd.DataFrame:
    """Size and accuracy on each split of fitted trees (``trees.TreeData`` splits), one row per tree."""
    from . import trees  # here, not at the top: scikit-learn takes a second to import and only notebook 01 needs it

    splits = {
        "train": (data.X_train, data.y_train),
        "validation": (data.X_val, data.y_val),
        "test": (data.X_test, data.y_test),
    }
    return pd.DataFrame(
        [
            {
                "tree": name,
                "leaves": trees.n_leaves(tree),
                **{f"{split} accuracy": tree.score(x, y) for split, (x, y) in splits.items()},
            }
            for name, tree in named_trees.items()
        ]
    )


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
            rows.append(
                dict(
                    method=method,
                    round=round_,
                    percent_remaining=point.percent_remaining,
                    accuracy=point.accuracy,
                    loss=point.loss,
                )
            )
        return pd.DataFrame(rows)


def one_shot_pruner(
    dense: RunResult, init: dict[str, torch.Tensor], config: lottery.ExperimentConfig, x: torch.Tensor, y: torch.Tensor
) -> OneShotPruner:
    """The pruner of notebook 01 for a dense run trained with ``track_updates=True``."""
    return OneShotPruner(
        build(config.model, in_shape=tuple(x.shape[1:])),
        dense.final,
        method_scores(dense, init, config.lr),
        config.rates(),
        x,
        y,
    )


# ----------------------------------------------------------------------------- the hypothesis (02)


def log10_subnetworks(total: int, kept: int) -> float:
    """log10 of C(total, kept), the number of ways to keep ``kept`` of ``total`` weights."""
    if not 0 <= kept <= total:
        raise ConfigError(f"cannot keep {kept} of {total} weights; kept must be in 0..{total}")
    return (math.lgamma(total + 1) - math.lgamma(kept + 1) - math.lgamma(total - kept + 1)) / math.log(10)


def loss_along_line(
    model: nn.Module,
    start: dict[str, torch.Tensor],
    end: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    alphas,
    mask: Mask | None = None,
) -> pd.DataFrame:
    """Loss and accuracy of (1-α)·start + α·end for each α, under ``mask`` if given.

    α = 0 is the initialisation, α = 1 the trained network; α outside [0, 1] looks past both.
    """
    rows = []
    for alpha in alphas:
        weights = {n: (1 - alpha) * start[n] + alpha * end[n] for n in start}
        loss, accuracy = evaluate(model, weights, x, y, mask)
        rows.append(dict(alpha=float(alpha), loss=loss, accuracy=accuracy))
    return pd.DataFrame(rows)


def toy_config(scale: str) -> lottery.ExperimentConfig:
    """The toy ticket of notebook 02: the two-moons MLP, 4 seeds, ticket and random reinit at every
    round. It prunes 40% per round (the paper: 20%) to reach sparse levels in 8 short rounds."""
    quick = scale == "smoke"
    return lottery.ExperimentConfig.at_scale(scale, model="toy-mlp").replace(
        iterations=200 if quick else 500,
        eval_every=25,
        test_every=None,
        rounds=3 if quick else 8,
        prune_rate=0.4,
        seeds=(0, 1, 2, 3),
        conditions=("ticket", "reinit"),
        control_rounds=None,
    )


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
            raise ConfigError(
                f"no toy ticket for seed {seed}, round {round_}; seeds "
                f"{', '.join(map(str, self.results.config.seeds))}, rounds {rounds.start}..{rounds.stop - 1}"
            )
        model = build("toy-mlp")
        mask = self.results.mask(seed, round_)
        percent = mask.percent_remaining
        networks = [
            ("dense network (100%)", "dense", self.results.final_weights(seed, 0), None),
            (f"winning ticket ({percent:.1f}%)", "ticket", self.results.final_weights(seed, round_), mask),
            (f"random reinit ({percent:.1f}%)", "reinit", self.reinit_finals[seed, round_], mask),
        ]
        return [
            Panel(
                label, condition, weights, mask, evaluate(model, weights, self.data.x_test, self.data.y_test, mask)[1]
            )
            for label, condition, weights, mask in networks
        ]


def toy_tickets(config: lottery.ExperimentConfig, store: Store | None = None, progress: bool = True) -> ToyTickets:
    """Run (or load) the toy experiment and the reinitialised tickets' trained weights."""
    results = lottery.run_experiment(config, store=store, progress=progress)
    pairs = [(s, r) for r in range(1, config.rounds + 1) for s in config.seeds]
    runs = [lottery.start_of(config, results.store, "reinit", s, r) for s, r in pairs]
    data = datasets.load(config.dataset)
    finals = train_or_load(
        runs,
        data,
        config.train_config(),
        model=config.model,
        purpose="toy reinit weights",
        store=results.store,
        progress=progress,
    )
    return ToyTickets(results, {pair: f.final for pair, f in zip(pairs, finals)}, data)


def condition_table(summary: pd.DataFrame, metric: str = "test_acc_at_early_stop") -> pd.DataFrame:
    """Mean of ``metric`` over seeds, one row per sparsity level and one column per condition
    (accuracies in percent); the dense network is the ticket's round 0."""
    table = summary.pivot_table(index="round", columns="condition", values=metric, aggfunc="mean")
    table = table * (100 if "acc" in metric else 1)
    table.insert(0, "percent remaining", summary.groupby("round")["percent_remaining"].first())
    table.columns.name = None
    return table
