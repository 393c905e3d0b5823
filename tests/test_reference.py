"""The paper-protocol reference: exported tables round-trip, incomplete parts are refused, the
slice check fails when the numbers differ, and the shipped tables match a re-trained slice."""

import json

import pandas as pd
import pytest

from ticketlab import cli, reference
from ticketlab.errors import DataError
from ticketlab.lottery import ExperimentConfig, collect
from ticketlab.store import Store


def tiny_configs(seeds=reference.SEEDS):
    """The reference's two experiments at the toy's smoke scale: same structure, seconds to run."""
    seeds = tuple(seeds)
    main = ExperimentConfig.at_scale(
        "smoke",
        model="toy-mlp",
        seeds=seeds,
        rounds=2,
        conditions=("ticket", "reinit", "random-prune"),
        control_rounds=(1, 2),
    )
    one_shot = ExperimentConfig.at_scale(
        "smoke", model="toy-mlp", seeds=seeds, rounds=2, conditions=("ticket", "one-shot"), control_rounds=(2,)
    )
    return [main, one_shot]


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory):
    """Seed 0 of the tiny reference trained into a store and exported: (store, folder, part)."""
    with pytest.MonkeyPatch.context() as patch:  # undone before the tests: later ones read the real reference
        patch.setattr(reference, "configs", tiny_configs)
        store = Store(tmp_path_factory.mktemp("store"))
        part = reference.run_part(0, store, progress=False)
        folder = reference.export(store, [0], [part], tmp_path_factory.mktemp("reference"))
    return store, folder, part


def test_export_writes_each_run_once_and_loads_as_a_live_experiments_tables(tiny_reference):
    store, folder, _ = tiny_reference
    shipped = reference.load(folder)
    # dense + 2 levels x (ticket, reinit, random-prune) + one-shot at level 2; tickets only once
    assert len(shipped.summary) == 1 + 2 * 3 + 1
    assert sorted(shipped.summary["condition"].unique()) == ["one-shot", "random-prune", "reinit", "ticket"]
    live = tiny_configs((0,))
    expected = collect(live[0], store).summary.set_index(["condition", "round"])
    got = shipped.summary.set_index(["condition", "round"]).loc[expected.index]
    for column in ("early_stop_iteration", "test_acc_at_early_stop", "final_train_acc", "percent_remaining"):
        assert got[column].to_numpy() == pytest.approx(expected[column].to_numpy(), abs=1e-9), column
    assert list(shipped.curves.columns[:6]) == ["model", "dataset", "condition", "seed", "round", "percent_remaining"]
    assert len(shipped.curves) == len(shipped.summary) * len(live[0].train_config().eval_points())
    assert shipped.seeds == [0]
    assert (folder / reference.FIGURE).stat().st_size > 10_000  # the figure the README shows


def test_provenance_says_how_and_where_each_part_was_made(tiny_reference):
    _, folder, part = tiny_reference
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["parts"] == [part]
    assert part["commands"] == [
        "python -m ticketlab run --model toy-mlp --scale smoke --seeds 0 --rounds 2 --conditions ticket reinit random-prune "
        "--control-rounds 1 2",
        "python -m ticketlab run --model toy-mlp --scale smoke --seeds 0 --rounds 2 --conditions ticket one-shot "
        "--control-rounds 2",
    ]
    assert {"commit", "cpu", "torch", "threads", "wall_s", "engine_version", "started"} <= set(part)
    assert provenance["protocol"]["iterations"] == tiny_configs()[0].iterations


def test_export_refuses_a_seed_whose_part_is_unfinished(tiny_reference, tmp_path, monkeypatch):
    store, _, part = tiny_reference
    monkeypatch.setattr(reference, "configs", tiny_configs)
    with pytest.raises(DataError, match="seed 1 has 0 of its 8 runs.*reference run --seeds 1"):
        reference.export(store, [0, 1], [part], tmp_path)


def test_load_names_the_missing_files(tmp_path):
    with pytest.raises(DataError, match="lacks summary.csv, curves.csv.gz, provenance.json"):
        reference.load(tmp_path)


def curve(shift=0.0, start_shift=0.0):
    iterations = list(range(0, 2001, 100))
    values = [0.1 * i / 2000 for i in iterations]
    table = pd.DataFrame(
        {"iteration": iterations, "val_loss": values, "val_acc": values, "test_loss": values, "test_acc": values}
    )
    table.loc[table["iteration"] == 2000, "val_acc"] += shift
    table.loc[0, "val_loss"] += start_shift
    return table


