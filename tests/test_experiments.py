"""course.experiments and viz.lesson_figures: stored training that loads instead of retraining, one-shot pruning by three rules,
the line from θ0 to trained weights, subnetwork counts and the toy ticket's decision regions."""

import math

import pytest
import torch
from matplotlib.figure import Figure

from ticketlab import data, lottery, training
from ticketlab.course import experiments
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask
from ticketlab.models import build
from ticketlab.pruning import counts_after_rounds, karnin_scores
from ticketlab.store import Store
from ticketlab.training import RunSpec, TrainConfig
from ticketlab.viz import lesson_figures

SHORT = TrainConfig(iterations=30, lr=1e-2, eval_every=10)
TINY_TOY = dict(iterations=40, eval_every=20, rounds=2, seeds=(0, 1))


@pytest.fixture(scope="module")
def moons():
    return data.load("moons")


@pytest.fixture(scope="module")
def dense_run(moons, tmp_path_factory):
    """A trained toy MLP with Karnin's updates, and its θ0."""
    theta0 = lottery.initial_weights("toy-mlp", 0)
    store = Store(tmp_path_factory.mktemp("dense"))
    (dense,) = experiments.train_or_load(
        [RunSpec(theta0, Mask.ones_like(theta0), 0)],
        moons,
        SHORT,
        model="toy-mlp",
        purpose="test",
        store=store,
        track_updates=True,
        progress=False,
    )
    return dense, theta0


@pytest.fixture(scope="module")
def pruner(dense_run, moons):
    dense, theta0 = dense_run
    config = lottery.ExperimentConfig.at_scale("smoke", model="toy-mlp")
    return experiments.one_shot_pruner(dense, theta0, config, moons.x_test, moons.y_test)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    config = experiments.toy_config("smoke").replace(**TINY_TOY)
    return experiments.toy_tickets(config, store=Store(tmp_path_factory.mktemp("toy")), progress=False)


@pytest.fixture
def close():
    figures = []
    yield figures.append
    figures.clear()


def titled(fig: Figure) -> bool:
    titles = [fig._suptitle.get_text() if fig._suptitle else ""] + [ax.get_title() for ax in fig.axes]
    return any(titles)


# --- stored training ----------------------------------------------------------------------------


def test_train_or_load_trains_once_then_loads_the_same_results(moons, tmp_path, monkeypatch):
    theta0 = lottery.initial_weights("toy-mlp", 3)
    runs = [RunSpec(theta0, Mask.ones_like(theta0), 3)]
    store = Store(tmp_path)
    (first,) = experiments.train_or_load(
        runs, moons, SHORT, model="toy-mlp", purpose="t", store=store, track_updates=True, progress=False
    )

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(experiments, "train_stacked", no_training)
    (again,) = experiments.train_or_load(
        runs, moons, SHORT, model="toy-mlp", purpose="t", store=store, track_updates=True, progress=False
    )
    assert again.early_stop_iteration == first.early_stop_iteration
    assert again.final_test_acc == first.final_test_acc
    assert list(again.curve["iteration"]) == [0, 10, 20, 30]
    for name in first.final:
        assert torch.equal(again.final[name], first.final[name])
    for name in first.squared_updates:
        assert torch.equal(again.squared_updates[name], first.squared_updates[name])
        assert again.squared_updates[name].sum() > 0


def test_train_or_load_retrains_when_a_mask_changes(moons, tmp_path):
    theta0 = lottery.initial_weights("toy-mlp", 0)
    dense = Mask.ones_like(theta0)
    sparse = dense.clone()
    sparse["fc2.weight"][:, :16] = 0.0
    store = Store(tmp_path)
    (a,) = experiments.train_or_load(
        [RunSpec(theta0, dense, 0)], moons, SHORT, model="toy-mlp", purpose="t", store=store, progress=False
    )
    (b,) = experiments.train_or_load(
        [RunSpec(theta0, sparse, 0)], moons, SHORT, model="toy-mlp", purpose="t", store=store, progress=False
    )
    assert len(list((tmp_path / "runs").iterdir())) == 2
    assert int((a.final["fc2.weight"] != 0).sum()) == 32 * 32
    assert int((b.final["fc2.weight"] != 0).sum()) == 32 * 16
    assert b.squared_updates is None


