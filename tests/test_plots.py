"""plots: paper-style figures from two tiny real experiments, trained once per module in a
temporary store: the toy MLP on two moons (2 seeds, rounds 0-2, every control at round 2, test
curve every other evaluation) and LeNet on MNIST (1 seed, ticket only) for the pixel masks."""

import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from ticketlab import analysis, cli
from ticketlab.course.widgets import round_browser
from ticketlab.errors import ConfigError, DataError
from ticketlab.lottery import CONDITIONS, ExperimentConfig, run_experiment
from ticketlab.store import Store
from ticketlab.viz import plots

TOY = dict(
    model="toy-mlp",
    iterations=100,
    eval_every=25,
    test_every=50,
    rounds=2,
    seeds=(0, 1),
    conditions=CONDITIONS,
    control_rounds=(2,),
)
CLI_ARGS = [
    "run",
    "--model",
    "toy-mlp",
    "--scale",
    "smoke",
    "--iterations",
    "100",
    "--eval-every",
    "25",
    "--test-every",
    "50",
    "--rounds",
    "2",
    "--seeds",
    "0",
    "1",
    "--conditions",
    *CONDITIONS,
    "--control-rounds",
    "2",
    "--no-progress",
]
LENET = dict(iterations=50, eval_every=25, rounds=2, seeds=(0,))
ALL_FIGURES = {
    "accuracy_curves",
    "early_stop_vs_density",
    "layer_sparsity",
    "condition_curves",
    "iterative_vs_one_shot",
    "first_layer_masks",
    "survivor_init_distribution",
}


