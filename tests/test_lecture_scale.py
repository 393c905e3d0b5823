"""The lecture scale is chosen for fidelity: enough seeds and control levels to grade every claim
of the paper, and notebook 03 says, with numbers computed from the stored runs, what its short
budget does to each effect against the paper-protocol reference."""

import json
import re
from pathlib import Path

import pytest

from ticketlab import reference, report
from ticketlab.lottery import CONDITIONS, ExperimentConfig, run_experiment
from ticketlab.pruning import sparsity_ladder
from ticketlab.store import Store

LECTURE = ExperimentConfig.at_scale("lecture", conditions=CONDITIONS)  # notebooks 03-05's experiment
NOTEBOOK_03 = Path(__file__).resolve().parent.parent / "notebooks" / "03_finding_winning_tickets.ipynb"
CAPPED_CALL = "report.capped_effects(summary, REFERENCE.summary)"


LADDER = sparsity_ladder("lenet", LECTURE.rounds).set_index("round")["percent_remaining"]


def percent_at(round_: int) -> float:
    return round(float(LADDER[round_]), 1)


def test_the_lecture_has_three_seeds_and_controls_at_the_papers_levels():
    assert len(LECTURE.seeds) >= 3
    for control in ("reinit", "random-prune"):
        levels = {percent_at(r) for r in LECTURE.rounds_of(control)}
        assert len(levels) >= 5
        assert {51.3, 21.1, 13.5, 3.6} <= levels, levels


def test_every_claim_can_be_graded_at_the_lecture_scale():
    """Each claim's level is a level the lecture runs (tickets down to 2.9%, controls at 10.7%)."""
    ticket_levels = {percent_at(r) for r in range(LECTURE.rounds + 1)}
    assert report.BELOW_LEVEL in ticket_levels and report.PEAK_LEVEL in ticket_levels
    assert report.REINIT_LEVEL in {percent_at(r) for r in LECTURE.rounds_of("reinit")}
    assert any(abs(percent_at(r) - report.RANDOM_LEVEL) < 0.2 for r in LECTURE.rounds_of("random-prune"))
    assert any(percent_at(r) < report.ONE_SHOT_SMALL for r in LECTURE.rounds_of("one-shot"))


def numbers_in(line: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"-?\d[\d,]*\.?\d*", line)]


@pytest.mark.slow
def test_notebook_03_shows_the_capped_effects_of_the_stored_lecture_runs():
    """The short budget caps the dense network's early stop (it does not fall within 75% of the
    budget for every seed), so notebook 03 must show each capped effect next to the reference's.

    The table is computed, not typed: its cell calls ``report.capped_effects`` on the lecture's
    summary and the reference; the reference column is the shipped tables' own to the printed
    digits; the stored lecture runs (loaded after the notebooks ran, trained when run alone) give
    every effect at the paper's level. The lecture column is not compared digit by digit: CI trains
    with another thread count than the committed outputs, which moves the digits
    (docs/reproducibility.md)."""
    summary = run_experiment(LECTURE, Store(), progress=False).summary
    table = report.capped_effects(summary, reference.load().summary)
    assert not table["short run"].isna().any(), table
    cells = json.loads(NOTEBOOK_03.read_text())["cells"]
    cell = next(c for c in cells if CAPPED_CALL in "".join(c["source"]))
    stdout = [o["text"] for o in cell["outputs"] if o.get("name") == "stdout"]
    printed = "".join("".join(t) if isinstance(t, list) else t for t in stdout).splitlines()
    for effect, row in table.iterrows():
        line = next((line for line in printed if line.startswith(effect)), None)
        assert line is not None, f"notebook 03's capped-effects table lacks {effect!r}"
        shown = numbers_in(line[len(effect) :])
        assert len(shown) >= 3, f"{effect}: the lecture or the difference is missing in {line!r}"
        assert shown[-3] == pytest.approx(round(row["reference"], 2), abs=1e-9), effect
    assert any(line.startswith("Dense early stop per seed: ") for line in printed)
