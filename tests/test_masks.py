"""Tests of ticketlab.masks: the numbers a Mask reports on a mask built by hand, a save/load
round trip that needs no unpickling, and shape checks that refuse a mask of another model."""

import pytest
import torch

from ticketlab import models
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask


@pytest.fixture
def hand_mask():
    """10 weights, 4 survive: 1 of 4 in 'a.weight', 3 of 6 in 'b.weight'."""
    return Mask({
        "a.weight": torch.tensor([[1.0, 0.0], [0.0, 0.0]]),
        "b.weight": torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]),
    })


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


def test_save_load_round_trip_needs_no_pickle(hand_mask, tmp_path):
    path = tmp_path / "mask.pt"
    hand_mask.save(path)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == set(hand_mask)
    loaded = Mask.load(path)
    assert isinstance(loaded, Mask)
    for name, m in hand_mask.items():
        assert loaded[name].dtype == torch.float32
        assert torch.equal(loaded[name], m), name


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


def test_loading_a_damaged_or_missing_mask_file_is_a_one_line_store_error(tmp_path):
    from ticketlab.errors import StoreError

    damaged = tmp_path / "mask.pt"
    damaged.write_bytes(b"not a torch file")
    with pytest.raises(StoreError, match="mask.pt is not a saved Mask"):
        Mask.load(damaged)
    with pytest.raises(StoreError, match="no mask file"):
        Mask.load(tmp_path / "missing.pt")
