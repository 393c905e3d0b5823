"""The reproduction report: each LeNet-300-100 claim of Frankle & Carbin (2019) next to our
measurement, with a verdict that code computes from a stated rule.

A verdict is one of ``reproduced``, ``partly`` or ``not``. The rules are deliberately simple and
printed in the table (column ``rule``) so a reader can disagree with a threshold, not with a
typo. They compare *means over seeds* with the paper's number and ask the spread over seeds
(min/max, the paper's error bars) to lie on the paper's side for a full ``reproduced``.
A claim whose condition was not run is left out, never guessed; one whose level is outside
what was run (e.g. tickets never fall below dense down to the sparsest level trained) is
``partly``: consistent with the paper, but not shown.

Numbers come from ``lottery.Results.summary`` (``analysis`` does the arithmetic); nothing here
trains or reads test curves, so the report cannot select on test data.
"""

from __future__ import annotations

import math

import pandas as pd

from . import analysis
from .analysis import Spread

REPRODUCED, PARTLY, NOT = "reproduced", "partly", "not"
COLUMNS = ["claim", "paper", "ours", "verdict", "rule"]

PAPER_DENSE_ACC = 98.0  # percent, +-0.2 (Frankle et al. 2019, "Stabilizing the LTH")
PAPER_FASTEST_LEVEL, PAPER_PERCENT_EARLIER = 21.1, 38.0
PAPER_PEAK_GAIN_PP = 0.3
PAPER_FALL_BACK_LEVEL = 3.6
PAPER_REINIT_BELOW_FROM = 21.1
PAPER_REINIT_SPEEDUP, PAPER_REINIT_GAIN_PP = 2.51, 0.5
PAPER_RANDOM_MASK_LEVEL, PAPER_RANDOM_MASK_GAIN_PP = 10.7, 0.8  # 98.3 vs 97.5 (Stabilizing the LTH)