# --- one-shot pruning ---------------------------------------------------------------------------


def test_method_scores_rank_by_magnitude_karnin_and_reproducible_noise(dense_run):
    dense, theta0 = dense_run
    scores = experiments.method_scores(dense, theta0, lr=1e-2)
    again = experiments.method_scores(dense, theta0, lr=1e-2)
    expected_karnin = karnin_scores(dense.squared_updates, theta0, dense.final, 1e-2)
    assert set(scores) == set(experiments.METHODS)
    for name in ("fc1.weight", "fc2.weight", "fc3.weight"):
        assert torch.equal(scores["magnitude"][name], dense.final[name].abs())
        assert torch.equal(scores["karnin"][name], expected_karnin[name])
        assert torch.equal(scores["random"][name], again["random"][name])
        assert scores["random"][name].shape == dense.final[name].shape
    assert "fc1.bias" not in scores["magnitude"]


def test_method_scores_need_the_squared_updates(dense_run):
    dense, theta0 = dense_run
    untracked = training.RunResult(**{**dense.__dict__, "squared_updates": None})
    with pytest.raises(ConfigError, match="track_updates=True"):
        experiments.method_scores(untracked, theta0, lr=1e-2)


@pytest.mark.parametrize("method", experiments.METHODS)
def test_one_shot_keeps_the_ladders_layer_sizes_and_scores_the_pruned_network(pruner, moons, method):
    point = pruner.evaluate(method, 3)
    sizes = {n: m.numel() for n, m in point.mask.items()}
    expected = counts_after_rounds(sizes, pruner.rates, 3)
    assert {n: int(m.sum()) for n, m in point.mask.items()} == expected
    loss, accuracy = training.evaluate(pruner.model, pruner.weights, moons.x_test, moons.y_test, point.mask)
    assert (point.accuracy, point.loss) == (accuracy, loss)
    assert point.percent_remaining == pytest.approx(100 * sum(expected.values()) / sum(sizes.values()))


def test_magnitude_one_shot_removes_the_smallest_weights(pruner):
    mask = pruner.mask("magnitude", 4)
    for name, m in mask.items():
        magnitude = pruner.weights[name].abs()
        assert magnitude[m == 0].max() <= magnitude[m == 1].min()


def test_round_zero_is_the_dense_network_and_unknown_methods_are_refused(pruner, moons):
    dense = training.evaluate(pruner.model, pruner.weights, moons.x_test, moons.y_test)[1]
    assert pruner.evaluate("karnin", 0).accuracy == dense
    assert pruner.evaluate("karnin", 0).percent_remaining == 100.0
    with pytest.raises(ConfigError, match="magnitude, karnin, random"):
        pruner.evaluate("movement", 2)


def test_table_has_one_row_per_method_and_round(pruner):
    table = pruner.table([0, 2, 5], progress=False)
    assert len(table) == 9
    assert list(table["method"].unique()) == list(experiments.METHODS)
    for _, rows in table.groupby("method"):
        assert rows["percent_remaining"].is_monotonic_decreasing
        assert rows["accuracy"].between(0, 1).all()


def test_pixel_connections_count_each_pixels_surviving_connections():
    mask = Mask.ones_like(build("lenet"))
    mask["fc1.weight"][:, 0] = 0.0
    mask["fc1.weight"][:100, 29] = 0.0
    image = lesson_figures.pixel_connections(mask)
    assert image.shape == (28, 28)
    assert image[0, 0] == 0 and image[1, 1] == 200 and image[5, 5] == 300
    assert image.sum() == mask["fc1.weight"].sum()
    with pytest.raises(ConfigError, match="not 28×28"):
        lesson_figures.pixel_connections(Mask.ones_like(build("toy-mlp")))


# --- the hypothesis -----------------------------------------------------------------------------


def test_log10_subnetworks_matches_exact_binomials():
    assert experiments.log10_subnetworks(10, 3) == pytest.approx(math.log10(120))
    assert experiments.log10_subnetworks(1000, 100) == pytest.approx(math.log10(math.comb(1000, 100)))
    assert experiments.log10_subnetworks(266_200, 26_620) == pytest.approx(math.log10(math.comb(266_200, 26_620)))
    assert experiments.log10_subnetworks(5, 0) == 0.0
    with pytest.raises(ConfigError, match="0..5"):
        experiments.log10_subnetworks(5, 6)


