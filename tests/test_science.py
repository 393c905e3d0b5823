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
# Measured on the 2-core course machine (AMD EPYC, AVX-512, one thread, as the committed notebook
# outputs; lecture scale, 3,500 iterations; test accuracy at early stop, seeds 0 / 1):
#   dense (round 0)     97.64 / 97.78  -> mean 97.71%  (early stop at 2000 / 2900)
#   ticket at 21.1%     98.13 / 98.15  -> mean 98.14%  (early stop at 1900 / 1700)
#   reinit at 21.1%     97.63 / 97.55  -> mean 97.59%  (early stop at 3200 / 3500)
# The ticket's advantage is 0.55 pp (the paper reports about 0.5 pp). CI trains with two threads,
# which rounds differently (docs/reproducibility.md: two runs of one seed then differ about as much
# as two seeds do); 0.3 pp leaves room for that without accepting a tie, and 97.5% for the dense
# network is the paper's 98.0% less the spread that a 3,500-iteration budget and two seeds allow.
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