def test_the_slice_check_passes_the_same_curve_and_fails_a_different_one():
    assert all(row["ok"] for row in reference.compare_curves(curve(), curve(), 2000, "same"))
    drifted = {row["metric"]: row["ok"] for row in reference.compare_curves(curve(shift=0.02), curve(), 2000, "x")}
    assert drifted["val_acc 0 to 2,000"] is False and drifted["val_acc at 0"] is True
    moved = {row["metric"]: row["ok"] for row in reference.compare_curves(curve(start_shift=1e-3), curve(), 2000, "x")}
    assert moved["val_loss at 0"] is False  # another θ0 or data split shows before any training
    # a start that depends on a mask cut after 50,000 iterations is compared from the first evaluation on
    later = {
        row["metric"]: row["ok"]
        for row in reference.compare_curves(curve(start_shift=0.05), curve(), 2000, "x", start=False)
    }
    assert "val_loss at 0" not in later and all(later.values()) and "val_acc 100 to 2,000" in later


def test_the_slice_check_refuses_a_reference_without_that_curve():
    with pytest.raises(DataError, match="no curve for seed 0"):
        reference.compare_curves(curve(), curve().iloc[:0], 2000, "seed 0, round 0 ticket")


def test_command_line_check_without_tables_is_one_line(tmp_path, capsys):
    assert cli.main(["reference", "check", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the reference in") and "\n" not in err


@pytest.mark.slow
def test_the_shipped_reference_matches_a_retrained_slice():
    """Seed 0's dense run re-trained with the paper's protocol, and the first 2,000 iterations of its
    level-1 ticket, against the shipped curves (exact on the machine that made them)."""
    shipped = reference.load()
    assert 0 in shipped.seeds
    table = reference.check(shipped)
    assert table["ok"].all(), table.to_string()


def test_the_shipped_reference_is_the_whole_protocol_for_each_seed_it_holds():
    shipped = reference.load()
    assert shipped.provenance["parts"][0]["commands"] == reference.commands(shipped.provenance["parts"][0]["seeds"][0])
    summary = shipped.summary
    for seed in shipped.seeds:
        runs = summary[summary["seed"] == seed]
        assert sorted(runs.query("condition == 'ticket'")["round"]) == list(range(19))
        for control in ("reinit", "random-prune"):
            assert sorted(runs.loc[runs["condition"] == control, "round"]) == list(range(1, 19))
        assert sorted(runs.query("condition == 'one-shot'")["round"]) == list(reference.ONE_SHOT_ROUNDS)
    curves = shipped.curves
    assert curves["iteration"].max() == 50_000
    assert curves.groupby(["condition", "seed", "round"]).size().eq(501).all()
    assert curves.dropna(subset=["test_acc"])["iteration"].mod(1000).eq(0).all()
    parts = [s for part in shipped.provenance["parts"] for s in part["seeds"]]
    assert sorted(parts) == shipped.seeds


def test_the_readme_states_what_the_shipped_reference_shows():
    """README's paragraph on the reference quotes numbers; they must be the shipped tables' own."""
    from pathlib import Path

    from ticketlab import analysis, report

    shipped = reference.load()
    readme = " ".join((Path(reference.__file__).parent.parent / "README.md").read_text().split())
    table = report.reproduction_table(shipped.summary).set_index("claim")
    counts = report.verdict_counts(table)
    dense_acc = analysis.dense_reference(shipped.summary).mean
    dense_stop = analysis.dense_reference(shipped.summary, "early_stop_iteration").mean
    wall = sum(part["wall_s"] for part in shipped.provenance["parts"])
    assert f"seed{'s' if len(shipped.seeds) > 1 else ''} {', '.join(map(str, shipped.seeds))} of 5" in readme
    assert (
        f"{100 * dense_acc:.2f}% test accuracy at its early stop (mean over the seeds, early stop at "
        f"iteration {dense_stop:,.0f} on average" in readme
    )
    assert (
        f"{counts['reproduced']} of the paper's 11 LeNet claims are reproduced, {counts['partly']} partly and "
        f"{counts['not']} not"
    ) in readme
    assert f"took {wall / 60:.0f} minutes" in readme
    at_2_9 = table.loc["tickets fall below dense accuracy at", "ours"].split()[0]
    assert f"at 2.9% its ticket is still {at_2_9} pp above dense" in readme
