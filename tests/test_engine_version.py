"""Stored runs are keyed by the engine version: a change that alters any run's numbers must bump
``training.ENGINE_VERSION``, or old and new runs would be loaded side by side. This test holds the
numbers of two tiny runs (one dense, one whose first layer trains with sparse kernels) for the
current version and fails when they change without a bump."""

import pytest
import torch

from ticketlab import data as datasets
from ticketlab import training
from ticketlab.masks import Mask
from ticketlab.models import build
from ticketlab.training import RunSpec, TrainConfig, train_stacked

# ENGINE_VERSION -> per run: validation loss at 0, 20, 40, 60; early-stop iteration; test accuracy
# there; training loss at the end. Differences between CPUs stay far below the tolerance here
# (60 steps of a 1,000-parameter network); a changed engine moves them by far more.
FINGERPRINTS = {
    2: [
        ([0.683334, 0.292605, 0.275388, 0.225768], 60, 0.912, 0.234395),
        ([0.687999, 0.425391, 0.330321, 0.306704], 60, 0.862, 0.319865),
    ],
    # 3 changed the sparse kernels: the tiny sparse run moves by less than this test's tolerance
    # (notebook-scale runs move by more), so its numbers read as version 2's
    3: [
        ([0.683334, 0.292605, 0.275388, 0.225768], 60, 0.912, 0.234395),
        ([0.687999, 0.425391, 0.330321, 0.306704], 60, 0.862, 0.319865),
    ],
}
TOLERANCE = 1e-4


def tiny_runs():
    moons = datasets.load("moons")
    init = {n: p.detach().clone() for n, p in build("toy-mlp", seed=0).named_parameters()}
    sparse = Mask.ones_like(init)
    first = next(iter(sparse))
    keep = torch.zeros(sparse[first].numel())
    keep[torch.randperm(keep.numel(), generator=torch.Generator().manual_seed(0))[:6]] = 1  # 6 of 64: sparse kernels
    sparse[first] = keep.view_as(sparse[first])
    runs = [RunSpec(init, Mask.ones_like(init), 0), RunSpec(init, sparse, 1)]
    return train_stacked(
        build("toy-mlp"), runs, moons, TrainConfig(iterations=60, lr=1e-2, eval_every=20), device="cpu", progress=False
    )


def test_a_tiny_run_gives_the_numbers_recorded_for_this_engine_version():
    assert training.ENGINE_VERSION in FINGERPRINTS, (
        f"ENGINE_VERSION {training.ENGINE_VERSION} has no fingerprint: add this run's numbers to FINGERPRINTS"
    )
    for result, (val_losses, early_stop, test_acc, train_loss) in zip(
        tiny_runs(), FINGERPRINTS[training.ENGINE_VERSION]
    ):
        got = (
            result.curve["val_loss"].tolist(),
            result.early_stop_iteration,
            result.test_acc_at_early_stop,
            result.final_train_loss,
        )
        same = (
            got[0] == pytest.approx(val_losses, abs=TOLERANCE)
            and got[1] == early_stop
            and got[2] == pytest.approx(test_acc, abs=TOLERANCE)
            and got[3] == pytest.approx(train_loss, abs=TOLERANCE)
        )
        assert same, (
            f"the engine's numbers changed ({got} instead of {(val_losses, early_stop, test_acc, train_loss)}): "
            "bump training.ENGINE_VERSION and record the new numbers in FINGERPRINTS"
        )