def reproduction_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per claim that ``summary`` can test: claim, paper, ours, verdict, rule."""
    analysis.check_columns(summary, analysis.SUMMARY_COLUMNS)
    conditions = set(summary["condition"])
    rows = [dense_accuracy(summary)]
    if (summary.query("condition == 'ticket'")["round"] > 0).any():
        rows += [fastest_learning(summary), accuracy_peak(summary), fall_back_to_dense(summary)]
    if "reinit" in conditions:
        rows += [reinit_below_dense(summary), *ticket_vs_reinit(summary)]
    if "random-prune" in conditions:
        rows.append(ticket_vs_random_mask(summary))
    if "one-shot" in conditions:
        rows.append(iterative_vs_one_shot(summary))
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict, in the order reproduced, partly, not."""
    counts = table["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in (REPRODUCED, PARTLY, NOT)}


# ----------------------------------------------------------------------------- one function per claim


def dense_accuracy(summary: pd.DataFrame) -> dict:
    acc = _percent(analysis.dense_reference(summary))
    gap = abs(acc.mean - PAPER_DENSE_ACC)
    verdict = _grade(gap <= 0.4, gap <= 1.0)
    return _row("dense network: test accuracy at early stop", f"{PAPER_DENSE_ACC:.1f} ± 0.2%", acc.format(2, "%"),
                verdict, "reproduced within 0.4 pp of 98.0 (two of the paper's std), partly within 1 pp")


def fastest_learning(summary: pd.DataFrame) -> dict:
    level = analysis.fastest_level(summary, "ticket")
    earlier = analysis.spread_of(level, "percent_earlier")
    near = 10.0 <= level.percent_remaining <= 45.0
    verdict = _grade(near and earlier.mean >= PAPER_PERCENT_EARLIER / 2, earlier.mean > 0)
    return _row("tickets learn fastest at (early stop vs dense)",
                f"{PAPER_FASTEST_LEVEL}% remaining, {PAPER_PERCENT_EARLIER:.0f}% earlier",
                f"{level.percent_remaining:.1f}% remaining, {earlier.format(0, '% earlier')}", verdict,
                "reproduced if the fastest level is 10-45% remaining and at least 19% earlier; partly if earlier at all")


def accuracy_peak(summary: pd.DataFrame) -> dict:
    level = analysis.most_accurate_level(summary, "ticket")
    gain = analysis.spread_of(level, "acc_gain_pp")
    verdict = _grade(gain.mean >= PAPER_PEAK_GAIN_PP and gain.min > 0, gain.mean > 0)
    return _row("ticket accuracy rises with pruning, peaks at", f"+{PAPER_PEAK_GAIN_PP} pp or more near 13.5%",
                f"{gain.format(2, ' pp')} at {level.percent_remaining:.1f}%", verdict,
                "reproduced if the peak gain is >= 0.3 pp with every seed above dense; partly if the mean gain > 0")


def fall_back_to_dense(summary: pd.DataFrame) -> dict:
    below = analysis.below_dense_from(summary, "ticket")
    sparsest = analysis.levels(summary, "ticket")["percent_remaining"].min()
    if below is None:
        ours, verdict = f"still above dense at {sparsest:.1f}% (the sparsest level run)", PARTLY
    else:
        ratio = max(below.percent_remaining, PAPER_FALL_BACK_LEVEL) / min(below.percent_remaining, PAPER_FALL_BACK_LEVEL)
        ours, verdict = f"below dense from {below.percent_remaining:.1f}% on", REPRODUCED if ratio <= 2 else NOT
    return _row("tickets fall back to dense accuracy at", f"{PAPER_FALL_BACK_LEVEL}% (below dense at 2.9%)", ours,
                verdict, "reproduced within a factor 2 of 3.6%; partly if not reached at the levels run")


def reinit_below_dense(summary: pd.DataFrame) -> dict:
    below = analysis.below_dense_from(summary, "reinit")
    if below is None:
        ours, verdict = "never, at the levels run", NOT
    else:
        ours = f"from {below.percent_remaining:.1f}% remaining on"
        verdict = REPRODUCED if below.percent_remaining >= PAPER_REINIT_BELOW_FROM / 1.5 else PARTLY
    return _row("reinitialised tickets stay below dense from", f"{PAPER_REINIT_BELOW_FROM}% remaining", ours, verdict,
                "reproduced if from 14% remaining or denser; partly if only at sparser levels")


def ticket_vs_reinit(summary: pd.DataFrame) -> list[dict]:
    at = analysis.compare_at(summary, "reinit", PAPER_FASTEST_LEVEL)
    where = f" at {at.percent_remaining:.1f}%"
    speed = _row("ticket vs reinit: minimum validation loss, times sooner", f"{PAPER_REINIT_SPEEDUP}x at 21.1%",
                 at.speedup.format(2, "x") + where, _grade(at.speedup.mean >= 1.5 and at.speedup.min > 1, at.speedup.mean > 1),
                 "reproduced if >= 1.5x with every seed > 1x; partly if the mean > 1x")
    gain = at.acc_gain_pp
    accuracy = _row("ticket vs reinit: test accuracy gain", f"about +{PAPER_REINIT_GAIN_PP} pp at 21.1%",
                    gain.format(2, " pp") + where, _grade(gain.mean >= PAPER_REINIT_GAIN_PP / 2 and gain.min > 0, gain.mean > 0),
                    "reproduced if >= +0.25 pp with every seed > 0; partly if the mean > 0")
    return [speed, accuracy]


def ticket_vs_random_mask(summary: pd.DataFrame) -> dict:
    at = analysis.compare_at(summary, "random-prune", PAPER_RANDOM_MASK_LEVEL)
    gain = at.acc_gain_pp
    return _row("ticket vs random pruning (same layer sizes): accuracy gain",
                f"+{PAPER_RANDOM_MASK_GAIN_PP} pp at {PAPER_RANDOM_MASK_LEVEL}%",
                f"{gain.format(2, ' pp')} at {at.percent_remaining:.1f}%",
                _grade(gain.mean >= PAPER_RANDOM_MASK_GAIN_PP / 2 and gain.min > 0, gain.mean > 0),
                "reproduced if >= +0.4 pp with every seed > 0; partly if the mean > 0")


def iterative_vs_one_shot(summary: pd.DataFrame) -> dict:
    sparsest = analysis.levels(summary, "one-shot")["percent_remaining"].min()
    at = analysis.compare_at(summary, "one-shot", sparsest)
    gain = at.acc_gain_pp
    return _row("iterative beats one-shot at small sizes: accuracy gain", "iterative better below ~5%",
                f"{gain.format(2, ' pp')} at {at.percent_remaining:.1f}%", _grade(gain.mean > 0 and gain.min > 0, gain.mean > 0),
                "reproduced if every seed's iterative ticket is more accurate at the sparsest one-shot level; partly if the mean is")


# ----------------------------------------------------------------------------- helpers


def _grade(reproduced: bool, partly: bool) -> str:
    return REPRODUCED if reproduced else PARTLY if partly else NOT


def _percent(spread: Spread) -> Spread:
    return Spread(*(100.0 * v for v in spread[:3]), spread.n) if not math.isnan(spread.mean) else spread


def _row(claim: str, paper: str, ours: str, verdict: str, rule: str) -> dict:
    return dict(claim=claim, paper=paper, ours=ours, verdict=verdict, rule=rule)
