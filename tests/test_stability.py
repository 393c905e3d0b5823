"""Tests of ticketlab.stability: exact interpolation end points, the paper's error barrier on a
hand-made path, a convex model (logistic regression) whose path has no barrier, masked paths
that stay in the mask, and two spawned copies that differ by data order alone."""

import pandas as pd
import pytest
import torch

from ticketlab import data, models, stability
from ticketlab.data import Splits
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask
from ticketlab.training import TrainConfig, evaluate

TINY = TrainConfig(iterations=50, lr=1e-2, batch_size=20, eval_every=25)


def weights_of(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def random_mask(weights: dict, seed: int, density: float = 0.5) -> Mask:
    g = torch.Generator().manual_seed(seed)
    return Mask(
        {n: (torch.rand(weights[n].shape, generator=g) < density).float() for n in models.prunable_names(weights)}
    )


def test_interpolation_hits_both_end_points_exactly_and_a_network_with_itself_is_itself():
    a, b = weights_of(models.build("toy-mlp", seed=0)), weights_of(models.build("toy-mlp", seed=1))
    for n in a:
        assert torch.equal(stability.interpolate(a, b, 0.0)[n], a[n])
        assert torch.equal(stability.interpolate(a, b, 1.0)[n], b[n])
        assert torch.allclose(stability.interpolate(a, b, 0.25)[n], 0.75 * a[n] + 0.25 * b[n], atol=1e-7)
        for alpha in (0.1, 0.3, 0.7, 0.9):
            assert torch.equal(stability.interpolate(a, a, alpha)[n], a[n])


def test_barrier_of_a_network_with_itself_is_exactly_zero():
    model = models.build("toy-mlp", seed=0)
    moons = data.load("moons")
    w = weights_of(model)
    path = stability.error_along_path(model, w, w, moons.x_val, moons.y_val)
    assert list(path.columns) == ["alpha", "loss", "error"]
    assert len(path) == stability.PATH_POINTS and path.alpha.iloc[0] == 0.0 and path.alpha.iloc[-1] == 1.0
    assert path.error.nunique() == 1
    assert stability.error_barrier(path) == 0.0
    assert stability.error_barrier(path, "loss") == 0.0


def test_barrier_is_the_maximum_error_minus_the_mean_of_the_end_points():
    path = pd.DataFrame({"alpha": [0.0, 0.5, 1.0], "loss": [1.0, 2.0, 1.5], "error": [0.1, 0.5, 0.2]})
    assert stability.error_barrier(path) == pytest.approx(0.5 - 0.15)
    assert stability.error_barrier(path.iloc[::-1]) == pytest.approx(0.35)  # row order does not matter
    assert stability.error_barrier(path, "loss") == pytest.approx(2.0 - 1.25)
    # no bump: the barrier is half the gap between the end points, never negative
    flat = pd.DataFrame({"alpha": [0.0, 0.5, 1.0], "error": [0.1, 0.15, 0.2]})
    assert stability.error_barrier(flat) == pytest.approx(0.05)


def test_barrier_needs_both_end_points():
    with pytest.raises(ConfigError, match="both end points"):
        stability.error_barrier(pd.DataFrame({"alpha": [0.0, 0.5], "error": [0.1, 0.2]}))
    with pytest.raises(ConfigError, match="no column"):
        stability.error_barrier(pd.DataFrame({"alpha": [0.0, 1.0], "error": [0.1, 0.2]}), "accuracy")


def separable_blobs(n: int = 200, seed: int = 0) -> Splits:
    """Two well-separated Gaussian blobs (6 standard deviations apart): linearly separable."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) * 0.5 + torch.stack([6.0 * y - 3.0, torch.zeros(n)], 1)
    return Splits("moons", x, y, x[:50], y[:50], x[:50], y[:50])


def test_logistic_regression_has_no_barrier_and_a_convex_loss_along_the_path():
    blobs = separable_blobs()
    model = models.MLP((2, 2))  # one linear layer: softmax regression, convex in its parameters
    start = weights_of(models.glorot_init_(model, torch.Generator().manual_seed(0)))
    fast = TrainConfig(iterations=50, lr=0.1, batch_size=20, eval_every=25)  # θ0 starts on the wrong side
    a, b = stability.spawn_pair(model, start, blobs, fast, data_seeds=(0, 1), device="cpu")
    assert not torch.equal(a["fc1.weight"], b["fc1.weight"])
    path = stability.error_along_path(model, a, b, blobs.x_train, blobs.y_train)
    assert path.error.iloc[0] == 0.0 and path.error.iloc[-1] == 0.0  # both ends separate the blobs
    # the set of weights classifying a point correctly is a half-space, so the whole segment is right
    assert stability.error_barrier(path) <= 1e-12
    chord = (1 - path.alpha) * path.loss.iloc[0] + path.alpha * path.loss.iloc[-1]
    assert (path.loss <= chord + 1e-6).all()


def test_masked_path_keeps_pruned_weights_at_zero(monkeypatch):
    model = models.build("toy-mlp", seed=0)
    moons = data.load("moons")
    a, b = weights_of(model), weights_of(models.build("toy-mlp", seed=1))
    mask = random_mask(a, seed=2)
    seen = []

    def spy(model_, weights, x, y, mask_=None):
        seen.append(weights)
        return evaluate(model_, weights, x, y, mask_)

    monkeypatch.setattr(stability, "evaluate", spy)
    path = stability.error_along_path(model, a, b, moons.x_val, moons.y_val, alphas=[0.0, 0.3, 0.5, 1.0], mask=mask)
    assert len(seen) == 4
    for weights in seen:  # zero before evaluate multiplies by the mask: the line itself is in the mask
        for n, m in mask.items():
            assert torch.all(weights[n][m == 0] == 0)
    masked_ends = (
        {n: (w * mask[n] if n in mask else w) for n, w in a.items()},
        {n: (w * mask[n] if n in mask else w) for n, w in b.items()},
    )
    unmasked = stability.error_along_path(model, *masked_ends, moons.x_val, moons.y_val, alphas=[0.0, 0.3, 0.5, 1.0])
    pd.testing.assert_frame_equal(path, unmasked)
    dense = stability.error_along_path(model, a, b, moons.x_val, moons.y_val, alphas=[0.0, 0.3, 0.5, 1.0])
    assert not dense.loss.equals(path.loss)


def test_mask_must_match_the_network():
    model = models.build("toy-mlp", seed=0)
    w = weights_of(model)
    wrong = Mask({"fc1.weight": torch.ones(32, 2)})
    with pytest.raises(ConfigError, match="mask does not match"):
        stability.error_along_path(model, w, w, torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), mask=wrong)


def test_spawned_copies_differ_by_data_order_alone():
    moons = data.load("moons")
    start = weights_of(models.build("toy-mlp", seed=0))
    mask = random_mask(start, seed=1, density=0.7)
    same = stability.spawn_pair("toy-mlp", start, moons, TINY, mask, data_seeds=(3, 3), device="cpu")
    other = stability.spawn_pair("toy-mlp", start, moons, TINY, mask, data_seeds=(0, 1), device="cpu")
    for n in start:
        assert torch.equal(same[0][n], same[1][n])
        assert not torch.equal(start[n], same[0][n])  # it trained
    assert not torch.equal(other[0]["fc1.weight"], other[1]["fc1.weight"])
    for final in (*same, *other):
        for n, m in mask.items():
            assert torch.all(final[n][m == 0] == 0)
    with pytest.raises(ConfigError, match="two data seeds"):
        stability.spawn_pair("toy-mlp", start, moons, TINY, data_seeds=(0, 1, 2))


def test_instability_trains_the_pair_and_measures_the_barrier_on_test_data():
    moons = data.load("moons")
    start = weights_of(models.build("toy-mlp", seed=0))
    barrier, path = stability.instability("toy-mlp", start, moons, TINY, alphas=[0.0, 0.5, 1.0], device="cpu")
    assert list(path.alpha) == [0.0, 0.5, 1.0]
    assert barrier == stability.error_barrier(path) and barrier >= 0.0
    with pytest.raises(ConfigError, match="unknown split"):
        stability.instability("toy-mlp", start, moons, TINY, split="validation")
