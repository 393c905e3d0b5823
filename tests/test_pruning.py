"""Tests of ticketlab.pruning against brute-force references: exact per-layer counts, the largest
|w| kept (negative weights included), global ranking across layers, the paper's rates and
LeNet ladder, random masks with the same counts, one-shot pruning and Karnin's scores."""

import pytest
import torch

from ticketlab import models, pruning
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask

PAPER_LENET_LADDER = [
    100.0,
    80.0,
    64.1,
    51.3,
    41.1,
    32.9,
    26.3,
    21.1,
    16.9,
    13.5,
    10.8,
    8.7,
    7.0,
    5.6,
    4.5,
    3.6,
    2.9,
    2.3,
    1.9,
    1.5,
    1.2,
]
LAYER_SHAPES = {"fc1.weight": (37, 23), "fc2.weight": (10, 50), "fc3.weight": (4, 9)}


def random_layers(seed: int, scales=None) -> dict[str, torch.Tensor]:
    """Weights of both signs without ties, plus biases that pruning must ignore."""
    g = torch.Generator().manual_seed(seed)
    scales = scales or {}
    params = {n: torch.randn(shape, generator=g) * scales.get(n, 1.0) for n, shape in LAYER_SHAPES.items()}
    biases = {n.replace("weight", "bias"): torch.randn(shape[0], generator=g) for n, shape in LAYER_SHAPES.items()}
    params.update(biases)
    return params


def random_mask(seed: int, density: float = 0.6) -> Mask:
    g = torch.Generator().manual_seed(seed)
    return Mask({n: (torch.rand(shape, generator=g) < density).float() for n, shape in LAYER_SHAPES.items()})


def keep_largest(values: list[float], alive: list[bool], keep: int) -> list[float]:
    """Brute force: 1.0 for the ``keep`` largest values among the alive positions."""
    ranked = sorted((v, i) for i, (v, a) in enumerate(zip(values, alive)) if a)[::-1]
    kept = {i for _, i in ranked[:keep]}
    return [1.0 if i in kept else 0.0 for i in range(len(values))]


def reference_layerwise(weight: torch.Tensor, mask: torch.Tensor, rate: float) -> torch.Tensor:
    alive = (mask.flatten() > 0).tolist()
    surviving = sum(alive)
    kept = keep_largest(weight.abs().flatten().tolist(), alive, surviving - round(rate * surviving))
    return torch.tensor(kept).view_as(mask)


def per_layer_counts(mask: Mask) -> dict[str, int]:
    return {n: int(m.sum()) for n, m in mask.items()}


# --- layer-wise magnitude pruning ------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.2, 0.35, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_layerwise_pruning_matches_brute_force(rate, seed):
    weights, mask = random_layers(seed), random_mask(seed + 100)
    rates = {n: rate for n in LAYER_SHAPES}
    new = pruning.prune_magnitude(weights, mask, rates)
    assert list(new) == list(LAYER_SHAPES)
    for name, old in mask.items():
        surviving = int(old.sum())
        assert int(new[name].sum()) == surviving - round(rate * surviving), name
        assert torch.equal(new[name], reference_layerwise(weights[name], old, rate)), name
        assert torch.all(new[name] <= old), f"{name}: a pruned weight came back"


def test_per_layer_rates_apply_to_their_own_layer():
    weights, mask = random_layers(2), Mask.ones_like(random_layers(2))
    rates = {"fc1.weight": 0.5, "fc2.weight": 0.2, "fc3.weight": 0.1}
    new = pruning.prune_magnitude(weights, mask, rates)
    assert per_layer_counts(new) == {"fc1.weight": 851 - round(0.5 * 851), "fc2.weight": 400, "fc3.weight": 32}


def test_a_large_negative_weight_survives():
    """The `w < eps` bug ranks by signed value and so prunes (or freezes) every negative weight."""
    weight = torch.tensor([[0.1, -5.0, 0.2, 0.3], [-0.05, 0.4, 0.25, -3.0]])
    mask = Mask({"fc.weight": torch.ones_like(weight)})
    new = pruning.prune_magnitude({"fc.weight": weight}, mask, {"fc.weight": 0.5})["fc.weight"]
    assert new.tolist() == [[0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]]


def test_other_scores_rank_instead_of_final_magnitude():
    final, init = random_layers(3), random_layers(4)
    mask = Mask.ones_like(final)
    rates = {n: 0.5 for n in LAYER_SHAPES}
    by_init = pruning.prune_magnitude(final, mask, rates, scores=pruning.scores_for("init-magnitude", final, init))
    for name in LAYER_SHAPES:
        assert torch.equal(by_init[name], reference_layerwise(init[name], mask[name], 0.5)), name


