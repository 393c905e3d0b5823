"""The studies beyond the 2019 paper: instability pairs and pruning at initialisation, run on a tiny
experiment (the structure and invariants), the verdict rules on hand-made tables, and the shipped
tables (complete, and re-trained in part by a slow test)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from ticketlab import beyond, cli
from ticketlab import data as datasets
from ticketlab.errors import ConfigError, DataError
from ticketlab.lottery import ExperimentConfig, initial_weights
from ticketlab.masks import Mask
from ticketlab.models import build
from ticketlab.stability import PATH_POINTS
from ticketlab.store import Store
from ticketlab.training import RunSpec, train_stacked
from ticketlab.viz import beyond as figures

ROUNDS, POINTS, INIT = (0, 2), (0, 50), (1, 2)


def tiny_lecture(seeds=(0, 1)):
    """The lecture's structure at the toy's smoke scale: seconds instead of minutes."""
    return ExperimentConfig.at_scale(
        "smoke",
        model="toy-mlp",
        seeds=tuple(seeds),
        rounds=2,
        conditions=("ticket", "reinit", "random-prune"),
        control_rounds=(1, 2),
        iterations=100,
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Both studies on the tiny experiment: (config, store, pairs, paths, init table)."""
    config, store = tiny_lecture(), Store(tmp_path_factory.mktemp("store"))
    pairs, paths = beyond.run_instability(config, store, ROUNDS, POINTS, progress=False)
    table = beyond.run_init_pruning(config, store, INIT, progress=False)
    return config, store, pairs, paths, table


# ----------------------------------------------------------------------------- instability


def test_every_subnetwork_gets_one_pair_and_one_path(tiny):
    config, _, pairs, paths, _ = tiny
    controls = len(beyond.STABILITY_CONTROLS) * sum(r > 0 for r in ROUNDS)
    assert len(pairs) == len(config.seeds) * (len(ROUNDS) * len(POINTS) + controls)
    assert set(pairs["condition"]) == {"ticket", *beyond.STABILITY_CONTROLS}
    assert (pairs.loc[pairs["condition"] != "ticket", "rewind_iteration"] == 0).all()
    per_pair = paths.groupby(["seed", "condition", "round", "rewind_iteration"]).size()
    assert len(per_pair) == len(pairs) and (per_pair == PATH_POINTS).all()


def test_barriers_are_at_least_half_the_gap_between_the_copies(tiny):
    pairs = tiny[2]
    assert (pairs["barrier"] >= pairs["end_error_gap"] / 2 - 1e-9).all()
    assert (pairs["end_error"].between(0, 1)).all()


def test_the_path_ends_are_the_two_copies_trained_from_the_same_start(tiny):
    """Re-train seed 0's dense pair from θ0: the path's ends are the copies' test errors, and the two
    copies differ (different data orders), or there would be nothing to measure."""
    config, store, pairs, paths, _ = tiny
    data = datasets.load(config.dataset)
    theta0 = initial_weights(config.model, 0, config.input_shape)
    runs = [RunSpec(theta0, Mask.ones_like(theta0), s) for s in beyond.copy_seeds(0)]
    a, b = train_stacked(build(config.model), runs, data, beyond.copy_config(config, 0), progress=False)
    assert any(not torch.equal(a.final[n], b.final[n]) for n in a.final)
    path = paths.query("seed == 0 and condition == 'ticket' and round == 0 and rewind_iteration == 0")
    model = build(config.model)
    for weights, alpha in ((a.final, 0.0), (b.final, 1.0)):
        logits = torch.func.functional_call(model, weights, (data.x_test,))
        error = 1 - (logits.argmax(1) == data.y_test).float().mean().item()
        assert path.loc[np.isclose(path["alpha"], alpha), "error"].iloc[0] == pytest.approx(error, abs=1e-6)


def test_rewind_points_are_the_first_k_iterations_of_the_dense_run(tiny):
    config, store = tiny[:2]
    data = datasets.load(config.dataset)
    rewound = beyond.rewind_weights(config, store, data, POINTS, progress=False)
    theta0 = initial_weights(config.model, 1, config.input_shape)
    (full,) = train_stacked(
        build(config.model),
        [RunSpec(theta0, Mask.ones_like(theta0), 1)],
        data,
        config.train_config(),
        50,
        progress=False,
    )
    assert all(torch.equal(rewound[1, 0][n], theta0[n]) for n in theta0)
    assert all(torch.equal(rewound[1, 50][n], full.rewind[n]) for n in theta0)


