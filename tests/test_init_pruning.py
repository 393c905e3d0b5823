"""Tests of ticketlab.init_pruning against hand-computed cases: SNIP's |g ⊙ θ| on a 2-input linear
model, GraSP's θ ⊙ Hg on a quadratic loss and against an explicit Hessian, SynFlow's layer-wise
conservation (also where float32 would overflow) and its iterative schedule landing exactly on the
target, masks with exact per-layer counts, the within-layer shuffle, biases never pruned, and
the same masks for the same seeds."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ticketlab import data, init_pruning, models, pruning
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask


def linear(weight, bias=None) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """A one-layer model (no hidden layer, no ReLU) and its weights."""
    weight = torch.tensor(weight, dtype=torch.float32)
    model = models.MLP((weight.shape[1], weight.shape[0]))
    bias = torch.zeros(weight.shape[0]) if bias is None else torch.tensor(bias, dtype=torch.float32)
    return model, {"fc1.weight": weight, "fc1.bias": bias}


def mlp(sizes, seed: int = 0, positive: bool = False) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    model = models.glorot_init_(models.MLP(sizes), torch.Generator().manual_seed(seed))
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    return model, ({n: w.abs() for n, w in weights.items()} if positive else weights)


def squared_error(out, y):
    return ((out[:, 0] - y) ** 2).mean()


# --- SNIP ---------------------------------------------------------------------------------------


def test_snip_is_the_magnitude_of_gradient_times_weight():
    # logits W x = (3, 3) for x = (1, 1): softmax (½, ½), so for label 0 ∂L/∂W = (p − e0) xᵀ = [[-½, -½], [½, ½]]
    model, w = linear([[1.0, 2.0], [2.0, 1.0]])
    scores = init_pruning.snip_scores(model, w, torch.tensor([[1.0, 1.0]]), torch.tensor([0]))
    assert list(scores) == ["fc1.weight"]
    torch.testing.assert_close(scores["fc1.weight"], torch.tensor([[0.5, 1.0], [1.0, 0.5]]))


def test_snip_under_a_mask_uses_the_masked_network_and_scores_pruned_weights_zero():
    model, w = linear([[1.0, 2.0], [2.0, 1.0]])
    mask = Mask({"fc1.weight": torch.tensor([[1.0, 0.0], [1.0, 1.0]])})
    scores = init_pruning.snip_scores(model, w, torch.tensor([[1.0, 1.0]]), torch.tensor([0]), mask)
    p0 = 1 / (1 + math.exp(2.0))  # logits (1, 3)
    expected = torch.tensor([[abs(p0 - 1) * 1.0, 0.0], [(1 - p0) * 2.0, (1 - p0) * 1.0]])
    torch.testing.assert_close(scores["fc1.weight"], expected)


# --- GraSP --------------------------------------------------------------------------------------


def test_grasp_on_a_quadratic_loss_by_hand():
    # L = (w·x − y)², x = (1, 2), y = 0, w = (1, 1): g = 2(w·x)x = (6, 12), H = 2xxᵀ, Hg = (60, 120)
    model, w = linear([[1.0, 1.0]])
    x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([0.0])
    scores = init_pruning.grasp_scores(model, w, x, y, temperature=1.0, loss=squared_error)
    torch.testing.assert_close(scores["fc1.weight"], torch.tensor([[60.0, 120.0]]))
    # the paper's S(−θ) = −θ ⊙ Hg = (−60, −120); GraSP removes the highest S, so it keeps the second weight
    assert init_pruning.mask_global(scores, 0.5)["fc1.weight"].tolist() == [[0.0, 1.0]]
    # temperature T divides the output: L = (w·x/2)², g = (w·x/2)x = (1.5, 3), H = xxᵀ/2, Hg = (3.75, 7.5)
    halved = init_pruning.grasp_scores(model, w, x, y, temperature=2.0, loss=squared_error)
    torch.testing.assert_close(halved["fc1.weight"], torch.tensor([[3.75, 7.5]]))


def test_grasp_matches_an_explicit_hessian_of_the_weights():
    model, w = mlp((3, 4, 2), seed=1)
    w["fc1.bias"] = torch.tensor([0.1, -0.2, 0.3, 0.05])
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(8, 3, generator=g), torch.randint(0, 2, (8,), generator=g)
    names, shapes = ["fc1.weight", "fc2.weight"], [w["fc1.weight"].shape, w["fc2.weight"].shape]
    sizes = [s.numel() for s in shapes]

    def loss_of(flat):
        parts = dict(w, **{n: t.view(s) for n, t, s in zip(names, flat.split(sizes), shapes)})
        return F.cross_entropy(torch.func.functional_call(model, parts, (x,)) / 5.0, y)

    theta = torch.cat([w[n].flatten() for n in names]).double()
    model.double()
    w = {n: t.double() for n, t in w.items()}
    x = x.double()
    grad = torch.func.grad(loss_of)(theta)
    expected = theta * (torch.autograd.functional.hessian(loss_of, theta) @ grad)
    scores = init_pruning.grasp_scores(model, w, x, y, temperature=5.0)
    torch.testing.assert_close(torch.cat([scores[n].flatten() for n in names]), expected)


# --- SynFlow ------------------------------------------------------------------------------------


def path_norm(weights: dict, names: list[str]) -> torch.Tensor:
    """R = 1ᵀ W_L ··· W_1 1 for non-negative weights (every ReLU is then the identity)."""
    vector = torch.ones(weights[names[0]].shape[1], dtype=torch.float64)
    for n in names:
        vector = weights[n].double() @ vector
    return vector.sum()


def test_synflow_scores_are_conserved_layer_by_layer_and_sum_to_r():
    model, w = mlp((3, 4, 5, 2), seed=0, positive=True)
    names = models.prunable_names(w)
    scores = init_pruning.synflow_scores(model, w, (3,))
    r = path_norm(w, names)
    assert list(scores) == names
    for n in names:
        assert scores[n].dtype == torch.float64 and torch.all(scores[n] >= 0)
        torch.testing.assert_close(scores[n].sum(), r, rtol=1e-12, atol=0)
    # signs and biases do not matter: SynFlow scores |θ| with biases at 0
    _, signed = mlp((3, 4, 5, 2), seed=0)
    signed["fc2.bias"] = torch.ones(5)
    for n, s in init_pruning.synflow_scores(model, signed, (3,)).items():
        torch.testing.assert_close(s, scores[n], rtol=1e-12, atol=0)


def test_synflow_conservation_holds_under_a_mask_and_in_a_convolutional_network():
    model, w = mlp((3, 4, 5, 2), seed=0, positive=True)
    mask = Mask({n: (w[n] > w[n].median()).float() for n in models.prunable_names(w)})
    masked = {n: (t * mask[n] if n in mask else t) for n, t in w.items()}
    scores = init_pruning.synflow_scores(model, w, (3,), mask)
    for n, m in mask.items():
        assert torch.all(scores[n][m == 0] == 0)
        torch.testing.assert_close(scores[n].sum(), path_norm(masked, list(mask)), rtol=1e-12, atol=0)
    conv = models.glorot_init_(models.ConvNet((2, 2), in_shape=(1, 4, 4)), torch.Generator().manual_seed(0))
    conv_scores = init_pruning.synflow_scores(conv, dict(conv.named_parameters()), (1, 4, 4))
    sums = torch.stack([s.sum() for s in conv_scores.values()])
    torch.testing.assert_close(sums, sums[:1].expand_as(sums), rtol=1e-10, atol=0)


def test_synflow_scores_in_float64_where_float32_overflows():
    # 40 layers of 10 x 10 ones: R = 10 · 10^40, beyond float32's 3.4e38
    model = models.MLP((10,) * 41)
    w = {n: torch.ones_like(p) if n.endswith("weight") else torch.zeros_like(p) for n, p in model.named_parameters()}
    assert torch.isinf(torch.func.functional_call(model, w, (torch.ones(1, 10),)).sum())
    scores = init_pruning.synflow_scores(model, w, (10,))
    for s in scores.values():
        assert torch.isfinite(s).all()
        assert s.sum().item() == pytest.approx(1e41, rel=1e-9)


def test_iterative_synflow_hits_the_target_exactly():
    model, w = mlp((8, 16, 16, 4), seed=3)
    total = sum(w[n].numel() for n in models.prunable_names(w))
    for density in (0.5, 0.1, 0.013):
        mask = init_pruning.synflow_mask(model, w, (8,), density)
        assert mask.num_remaining == round(density * total)
        assert all(m.sum() > 0 for m in mask.values())  # iterating avoids layer collapse
    reference = Mask(
        {
            n: (torch.rand(w[n].shape, generator=torch.Generator().manual_seed(4)) < 0.2).float()
            for n in models.prunable_names(w)
        }
    )
    matched = init_pruning.synflow_mask(model, w, (8,), reference, rounds=20)
    assert {n: int(m.sum()) for n, m in matched.items()} == {n: int(m.sum()) for n, m in reference.items()}


def test_one_round_of_synflow_is_one_shot_global_pruning_on_its_scores():
    model, w = mlp((8, 16, 16, 4), seed=3)
    once = init_pruning.synflow_mask(model, w, (8,), 0.2, rounds=1)
    direct = init_pruning.mask_global(init_pruning.synflow_scores(model, w, (8,)), 0.2)
    assert all(torch.equal(once[n], direct[n]) for n in once)
    assert any(not torch.equal(once[n], m) for n, m in init_pruning.synflow_mask(model, w, (8,), 0.2).items())


def test_synflow_refuses_batchnorm_and_bad_rounds():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    with pytest.raises(ConfigError, match="BatchNorm"):
        init_pruning.synflow_scores(net, dict(net.named_parameters()), (2,))
    model, w = mlp((2, 3, 2))
    for rounds in (0, 1.5):
        with pytest.raises(ConfigError, match="rounds"):
            init_pruning.synflow_mask(model, w, (2,), 0.5, rounds=rounds)


# --- masks --------------------------------------------------------------------------------------


def scores_of(seed: int, shapes=None) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = shapes or {"fc1.weight": (6, 5), "fc2.weight": (4, 6), "fc3.weight": (2, 4)}
    return {n: torch.randn(s, generator=g) for n, s in shapes.items()}


def test_mask_like_keeps_each_layers_count_and_its_highest_scores():
    scores = scores_of(0)
    reference = Mask(
        {n: (torch.rand(s.shape, generator=torch.Generator().manual_seed(1)) < 0.3).float() for n, s in scores.items()}
    )
    mask = init_pruning.mask_like(scores, reference)
    for n, m in mask.items():
        keep = int(reference[n].sum())
        assert int(m.sum()) == keep
        assert set(torch.topk(scores[n].flatten(), keep).indices.tolist()) == set(
            m.flatten().nonzero().flatten().tolist()
        )
    with pytest.raises(ConfigError, match="do not match"):
        init_pruning.mask_like({"fc1.weight": scores["fc1.weight"]}, reference)


def test_mask_global_keeps_the_highest_scores_of_all_layers_together():
    scores = scores_of(2)
    mask = init_pruning.mask_global(scores, 0.25)
    flat = torch.cat([s.flatten() for s in scores.values()])
    keep = round(0.25 * flat.numel())
    assert mask.num_remaining == keep
    kept = torch.cat([m.flatten() for m in mask.values()])
    assert torch.equal(kept.nonzero().flatten().sort().values, torch.topk(flat, keep).indices.sort().values)
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="outside"):
            init_pruning.mask_global(scores, bad)


def test_shuffle_keeps_each_layers_count_and_moves_the_survivors():
    reference = Mask({n: (s > 0).float() for n, s in scores_of(3).items()})
    shuffled = init_pruning.shuffle_within_layers(reference, torch.Generator().manual_seed(0))
    again = init_pruning.shuffle_within_layers(reference, torch.Generator().manual_seed(0))
    for n, m in reference.items():
        assert int(shuffled[n].sum()) == int(m.sum())
        assert torch.equal(shuffled[n], again[n])
    assert any(not torch.equal(shuffled[n], m) for n, m in reference.items())


# --- all methods --------------------------------------------------------------------------------


def test_methods_score_weights_only_and_are_deterministic():
    moons = data.load("moons")
    model = models.build("toy-mlp", seed=0)
    w = {n: p.detach().clone() for n, p in model.named_parameters()}
    x, y = init_pruning.sample_batch(moons, 100, seed=5)
    x2, y2 = init_pruning.sample_batch(moons, 100, seed=5)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    reference = pruning.prune_to_density(w, 0.3, pruning.scores_for("init-magnitude", w, w))
    methods = {
        "snip": lambda: init_pruning.snip_scores(model, w, x, y),
        "grasp": lambda: init_pruning.grasp_scores(model, w, x, y),
        "synflow": lambda: init_pruning.synflow_scores(model, w, (2,)),
    }
    for name, score in methods.items():
        first, second = score(), score()
        assert list(first) == models.prunable_names(w), name  # never a bias
        assert all(torch.equal(first[n], second[n]) for n in first), name
        for mask in (init_pruning.mask_like(first, reference), init_pruning.mask_global(first, 0.3)):
            assert list(mask) == list(reference)
            mask.check_matches(model)
    first = init_pruning.synflow_mask(model, w, (2,), 0.3, rounds=10)
    second = init_pruning.synflow_mask(model, w, (2,), 0.3, rounds=10)
    assert all(torch.equal(first[n], second[n]) for n in first)


def test_bad_input_is_refused_in_one_line():
    model, w = mlp((2, 3, 2))
    x, y = torch.zeros(1, 2), torch.zeros(1, dtype=torch.long)
    with pytest.raises(ConfigError, match="every parameter"):
        init_pruning.snip_scores(model, {"fc1.weight": w["fc1.weight"]}, x, y)
    with pytest.raises(ConfigError, match="temperature"):
        init_pruning.grasp_scores(model, w, x, y, temperature=0.0)
    with pytest.raises(ConfigError, match="batch size"):
        init_pruning.sample_batch(data.load("moons"), 0, seed=0)
    with pytest.raises(ConfigError, match="outside"):
        init_pruning.synflow_mask(model, w, (2,), 1.2)
