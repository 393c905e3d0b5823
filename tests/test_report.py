"""The reproduction report grades each claim strictly, at the paper's level and magnitude: for every
rule a table that reproduces it, one that reproduces it partly and one that contradicts it."""

import pandas as pd
import pytest

from ticketlab import report
from ticketlab.errors import DataError

SEEDS = (0, 1, 2)
OFFSET_PP = {0: -0.05, 1: 0.0, 2: 0.05}  # per-seed spread around each level's mean accuracy
PERCENT = {r: round(100 * 0.8**r, 1) for r in range(19)}  # 21.1% at round 7, 13.4% at 9, 3.6% at 15, 2.9% at 16


def ticket_acc(r):
    """Dense 98.0; rises to +0.5 pp at 13.5%; back to dense at 3.6%; below from 2.9%."""
    gains = {
        0: 0.0,
        1: 0.1,
        2: 0.15,
        3: 0.2,
        4: 0.25,
        5: 0.3,
        6: 0.35,
        7: 0.4,
        8: 0.45,
        9: 0.5,
        10: 0.45,
        11: 0.4,
        12: 0.3,
        13: 0.2,
        14: 0.1,
        15: 0.05,
        16: -0.3,
        17: -0.6,
        18: -1.0,
    }
    return 98.0 + gains[r]


def ticket_es(r):
    """Dense stops at 5,000; fastest at 21.1% (3,100: 38% earlier); back to 5,000 at 3.6%."""
    return {0: 5000, 7: 3100}.get(r, 3400 if r < 15 else 5000 + 200 * (r - 15))


def paper_like():
    rows = []
    for seed in SEEDS:

        def add(condition, r, acc, es, train=100.0, final=None, seed=seed):
            acc += OFFSET_PP[seed]
            rows.append(
                dict(
                    condition=condition,
                    seed=seed,
                    round=r,
                    percent_remaining=PERCENT[r],
                    early_stop_iteration=es,
                    test_acc_at_early_stop=acc / 100,
                    final_test_acc=(final or acc) / 100,
                    final_train_acc=train / 100,
                )
            )

        for r in range(19):
            add("ticket", r, ticket_acc(r), ticket_es(r), final=ticket_acc(r) - (0.5 if r == 0 else 0.0))
            if r:
                add("reinit", r, ticket_acc(r) - 0.6, int(ticket_es(r) * 2.5))
                add("random-prune", r, ticket_acc(r) - 0.8, int(ticket_es(r) * 2))
            if r and r % 2 == 0:
                add("one-shot", r, ticket_acc(r) - (0.3 if PERCENT[r] < 5.17 else -0.1), ticket_es(r))
    return pd.DataFrame(rows)


def verdicts(summary):
    table = report.reproduction_table(summary)
    return dict(zip(table["claim"], table["verdict"]))


def shift(summary, condition, round_, column, by, seeds=SEEDS):
    """Add ``by`` to ``column`` of ``condition`` at ``round_`` for ``seeds`` (accuracies in pp)."""
    rows = (summary["condition"] == condition) & (summary["round"] == round_) & summary["seed"].isin(seeds)
    summary.loc[rows, column] += by / 100 if "acc" in column else by
    return summary


def test_a_paper_like_run_reproduces_every_claim():
    table = report.reproduction_table(paper_like())
    assert table.columns.tolist() == report.COLUMNS
    assert len(table) == 11
    assert set(table["verdict"]) == {"reproduced"}, table[["claim", "ours", "verdict"]].to_string()
    assert report.verdict_counts(table) == {"reproduced": 11, "partly": 0, "not": 0, "untested": 0}
    ours = dict(zip(table["claim"], table["ours"]))
    assert ours["ticket vs reinit: minimum validation loss, times sooner"].startswith("2.50x")
    assert ours["tickets learn fastest at (early stop vs dense)"].startswith("21.0% remaining, 38% earlier")
    assert (
        ours["reinitialised tickets are below dense accuracy at"]
        == "-0.20 pp (-0.20 to -0.20 pp over 3 seeds) vs dense at 21.0%"
    )


DENSE = "dense network: test accuracy at early stop"
FASTEST = "tickets learn fastest at (early stop vs dense)"
PEAK = "ticket accuracy rises with pruning, peaks at"
BACK = "tickets are back to dense accuracy at"
BELOW = "tickets fall below dense accuracy at"
GAP = "tickets generalise better: smaller train-test gap at the end"
REINIT_BELOW = "reinitialised tickets are below dense accuracy at"
SPEED = "ticket vs reinit: minimum validation loss, times sooner"
GAIN = "ticket vs reinit: test accuracy gain"
RANDOM = "ticket vs random pruning (same layer sizes): accuracy gain"
ONE_SHOT = "iterative beats one-shot pruning at small sizes: accuracy gain"


