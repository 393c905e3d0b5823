"""Tests of ticketlab.masks: the numbers a Mask reports on a mask built by hand, a save/load
round trip through safetensors (no pickle; old ``.pt`` masks still load), and shape checks that
refuse a mask of another model."""

import pytest
import safetensors.torch
import torch

from ticketlab import models
from ticketlab.errors import ConfigError, StoreError
from ticketlab.masks import Mask


@pytest.fixture
def hand_mask():
    """10 weights, 4 survive: 1 of 4 in 'a.weight', 3 of 6 in 'b.weight'."""
    return Mask(
        {
            "a.weight": torch.tensor([[1.0, 0.0], [0.0, 0.0]]),
            "b.weight": torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]),
        }
    )


def params_shaped_like(mask):
    weights = {name: torch.randn(m.shape) for name, m in mask.items()}
    return {**weights, **{name.replace("weight", "bias"): torch.randn(m.shape[0]) for name, m in mask.items()}}


def test_density_sparsity_and_percent_remaining(hand_mask):
    assert (hand_mask.num_weights, hand_mask.num_remaining) == (10, 4)
    assert hand_mask.density == pytest.approx(0.4)
    assert hand_mask.sparsity == pytest.approx(0.6)
    assert hand_mask.percent_remaining == pytest.approx(40.0)


def test_report_has_one_row_per_layer(hand_mask):
    report = hand_mask.report()
    assert report["layer"].tolist() == ["a.weight", "b.weight"]
    assert report["weights"].tolist() == [4, 6]
    assert report["remaining"].tolist() == [1, 3]
    assert report["percent_remaining"].tolist() == pytest.approx([25.0, 50.0])


def assert_same_mask(loaded, mask):
    assert isinstance(loaded, Mask) and list(loaded) == list(mask)
    for name, m in mask.items():
        assert loaded[name].dtype == torch.float32
        assert torch.equal(loaded[name], m), name


def test_save_load_round_trip_is_safetensors_of_bools(hand_mask, tmp_path):
    path = tmp_path / "mask.safetensors"
    hand_mask.save(path)
    raw = safetensors.torch.load(path.read_bytes())  # plain safetensors, readable without ticketlab
    assert set(raw) == set(hand_mask) and all(t.dtype == torch.bool for t in raw.values())
    assert_same_mask(Mask.load(path), hand_mask)


def test_layer_order_survives_a_round_trip(tmp_path):
    """Not alphabetical: random pruning draws layer by layer in the mask's order."""
    mask = Mask({name: torch.ones(2, 2) for name in ("fc2.weight", "features.10.weight", "features.3.weight")})
    mask.save(tmp_path / "mask.safetensors")
    assert list(Mask.load(tmp_path / "mask.safetensors")) == list(mask)


def test_a_mask_saved_by_an_older_version_still_loads(hand_mask, tmp_path):
    path = tmp_path / "mask.pt"
    torch.save({n: m.to(torch.bool) for n, m in hand_mask.items()}, path)  # what Mask.save wrote before
    assert_same_mask(Mask.load(path), hand_mask)


def test_saving_under_the_old_pickle_name_is_refused(hand_mask, tmp_path):
    with pytest.raises(ConfigError, match="name the file mask.safetensors"):
        hand_mask.save(tmp_path / "mask.pt")
    assert not list(tmp_path.iterdir())


def test_dense_mask_covers_weights_not_biases():
    model = models.build("lenet", seed=0)
    mask = Mask.ones_like(model)
    assert list(mask) == ["fc1.weight", "fc2.weight", "fc3.weight"]
    assert mask.num_weights == models.count_weights(model) and mask.density == 1.0
    assert list(Mask.ones_like(dict(model.named_parameters()))) == list(mask)


def test_apply_zeros_exactly_the_pruned_weights(hand_mask):
    params = params_shaped_like(hand_mask)
    biases = {n: p.clone() for n, p in params.items() if n.endswith("bias")}
    hand_mask.apply_(params)
    for name, m in hand_mask.items():
        assert torch.count_nonzero(params[name]) == m.sum()
        assert torch.count_nonzero(params[name] * (1 - m)) == 0
    for name, bias in biases.items():
        assert torch.equal(params[name], bias), "a mask must never touch biases"


def test_check_matches_accepts_the_right_model(hand_mask):
    hand_mask.check_matches(params_shaped_like(hand_mask))


@pytest.mark.parametrize("change", ["wrong shape", "missing layer", "extra layer"])
def test_check_matches_refuses_another_model(hand_mask, change):
    params = params_shaped_like(hand_mask)
    if change == "wrong shape":
        params["b.weight"] = torch.randn(3, 2)
    elif change == "missing layer":
        params["c.weight"] = torch.randn(2, 2)
    else:
        del params["a.weight"]
    with pytest.raises(ConfigError, match="does not match"):
        hand_mask.check_matches(params)


def test_clone_is_independent(hand_mask):
    copy = hand_mask.clone()
    copy["a.weight"][0, 0] = 0.0
    assert hand_mask["a.weight"][0, 0] == 1.0


@pytest.mark.parametrize(
    "name, data",
    [
        ("mask.pt", b"not a torch file"),
        ("mask.safetensors", b"not a tensor file"),
        ("mask.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{truncated"),
    ],
)
def test_loading_a_damaged_or_missing_mask_file_is_a_one_line_store_error(tmp_path, name, data):
    damaged = tmp_path / name
    damaged.write_bytes(data)
    with pytest.raises(StoreError, match=f"{name} is not a saved Mask") as raised:
        Mask.load(damaged)
    assert "\n" not in str(raised.value)
    with pytest.raises(StoreError, match="no mask file"):
        Mask.load(tmp_path / "missing.safetensors")
