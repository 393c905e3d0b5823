"""Tests of ticketlab.models: the paper's weight counts, Gaussian Glorot initialisation that a
seed fixes, output shapes, and that only weights (never biases) are prunable."""

import math

import pytest
import torch

from ticketlab import models
from ticketlab.errors import ConfigError

PAPER_WEIGHT_COUNTS = {"lenet": 266_200, "conv2": 4_300_992, "conv4": 2_425_024, "conv6": 2_261_184}
IMAGE_INPUT = {"lenet": (1, 28, 28), "conv2": (3, 32, 32), "conv4": (3, 32, 32), "conv6": (3, 32, 32), "toy-mlp": (2,)}
NUM_CLASSES = {"lenet": 10, "conv2": 10, "conv4": 10, "conv6": 10, "toy-mlp": 2}


@pytest.fixture(scope="module")
def built():
    """Every architecture once, seed 0 (conv nets take a moment to initialise)."""
    return {name: models.build(name, seed=0) for name in models.MODELS}


def glorot_std(weight: torch.Tensor) -> float:
    """Glorot & Bengio's sqrt(2 / (fan_in + fan_out)), with a conv kernel's receptive field in both fans."""
    receptive = weight[0, 0].numel() if weight.dim() > 2 else 1
    fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
    return math.sqrt(2.0 / (fan_in + fan_out))


@pytest.mark.parametrize("name, count", PAPER_WEIGHT_COUNTS.items())
def test_weight_counts_match_the_paper(built, name, count):
    assert models.count_weights(built[name]) == count


def test_lenet_has_the_300_100_layout(built):
    shapes = {n: tuple(p.shape) for n, p in built["lenet"].named_parameters()}
    assert shapes == {
        "fc1.weight": (300, 784),
        "fc1.bias": (300,),
        "fc2.weight": (100, 300),
        "fc2.bias": (100,),
        "fc3.weight": (10, 100),
        "fc3.bias": (10,),
    }


@pytest.mark.parametrize("name", ["lenet", "conv6", "toy-mlp"])
def test_weight_std_is_glorot_per_layer(built, name):
    for layer, weight in built[name].named_parameters():
        if not layer.endswith(".weight"):
            continue
        expected = glorot_std(weight)
        # four standard errors of a sample std (1/sqrt(2n)), at least 3%: a wrong fan is off by far more
        tolerance = max(0.03, 4 / math.sqrt(2 * weight.numel()))
        assert weight.std().item() == pytest.approx(expected, rel=tolerance), layer
        assert abs(weight.mean().item()) < 4 * expected / math.sqrt(weight.numel()), layer


def test_weights_are_gaussian_not_uniform(built):
    """Excess kurtosis is 0 for a normal distribution and -1.2 for a uniform one."""
    w = built["lenet"].fc1.weight.detach().flatten().double()
    z = (w - w.mean()) / w.std()
    assert abs((z**4).mean().item() - 3.0) < 0.05


@pytest.mark.parametrize("name", models.MODELS)
def test_biases_start_at_zero(built, name):
    biases = [p for n, p in built[name].named_parameters() if n.endswith(".bias")]
    assert biases and all(torch.count_nonzero(b) == 0 for b in biases)


def test_same_seed_same_weights_different_seed_different_weights():
    first, again, other = (dict(models.build("lenet", seed=s).named_parameters()) for s in (3, 3, 4))
    for name in models.prunable_names(first):
        assert torch.equal(first[name], again[name]), name
        assert not torch.isclose(first[name], other[name]).any(), name


@pytest.mark.parametrize("name", models.MODELS)
def test_forward_gives_one_logit_per_class(built, name):
    batch = torch.randn(5, *IMAGE_INPUT[name])
    with torch.no_grad():
        assert built[name](batch).shape == (5, NUM_CLASSES[name])


def test_conv_net_adapts_its_first_dense_layer_to_the_input_shape():
    grey = models.build("conv2", seed=0, in_shape=(1, 28, 28))
    assert grey.conv1.weight.shape == (64, 1, 3, 3)
    assert grey.fc1.weight.shape == (256, 64 * 14 * 14)
    with torch.no_grad():
        assert grey(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("lenet", ["fc1.weight", "fc2.weight", "fc3.weight"]),
        ("conv2", ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight"]),
        ("toy-mlp", ["fc1.weight", "fc2.weight", "fc3.weight"]),
    ],
)
def test_prunable_names_are_the_weights_only(built, name, expected):
    model = built[name]
    assert models.prunable_names(model) == expected
    assert models.prunable_names(dict(model.named_parameters())) == expected
    assert models.output_layer_name(model) == "fc3.weight"


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError, match="lenet"):
        models.build("resnet18")


def test_a_model_added_to_the_registry_alone_trains_in_an_experiment(monkeypatch, tmp_path):
    """Adding a model touches one place (CONTRIBUTING.md): its registry entry."""
    from ticketlab import lottery
    from ticketlab.store import Store
    from ticketlab.viz import plots

    entry = models.ModelSpec(
        "tiny MLP", lambda shape: models.MLP((2, 8, 2)), "moons", ("moons",), lr=1e-2, default_shape=(2,)
    )
    monkeypatch.setitem(models.REGISTRY, "tiny-mlp", entry)
    config = lottery.ExperimentConfig.at_scale("smoke", model="tiny-mlp", iterations=20, eval_every=10, rounds=2)
    assert config.dataset == "moons" and config.lr == 1e-2
    results = lottery.run_experiment(config, Store(tmp_path), progress=False)
    assert list(results.summary["round"]) == [0, 1, 2]
    assert results.summary["percent_remaining"].is_monotonic_decreasing
    assert plots._experiment_name(results.summary) == "tiny MLP on two moons (1 seed)"
