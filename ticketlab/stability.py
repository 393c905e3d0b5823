"""Instability analysis: is training from some weights stable to SGD noise?

Frankle, Dziugaite, Roy & Carbin, "Linear Mode Connectivity and the Lottery Ticket Hypothesis"
(ICML 2020) train two copies of a network from the same weights θk with different SGD noise (here:
different data orders), then walk the straight line between the two results. If the error never
rises along the line, both copies ended in one linearly connected region: the outcome of training
from θk is *stable*. They find that IMP subnetworks reach full accuracy exactly when they are stable,
which happens at initialisation for LeNet on MNIST (so resetting to θ0 works there) and only a little
into training for deep networks (so those need rewinding to θk).

``spawn_pair`` trains the two copies (one stack of two runs of ``training.train_stacked``),
``error_along_path`` measures the line and ``error_barrier`` reduces it to the paper's number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import Splits
from .errors import ConfigError
from .masks import Mask
from .models import build
from .training import RunSpec, TrainConfig, evaluate, train_stacked

PATH_POINTS = 30  # evenly spaced α from 0 to 1, end points included
SPLITS = ("train", "val", "test")


def interpolate(start: dict[str, torch.Tensor], end: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """The weights (1-α)·start + α·end, every parameter (biases too).

    Computed with ``torch.lerp``, which evaluates the same line as start + α(end − start) for α < ½
    and end − (1−α)(end − start) otherwise: so α = 0 gives exactly ``start``, α = 1 exactly ``end``,
    and a network interpolated with itself is exactly itself at every α (the textbook
    (1-α)·a + α·a can be one rounding step off, which could flip a prediction).
    """
    if set(start) != set(end):
        raise ConfigError(f"cannot interpolate weights of different networks: {sorted(set(start) ^ set(end))}")
    bad = [n for n in start if start[n].shape != end[n].shape]
    if bad:
        raise ConfigError(
            f"cannot interpolate: {bad[0]} has shape {tuple(start[bad[0]].shape)} at one end and "
            f"{tuple(end[bad[0]].shape)} at the other"
        )
    return {n: torch.lerp(start[n], end[n], float(alpha)) for n in start}


def error_along_path(
    model: nn.Module,
    a: dict[str, torch.Tensor],
    b: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    alphas=None,
    mask: Mask | None = None,
) -> pd.DataFrame:
    """Loss and error (1 − accuracy) on (x, y) at each α of the line from ``a`` (α=0) to ``b`` (α=1).

    ``alphas`` defaults to ``PATH_POINTS`` evenly spaced values from 0 to 1. With a ``mask`` both end
    points are masked first, so every point of the line is masked the same way: a pruned weight is 0
    at both ends and so stays 0 all along (the path never leaves the subnetwork).
    """
    alphas = np.linspace(0.0, 1.0, PATH_POINTS) if alphas is None else np.asarray(alphas, dtype=float)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ConfigError(f"alphas must be a non-empty list of numbers, got {alphas!r}")
    if mask is not None:
        mask.check_matches(a)
        a, b = _masked(a, mask), _masked(b, mask)
    rows = []
    for alpha in alphas:
        loss, accuracy = evaluate(model, interpolate(a, b, alpha), x, y, mask)
        rows.append({"alpha": float(alpha), "loss": loss, "error": 1.0 - accuracy})
    return pd.DataFrame(rows)


def error_barrier(path: pd.DataFrame, column: str = "error") -> float:
    """The error barrier height of Frankle et al. (ICML 2020, Section 2, "instability"): the largest
    error along the linear path minus the mean of the two end points' errors,

        max over α in [0, 1] of err((1−α)·W1 + α·W2)  −  (err(W1) + err(W2)) / 2,

    with the maximum taken over the α evaluated in ``path`` (a table of ``error_along_path``, which
    must contain α = 0 and α = 1). As the end points are on the path, the barrier is at least
    |err(W1) − err(W2)| / 2 ≥ 0; the paper calls a network stable when it is about 0 (within 2%).
    ``column="loss"`` gives the same quantity for the loss.
    """
    if column not in path:
        raise ConfigError(f"path has no column {column!r}; it has {', '.join(map(str, path.columns))}")
    ends = [path.loc[np.isclose(path["alpha"], end), column] for end in (0.0, 1.0)]
    if any(e.empty for e in ends):
        raise ConfigError("the path must include both end points, α = 0 and α = 1")
    inside = path.loc[(path["alpha"] >= 0.0) & (path["alpha"] <= 1.0), column]
    return float(inside.max() - 0.5 * (ends[0].iloc[0] + ends[1].iloc[0]))


def spawn_pair(
    model: nn.Module | str,
    start: dict[str, torch.Tensor],
    data: Splits,
    config: TrainConfig,
    mask: Mask | None = None,
    data_seeds: tuple[int, int] = (0, 1),
    device=None,
    progress: bool = False,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Train two copies of ``model`` from the same ``start`` weights (θ0 or a rewind point θk) and
    ``mask`` with the data orders of ``data_seeds``; return both final weights.

    Only SGD noise differs between the copies: same weights, mask, data and configuration. Both train
    in one stack of ``train_stacked`` (each run keeps its own numbers there, so the same seed twice
    gives the same weights twice). ``model`` is a network of the right architecture or a model name
    of ``models.REGISTRY`` (built for ``data``'s example shape).
    """
    if len(data_seeds) != 2:
        raise ConfigError(f"spawn_pair trains two copies: give two data seeds, got {data_seeds!r}")
    if isinstance(model, str):
        model = build(model, seed=0, in_shape=data.input_shape)  # the seed only spares the global RNG
    mask = mask if mask is not None else Mask.ones_like(start)
    runs = [RunSpec(start, mask, int(seed)) for seed in data_seeds]
    first, second = train_stacked(model, runs, data, config, device=device, progress=progress, desc="spawned pair")
    return first.final, second.final


def instability(
    model: nn.Module | str,
    start: dict[str, torch.Tensor],
    data: Splits,
    config: TrainConfig,
    mask: Mask | None = None,
    data_seeds: tuple[int, int] = (0, 1),
    split: str = "test",
    alphas=None,
    device=None,
    progress: bool = False,
) -> tuple[float, pd.DataFrame]:
    """Instability analysis from ``start`` in one call: ``spawn_pair``, then the error barrier on
    ``split`` (the paper reports test error; nothing is selected on it) and the path it came from."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    network = build(model, seed=0, in_shape=data.input_shape) if isinstance(model, str) else model
    a, b = spawn_pair(network, start, data, config, mask, data_seeds, device, progress)
    network.cpu()  # the final weights and the data are on the CPU, wherever training ran
    path = error_along_path(network, a, b, getattr(data, f"x_{split}"), getattr(data, f"y_{split}"), alphas, mask)
    return error_barrier(path), path


def _masked(weights: dict[str, torch.Tensor], mask: Mask) -> dict[str, torch.Tensor]:
    return {n: (w * mask[n].to(w.device) if n in mask else w) for n, w in weights.items()}
