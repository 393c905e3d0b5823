"""analysis: spreads over seeds, comparisons with dense and between conditions, on hand-made tables
whose answers are known (no training)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ticketlab import analysis
from ticketlab.analysis import Spread
from ticketlab.errors import ConfigError, DataError
from ticketlab.masks import Mask

LADDER = {0: 100.0, 1: 80.0, 2: 51.3, 3: 21.1, 4: 7.0}


def run(condition, seed, round_, es, acc):
    return dict(
        model="lenet",
        dataset="mnist",
        condition=condition,
        seed=seed,
        round=round_,
        percent_remaining=LADDER[round_],
        early_stop_iteration=es,
        test_acc_at_early_stop=acc,
    )


def summary_table():
    """Two seeds. Dense: es 1000/1200, acc .970/.980. Ticket fastest at 21.1%, most accurate at 51.3%;
    reinit (rounds 2-4) above dense at 51.3% only; one-shot at round 3."""
    rows = [
        run("ticket", 0, 0, 1000, 0.970),
        run("ticket", 1, 0, 1200, 0.980),
        run("ticket", 0, 1, 900, 0.972),
        run("ticket", 1, 1, 1000, 0.981),
        run("ticket", 0, 2, 700, 0.978),
        run("ticket", 1, 2, 800, 0.986),
        run("ticket", 0, 3, 500, 0.975),
        run("ticket", 1, 3, 600, 0.984),
        run("ticket", 0, 4, 900, 0.960),
        run("ticket", 1, 4, 1100, 0.970),
        run("reinit", 0, 2, 1000, 0.972),
        run("reinit", 1, 2, 1000, 0.982),
        run("reinit", 0, 3, 1500, 0.968),
        run("reinit", 1, 3, 1200, 0.976),
        run("reinit", 0, 4, 2000, 0.950),
        run("reinit", 1, 4, 2200, 0.960),
        run("one-shot", 0, 3, 600, 0.973),
        run("one-shot", 1, 3, 600, 0.980),
    ]
    return pd.DataFrame(rows)


def test_level_stats_gives_mean_min_max_over_seeds():
    stats = analysis.level_stats(summary_table())
    row = stats[(stats["condition"] == "reinit") & (stats["round"] == 3)].iloc[0]
    assert row["seeds"] == 2 and row["percent_remaining"] == 21.1
    assert (row["early_stop_iteration_mean"], row["early_stop_iteration_min"], row["early_stop_iteration_max"]) == (
        1350,
        1200,
        1500,
    )
    assert row["test_acc_at_early_stop_mean"] == pytest.approx(0.972)
    assert len(stats) == 5 + 3 + 1


def test_nearest_round_compares_ratios_not_differences():
    summary = summary_table()
    # 36% is nearer 21.1 in difference (14.9 vs 15.3) but nearer 51.3 in ratio (1.43 vs 1.71)
    assert analysis.nearest_round(summary, 36) == 2
    assert analysis.nearest_round(summary, 21.1, "reinit") == 3
    assert analysis.nearest_round(summary, 100, "reinit") == 2  # reinit has no dense level


def test_nearest_rounds_skips_repeats_when_levels_are_missing():
    small = summary_table().query("round <= 2")
    assert analysis.nearest_rounds(small, analysis.PAPER_LEVELS) == [0, 2]


def test_levels_are_listed_densest_first():
    assert analysis.levels(summary_table(), "reinit")["percent_remaining"].tolist() == [51.3, 21.1, 7.0]


def test_with_dense_pairs_each_run_with_the_dense_network_of_its_seed():
    table = analysis.with_dense(summary_table())
    row = table[(table["condition"] == "ticket") & (table["round"] == 3) & (table["seed"] == 1)].iloc[0]
    assert row["acc_gain_pp"] == pytest.approx(0.4)  # 98.4 - 98.0, not against seed 0's 97.0
    assert row["percent_earlier"] == pytest.approx(50.0)  # 600 vs 1200


def test_dense_reference_is_round_zero_of_the_ticket():
    assert analysis.dense_reference(summary_table()) == Spread(pytest.approx(0.975), 0.970, 0.980, 2)


def test_fastest_and_most_accurate_levels():
    summary = summary_table()
    fastest = analysis.fastest_level(summary)
    assert fastest["percent_remaining"] == 21.1
    assert fastest["percent_earlier_mean"] == pytest.approx(50.0)
    peak = analysis.most_accurate_level(summary)
    assert peak["percent_remaining"] == 51.3
    assert (peak["acc_gain_pp_min"], peak["acc_gain_pp_max"]) == (pytest.approx(0.6), pytest.approx(0.8))


def test_below_dense_from_finds_where_the_control_stays_below():
    summary = summary_table()
    assert analysis.below_dense_from(summary, "reinit")["percent_remaining"] == 21.1
    assert analysis.below_dense_from(summary, "ticket")["percent_remaining"] == 7.0


def test_below_dense_from_ignores_a_noisy_dip_before_recovering():
    summary = summary_table()
    summary.loc[(summary["condition"] == "ticket") & (summary["round"] == 1), "test_acc_at_early_stop"] = 0.9
    assert analysis.below_dense_from(summary, "ticket")["percent_remaining"] == 7.0


def test_below_dense_from_every_seed_requires_the_best_seed_below():
    summary = summary_table()
    # seed 1's reinit at 21.1% is 97.6 against its dense 98.0: below; seed 0: 96.8 vs 97.0: below
    assert analysis.below_dense_from(summary, "reinit", every_seed=True)["percent_remaining"] == 21.1
    summary.loc[
        (summary["condition"] == "reinit") & (summary["round"] == 3) & (summary["seed"] == 0), "test_acc_at_early_stop"
    ] = 0.971
    assert analysis.below_dense_from(summary, "reinit", every_seed=True)["percent_remaining"] == 7.0


def test_below_dense_from_is_none_when_the_sparsest_level_is_not_below():
    summary = summary_table()
    summary.loc[summary["condition"] == "reinit", "test_acc_at_early_stop"] = 0.99
    assert analysis.below_dense_from(summary, "reinit") is None


def test_paired_speedup_and_accuracy_gain_per_seed():
    table = analysis.paired(summary_table(), "reinit")
    row = table[(table["round"] == 3) & (table["seed"] == 0)].iloc[0]
    assert row["speedup"] == pytest.approx(3.0)  # 1500 / 500
    assert row["acc_gain_pp"] == pytest.approx(0.7)
    assert sorted(table["round"].unique()) == [2, 3, 4]


def test_compare_at_reports_spread_over_seeds():
    comparison = analysis.compare_at(summary_table(), "reinit", 21.1)
    assert (comparison.round, comparison.percent_remaining) == (3, 21.1)
    assert comparison.speedup == Spread(pytest.approx(2.5), pytest.approx(2.0), pytest.approx(3.0), 2)
    assert comparison.acc_gain_pp.mean == pytest.approx(0.75)
    assert len(comparison.per_seed) == 2


def test_compare_at_uses_the_controls_nearest_level():
    assert analysis.compare_at(summary_table(), "one-shot", 51.3).round == 3


def test_compare_levels_has_a_row_per_control_round():
    table = analysis.compare_levels(summary_table(), "reinit")
    assert table["round"].tolist() == [2, 3, 4]
    assert table["speedup_mean"].tolist() == pytest.approx(
        [(1000 / 700 + 1000 / 800) / 2, 2.5, (2000 / 900 + 2200 / 1100) / 2]
    )


def test_zero_early_stop_iteration_gives_no_ratio_rather_than_infinity():
    summary = summary_table()
    summary.loc[(summary["condition"] == "ticket") & (summary["round"] == 3), "early_stop_iteration"] = 0
    assert analysis.compare_at(summary, "reinit").speedup.n == 0


def test_spread_format():
    assert Spread(2.5, 2.0, 3.0, 2).format(2, "x") == "2.50x (2.00 to 3.00x over 2 seeds)"
    assert Spread(0.4, 0.4, 0.4, 1).format(1, " pp") == "0.4 pp (1 seed)"
    assert Spread.of([math.nan]).format() == "n/a"
    assert Spread.of([1.0, math.nan, 3.0]) == Spread(2.0, 1.0, 3.0, 2)


def test_curve_stats_averages_only_measured_points():
    curves = pd.DataFrame(
        dict(
            condition="ticket",
            seed=[0, 0, 0, 1, 1, 1],
            round=1,
            percent_remaining=80.0,
            iteration=[0, 50, 100] * 2,
            test_acc=[0.1, np.nan, 0.9, 0.2, np.nan, 0.7],
        )
    )
    stats = analysis.curve_stats(curves)
    assert stats["iteration"].tolist() == [0, 100]
    assert stats["mean"].tolist() == pytest.approx([0.15, 0.8])
    assert stats["min"].tolist() == pytest.approx([0.1, 0.7])


def test_bad_tables_and_arguments_raise_one_line_errors():
    summary = summary_table()
    with pytest.raises(DataError, match="early_stop_iteration"):
        analysis.level_stats(summary.drop(columns="early_stop_iteration"))
    with pytest.raises(DataError, match="empty"):
        analysis.level_stats(summary.iloc[:0])
    with pytest.raises(ConfigError, match="'sign-reinit'.*ticket, reinit, one-shot"):
        analysis.compare_at(summary, "sign-reinit")
    with pytest.raises(ConfigError, match="outside"):
        analysis.nearest_round(summary, 0)
    with pytest.raises(DataError, match="no dense run"):
        analysis.with_dense(summary[summary["round"] > 0])


class FakeResults:
    """Just enough of lottery.Results: a 2-seed summary, masks per round, θ0 per seed."""

    def __init__(self):
        self.summary = summary_table()
        generator = torch.Generator().manual_seed(0)
        self.theta0 = {
            s: {
                "fc1.weight": torch.randn(3, 4, generator=generator),
                "fc2.weight": torch.randn(2, 3, generator=generator),
            }
            for s in (0, 1)
        }

    def mask(self, seed, round_, condition="ticket"):
        fc1 = torch.ones(3, 4)
        fc1.view(-1)[: 2 * round_] = 0.0  # round r prunes the first 2r weights
        return Mask({"fc1.weight": fc1, "fc2.weight": torch.ones(2, 3)})

    def initial_weights(self, seed):
        return self.theta0[seed]


def test_layer_remaining_reads_every_ticket_round():
    table = analysis.layer_remaining_of(FakeResults())
    fc1 = table[table["layer"] == "fc1.weight"]
    assert fc1["round"].tolist() == [0, 1, 2, 3, 4]
    assert fc1["percent_remaining"].tolist() == pytest.approx([100 * (12 - 2 * r) / 12 for r in range(5)])
    assert table[table["layer"] == "all"]["percent_remaining"].iloc[1] == pytest.approx(100 * 16 / 18)


def test_first_layer_connections_counts_per_input_pixel():
    image = analysis.first_layer_connections_of(FakeResults(), round_=1)  # fc1 is 3 units x 4 = 2x2 pixels
    assert image.tolist() == [[2.0, 2.0], [3.0, 3.0]]


def test_survivor_init_marks_which_theta0_survived():
    results = FakeResults()
    table = analysis.survivor_init_of(results, seed=1, round_=2)
    assert table["theta0"].tolist() == pytest.approx(results.theta0[1]["fc1.weight"].flatten().tolist())
    assert table["survived"].tolist() == [False] * 4 + [True] * 8


def test_results_helpers_reject_unknown_seeds_and_layers():
    with pytest.raises(ConfigError, match="seed 7.*0, 1"):
        analysis.layer_remaining_of(FakeResults(), seed=7)
    with pytest.raises(ConfigError, match="fc9.weight"):
        analysis.survivor_init_of(FakeResults(), layer="fc9.weight")