@pytest.fixture(scope="module")
def store_root(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def results(store_root):
    """The toy experiment: every condition, two seeds."""
    return run_experiment(ExperimentConfig.at_scale("smoke", **TOY), store=Store(store_root), progress=False)


@pytest.fixture(scope="module")
def lenet(store_root):
    """LeNet's ticket for one seed: 28x28 inputs, so first-layer masks are images."""
    return run_experiment(ExperimentConfig.at_scale("smoke", **LENET), store=Store(store_root), progress=False)


def level_labels(results) -> list[str]:
    return [f"{p:.1f}% remaining" for p in analysis.levels(results.summary)["percent_remaining"]]


@pytest.fixture
def close():
    """Collect figures and close them after the test."""
    figures = []
    yield figures.append
    for fig in figures:
        plt.close(fig)


def bands(ax) -> int:
    return sum(isinstance(c, PolyCollection) for c in ax.collections)


def labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_accuracy_curves_plots_nearest_levels_with_bands_and_skips_unmeasured_points(results, close):
    fig = plots.accuracy_curves(results.curves)
    close(fig)
    (ax,) = fig.axes
    assert "Test accuracy" in fig.get_suptitle() and "toy MLP on two moons (mean over 2 seeds" in fig.get_suptitle()
    # the run reaches rounds 0-2 only, so 51.3, 21.1, ... all map to round 2
    assert labels(ax) == level_labels(results)[::2]
    assert len(ax.lines) == 2 and bands(ax) == 2
    for line in ax.lines:  # the test curve exists at iterations 0, 50 and 100 only
        assert line.get_xdata().tolist() == [0, 50, 100]
        assert not np.isnan(line.get_ydata()).any()
    dense = results.curves.query("condition == 'ticket' and round == 0 and iteration == 100")["test_acc"].mean()
    assert ax.lines[0].get_ydata()[-1] == pytest.approx(100 * dense)
    assert ax.get_xlabel() == "training iteration" and "%" in ax.get_ylabel()


def test_accuracy_curves_by_round_and_other_conditions(results, close):
    fig = plots.accuracy_curves(results.curves, rounds=[1])
    close(fig)
    assert labels(fig.axes[0]) == level_labels(results)[1:2]
    fig = plots.accuracy_curves(results.curves, rounds=[2], condition="reinit", metric="val_acc")
    close(fig)
    assert len(fig.axes[0].lines[0].get_xdata()) == 5  # validation every 25 of 100 iterations
    with pytest.raises(ConfigError, match="round 1 has no 'reinit' runs; choose from 2"):
        plots.accuracy_curves(results.curves, rounds=[1], condition="reinit")


def test_early_stop_vs_density_has_a_log_inverted_percent_axis_and_one_band_per_condition(results, close):
    fig = plots.early_stop_vs_density(results.summary)
    close(fig)
    assert len(fig.axes) == 2
    percents = analysis.levels(results.summary)["percent_remaining"].tolist()
    for ax, metric in zip(fig.axes, analysis.METRICS):
        assert ax.get_xscale() == "log" and ax.xaxis_inverted()
        assert len(ax.lines) == len(CONDITIONS) + 1 and bands(ax) == len(CONDITIONS)  # + dense line
        ticket = ax.lines[0]
        assert ticket.get_xdata().tolist() == pytest.approx(percents)
        means = results.summary.query("condition == 'ticket'").groupby("round")[metric].mean()
        scale = 100 if metric == "test_acc_at_early_stop" else 1
        assert ticket.get_ydata().tolist() == pytest.approx((scale * means).tolist())
        assert ax.lines[-1].get_ydata()[0] == pytest.approx(scale * means[0])  # the dense reference
    assert labels(fig.axes[1])[-1] == "dense network"
    axis = fig.axes[0].xaxis
    ticks = [axis.get_major_formatter()(t, i) for i, t in enumerate(axis.get_majorticklocs())]
    assert ticks == [f"{p:.1f}".removesuffix(".0") for p in percents]


def test_early_stop_vs_density_with_chosen_conditions_and_one_shot(results, close):
    fig = plots.early_stop_vs_density(results.summary, ["ticket", "reinit"])
    close(fig)
    assert len(fig.axes[0].lines) == 3
    fig = plots.iterative_vs_one_shot(results.summary)
    close(fig)
    assert "one-shot" in fig.get_suptitle()
    assert labels(fig.axes[1]) == ["winning ticket (reset to θ0)", "one-shot pruning", "dense network"]


def test_condition_curves_picks_the_control_level_nearest_21_percent(results, close):
    fig = plots.condition_curves(results.curves)
    close(fig)
    assert level_labels(results)[2].split()[0] in fig.get_suptitle()
    val, test = fig.axes
    assert val.get_ylabel() == "validation loss"
    assert len(val.lines) == len(CONDITIONS) + 1 and bands(val) == len(CONDITIONS) + 1
    assert val.lines[-1].get_linestyle() == "--"  # dense
    assert len(val.lines[0].get_xdata()) == 5 and len(test.lines[0].get_xdata()) == 3


def test_layer_sparsity_reads_the_masks(lenet, close):
    fig = plots.layer_sparsity(lenet)
    close(fig)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert labels(ax) == ["fc1.weight", "fc2.weight", "fc3.weight (output layer, half rate)", "whole network"]
    assert ax.lines[2].get_ydata().tolist() == pytest.approx([100.0, 90.0, 81.0])
    # fc1 and fc2 are pruned at the same rate, so their lines coincide: both must stay visible
    assert ax.lines[0].get_linewidth() > ax.lines[1].get_linewidth() and ax.lines[1].get_linestyle() == "--"
    assert "mean over" not in fig.get_suptitle() and "the same for every seed" in fig.get_suptitle()


def test_first_layer_masks_show_surviving_connections_per_pixel(lenet, close):
    fig = plots.first_layer_masks(lenet, rounds=[0, 2])
    close(fig)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert [image.shape for image in images] == [(28, 28), (28, 28)]
    assert images[0].sum() == 784 * 300
    assert images[1].sum() == lenet.mask(0, 2)["fc1.weight"].sum().item() == 0.64 * 784 * 300
    norms = {id(ax.images[0].norm) for ax in fig.axes if ax.images}
    assert len(norms) == 1  # one colour scale for every panel


def test_survivor_init_distribution_splits_theta0_into_survivors_and_pruned(lenet, close):
    fig = plots.survivor_init_distribution(lenet, round_=2)
    close(fig)
    (ax,) = fig.axes
    heights = [sum(p.get_height() for p in container) for container in ax.containers]
    survivors = int(lenet.mask(0, 2)["fc1.weight"].sum())
    assert heights == [784 * 300 - survivors, survivors]
    assert f"survived: {survivors:,} weights" in labels(ax)[1]
    assert fig.get_suptitle().endswith("(seed 0)")  # one seed's histogram, not a mean over seeds
    with pytest.raises(ConfigError, match="round 5"):
        plots.survivor_init_distribution(lenet, round_=5)


def test_rewinding_draws_one_colour_per_labelled_summary(results, close):
    rewound = results.summary.assign(test_acc_at_early_stop=results.summary["test_acc_at_early_stop"] - 0.01)
    fig = plots.rewinding({"reset to θ0": results.summary, "rewind to iteration 20": rewound})
    close(fig)
    assert labels(fig.axes[1]) == ["reset to θ0", "rewind to iteration 20", "dense network"]
    first, second = fig.axes[1].lines[:2]
    assert np.subtract(first.get_ydata(), second.get_ydata()) == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        plots.rewinding({})


def test_round_overview_has_mask_histogram_and_curve(lenet, close):
    fig = plots.round_overview(lenet, round_=2)
    close(fig)
    assert "Round 2: 64.1%" in fig.get_suptitle()
    titles = [ax.get_title() for ax in fig.axes]
    assert {"first-layer connections kept per pixel", "θ0 of the first layer", "test accuracy during training"} <= set(
        titles
    )


def test_round_overview_of_a_model_without_pixels_lists_the_layers_instead(results, close):
    fig = plots.round_overview(results, seed=1, round_=1)
    close(fig)
    assert "fc2.weight" in fig.axes[0].texts[0].get_text()


def test_round_browser_shows_the_overview_of_the_chosen_round(results, close):
    browser = round_browser(results)
    seed, level = browser.children[:2]
    assert seed.options == (0, 1)
    assert [label for label, _ in level.options] == [label.split()[0] for label in level_labels(results)]
    level.value = 2
    close(browser.figure)
    assert browser.figure.get_suptitle().startswith(f"Round 2: {level_labels(results)[2].split()[0]} of weights")
    seed.value = 1
    close(browser.figure)
    assert "(seed 1)" in browser.figure.get_suptitle()


def test_bad_input_raises_one_line_errors(results):
    with pytest.raises(ConfigError, match="'bogus'"):
        plots.early_stop_vs_density(results.summary, ["ticket", "bogus"])
    with pytest.raises(DataError, match="early_stop_iteration"):
        plots.early_stop_vs_density(results.summary.drop(columns="early_stop_iteration"))
    with pytest.raises(ConfigError, match="seed 9"):
        plots.layer_sparsity(results, seed=9)
    with pytest.raises(ConfigError, match="lenet on mnist"):
        plots.first_layer_masks(results)


def test_save_experiment_figures_writes_every_supported_figure(results, lenet, tmp_path):
    paths = plots.save_experiment_figures(results, tmp_path / "toy", dpi=40)
    assert {p.stem for p in paths} == ALL_FIGURES - {"first_layer_masks"}  # the toy's inputs are not images
    assert all(p.suffix == ".png" and p.stat().st_size > 2_000 for p in paths)
    paths = plots.save_experiment_figures(lenet, tmp_path / "lenet", dpi=40)  # one seed, no controls
    assert {p.stem for p in paths} == ALL_FIGURES - {"condition_curves", "iterative_vs_one_shot"}


def test_cli_run_writes_tables_and_figures_reusing_the_store(results, store_root, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(CLI_ARGS + ["--store", str(store_root), "--out", str(out)]) == 0
    written = pd.read_csv(out / "summary.csv")
    assert len(written) == len(results.summary) == 2 * 3 + 2 * 4
    assert written["test_acc_at_early_stop"].tolist() == pytest.approx(
        results.summary["test_acc_at_early_stop"].tolist()
    )
    figures = ALL_FIGURES - {"first_layer_masks"}
    assert {p.stem for p in out.glob("*.png")} == figures
    assert f"{len(figures)} figures" in capsys.readouterr().out


def test_reproduction_scoreboard_colours_each_verdict(results, close):
    from ticketlab import report

    table = report.reproduction_table(results.summary)
    fig = plots.reproduction_scoreboard(table)
    close(fig)
    grid = fig.axes[0].tables[0]
    for row, verdict in enumerate(table["verdict"], start=1):
        assert grid[row, 3].get_text().get_text() == verdict
        assert grid[row, 3].get_facecolor()[:3] == pytest.approx(
            matplotlib.colors.to_rgb(plots.VERDICT_COLORS[verdict])
        )
    counts = report.verdict_counts(table)
    assert fig.get_suptitle().endswith(
        f"{counts['reproduced']} reproduced, {counts['partly']} partly, {counts['not']} not, "
        f"{counts['untested']} untested"
    )
    with pytest.raises(ConfigError, match="lacks verdict"):
        plots.reproduction_scoreboard(table.drop(columns="verdict"))


def test_course_style_is_seaborns_default_theme_and_palette():
    import seaborn

    with matplotlib.rc_context():
        seaborn.set_theme()
        expected = dict(matplotlib.rcParams)
    with matplotlib.rc_context():
        plots.use_course_style()
        assert dict(matplotlib.rcParams) == expected
    assert plots.CONDITION_STYLE["ticket"][0] == seaborn.color_palette("deep").as_hex()[0]


def test_reproduction_scoreboard_shows_two_experiments_side_by_side(results, close):
    from ticketlab import report

    ticket_only = report.reproduction_table(results.summary.query("condition == 'ticket'"))
    both = report.side_by_side({"reference": report.reproduction_table(results.summary), "lecture": ticket_only})
    fig = plots.reproduction_scoreboard(both)
    close(fig)
    grid = fig.axes[0].tables[0]
    assert [grid[0, c].get_text().get_text() for c in range(6)] == [
        "claim",
        "paper",
        "reference",
        "verdict",
        "lecture",
        "verdict",
    ]
    for row, verdict in enumerate(both["lecture verdict"], start=1):
        assert grid[row, 5].get_facecolor()[:3] == pytest.approx(
            matplotlib.colors.to_rgb(plots.VERDICT_COLORS[verdict])
        )
    assert "reference: " in fig.get_suptitle() and "; lecture: " in fig.get_suptitle()


def test_generalisation_draws_training_and_test_accuracy_at_the_end(results, close):
    fig = plots.generalisation(results.summary, ["ticket"])
    close(fig)
    left, right = fig.axes[:2]
    assert (
        left.get_ylabel() == "training accuracy at the end (%)" and right.get_ylabel() == "test accuracy at the end (%)"
    )
    ticket = results.summary.query("condition == 'ticket'").groupby("round")["final_train_acc"].mean()
    plotted = left.lines[0].get_ydata()
    assert plotted == pytest.approx(100 * ticket.sort_index().to_numpy())
    with pytest.raises(DataError, match="final_train_acc"):
        plots.generalisation(results.summary.drop(columns="final_train_acc"))


def test_percent_axis_ticks_the_data_own_levels_off_lenets_ladder(close):
    """A toy pruned 40% per round never reaches LeNet's 51.3% or 21.1%: its own levels are ticked."""
    toy_levels = [100.0, 61.0, 37.5, 23.3, 14.5, 9.2, 5.9, 3.9, 2.5]
    assert plots._level_ticks(toy_levels) == [100.0, 37.5, 14.5, 5.9, 2.5]
    from ticketlab.pruning import sparsity_ladder

    lenet_levels = sparsity_ladder("lenet", rounds=15)["percent_remaining"].round(1).tolist()
    assert plots._level_ticks(lenet_levels) == [100.0, 51.3, 21.1, 7.0, 3.6]