def test_loss_along_line_starts_at_theta0_and_ends_at_the_trained_weights(dense_run, moons):
    dense, theta0 = dense_run
    model, mask = build("toy-mlp"), Mask.ones_like(theta0)
    mask["fc1.weight"][:10] = 0.0
    line = experiments.loss_along_line(model, theta0, dense.final, moons.x_val, moons.y_val, [0, 0.5, 1], mask)
    assert list(line["alpha"]) == [0.0, 0.5, 1.0]
    for alpha, weights in ((0.0, theta0), (1.0, dense.final)):
        loss, accuracy = training.evaluate(model, weights, moons.x_val, moons.y_val, mask)
        row = line[line["alpha"] == alpha].iloc[0]
        assert (row["loss"], row["accuracy"]) == pytest.approx((loss, accuracy))
    assert line["loss"].iloc[2] < line["loss"].iloc[0]


def test_decision_grid_is_the_masked_networks_class_one_probability(dense_run):
    dense, _ = dense_run
    model, mask = build("toy-mlp"), Mask.ones_like(dense.final)
    mask["fc2.weight"][:, ::2] = 0.0
    xs, ys, probability = lesson_figures.decision_grid(model, dense.final, mask, (-2, 2, -1, 1), resolution=5)
    assert probability.shape == (5, 5) and xs[0] == -2 and ys[-1] == 1
    masked = {n: w * mask[n] if n in mask else w for n, w in dense.final.items()}
    expected = torch.func.functional_call(model, masked, (torch.tensor([[xs[3], ys[1]]]),)).softmax(1)[0, 1]
    assert probability[1, 3] == pytest.approx(expected.item(), abs=1e-6)
    assert ((probability >= 0) & (probability <= 1)).all()


def test_toy_config_reaches_sparse_levels_with_both_conditions_every_round():
    config = experiments.toy_config("lecture")
    assert config.model == "toy-mlp" and config.dataset == "moons"
    assert config.conditions == ("ticket", "reinit") and config.control_rounds is None
    assert config.runs_at(1) == [(c, s) for c in ("ticket", "reinit") for s in (0, 1, 2, 3)]
    assert experiments.toy_config("smoke").rounds < config.rounds


def test_toy_panels_show_dense_ticket_and_the_engines_reinit_run(toy):
    panels = toy.panels(1, 2)
    assert [p.condition for p in panels] == ["dense", "ticket", "reinit"]
    summary = toy.results.summary.set_index(["condition", "seed", "round"])
    assert panels[0].accuracy == pytest.approx(summary.loc[("ticket", 1, 0), "final_test_acc"], abs=1e-6)
    assert panels[1].accuracy == pytest.approx(summary.loc[("ticket", 1, 2), "final_test_acc"], abs=1e-6)
    # the retrained reinit reproduces the engine's own reinit run of that seed and round
    assert panels[2].accuracy == pytest.approx(summary.loc[("reinit", 1, 2), "final_test_acc"], abs=2e-3)
    ticket_mask = toy.results.mask(1, 2)
    assert panels[2].mask is not None and all(torch.equal(panels[2].mask[n], ticket_mask[n]) for n in ticket_mask)
    pruned = panels[2].weights["fc1.weight"][ticket_mask["fc1.weight"] == 0]
    assert int((pruned != 0).sum()) == 0
    with pytest.raises(ConfigError, match="seed 7, round 1"):
        toy.panels(7, 1)


# --- figures ------------------------------------------------------------------------------------