def test_scores_for_each_kind():
    final, init = {"fc.weight": torch.tensor([-3.0, 1.0])}, {"fc.weight": torch.tensor([1.0, -2.0])}
    assert pruning.scores_for("magnitude", final)["fc.weight"].tolist() == [3.0, 1.0]
    assert pruning.scores_for("init-magnitude", final, init)["fc.weight"].tolist() == [1.0, 2.0]
    assert pruning.scores_for("movement", final, init)["fc.weight"].tolist() == [2.0, -1.0]
    with pytest.raises(ConfigError, match="magnitude"):
        pruning.scores_for("gradient", final)
    with pytest.raises(ConfigError, match="initial weights"):
        pruning.scores_for("movement", final)


# --- global pruning -------------------------------------------------------------------------


def test_global_pruning_ranks_across_layers():
    scales = {"fc1.weight": 1.0, "fc2.weight": 1e-4, "fc3.weight": 1.0}
    weights, mask = random_layers(5, scales), random_mask(6)
    new = pruning.prune_global(weights, mask, 0.3)
    names = list(LAYER_SHAPES)
    flat = torch.cat([weights[n].abs().flatten() for n in names]).tolist()
    alive = torch.cat([mask[n].flatten() for n in names]).bool().tolist()
    surviving = sum(alive)
    expected = torch.tensor(keep_largest(flat, alive, surviving - round(0.3 * surviving)))
    assert torch.equal(torch.cat([new[n].flatten() for n in names]), expected)
    # every removal falls on the small-scale layer; layer-wise pruning would take 30% of each
    before, after = per_layer_counts(mask), per_layer_counts(new)
    assert after["fc1.weight"] == before["fc1.weight"] and after["fc3.weight"] == before["fc3.weight"]
    assert before["fc2.weight"] - after["fc2.weight"] == round(0.3 * surviving)
    layerwise = pruning.prune_magnitude(weights, mask, {n: 0.3 for n in names})
    assert per_layer_counts(layerwise) != per_layer_counts(new)


# --- the paper's rates and ladder -----------------------------------------------------------


def test_lenet_rates_prune_the_output_layer_at_half_rate():
    assert pruning.layer_rates(models.build("lenet")) == {"fc1.weight": 0.2, "fc2.weight": 0.2, "fc3.weight": 0.1}
    assert pruning.layer_rates(models.build("lenet"), fc_rate=0.4)["fc3.weight"] == pytest.approx(0.2)


def test_conv_rates_separate_convolutions_from_dense_layers():
    rates = pruning.layer_rates(models.build("conv2"), fc_rate=0.2, conv_rate=0.15)
    assert rates == {
        "conv1.weight": 0.15,
        "conv2.weight": 0.15,
        "fc1.weight": 0.2,
        "fc2.weight": 0.2,
        "fc3.weight": 0.1,
    }


def test_biases_are_never_in_a_mask():
    params = dict(models.build("lenet", seed=0).named_parameters())
    rates = pruning.layer_rates(params)
    assert all(name.endswith(".weight") for name in rates)
    masks = [
        pruning.prune_magnitude(params, Mask.ones_like(params), rates),
        pruning.prune_global(params, Mask.ones_like(params), 0.2),
        pruning.prune_one_shot(params, rates, 2),
        pruning.prune_to_density(params, 0.5),
    ]
    for mask in masks:
        assert list(mask) == ["fc1.weight", "fc2.weight", "fc3.weight"]


def test_lenet_ladder_is_the_papers():
    ladder = pruning.sparsity_ladder("lenet", 20)
    assert ladder["round"].tolist() == list(range(21))
    assert ladder["percent_remaining"].round(1).tolist() == PAPER_LENET_LADDER
    assert ladder["fc3.weight"].iloc[1] == pytest.approx(90.0)
    assert ladder["fc1.weight"].iloc[1] == pytest.approx(80.0)


def test_ladder_counts_follow_the_rounding_rule():
    """Each round removes round(rate x survivors): a 10 -> 8 -> 6 -> 5, b 7 -> 6 -> 5 -> 5."""
    counts = pruning.counts_after_rounds({"a": 10, "b": 7}, {"a": 0.2, "b": 0.1}, 3)
    assert counts == {"a": 5, "b": 5}