def every_level(summary, condition, column, by, first=0):
    for r in range(first, 19):
        shift(summary, condition, r, column, by)
    return summary


CASES = [
    # claim, how the data change, expected verdict
    (DENSE, lambda s: every_level(s, "ticket", "test_acc_at_early_stop", -0.6), "partly"),
    (DENSE, lambda s: every_level(s, "ticket", "test_acc_at_early_stop", -1.5), "not"),
    (FASTEST, lambda s: shift(s, "ticket", 7, "early_stop_iteration", 800), "partly"),  # 22% earlier: too little
    (
        FASTEST,
        lambda s: shift(shift(s, "ticket", 7, "early_stop_iteration", 300), "ticket", 12, "early_stop_iteration", -400),
        "partly",
    ),  # fastest at 6.9%: five levels away
    (FASTEST, lambda s: shift(s, "ticket", 7, "early_stop_iteration", 2500), "not"),  # later than dense at 21.1%
    (PEAK, lambda s: every_level(s, "ticket", "test_acc_at_early_stop", -0.3, first=1), "partly"),  # +0.2 pp at best
    (PEAK, lambda s: shift(s, "ticket", 3, "test_acc_at_early_stop", 0.5), "partly"),  # +0.7 pp, but at 51.2%
    (PEAK, lambda s: every_level(s, "ticket", "test_acc_at_early_stop", -0.6, first=1), "not"),
    (BACK, lambda s: shift(s, "ticket", 15, "test_acc_at_early_stop", 0.25), "partly"),  # +0.30 pp: still above dense
    (BACK, lambda s: shift(s, "ticket", 15, "test_acc_at_early_stop", 0.55), "not"),  # +0.60 pp: contradicts "back"
    (BELOW, lambda s: shift(s, "ticket", 16, "test_acc_at_early_stop", 0.6, seeds=(2,)), "partly"),
    (BELOW, lambda s: shift(s, "ticket", 16, "test_acc_at_early_stop", 0.5), "not"),
    (GAP, lambda s: shift(s, "ticket", 7, "final_train_acc", 1.0, seeds=(0,)), "partly"),
    (GAP, lambda s: shift(s, "ticket", 7, "final_test_acc", -1.0), "not"),
    (REINIT_BELOW, lambda s: shift(s, "reinit", 7, "test_acc_at_early_stop", 0.25, seeds=(2,)), "partly"),
    (REINIT_BELOW, lambda s: shift(s, "reinit", 7, "test_acc_at_early_stop", 0.5), "not"),  # above dense at 21.1%
    (SPEED, lambda s: shift(s, "reinit", 7, "early_stop_iteration", -3000), "partly"),  # 1.53x
    (SPEED, lambda s: shift(s, "reinit", 7, "early_stop_iteration", -5000), "not"),  # reinit faster
    (GAIN, lambda s: shift(s, "reinit", 7, "test_acc_at_early_stop", 0.45), "partly"),  # +0.15 pp
    (GAIN, lambda s: shift(s, "reinit", 7, "test_acc_at_early_stop", 0.7), "not"),
    (RANDOM, lambda s: shift(s, "random-prune", 10, "test_acc_at_early_stop", 0.5), "partly"),  # +0.3 pp
    (RANDOM, lambda s: shift(s, "random-prune", 10, "test_acc_at_early_stop", 0.9), "not"),
    (ONE_SHOT, lambda s: shift(s, "one-shot", 18, "test_acc_at_early_stop", 0.32, seeds=(0,)), "partly"),
    (ONE_SHOT, lambda s: shift(s, "one-shot", 18, "test_acc_at_early_stop", 0.5), "not"),
]


