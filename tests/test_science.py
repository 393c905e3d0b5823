"""Science: at the lecture scale the paper's LeNet findings must show, not just the code run.

Frankle & Carbin (2019): at about 21% of weights remaining the winning ticket is more accurate
at early stop than the same mask with fresh initial values (about 0.5 pp in the paper), and the
dense LeNet-300-100 reaches about 98% on MNIST.

Only what the claims need is trained: seeds 0 and 1, rounds 0..7 (21.1% remaining), the ticket
and ``reinit`` at round 7. The runs go to the DEFAULT store (``Store()`` -> ``<repo>/results``) on
purpose: ``make test`` runs the notebooks first, which train the same lecture experiment, and run
keys depend only on each run's own configuration, so these tests load those runs instead of
training them a second time (run alone, they train what they need).
"""

import pytest

from ticketlab.lottery import ExperimentConfig, run_experiment
from ticketlab.store import Store

pytestmark = pytest.mark.slow

TICKET_ROUND = 7  # 21.1% of LeNet's weights remain
CONFIG = ExperimentConfig.at_scale(
    "lecture", seeds=(0, 1), rounds=TICKET_ROUND, conditions=("ticket", "reinit"), control_rounds=(TICKET_ROUND,)
)
# Measured on the 2-core course machine (AVX2) with the current engine (lecture scale: 4,000 iterations;
# test accuracy at early stop, seeds 0 / 1):
#   dense (round 0)     97.63 / 97.52  -> mean 97.57%  (early stop at 3300 / 3800)
#   ticket at 21.1%     98.29 / 98.42  -> mean 98.36%  (early stop at 2000 / 2000)
#   reinit at 21.1%     97.83 / 97.73  -> mean 97.78%  (early stop at 3800 / 3800)
# The ticket's advantage is 0.58 pp (the paper reports about 0.5 pp; earlier engines, whose float
# rounding differed, gave 0.54 and 0.51 and a dense mean of 97.61 and 97.89%: two seeds scatter
# that much); 0.3 pp leaves room for another machine's floating-point path without accepting a
# tie. At 3,000 iterations the dense network reached only 97.44% (first engine), which is why the
# lecture scale trains 4,000. The same engine on an AVX-512 CPU (2026-11-27) rounds differently:
#   dense 97.82 / 97.60 -> 97.71%; ticket 97.99 / 98.28 (early stop 1300 / 2300); reinit 97.84 /
#   97.72 (3800 / 3800): an advantage of 0.36 pp, above the threshold but with less room.
MIN_TICKET_ADVANTAGE = 0.003


@pytest.fixture(scope="module")
def summary():
    return run_experiment(CONFIG, Store(), progress=False).summary


def mean_over_seeds(summary, condition: str, round_: int, column: str) -> float:
    rows = summary[(summary["condition"] == condition) & (summary["round"] == round_)]
    assert sorted(rows["seed"]) == list(CONFIG.seeds)
    return float(rows[column].mean())


def test_dense_lenet_reaches_97_5_percent(summary):
    assert mean_over_seeds(summary, "ticket", 0, "test_acc_at_early_stop") >= 0.975


def test_ticket_at_21_percent_stops_earlier_than_reinitialisation(summary):
    """The paper's other headline: a ticket reaches its minimum validation loss sooner (2.5x at 21%)."""
    ticket = mean_over_seeds(summary, "ticket", TICKET_ROUND, "early_stop_iteration")
    reinit = mean_over_seeds(summary, "reinit", TICKET_ROUND, "early_stop_iteration")
    assert ticket < reinit


def test_ticket_at_21_percent_beats_reinitialisation(summary):
    ticket = mean_over_seeds(summary, "ticket", TICKET_ROUND, "test_acc_at_early_stop")
    reinit = mean_over_seeds(summary, "reinit", TICKET_ROUND, "test_acc_at_early_stop")
    assert mean_over_seeds(summary, "ticket", TICKET_ROUND, "percent_remaining") == pytest.approx(21.1, abs=0.05)
    assert ticket - reinit >= MIN_TICKET_ADVANTAGE
