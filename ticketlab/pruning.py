"""Pruning: which weights to remove next.

Every function returns a new ``Mask`` and never touches weights. Rates are fractions of the
weights that *survive* so far (the paper's "prune p% of the remaining weights"), and a weight
is ranked by a score: by default its final magnitude |θj|, never its signed value (a popular
implementation tested ``w < eps`` and so froze every negative weight).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from .errors import ConfigError
from .masks import Mask
from .models import build, output_layer_name, prunable_names, spec

SCORES = ("magnitude", "init-magnitude", "movement")


def check_rate(rate: float, what: str = "pruning rate") -> float:
    if not 0.0 <= float(rate) < 1.0:
        raise ConfigError(
            f"{what} {rate!r} is outside [0, 1): give the fraction of surviving weights to remove, e.g. 0.2"
        )
    return float(rate)


def layer_rates(model_or_params, fc_rate: float = 0.2, conv_rate: float = 0.1) -> dict[str, float]:
    """Per-layer rates as in the paper: fc layers at ``fc_rate``, convolutions at ``conv_rate``,
    the output layer at half of ``fc_rate``."""
    fc_rate, conv_rate = check_rate(fc_rate), check_rate(conv_rate, "conv pruning rate")
    params = (
        dict(model_or_params.named_parameters()) if hasattr(model_or_params, "named_parameters") else model_or_params
    )
    rates = {n: (conv_rate if params[n].dim() == 4 else fc_rate) for n in prunable_names(params)}
    rates[output_layer_name(params)] = fc_rate / 2
    return rates


def scores_for(kind: str, final: dict, init: dict | None = None) -> dict[str, torch.Tensor]:
    """Importance of each weight: ``magnitude`` |θj|, ``init-magnitude`` |θ0|, ``movement`` |θj|-|θ0|."""
    if kind not in SCORES:
        raise ConfigError(f"unknown pruning score {kind!r}; choose one of {', '.join(SCORES)}")
    if kind != "magnitude" and init is None:
        raise ConfigError(f"pruning score {kind!r} needs the initial weights θ0")
    names = prunable_names(final)
    if kind == "magnitude":
        return {n: final[n].abs() for n in names}
    if kind == "init-magnitude":
        return {n: init[n].abs() for n in names}
    return {n: final[n].abs() - init[n].abs() for n in names}


def karnin_scores(squared_updates: dict, init: dict, final: dict, lr: float) -> dict[str, torch.Tensor]:
    """Karnin's (1990) sensitivity S = Σ(Δw)² · w_f / (η (w_f − w_i)), accumulated during training.

    It estimates how much the error would grow if a weight were removed; weights that barely
    moved get S = 0.
    """
    scores = {}
    for name, total in squared_updates.items():
        moved = final[name] - init[name]
        safe = torch.where(moved == 0, torch.ones_like(moved), moved)
        scores[name] = torch.where(moved == 0, torch.zeros_like(moved), total * final[name] / (lr * safe))
    return scores


def keep_top(scores: torch.Tensor, mask: torch.Tensor, keep: int) -> torch.Tensor:
    """0/1 tensor keeping the ``keep`` highest-scoring weights among those ``mask`` lets survive."""
    flat = torch.where(mask.flatten() > 0, scores.flatten().float(), torch.tensor(float("-inf")))
    order = torch.argsort(flat, descending=True, stable=True)
    new = torch.zeros_like(flat)
    new[order[:keep]] = 1.0
    return new.view_as(mask)


def prune_magnitude(weights: dict, mask: Mask, rates: dict[str, float], scores: dict | None = None) -> Mask:
    """Layer-wise: in each layer remove round(rate × surviving) of the lowest-scoring survivors."""
    scores = scores or scores_for("magnitude", weights)
    new = Mask()
    for name, m in mask.items():
        surviving = int(m.sum().item())
        rate = check_rate(rates.get(name, 0.0))
        new[name] = keep_top(scores[name], m, surviving - round(rate * surviving))
    return new


def prune_global(weights: dict, mask: Mask, rate: float, scores: dict | None = None, keep: int | None = None) -> Mask:
    """Global: rank all surviving weights of all layers together and remove the lowest ``rate``
    (or keep exactly ``keep`` of them)."""
    scores = scores or scores_for("magnitude", weights)
    names = list(mask)
    flat_scores = torch.cat([scores[n].flatten().float() for n in names])
    flat_mask = torch.cat([mask[n].flatten() for n in names])
    surviving = int(flat_mask.sum().item())
    kept = keep_top(
        flat_scores, flat_mask, keep if keep is not None else surviving - round(check_rate(rate) * surviving)
    )
    return Mask(zip(names, (t.view_as(mask[n]) for n, t in zip(names, kept.split([mask[n].numel() for n in names])))))


def prune_one_shot_global(weights: dict, rate: float, rounds: int, scores: dict | None = None) -> Mask:
    """One-shot pruning, ranked globally, to the total size that ``rounds`` global rounds reach."""
    scores = scores or scores_for("magnitude", weights)
    dense = Mask.ones_like(weights)
    total = counts_after_rounds({"all": sum(m.numel() for m in dense.values())}, {"all": check_rate(rate)}, rounds)[
        "all"
    ]
    return prune_global(weights, dense, rate, scores, keep=total)


def prune_random(mask: Mask, generator: torch.Generator) -> Mask:
    """A random mask with exactly the same number of survivors in every layer."""
    new = Mask()
    for name, m in mask.items():
        keep = int(m.sum().item())
        flat = torch.zeros(m.numel())
        flat[torch.randperm(m.numel(), generator=generator)[:keep]] = 1.0
        new[name] = flat.view_as(m)
    return new


def counts_after_rounds(sizes: dict[str, int], rates: dict[str, float], rounds: int) -> dict[str, int]:
    """Survivors per layer after ``rounds`` rounds of iterative pruning (exact integer ladder)."""
    counts = dict(sizes)
    for r in range(rounds):
        counts = {n: c - round(rates[n] * c) for n, c in counts.items()}
        empty = [n for n, c in counts.items() if c == 0]
        if empty:
            raise ConfigError(
                f"{rounds} rounds would leave layer {empty[0]} with no weights; use at most {r} rounds or a lower rate"
            )
    return counts


def prune_one_shot(weights: dict, rates: dict[str, float], rounds: int, scores: dict | None = None) -> Mask:
    """One-shot pruning straight to the per-layer sizes that ``rounds`` iterative rounds reach."""
    scores = scores or scores_for("magnitude", weights)
    dense = Mask.ones_like(weights)
    counts = counts_after_rounds({n: m.numel() for n, m in dense.items()}, rates, rounds)
    return Mask({n: keep_top(scores[n], m, counts[n]) for n, m in dense.items()})


def prune_to_density(weights: dict, density: float, scores: dict | None = None) -> Mask:
    """Keep the same fraction ``density`` of the highest-scoring weights in every layer."""
    if not 0.0 < float(density) <= 1.0:
        raise ConfigError(
            f"target density {density!r} is outside (0, 1]: give the fraction of weights to keep, e.g. 0.1"
        )
    scores = scores or scores_for("magnitude", weights)
    dense = Mask.ones_like(weights)
    return Mask({n: keep_top(scores[n], m, max(1, round(density * m.numel()))) for n, m in dense.items()})


def sparsity_ladder(
    model_name: str = "lenet", rounds: int = 20, fc_rate: float = 0.2, conv_rate: float | None = None
) -> pd.DataFrame:
    """Percent of weights remaining after each round, overall and per layer (the paper's ladder)."""
    params = dict(build(model_name).named_parameters())
    rates = layer_rates(params, fc_rate, conv_rate if conv_rate is not None else spec(model_name).conv_rate)
    sizes = {n: params[n].numel() for n in prunable_names(params)}
    rows = []
    for r in range(rounds + 1):
        counts = counts_after_rounds(sizes, rates, r)
        row = {"round": r, "percent_remaining": 100.0 * sum(counts.values()) / sum(sizes.values())}
        row.update({n: 100.0 * counts[n] / sizes[n] for n in sizes})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PruningRule:
    """How an experiment prunes: one round of iterative pruning, and one-shot pruning to the size
    that ``rounds`` rounds reach (the one-shot control must match the ticket's rule)."""

    description: str
    step: Callable[[dict, Mask, dict[str, float], float], Mask]  # (final weights, mask, layer rates, rate)
    once: Callable[[dict, dict[str, float], float, int], Mask]  # (weights, layer rates, rate, rounds)


PRUNING_RULES = {
    # the paper's rule for LeNet and Conv-2/4/6 (Frankle & Carbin 2019, Figure 2: per-layer rates)
    "layerwise": PruningRule(
        "each layer loses its own rate of its survivors (the output layer half), by |θj|",
        lambda weights, mask, rates, rate: prune_magnitude(weights, mask, rates),
        lambda weights, rates, rate, rounds: prune_one_shot(weights, rates, rounds),
    ),
    # the paper's rule for its deeper networks, VGG-19 and ResNet-18: layers compete for the survivors
    "global": PruningRule(
        "all layers ranked together by |θj|; the rate applies to the network's survivors",
        lambda weights, mask, rates, rate: prune_global(weights, mask, rate),
        lambda weights, rates, rate, rounds: prune_one_shot_global(weights, rate, rounds),
    ),
}