@pytest.mark.parametrize("claim, change, expected", CASES, ids=[f"{c[0][:30]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_grades_partly_and_not(claim, change, expected):
    summary = change(paper_like())
    assert verdicts(summary)[claim] == expected


def test_every_rule_has_a_partly_and_a_not_case():
    claims = {c for c in report.reproduction_table(paper_like())["claim"]}
    for verdict in ("partly", "not"):
        assert {c for c, _, v in CASES if v == verdict} == claims, verdict


def test_a_control_not_run_at_the_papers_level_is_untested_not_guessed():
    summary = paper_like()
    summary = summary[~((summary["condition"] == "random-prune") & summary["round"].between(9, 11))]
    table = report.reproduction_table(summary).set_index("claim")
    assert table.loc[RANDOM, "verdict"] == "untested"
    assert table.loc[RANDOM, "ours"] == "not run at 10.7%"


def test_levels_that_were_not_run_are_untested():
    summary = paper_like().query("round <= 12")  # the sparsest ticket is 6.9%
    got = verdicts(summary)
    assert got[BACK] == got[BELOW] == "untested"
    assert ONE_SHOT in got and got[ONE_SHOT] == "untested"


def test_rule_texts_come_from_the_thresholds(monkeypatch):
    monkeypatch.setattr(report, "REINIT_SPEEDUP_NEEDED", 3.0)
    table = report.reproduction_table(paper_like()).set_index("claim")
    assert "at least 3.0x sooner" in table.loc[SPEED, "rule"]
    assert table.loc[SPEED, "verdict"] == "partly"  # 2.5x is no longer enough


def test_claims_of_conditions_not_run_are_left_out():
    ticket_only = paper_like().query("condition == 'ticket'")
    claims = report.reproduction_table(ticket_only)["claim"].tolist()
    assert len(claims) == 6 and not any("reinit" in c or "random" in c or "one-shot" in c for c in claims)


def test_side_by_side_puts_each_experiment_in_its_own_columns():
    full = report.reproduction_table(paper_like())
    short = report.reproduction_table(paper_like().query("condition == 'ticket'"))
    both = report.side_by_side({"reference": full, "lecture": short})
    assert both.columns.tolist() == [
        "claim",
        "paper",
        "reference",
        "reference verdict",
        "lecture",
        "lecture verdict",
        "source",
        "rule",
    ]
    assert len(both) == len(full)
    row = both.set_index("claim").loc[SPEED]
    assert (
        row["lecture"] == "not run"
        and row["lecture verdict"] == "untested"
        and row["reference verdict"] == "reproduced"
    )


def test_a_table_without_the_summary_columns_is_a_one_line_error():
    with pytest.raises(DataError, match="early_stop_iteration"):
        report.reproduction_table(paper_like().drop(columns="early_stop_iteration"))


def test_effect_sizes_are_the_paper_like_runs_effects_at_the_papers_levels():
    effects = report.effect_sizes(paper_like())["mean over seeds"]
    assert effects["dense: test accuracy at early stop (%)"] == pytest.approx(98.0)
    assert effects["dense: early-stop iteration"] == 5000
    assert effects["tickets at 21.1%: % earlier than dense"] == pytest.approx(38.0)  # 3,100 against 5,000
    assert effects["tickets at 13.5%: gain over dense (pp)"] == pytest.approx(0.5)
    assert effects["tickets at 3.6%: gain over dense (pp)"] == pytest.approx(0.05)
    assert effects["tickets at 2.9%: gain over dense (pp)"] == pytest.approx(-0.3)
    assert effects["reinit at 21.1%: gain over dense (pp)"] == pytest.approx(0.4 - 0.6)
    assert effects["ticket vs reinit at 21.1%: times sooner"] == pytest.approx(2.5, abs=0.01)
    assert effects["ticket vs reinit at 21.1%: gain (pp)"] == pytest.approx(0.6)
    assert effects["ticket vs random pruning at 10.7%: gain (pp)"] == pytest.approx(0.8)


def test_an_effect_not_run_at_the_papers_level_is_nan_not_borrowed_from_a_neighbour():
    summary = paper_like()
    summary = summary[~((summary["condition"] == "random-prune") & summary["round"].between(9, 11))]
    effects = report.effect_sizes(summary.query("round <= 12"))["mean over seeds"]
    assert effects.isna().tolist() == [False] * 4 + [True, True, False, False, False, True]


def test_capped_effects_subtract_the_reference_from_the_short_run():
    reference = paper_like()
    short = shift(paper_like(), "ticket", 7, "test_acc_at_early_stop", 0.2)  # +0.2 pp at 21.1%
    table = report.capped_effects(short, reference)
    assert table.columns.tolist() == ["paper", "reference", "short run", "short - reference"]
    assert table.loc["ticket vs reinit at 21.1%: gain (pp)", "short - reference"] == pytest.approx(0.2)
    assert table.loc["ticket vs random pruning at 10.7%: gain (pp)", "short - reference"] == pytest.approx(0)
    assert table.loc["tickets at 21.1%: % earlier than dense", "paper"] == "38"