def test_too_many_rounds_is_a_config_error():
    """A rate above one half can empty a layer; the ladder refuses rather than train nothing."""
    with pytest.raises(ConfigError, match="no weights"):
        pruning.counts_after_rounds({"a": 10}, {"a": 0.6}, 10)
    with pytest.raises(ConfigError, match="no weights"):
        pruning.sparsity_ladder("lenet", 30, fc_rate=0.9)


# --- random, one-shot and fixed-density pruning ---------------------------------------------


def test_random_pruning_keeps_per_layer_counts_and_moves_the_survivors():
    mask = random_mask(7, density=0.3)
    shuffled = pruning.prune_random(mask, torch.Generator().manual_seed(0))
    again = pruning.prune_random(mask, torch.Generator().manual_seed(0))
    other = pruning.prune_random(mask, torch.Generator().manual_seed(1))
    assert per_layer_counts(shuffled) == per_layer_counts(mask)
    for name, m in mask.items():
        assert shuffled[name].shape == m.shape
        assert set(shuffled[name].unique().tolist()) <= {0.0, 1.0}
        overlap = (shuffled[name] * m).sum() / m.sum()
        assert overlap < 0.7, f"{name}: the random mask is mostly the old one"
        assert torch.equal(shuffled[name], again[name])
    assert any(not torch.equal(shuffled[n], other[n]) for n in mask)


@pytest.mark.parametrize("rounds", [1, 3, 6])
def test_one_shot_equals_iterating_on_the_same_weights(rounds):
    """On fixed weights the r-round ladder keeps nested top-k sets, so one shot must give the same mask."""
    weights = random_layers(8)
    rates = {"fc1.weight": 0.2, "fc2.weight": 0.2, "fc3.weight": 0.1}
    iterative = Mask.ones_like(weights)
    for _ in range(rounds):
        iterative = pruning.prune_magnitude(weights, iterative, rates)
    one_shot = pruning.prune_one_shot(weights, rates, rounds)
    sizes = {n: weights[n].numel() for n in LAYER_SHAPES}
    expected = pruning.counts_after_rounds(sizes, rates, rounds)
    assert per_layer_counts(one_shot) == per_layer_counts(iterative) == expected
    for name in LAYER_SHAPES:
        assert torch.equal(one_shot[name], iterative[name]), name


@pytest.mark.parametrize("density", [1.0, 0.5, 0.13, 0.01])
def test_prune_to_density_keeps_the_largest_fraction_per_layer(density):
    weights = random_layers(9)
    mask = pruning.prune_to_density(weights, density)
    for name in LAYER_SHAPES:
        n = weights[name].numel()
        keep = max(1, round(density * n))
        assert int(mask[name].sum()) == keep, name
        expected = keep_largest(weights[name].abs().flatten().tolist(), [True] * n, keep)
        assert mask[name].flatten().tolist() == expected, name


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1.0, 1.5, -0.1])
def test_rates_outside_zero_one_are_config_errors(rate):
    weights, mask = random_layers(0), random_mask(0)
    with pytest.raises(ConfigError, match="outside"):
        pruning.prune_magnitude(weights, mask, {n: rate for n in LAYER_SHAPES})
    with pytest.raises(ConfigError, match="outside"):
        pruning.prune_global(weights, mask, rate)
    with pytest.raises(ConfigError, match="outside"):
        pruning.layer_rates(models.build("lenet"), fc_rate=rate)
    with pytest.raises(ConfigError, match="outside"):
        pruning.layer_rates(models.build("conv2"), conv_rate=rate)


@pytest.mark.parametrize("density", [0.0, -0.5, 1.01])
def test_densities_outside_zero_one_are_config_errors(density):
    with pytest.raises(ConfigError, match="outside"):
        pruning.prune_to_density(random_layers(0), density)


# --- Karnin (1990) --------------------------------------------------------------------------


def test_karnin_scores_follow_the_formula():
    """S = sum(dw^2) * w_f / (lr * (w_f - w_i)); a weight that did not move scores 0."""
    squared = {"fc.weight": torch.tensor([4.0, 1.0, 9.0])}
    init = {"fc.weight": torch.tensor([1.0, 2.0, 3.0])}
    final = {"fc.weight": torch.tensor([3.0, 2.0, 1.5])}
    scores = pruning.karnin_scores(squared, init, final, lr=0.5)["fc.weight"]
    # 4*3/(0.5*2) = 12;  unmoved -> 0;  9*1.5/(0.5*-1.5) = -18
    assert scores.tolist() == pytest.approx([12.0, 0.0, -18.0])
