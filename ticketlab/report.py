"""The reproduction report: each LeNet-300-100 claim of Frankle & Carbin (2019) next to our
measurement, graded strictly, *at the paper's own level* and *at its magnitude*.

A verdict is ``reproduced`` (the paper's effect at the paper's level, its size within the stated
band, every seed on the paper's side), ``partly`` (the paper's direction at its level, but a
smaller or less certain effect, or a different location), ``not`` (our number contradicts the
paper at its level) or ``untested`` (the condition ran, but not at the paper's level: nothing
is guessed from another level). A claim whose condition did not run at all is left out.

Every threshold is a named constant below and every rule's text is generated from those
constants, so the printed rule is exactly the rule the code applies. ``side_by_side`` puts the
verdicts of several experiments (the paper-protocol reference, the lecture run) in one table.

Numbers come from ``lottery.Results.summary`` (``analysis`` does the arithmetic); nothing here
trains or reads test curves, so the report cannot select on test data.
"""

from __future__ import annotations

import math

import pandas as pd

from . import analysis
from .analysis import Spread

REPRODUCED, PARTLY, NOT, UNTESTED = "reproduced", "partly", "not", "untested"
VERDICTS = (REPRODUCED, PARTLY, NOT, UNTESTED)
COLUMNS = ["claim", "paper", "source", "ours", "verdict", "rule"]
FC = "Frankle & Carbin 2019"
STABILIZING = "Frankle et al. 2019, Stabilizing the LTH"

# The paper's numbers and the bands a claim is graded in (percent remaining, pp = percentage points)
DENSE_ACC, DENSE_BAND, DENSE_PARTLY_BAND = 98.0, 0.3, 1.0
FASTEST_LEVEL, PERCENT_EARLIER, EARLIER_BAND = 21.1, 38.0, 15.0
PEAK_LEVEL, PEAK_GAIN_PP = 13.5, 0.3
BACK_LEVEL, BACK_BAND_PP, BACK_PARTLY_BAND_PP = 3.6, 0.2, 0.4
BELOW_LEVEL = 2.9
REINIT_LEVEL, REINIT_SPEEDUP, REINIT_SPEEDUP_NEEDED, REINIT_GAIN_PP = 21.1, 2.51, 2.0, 0.5
RANDOM_LEVEL, RANDOM_GAIN_PP = 10.7, 0.8  # 98.3 +- 0.1 against 97.5 +- 0.3
ONE_SHOT_SMALL = 5.17  # one-shot tickets beat dense accuracy from 95% down to 5.17% remaining
GAP_LEVEL = 21.1
LADDER_STEP = 0.8  # LeNet's levels: 0.8 of the previous level's weights ("one level" = this ratio)


