"""The reproduction report grades each claim by its rule: tables built so that each verdict must change."""

import pandas as pd
import pytest

from ticketlab import report
from ticketlab.errors import DataError

LADDER = {0: 100.0, 3: 51.3, 7: 21.1, 10: 10.8, 12: 7.0, 15: 3.6}


def rows(condition, round_, es, accs):
    """One summary row per seed: the same early-stop iteration, per-seed accuracies in percent."""
    return [dict(condition=condition, seed=seed, round=round_, percent_remaining=LADDER[round_],
                 early_stop_iteration=es, test_acc_at_early_stop=acc / 100) for seed, acc in enumerate(accs)]


def paper_like():
    """A run that behaves like the paper: dense 98.0, ticket fastest and best near 21%, back to dense
    at 3.6%; reinit below dense from 51.3% and 2.5x slower at 21%; random masks and one-shot worse."""
    table = (rows("ticket", 0, 2000, [97.9, 98.1]) + rows("ticket", 3, 1500, [98.2, 98.3])
             + rows("ticket", 7, 1200, [98.4, 98.6]) + rows("ticket", 10, 1400, [98.3, 98.4])
             + rows("ticket", 12, 1800, [98.1, 98.2]) + rows("ticket", 15, 2100, [97.8, 97.9])
             + rows("reinit", 3, 2200, [97.8, 97.9]) + rows("reinit", 7, 3000, [97.8, 97.9])
             + rows("reinit", 12, 3500, [97.2, 97.3]) + rows("reinit", 15, 3900, [96.5, 96.6])
             + rows("random-prune", 12, 3600, [97.1, 97.4]) + rows("random-prune", 15, 3900, [96.0, 96.2])
             + rows("one-shot", 12, 1900, [97.9, 98.0]) + rows("one-shot", 15, 2500, [97.0, 97.3]))
    return pd.DataFrame(table)


def verdicts(table):
    return dict(zip(table["claim"], table["verdict"]))


def test_a_paper_like_run_reproduces_every_claim():
    table = report.reproduction_table(paper_like())
    assert table.columns.tolist() == report.COLUMNS
    assert len(table) == 9
    assert set(table["verdict"]) == {"reproduced"}, table[["claim", "ours", "verdict"]].to_string()
    assert report.verdict_counts(table) == {"reproduced": 9, "partly": 0, "not": 0}
    ours = dict(zip(table["claim"], table["ours"]))
    assert ours["ticket vs reinit: minimum validation loss, times sooner"].startswith("2.50x")
    assert ours["reinitialised tickets stay below dense from"] == "from 51.3% remaining on"
    assert ours["tickets fall back to dense accuracy at"] == "below dense from 3.6% on"


def test_a_control_that_matches_the_ticket_is_not_reproduced():
    summary = paper_like()
    ticket = summary[summary["condition"] == "ticket"].set_index(["seed", "round"])
    reinit = summary["condition"] == "reinit"
    # reinit becomes an exact copy of the ticket: same speed and accuracy, below dense only at 3.6%
    for col in ("early_stop_iteration", "test_acc_at_early_stop"):
        summary.loc[reinit, col] = [ticket.loc[(s, r), col] for s, r in zip(summary.loc[reinit, "seed"], summary.loc[reinit, "round"])]
    got = verdicts(report.reproduction_table(summary))
    assert got["reinitialised tickets stay below dense from"] == "partly"  # only where the ticket itself is
    assert got["ticket vs reinit: minimum validation loss, times sooner"] == "not"
    assert got["ticket vs reinit: test accuracy gain"] == "not"


def test_one_seed_on_the_wrong_side_makes_a_claim_partly():
    summary = paper_like()
    at21 = (summary["condition"] == "reinit") & (summary["round"] == 7)
    summary.loc[at21, "test_acc_at_early_stop"] = [0.982, 0.987]  # +0.2 pp on seed 0, -0.1 pp on seed 1
    assert verdicts(report.reproduction_table(summary))["ticket vs reinit: test accuracy gain"] == "partly"


def test_levels_that_were_not_run_give_partly_not_a_guess():
    summary = paper_like()
    summary = summary[summary["round"] <= 12]  # the sparsest ticket (7.0%) is still above dense
    got = verdicts(report.reproduction_table(summary))
    assert got["tickets fall back to dense accuracy at"] == "partly"


def test_dense_accuracy_is_graded_by_distance_from_98():
    for accs, expected in (([97.9, 98.1], "reproduced"), ([97.2, 97.4], "partly"), ([96.0, 96.2], "not")):
        summary = pd.DataFrame(rows("ticket", 0, 2000, accs))
        table = report.reproduction_table(summary)
        assert table["verdict"].tolist() == [expected]


def test_claims_of_conditions_not_run_are_left_out():
    ticket_only = paper_like().query("condition == 'ticket'")
    claims = report.reproduction_table(ticket_only)["claim"].tolist()
    assert len(claims) == 4 and not any("reinit" in c or "random" in c or "one-shot" in c for c in claims)


def test_a_table_without_the_summary_columns_is_a_one_line_error():
    with pytest.raises(DataError, match="early_stop_iteration"):
        report.reproduction_table(paper_like().drop(columns="early_stop_iteration"))
