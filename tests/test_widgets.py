"""widgets: the explorers wire their controls to the pure functions of ``explore``, redraw on change and
keep the figure in the Output widget's state (so an executed notebook stores it)."""

import ipywidgets
import pytest
import torch
from matplotlib.figure import Figure

from ticketlab import lottery
from ticketlab.course import experiments, widgets
from ticketlab.masks import Mask
from ticketlab.models import build
from ticketlab.store import Store
from ticketlab.training import RunResult


@pytest.fixture(scope="module")
def lenet_pruner():
    """An untrained LeNet with made-up update sums: enough to prune, score and draw pixel masks."""
    generator = torch.Generator().manual_seed(0)
    model = build("lenet", seed=0)
    init = {n: p.detach().clone() for n, p in model.named_parameters()}
    final = {n: w + 0.01 * torch.randn(w.shape, generator=generator) for n, w in init.items()}
    updates = {n: torch.rand(final[n].shape, generator=generator) for n in Mask.ones_like(model)}
    dense = RunResult(
        curve=None,
        early_stop_iteration=0,
        test_acc_at_early_stop=0.1,
        test_loss_at_early_stop=2.3,
        final_test_acc=0.1,
        final_train_acc=0.1,
        final_train_loss=2.0,
        final=final,
        squared_updates=updates,
    )
    x = torch.randn(64, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (64,), generator=generator)
    config = lottery.ExperimentConfig.at_scale("smoke")
    return experiments.one_shot_pruner(dense, init, config, x, y)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    config = experiments.toy_config("smoke").replace(iterations=40, eval_every=20, rounds=2, seeds=(0, 1))
    return experiments.toy_tickets(config, store=Store(tmp_path_factory.mktemp("toy")), progress=False)


def controls(widget: widgets.Explorer) -> dict:
    return {c.description: c for c in widget.children if isinstance(c, ipywidgets.ValueWidget) and c.description}


def test_level_options_label_rounds_with_the_papers_ladder():
    weights = dict(build("lenet").named_parameters())
    rates = {"fc1.weight": 0.2, "fc2.weight": 0.2, "fc3.weight": 0.1}
    assert widgets.level_options(weights, rates, [0, 3, 7, 20]) == [
        ("100.0%", 0),
        ("51.3%", 3),
        ("21.1%", 7),
        ("1.2%", 20),
    ]


def test_pruning_explorer_redraws_the_mask_for_the_chosen_rule_and_sparsity(lenet_pruner):
    explorer = widgets.pruning_explorer(lenet_pruner, rounds=[0, 5, 10], dense_accuracy=0.97)
    rule, remaining = controls(explorer)["rule"], controls(explorer)["remaining"]
    assert [value for _, value in rule.options] == list(experiments.METHODS)
    assert isinstance(explorer.figure, Figure)
    assert "100.0% remaining" in explorer.figure.axes[0].get_title()
    remaining.value = 10
    rule.value = "random"
    title = explorer.figure.axes[0].get_title()
    point = lenet_pruner.evaluate("random", 10)
    assert "random" in title and f"{point.percent_remaining:.1f}% remaining" in title
    assert f"test accuracy {100 * point.accuracy:.1f}%" in title and "dense 97.0%" in title
    image = explorer.figure.axes[0].images[0].get_array()
    assert image.sum() == point.mask["fc1.weight"].sum()


def test_toy_explorer_draws_the_three_networks_of_the_chosen_seed_and_round(toy):
    explorer = widgets.toy_ticket_explorer(toy)
    seed, remaining = controls(explorer)["seed"], controls(explorer)["remaining"]
    assert list(seed.options) == [0, 1] and [r for _, r in remaining.options] == [1, 2]
    seed.value, remaining.value = 1, 2
    fig = explorer.figure
    assert "seed 1, pruning round 2" in fig._suptitle.get_text()
    accuracies = [p.accuracy for p in toy.panels(1, 2)]
    for ax, accuracy in zip(fig.axes, accuracies):
        assert f"test accuracy {100 * accuracy:.1f}%" in ax.get_title()


def test_explorer_redraws_into_the_output_state_on_every_change():
    calls = []

    def draw(a: int, b: str) -> Figure:
        calls.append((a, b))
        fig = Figure()
        fig.suptitle(f"{a}{b}")
        return fig

    a, b = ipywidgets.IntSlider(value=1, min=0, max=5), ipywidgets.Dropdown(options=["x", "y"])
    explorer = widgets.Explorer(draw, a=a, b=b)
    assert calls == [(1, "x")] and list(explorer.children) == [a, b, explorer.output]
    a.value, b.value = 3, "y"
    assert calls == [(1, "x"), (3, "x"), (3, "y")]
    assert explorer.figure._suptitle.get_text() == "3y"
    (shown,) = explorer.output.outputs
    assert shown["output_type"] == "display_data" and "Figure" in shown["data"]["text/plain"]
    assert explorer.output.msg_id == ""  # nothing was captured from the kernel's output streams