def reproduction_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per claim whose condition ``summary`` holds: claim, paper, source, ours, verdict, rule."""
    analysis.check_columns(summary, analysis.SUMMARY_COLUMNS)
    conditions = set(summary["condition"])
    rows = [dense_accuracy(summary)]
    if (summary.query("condition == 'ticket'")["round"] > 0).any():
        rows += [fastest_learning(summary), accuracy_peak(summary), back_to_dense(summary), below_dense(summary)]
        if "final_train_acc" in summary.columns:
            rows.append(generalisation(summary))
    if "reinit" in conditions:
        rows += [reinit_below_dense(summary), *ticket_vs_reinit(summary)]
    if "random-prune" in conditions:
        rows.append(ticket_vs_random_mask(summary))
    if "one-shot" in conditions:
        rows.append(iterative_vs_one_shot(summary))
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict, in the order reproduced, partly, not, untested."""
    counts = table["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def side_by_side(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Claims as rows, one 'ours' and one 'verdict' column per experiment (e.g. reference, lecture),
    then the claim's source and rule; a claim an experiment cannot test reads 'not run' there."""
    claims = list(dict.fromkeys(c for table in tables.values() for c in table["claim"]))
    out = pd.DataFrame({"claim": claims})
    papers = pd.concat(tables.values()).drop_duplicates("claim").set_index("claim")
    out["paper"] = out["claim"].map(papers["paper"])
    for name, table in tables.items():
        indexed = table.set_index("claim")
        out[f"{name}"] = out["claim"].map(indexed["ours"]).fillna("not run")
        out[f"{name} verdict"] = out["claim"].map(indexed["verdict"]).fillna(UNTESTED)
    out["source"] = out["claim"].map(papers["source"])
    out["rule"] = out["claim"].map(papers["rule"])
    return out


# ----------------------------------------------------------------------------- effect sizes


def effect_sizes(summary: pd.DataFrame) -> pd.DataFrame:
    """The size of each of the paper's effects at the paper's own level: the paper's value and the
    mean over seeds here (NaN where the condition did not run at that level). One number per
    effect, so that two experiments (a short lecture run and the paper-protocol reference) can be
    set side by side and subtracted."""
    table = analysis.relative_to_dense(summary)
    conditions = set(summary["condition"])
    gain = "gain over dense (pp)"

    def over_dense(who: str, condition: str, level: float, what: str, paper: str, metric: str = "acc_gain_pp"):
        """One level of ``condition`` against dense (``relative_to_dense``)."""
        row = _level_row(table, condition, level) if condition in conditions else None
        return f"{who} at {level}%: {what}", paper, math.nan if row is None else float(row[f"{metric}_mean"])

    def against(control: str, name: str, level: float, what: str, paper: str, metric: str = "acc_gain_pp"):
        """The ticket against ``control`` on the same masks (``analysis.compare_at``)."""
        comparison = _comparison(summary, control, level) if control in conditions else None
        value = math.nan if comparison is None else getattr(comparison, metric).mean
        return f"ticket vs {name} at {level}%: {what}", paper, value

    rows = [
        ("dense: test accuracy at early stop (%)", f"{DENSE_ACC}", 100 * analysis.dense_reference(summary).mean),
        ("dense: early-stop iteration", "", analysis.dense_reference(summary, "early_stop_iteration").mean),
        over_dense(
            "tickets", "ticket", FASTEST_LEVEL, "% earlier than dense", f"{PERCENT_EARLIER:.0f}", "percent_earlier"
        ),
        over_dense("tickets", "ticket", PEAK_LEVEL, gain, f">= {PEAK_GAIN_PP}"),
        over_dense("tickets", "ticket", BACK_LEVEL, gain, f"0 ± {BACK_BAND_PP}"),
        over_dense("tickets", "ticket", BELOW_LEVEL, gain, "< 0"),
        over_dense("reinit", "reinit", REINIT_LEVEL, gain, "< 0"),
        against("reinit", "reinit", REINIT_LEVEL, "times sooner", f"{REINIT_SPEEDUP}", "speedup"),
        against("reinit", "reinit", REINIT_LEVEL, "gain (pp)", f"about {REINIT_GAIN_PP}"),
        against("random-prune", "random pruning", RANDOM_LEVEL, "gain (pp)", f"{RANDOM_GAIN_PP}"),
    ]
    return pd.DataFrame(rows, columns=["effect", "paper", "mean over seeds"]).set_index("effect")


def capped_effects(short: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Each effect in a short run (``short``, e.g. the lecture) next to the same effect in the
    paper-protocol ``reference`` and the paper, with the difference short minus reference: what
    the short budget and the fewer seeds do to each effect size (NaN where either experiment did
    not run at the paper's level)."""
    ref, run = effect_sizes(reference), effect_sizes(short)
    out = pd.DataFrame(
        {"paper": ref["paper"], "reference": ref["mean over seeds"], "short run": run["mean over seeds"]}
    )
    out["short - reference"] = out["short run"] - out["reference"]
    return out


# ----------------------------------------------------------------------------- one function per claim


def dense_accuracy(summary: pd.DataFrame) -> dict:
    acc = _percent(analysis.dense_reference(summary))
    gap = abs(acc.mean - DENSE_ACC)
    rule = f"reproduced within {DENSE_BAND} pp of {DENSE_ACC}; partly within {DENSE_PARTLY_BAND} pp; not further away"
    return _row(
        "dense network: test accuracy at early stop",
        f"{DENSE_ACC} ± 0.2%",
        STABILIZING,
        acc.format(2, "%"),
        _grade(gap <= DENSE_BAND, gap <= DENSE_PARTLY_BAND),
        rule,
    )


def fastest_learning(summary: pd.DataFrame) -> dict:
    claim, paper = (
        "tickets learn fastest at (early stop vs dense)",
        f"{FASTEST_LEVEL}% remaining, {PERCENT_EARLIER:.0f}% earlier",
    )
    rule = (
        f"reproduced if the fastest level is within one level of {FASTEST_LEVEL}% and it stops "
        f"{PERCENT_EARLIER - EARLIER_BAND:.0f}-{PERCENT_EARLIER + EARLIER_BAND:.0f}% earlier than dense; partly "
        f"if tickets at {FASTEST_LEVEL}% stop earlier than dense at all; not otherwise"
    )
    at = _level_row(analysis.relative_to_dense(summary), "ticket", FASTEST_LEVEL)
    if at is None:
        return _untested(claim, paper, f"{FC}, Fig. 3", FASTEST_LEVEL, rule)
    fastest = analysis.fastest_level(summary, "ticket")
    earlier = analysis.spread_of(fastest, "percent_earlier")
    here = analysis.spread_of(at, "percent_earlier")
    near = _levels_apart(fastest.percent_remaining, FASTEST_LEVEL) <= 1
    verdict = _grade(near and abs(earlier.mean - PERCENT_EARLIER) <= EARLIER_BAND, here.mean > 0)
    return _row(
        claim,
        paper,
        f"{FC}, Fig. 3",
        f"{fastest.percent_remaining:.1f}% remaining, {earlier.format(0, '% earlier')}",
        verdict,
        rule,
    )


def accuracy_peak(summary: pd.DataFrame) -> dict:
    rule = (
        f"reproduced if the most accurate level is within one level of {PEAK_LEVEL}% with a gain of at "
        f"least {PEAK_GAIN_PP} pp over dense and every seed above dense; partly if some level's mean "
        "gain is above 0; not otherwise"
    )
    level = analysis.most_accurate_level(summary, "ticket")
    gain = analysis.spread_of(level, "acc_gain_pp")
    near = _levels_apart(level.percent_remaining, PEAK_LEVEL) <= 1
    verdict = _grade(near and gain.mean >= PEAK_GAIN_PP and gain.min > 0, gain.mean > 0)
    return _row(
        "ticket accuracy rises with pruning, peaks at",
        f"+{PEAK_GAIN_PP} pp or more near {PEAK_LEVEL}%",
        f"{FC}, Fig. 3",
        f"{gain.format(2, ' pp')} at {level.percent_remaining:.1f}%",
        verdict,
        rule,
    )


def back_to_dense(summary: pd.DataFrame) -> dict:
    claim, paper, source = "tickets are back to dense accuracy at", f"{BACK_LEVEL}%", f"{FC}, Section 2, Fig. 3"
    rule = (
        f"reproduced if the mean gain over dense at {BACK_LEVEL}% is within ±{BACK_BAND_PP} pp; partly "
        f"within ±{BACK_PARTLY_BAND_PP} pp; not further away"
    )
    return _gain_claim(
        summary,
        "ticket",
        BACK_LEVEL,
        claim,
        paper,
        source,
        rule,
        lambda g: _grade(abs(g.mean) <= BACK_BAND_PP, abs(g.mean) <= BACK_PARTLY_BAND_PP),
    )


def below_dense(summary: pd.DataFrame) -> dict:
    claim, paper, source = "tickets fall below dense accuracy at", f"{BELOW_LEVEL}%", f"{FC}, Section 2, Fig. 3"
    rule = f"reproduced if every seed is below dense at {BELOW_LEVEL}%; partly if the mean is; not otherwise"
    return _gain_claim(
        summary, "ticket", BELOW_LEVEL, claim, paper, source, rule, lambda g: _grade(g.max < 0, g.mean < 0)
    )


def reinit_below_dense(summary: pd.DataFrame) -> dict:
    claim, paper, source = "reinitialised tickets are below dense accuracy at", f"{REINIT_LEVEL}%", f"{FC}, Fig. 4"
    rule = f"reproduced if every seed is below dense at {REINIT_LEVEL}%; partly if the mean is; not otherwise"
    return _gain_claim(
        summary, "reinit", REINIT_LEVEL, claim, paper, source, rule, lambda g: _grade(g.max < 0, g.mean < 0)
    )


def ticket_vs_reinit(summary: pd.DataFrame) -> list[dict]:
    source = f"{FC}, Fig. 4"
    speed_rule = (
        f"reproduced if the ticket reaches minimum validation loss at least {REINIT_SPEEDUP_NEEDED}x "
        f"sooner at {REINIT_LEVEL}% with every seed sooner; partly if sooner on average; not otherwise"
    )
    gain_rule = (
        f"reproduced if the ticket is at least {REINIT_GAIN_PP / 2} pp more accurate at {REINIT_LEVEL}% "
        "with every seed more accurate; partly if more accurate on average; not otherwise"
    )
    speed_claim, speed_paper = (
        "ticket vs reinit: minimum validation loss, times sooner",
        f"{REINIT_SPEEDUP}x at {REINIT_LEVEL}%",
    )
    gain_claim, gain_paper = "ticket vs reinit: test accuracy gain", f"about +{REINIT_GAIN_PP} pp at {REINIT_LEVEL}%"
    at = _comparison(summary, "reinit", REINIT_LEVEL)
    if at is None:
        return [
            _untested(speed_claim, speed_paper, source, REINIT_LEVEL, speed_rule),
            _untested(gain_claim, gain_paper, source, REINIT_LEVEL, gain_rule),
        ]
    where = f" at {at.percent_remaining:.1f}%"
    speed, gain = at.speedup, at.acc_gain_pp
    return [
        _row(
            speed_claim,
            speed_paper,
            source,
            speed.format(2, "x") + where,
            _grade(speed.mean >= REINIT_SPEEDUP_NEEDED and speed.min > 1, speed.mean > 1),
            speed_rule,
        ),
        _row(
            gain_claim,
            gain_paper,
            source,
            gain.format(2, " pp") + where,
            _grade(gain.mean >= REINIT_GAIN_PP / 2 and gain.min > 0, gain.mean > 0),
            gain_rule,
        ),
    ]


def ticket_vs_random_mask(summary: pd.DataFrame) -> dict:
    claim, paper = (
        "ticket vs random pruning (same layer sizes): accuracy gain",
        f"+{RANDOM_GAIN_PP} pp at {RANDOM_LEVEL}%",
    )
    rule = (
        f"reproduced if the ticket is at least {RANDOM_GAIN_PP / 2} pp more accurate at {RANDOM_LEVEL}% with "
        "every seed more accurate; partly if more accurate on average; not otherwise"
    )
    at = _comparison(summary, "random-prune", RANDOM_LEVEL)
    if at is None:
        return _untested(claim, paper, STABILIZING, RANDOM_LEVEL, rule)
    gain = at.acc_gain_pp
    return _row(
        claim,
        paper,
        STABILIZING,
        f"{gain.format(2, ' pp')} at {at.percent_remaining:.1f}%",
        _grade(gain.mean >= RANDOM_GAIN_PP / 2 and gain.min > 0, gain.mean > 0),
        rule,
    )


def iterative_vs_one_shot(summary: pd.DataFrame) -> dict:
    claim, paper, source = (
        "iterative beats one-shot pruning at small sizes: accuracy gain",
        f"iterative better below {ONE_SHOT_SMALL}%",
        f"{FC}, Fig. 4c",
    )
    rule = (
        f"at the sparsest one-shot level below {ONE_SHOT_SMALL}%: reproduced if every seed's iterative ticket "
        "is more accurate than its one-shot one; partly if the mean is; not otherwise"
    )
    small = analysis.levels(summary, "one-shot").query("percent_remaining < @ONE_SHOT_SMALL")
    if small.empty:
        return _untested(claim, paper, source, ONE_SHOT_SMALL, rule, below=True)
    at = analysis.compare_at(summary, "one-shot", float(small["percent_remaining"].min()))
    gain = at.acc_gain_pp
    return _row(
        claim,
        paper,
        source,
        f"{gain.format(2, ' pp')} at {at.percent_remaining:.1f}%",
        _grade(gain.min > 0, gain.mean > 0),
        rule,
    )


def generalisation(summary: pd.DataFrame) -> dict:
    """The train-test gap at the end of training: the paper's tickets generalise better (Fig. 4)."""
    claim, paper, source = (
        "tickets generalise better: smaller train-test gap at the end",
        f"smaller than dense at {GAP_LEVEL}%",
        f"{FC}, Fig. 4",
    )
    rule = (
        f"the gap is training minus test accuracy at the last iteration; at {GAP_LEVEL}%: reproduced if every "
        "seed's ticket has a smaller gap than its dense network; partly if the mean is smaller; not otherwise"
    )
    runs = summary.dropna(subset=["final_train_acc", "final_test_acc"]).assign(
        gap_pp=lambda t: 100 * (t["final_train_acc"] - t["final_test_acc"])
    )
    tickets = runs[runs["condition"] == "ticket"]
    round_ = _round_at(tickets, "ticket", GAP_LEVEL) if len(tickets) else None
    dense = tickets[tickets["round"] == 0].set_index("seed")["gap_pp"]
    if round_ is None or dense.empty:
        return _untested(claim, paper, source, GAP_LEVEL, rule)
    at = tickets[tickets["round"] == round_].set_index("seed")["gap_pp"]
    narrower = Spread.of((dense - at).dropna())
    percent = float(tickets.loc[tickets["round"] == round_, "percent_remaining"].iloc[0])
    return _row(
        claim,
        paper,
        source,
        f"{narrower.format(2, ' pp')} narrower at {percent:.1f}%",
        _grade(narrower.n > 0 and narrower.min > 0, narrower.mean > 0),
        rule,
    )


# ----------------------------------------------------------------------------- helpers


def _levels_apart(percent: float, target: float) -> float:
    """How many pruning levels (factors of ``LADDER_STEP``) lie between two percentages, rounded."""
    return round(abs(math.log(percent / target) / math.log(LADDER_STEP)), 6)


def _round_at(summary: pd.DataFrame, condition: str, percent: float) -> int | None:
    """The round of ``condition`` at the paper's level ``percent``: the nearest one, if it is less
    than half a level away; None when the condition did not run there."""
    round_ = analysis.nearest_round(summary, percent, condition)
    level = analysis.levels(summary, condition).set_index("round").loc[round_, "percent_remaining"]
    return round_ if _levels_apart(level, percent) < 0.5 else None


def _level_row(table: pd.DataFrame, condition: str, percent: float) -> pd.Series | None:
    """The row of ``relative_to_dense`` for ``condition`` at the paper's level, or None."""
    rows = table[(table["condition"] == condition) & (table["round"] > 0)]
    if rows.empty:
        return None
    round_ = _round_at(rows, condition, percent)
    return None if round_ is None else rows[rows["round"] == round_].iloc[0]


def _gain_claim(summary, condition, percent, claim, paper, source, rule, grade) -> dict:
    """A claim about ``condition``'s accuracy gain over dense at one level of the paper."""
    at = _level_row(analysis.relative_to_dense(summary), condition, percent)
    if at is None:
        return _untested(claim, paper, source, percent, rule)
    gain = analysis.spread_of(at, "acc_gain_pp")
    return _row(
        claim, paper, source, f"{gain.format(2, ' pp')} vs dense at {at.percent_remaining:.1f}%", grade(gain), rule
    )


def _comparison(summary: pd.DataFrame, control: str, percent: float):
    round_ = _round_at(summary, control, percent)
    return None if round_ is None else analysis.compare_at(summary, control, percent)


def _untested(claim, paper, source, percent, rule, below: bool = False) -> dict:
    where = f"below {percent}%" if below else f"at {percent}%"
    return _row(claim, paper, source, f"not run {where}", UNTESTED, rule)


def _grade(reproduced: bool, partly: bool) -> str:
    return REPRODUCED if reproduced else PARTLY if partly else NOT


def _percent(spread: Spread) -> Spread:
    return Spread(*(100.0 * v for v in spread[:3]), spread.n) if not math.isnan(spread.mean) else spread


def _row(claim: str, paper: str, source: str, ours: str, verdict: str, rule: str) -> dict:
    return dict(claim=claim, paper=paper, source=source, ours=ours, verdict=verdict, rule=rule)