def test_copies_train_the_rest_of_the_protocol():
    config = tiny_lecture()
    assert beyond.copy_config(config, 0).iterations == config.iterations
    assert beyond.copy_config(config, 50).iterations == config.iterations - 50


def fake_pairs(barriers, end_errors, rounds=(0, 0, 7, 7, 15, 15), conditions=("ticket",) * 6) -> pd.DataFrame:
    return pd.DataFrame(
        dict(
            seed=[0, 1] * (len(barriers) // 2),
            condition=list(conditions),
            round=list(rounds),
            percent_remaining=[{0: 100.0, 7: 21.1, 15: 3.6}[r] for r in rounds],
            rewind_iteration=0,
            barrier=barriers,
            end_error=end_errors,
        )
    )


def test_stable_only_when_every_seed_is_within_two_percent():
    pairs = fake_pairs([0.0, 0.0, 0.001, 0.019, 0.001, 0.021], [0.02] * 6)
    table = beyond.barrier_table(pairs)
    assert table["stable"].tolist() == [True, True, False]
    assert table["barrier"].tolist() == pytest.approx([0.0, 1.0, 1.1])


def test_matching_means_no_more_than_one_dense_standard_deviation_worse():
    # dense end errors 2.0% and 2.2%: mean 2.1%, sd 0.141 pp, so up to 2.241% is matching
    pairs = fake_pairs([0.0] * 6, [0.020, 0.022, 0.0222, 0.0226, 0.0225, 0.0226])
    assert beyond.barrier_table(pairs)["matching"].tolist() == [True, True, False]


def test_findings_read_the_table():
    conditions = ("ticket", "ticket", "ticket", "ticket", "reinit", "reinit")
    pairs = fake_pairs(
        [0.0, 0.0, 0.001, 0.001, 0.05, 0.04], [0.02, 0.02, 0.019, 0.019, 0.03, 0.03], (0, 0, 7, 7, 7, 7), conditions
    )
    findings = beyond.stability_findings(beyond.barrier_table(pairs))
    assert all(findings.values()), findings
    pairs.loc[4:, "barrier"] = 0.001  # a stable control that is not matching
    findings = beyond.stability_findings(beyond.barrier_table(pairs))
    assert not findings["the controls (reinit, random pruning) from θ0 are unstable at every sparse level"]
    assert not findings["the controls are matching wherever they are stable"]
    assert findings["IMP tickets are matching only where they are stable"]


def test_rewinding_effect_is_each_seeds_change_against_its_own_start_from_theta0():
    pairs = pd.DataFrame(
        dict(
            seed=[0, 0, 1, 1],
            condition="ticket",
            round=7,
            percent_remaining=21.1,
            rewind_iteration=[0, 100, 0, 100],
            barrier=0.0,
            end_error=[0.020, 0.019, 0.030, 0.033],
        )
    )
    row = beyond.rewinding_effect(pairs).iloc[0]
    assert row["rewind_iteration"] == 100 and row["percent_remaining"] == 21.1
    assert (row["error_change_pp"], row["lowest_seed"], row["highest_seed"]) == pytest.approx((0.1, -0.1, 0.3))
    with pytest.raises(DataError, match="from θ0"):
        beyond.rewinding_effect(pairs[pairs["rewind_iteration"] > 0])


def test_the_barrier_table_needs_the_dense_pair():
    with pytest.raises(DataError, match="dense network"):
        beyond.barrier_table(fake_pairs([0.0] * 2, [0.02] * 2, rounds=(7, 7), conditions=("ticket",) * 2))


# ----------------------------------------------------------------------------- pruning at initialisation


def test_each_method_keeps_the_levels_density_and_shuffling_keeps_layer_sizes(tiny):
    config, _, _, _, table = tiny
    for _, rows in table.groupby("round"):
        assert rows["percent_remaining"].max() - rows["percent_remaining"].min() < 0.5  # one weight of a tiny net
        layers = [c for c in rows if c.startswith("percent_fc") and "constant" not in c]
        published = rows[rows["variant"] == "as published"].set_index(["method", "seed"])[layers]
        shuffled = rows[rows["variant"] == "shuffled"].set_index(["method", "seed"])[layers]
        for method in beyond.INIT_METHODS:
            assert np.allclose(published.loc[method].values, shuffled.loc[method].values)


def test_the_rows_per_level_are_every_method_twice_and_the_lectures_three(tiny):
    config, _, _, _, table = tiny
    per_level = len(config.seeds) * (2 * len(beyond.INIT_METHODS) + len(beyond.LECTURE_ROWS))
    assert table.groupby("round").size().tolist() == [per_level] * len(INIT)


def test_the_lectures_rows_are_its_stored_runs(tiny):
    config, store, _, _, table = tiny
    from ticketlab.lottery import collect

    summary = collect(config, store).summary
    for condition, method in beyond.LECTURE_ROWS.items():
        ours = table[(table["method"] == method) & (table["round"] == 2)].sort_values("seed")
        theirs = summary[(summary["condition"] == condition) & (summary["round"] == 2)].sort_values("seed")
        assert ours["test_acc_at_early_stop"].tolist() == pytest.approx(theirs["test_acc_at_early_stop"].tolist())


def test_global_masks_of_the_methods_keep_the_density_asked_for():
    config = tiny_lecture((0,))
    data = datasets.load(config.dataset)
    for method, mask in beyond.init_masks(config, 0, 0.3, data).items():
        assert mask.num_remaining == round(0.3 * mask.num_weights), method


def fake_runs(drops: dict[str, list[float]], published: dict[str, float] | None = None) -> pd.DataFrame:
    """A pruning-at-init table at one level: each method's accuracy as published (default 97%) and
    the given drop (pp) per seed when shuffled; the IMP ticket's shuffled run is "random"."""
    rows = []
    for method, per_seed in drops.items():
        acc = (published or {}).get(method, 0.97)
        for seed, drop in enumerate(per_seed):
            shuffled_method = "random" if method == "IMP ticket" else method
            rows.append(dict(method=method, variant="as published", seed=seed, test_acc_at_early_stop=acc))
            rows.append(
                dict(method=shuffled_method, variant="shuffled", seed=seed, test_acc_at_early_stop=acc - drop / 100)
            )
    return pd.DataFrame(rows).assign(round=7, percent_remaining=21.1)


def test_shuffling_hurts_only_beyond_half_a_point_and_two_standard_errors():
    table = fake_runs(
        {"IMP ticket": [1.0, 1.2, 0.9], "snip": [0.6, -0.4, 1.5], "grasp": [0.1, 0.2, 0.0], "synflow": [0.7, 0.6, 0.8]}
    )
    verdict = beyond.shuffle_table(table).set_index("method")["shuffling_hurts"]
    assert verdict.to_dict() == {"IMP ticket": True, "grasp": False, "snip": False, "synflow": True}


def test_agreement_with_2021_grades_each_finding():
    agree = fake_runs({"IMP ticket": [1.0, 1.2, 0.9], "snip": [0.1, 0.0, -0.1]}, {"snip": 0.96})
    assert all(beyond.agreement_2021(agree).values())
    assert beyond.verdict_2021(agree).startswith("Our numbers agree")
    imp_unhurt = fake_runs({"IMP ticket": [0.1, 0.0, 0.2], "snip": [0.1, 0.0, -0.1]}, {"snip": 0.98})
    assert beyond.agreement_2021(imp_unhurt) == {
        "shuffling never hurts SNIP, GraSP, SynFlow or magnitude at init": True,
        "shuffling hurts the IMP ticket at some level": False,
        "the IMP ticket beats every method at init at every level": False,
    }
    assert "1 of 3 findings hold" in beyond.verdict_2021(imp_unhurt)
    nothing = fake_runs({"IMP ticket": [0.1, 0.0, 0.2], "snip": [1.0, 1.1, 0.9]}, {"snip": 0.98})
    assert beyond.verdict_2021(nothing).startswith("Our numbers do not agree")


def test_the_accuracy_table_has_one_row_per_method_and_a_column_per_level():
    table = fake_runs({"IMP ticket": [1.0, 1.0], "snip": [0.0, 0.0]}, {"snip": 0.95})
    accuracy = beyond.accuracy_table(table)
    assert list(accuracy.index) == ["IMP ticket", "random", "snip"] and list(accuracy.columns) == ["21.1%"]
    assert accuracy.loc["snip", "21.1%"] == pytest.approx(95.0)
    assert accuracy.loc["random", "21.1%"] == pytest.approx(96.0)


# ----------------------------------------------------------------------------- figures


def test_figures_draw_both_studies(tiny):
    _, _, pairs, paths, table = tiny
    fig = figures.instability(pairs, paths)
    left, right = fig.axes[:2]
    assert "barrier" in left.get_ylabel() and "error" in right.get_ylabel()
    fig = figures.pruning_at_init(table)
    assert "shuffling" in fig.axes[1].get_ylabel()


def test_figures_name_the_table_they_need():
    with pytest.raises(DataError, match="beyond.load"):
        figures.pruning_at_init(pd.DataFrame({"seed": [0]}))


# ----------------------------------------------------------------------------- tables, command line


def test_run_writes_tables_that_load_with_their_provenance(tiny, tmp_path, monkeypatch):
    _, store = tiny[:2]
    monkeypatch.setattr(beyond, "lecture", lambda seeds=(0, 1): tiny_lecture(seeds))
    monkeypatch.setattr(beyond, "STABILITY_ROUNDS", ROUNDS)
    monkeypatch.setattr(beyond, "REWIND_POINTS", POINTS)
    monkeypatch.setattr(beyond, "INIT_ROUNDS", INIT)
    beyond.run(beyond.STUDIES, store, tmp_path, seeds=(0, 1), progress=False)
    studies = beyond.load(tmp_path)
    assert len(studies.pairs) == len(tiny[2]) and len(studies.init_pruning) == len(tiny[4])
    assert studies.paths["alpha"].between(0, 1).all()
    for study in beyond.STUDIES:
        entry = studies.provenance[study]
        assert entry["seeds"] == [0, 1] and entry["wall_s"] >= 0 and study in entry["commands"][0]
        assert entry["threads"] >= 1 and entry["torch"] == torch.__version__


def test_run_refuses_an_unknown_study(tmp_path):
    with pytest.raises(ConfigError, match="unknown study"):
        beyond.run(["supermasks"], Store(tmp_path / "store"), tmp_path)


def test_load_names_the_missing_files_and_the_command(tmp_path):
    with pytest.raises(DataError, match="instability.csv.*python -m ticketlab beyond run"):
        beyond.load(tmp_path)


def test_command_line_check_without_tables_is_one_line(tmp_path, capsys):
    assert cli.main(["beyond", "check", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "beyond run" in err


# ----------------------------------------------------------------------------- the shipped tables


def test_the_shipped_tables_hold_both_studies_for_three_seeds():
    studies = beyond.load()
    assert sorted(studies.pairs["seed"].unique()) == list(beyond.SEEDS)
    expected = len(beyond.SEEDS) * (
        len(beyond.STABILITY_ROUNDS) * len(beyond.REWIND_POINTS)
        + len(beyond.STABILITY_CONTROLS) * sum(r > 0 for r in beyond.STABILITY_ROUNDS)
    )
    assert len(studies.pairs) == expected
    per_level = len(beyond.SEEDS) * (2 * len(beyond.INIT_METHODS) + len(beyond.LECTURE_ROWS))
    assert studies.init_pruning.groupby("round").size().to_dict() == {r: per_level for r in beyond.INIT_ROUNDS}
    for study in beyond.STUDIES:
        assert studies.minutes(study) > 0
    assert json.loads((beyond.FOLDER / "provenance.json").read_text()).keys() == set(beyond.STUDIES)


@pytest.mark.slow
def test_the_shipped_tables_match_a_retrained_slice():
    table = beyond.check()
    assert table["ok"].all(), table.to_string()


def constant_pixels(data) -> torch.Tensor:
    pixels = data.x_train.flatten(1)
    return pixels.max(dim=0).values == pixels.min(dim=0).values


def test_constant_pixel_share_counts_survivors_on_pixels_that_never_change():
    data = datasets.load("mnist")
    constant = constant_pixels(data)
    mask = Mask({"fc1.weight": torch.zeros(300, 784), "fc2.weight": torch.ones(100, 300)})
    mask["fc1.weight"][:2, constant.nonzero()[0, 0]] = 1.0  # two weights on the blank border
    mask["fc1.weight"][:6, (~constant).nonzero()[0, 0]] = 1.0  # six on a pixel that changes
    assert beyond.constant_pixel_share(mask, data) == pytest.approx(2 / 8)
    with pytest.raises(ConfigError, match="no layer"):
        beyond.constant_pixel_share(mask, data, "conv1.weight")


def test_snip_avoids_constant_pixels_and_its_shuffle_does_not():
    from ticketlab.init_pruning import shuffle_within_layers

    config = ExperimentConfig.at_scale("lecture", seeds=(0,))
    data = datasets.load(config.dataset)
    snip = beyond.init_masks(config, 0, 0.036, data)["snip"]
    shuffled = shuffle_within_layers(snip, torch.Generator().manual_seed(0))
    share = float(constant_pixels(data).float().mean())
    assert share > 0.05  # MNIST's border: dozens of pixels
    assert beyond.constant_pixel_share(shuffled, data) == pytest.approx(share, abs=0.02)
    assert beyond.constant_pixel_share(snip, data) < share / 5