def test_one_shot_and_fine_tune_figures_draw_one_line_per_series(pruner, dense_run, close):
    table = pruner.table([0, 2, 4], progress=False)
    fig = lesson_figures.one_shot_figure(table, dense_accuracy=0.9)
    close(fig)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 + 2 and ax.get_xscale() == "log" and ax.get_xlim()[0] > ax.get_xlim()[1]
    assert titled(fig) and ax.get_xlabel() and ax.get_ylabel()
    dense, _ = dense_run
    fig = lesson_figures.fine_tune_figure(
        [("magnitude", 10.8, dense), ("random", 10.8, dense), ("random", 3.6, dense)], 0.9
    )
    close(fig)
    lines = fig.axes[0].lines
    assert len(lines) == 4 and titled(fig)
    assert lines[0].get_color() != lines[1].get_color() and lines[1].get_color() == lines[2].get_color()
    assert lines[1].get_linestyle() != lines[2].get_linestyle()
    assert list(lines[0].get_xdata()) == list(dense.curve["iteration"])


def test_mask_figures_show_lenet_pixels_and_histograms(close):
    model = build("lenet", seed=0)
    weights = {n: p.detach() for n, p in model.named_parameters()}
    mask = Mask.ones_like(model)
    mask["fc1.weight"][:, :392] = 0.0
    fig = lesson_figures.pixel_masks_figure({"a": mask, "b": Mask.ones_like(model)}, "masks")
    close(fig)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (28, 28) and image[0, 0] == 0 and image[27, 27] == 300
    fig = lesson_figures.weight_histograms(weights, mask, "half of fc1")
    close(fig)
    assert len(fig.axes) == 3 and titled(fig) and fig.axes[0].get_ylabel()
    point = experiments.PrunedPoint("magnitude", 1, 55.5, 0.876, 0.4, mask)
    fig = lesson_figures.explorer_figure(point, dense_accuracy=0.98)
    close(fig)
    assert "55.5% remaining" in fig.axes[0].get_title() and "87.6%" in fig.axes[0].get_title()


def test_line_and_decision_figures(dense_run, toy, close):
    dense, theta0 = dense_run
    moons = toy.data
    line = experiments.loss_along_line(build("toy-mlp"), theta0, dense.final, moons.x_val, moons.y_val, [0, 0.5, 1])
    fig = lesson_figures.line_figure({"dense": line, "ticket": line})
    close(fig)
    assert len(fig.axes[0].get_legend().get_texts()) == 2 and titled(fig)
    fig = lesson_figures.decision_boundaries_figure(toy.panels(0, 1), moons, "toy")
    close(fig)
    assert len(fig.axes) == 3
    assert "winning ticket" in fig.axes[1].get_title() and "test accuracy" in fig.axes[2].get_title()


def test_tree_summary_counts_leaves_and_scores_every_split():
    from ticketlab.course import trees

    tree_data = trees.tree_data(seed=0)
    full = trees.grow_full_tree(tree_data)
    pruned = trees.reduced_error_prune(full, tree_data.X_val, tree_data.y_val)
    table = experiments.tree_summary({"full": full, "pruned": pruned}, tree_data)
    assert list(table["tree"]) == ["full", "pruned"]
    assert list(table["leaves"]) == [trees.n_leaves(full), trees.n_leaves(pruned)]
    assert table["train accuracy"][0] == 1.0
    assert table["validation accuracy"][1] == pruned.score(tree_data.X_val, tree_data.y_val)
    assert table["test accuracy"][1] == pruned.score(tree_data.X_test, tree_data.y_test)


def test_condition_table_averages_seeds_per_level(toy):
    summary = toy.results.summary
    table = experiments.condition_table(summary)
    assert list(table.columns) == ["percent remaining", "reinit", "ticket"]
    assert table.loc[0, "percent remaining"] == 100.0 and math.isnan(table.loc[0, "reinit"])
    rows = summary[(summary["condition"] == "reinit") & (summary["round"] == 2)]
    assert table.loc[2, "reinit"] == pytest.approx(100 * rows["test_acc_at_early_stop"].mean())
    iterations = experiments.condition_table(summary, "early_stop_iteration")
    assert (
        iterations.loc[1, "ticket"]
        == summary[(summary["condition"] == "ticket") & (summary["round"] == 1)]["early_stop_iteration"].mean()
    )


def test_training_figure_marks_the_early_stop_iteration(dense_run, close):
    dense, _ = dense_run
    fig = lesson_figures.training_figure(dense, "dense toy")
    close(fig)
    assert len(fig.axes) == 2 and titled(fig)
    marker = fig.axes[0].lines[1]
    assert list(marker.get_xdata()) == [dense.early_stop_iteration] * 2
