"""The benchmark's pieces run, and its report ends with the exact line the issue asks for."""

import argparse
import math
import re

import pytest
import torch

from ticketlab import bench


def test_textbook_loop_and_ticketlab_level_run_end_to_end():
    """Smoke test on real training; what the steady-state figures mean is tested with a fake timer below."""
    train, total = bench.textbook_loop(iterations=6, eval_every=3)
    assert 0 < train <= total
    train, total = bench.ticketlab_level(iterations=40, seeds=2, eval_every=10, test_every=20)
    # steady-state figures are differences of 40 and 20 iterations here, which noise may turn negative
    assert math.isfinite(train) and math.isfinite(total) and math.isfinite(bench.paper_level(iterations=100))


def _fake_training_call(calls, fixed_ms=3000.0, step_ms=2.0, val_ms=40.0, test_ms=70.0):
    """A stand-in for ``_ms_per_run_iteration``: a fixed cost per call, ``step_ms`` per
    run-iteration, and every validation / test pass the config asks for (at 0, every period, at
    the end, and the test at the early stop), as ``train_stacked`` does them."""
    def fake(runs, config, warm_up=False):
        calls.append((config.iterations, warm_up))
        n, test_every = config.iterations, config.test_every or config.eval_every
        vals = n // config.eval_every + 1
        tests = n // test_every + 1 + 1
        return (fixed_ms / len(runs) + step_ms * n + val_ms * vals + test_ms * tests) / n
    return fake


def test_ticketlab_level_counts_evaluation_at_its_steady_share(monkeypatch):
    """With evaluation = steps + one validation per eval_every + one test per test_every; what a
    call pays once (set-up, the passes at iteration 0 and at the early stop) cancels, as it does
    for the textbook loop. A whole 400-iteration call would report 5.075 ms here."""
    monkeypatch.setattr(bench, "_ms_per_run_iteration", _fake_training_call([], val_ms=40.0, test_ms=70.0))
    train, total = bench.ticketlab_level(iterations=400, seeds=4, eval_every=100, test_every=200)
    assert train == pytest.approx(2.0)
    assert total == pytest.approx(2.0 + 40.0 / 100 + 70.0 / 200)


def test_benchmark_lengths_hold_whole_evaluation_periods():
    with pytest.raises(bench.ConfigError, match="multiple of test_every"):
        bench.ticketlab_level(iterations=200, seeds=2, eval_every=100, test_every=200)
    with pytest.raises(bench.ConfigError, match="multiple of eval_every"):
        bench.textbook_loop(iterations=150, eval_every=100)


@pytest.mark.parametrize("quick", [True, False])
def test_main_times_whole_evaluation_periods(monkeypatch, quick):
    lengths = {}
    monkeypatch.setattr(bench, "matmul_peak", lambda: 100.0)
    monkeypatch.setattr(bench, "textbook_loop", lambda iterations: lengths.update(textbook=iterations) or (8.0, 10.0))
    monkeypatch.setattr(bench, "ticketlab_level", lambda iterations, seeds, test_every:
                        lengths.update(stacked=iterations, test_every=test_every) or (1.0, 1.25))
    monkeypatch.setattr(bench, "paper_level", lambda iterations, round_=1: 1.5)
    bench.main(argparse.Namespace(quick=quick, seeds=4, repeats=1))
    assert lengths["textbook"] % 100 == 0
    assert (lengths["stacked"] // 2) % lengths["test_every"] == 0


def test_steady_state_timing_cancels_what_every_call_pays_once(monkeypatch):
    calls = []  # 3 s of set-up, evaluation only at 0, the end and the early stop, 2 ms per run-iteration
    monkeypatch.setattr(bench, "_ms_per_run_iteration", _fake_training_call(calls))
    runs = bench._level_runs(range(2), ("ticket",))

    def config_for(n):
        return bench.TrainConfig(iterations=n, lr=1e-3, eval_every=n)

    assert bench._steady_ms(runs, config_for, 500) == pytest.approx(2.0)
    assert calls == [(500, True), (1000, False)]


def test_a_paper_level_stacks_five_seeds_of_ticket_reinit_and_random_pruning():
    runs = bench._level_runs(range(5), ("ticket", "reinit", "random-prune"))
    assert len(runs) == 15
    ticket, reinit, random_prune = runs[:3]
    assert ticket.mask.percent_remaining == pytest.approx(reinit.mask.percent_remaining)
    assert torch.equal(ticket.mask["fc1.weight"], reinit.mask["fc1.weight"])
    assert not torch.equal(ticket.init["fc1.weight"], reinit.init["fc1.weight"])
    assert not torch.equal(ticket.mask["fc1.weight"], random_prune.mask["fc1.weight"])
    assert int(ticket.mask["fc1.weight"].sum()) == int(random_prune.mask["fc1.weight"].sum())


def test_report_ends_with_speedup_line(monkeypatch, capsys):
    monkeypatch.setattr(bench, "matmul_peak", lambda: 100.0)
    monkeypatch.setattr(bench, "textbook_loop", lambda iterations: (8.0, 10.0))
    monkeypatch.setattr(bench, "ticketlab_level", lambda iterations, seeds, test_every: (1.0, 1.25))
    monkeypatch.setattr(bench, "paper_level", lambda iterations, round_=1: 1.5 if round_ == 1 else 1.0)
    assert bench.main(argparse.Namespace(quick=True, seeds=4, repeats=None)) == 0
    out = capsys.readouterr().out
    assert "1.50 ms/run-iteration with evaluation; 1.00 from level 11 on (8.6% of the first layer" in out
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"bench: speedup 8\.0x over textbook, 96% of matmul peak", last), last


def test_projection_counts_every_distinct_run():
    config = bench.ExperimentConfig.at_scale("smoke", seeds=(0, 1), conditions=("ticket", "reinit"))
    runs = 2 * (config.rounds + 1) + 2 * len(config.control_rounds)
    assert bench.projected_hours(config, 1.0) == runs * config.iterations * 1.0 / 3.6e6


def test_projection_times_the_sparse_rounds_at_their_own_speed():
    """The paper's first layer is at most 10% left from round 11 (8.6%) on: those rounds train
    with sparse kernels and are projected at the speed measured for them."""
    config = bench.ExperimentConfig.at_scale("paper", conditions=("ticket", "reinit", "random-prune"))
    assert bench.first_sparse_round(config) == 11
    assert bench.first_sparse_round(config.replace(rounds=10)) is None
    dense_runs = 5 + 10 * 15  # round 0 trains the ticket only
    sparse_runs = 8 * 15
    expected = (dense_runs * 2.0 + sparse_runs * 1.0) * config.iterations / 3.6e6
    assert bench.projected_hours(config, 2.0, sparse_ms=1.0) == pytest.approx(expected)
    assert bench.projected_hours(config, 2.0) == pytest.approx((dense_runs + sparse_runs) * 2.0 * config.iterations / 3.6e6)


def test_sparse_level_runs_have_the_layer_sizes_of_their_round():
    runs = bench._level_runs(range(2), ("ticket", "random-prune"), round_=11)
    for run in runs:
        assert run.mask["fc1.weight"].mean().item() == pytest.approx(0.8 ** 11, abs=1e-3)


def test_masked_vs_sparse_times_every_density_and_rejects_bad_ones():
    from ticketlab.bench import masked_vs_sparse
    from ticketlab.errors import ConfigError

    table = masked_vs_sparse((1.0, 0.1), repeats=3)
    assert table["density"].tolist() == [1.0, 0.1]
    assert (table[["dense_ms", "masked_ms", "sparse_ms"]] > 0).all().all()
    with pytest.raises(ConfigError, match="density 0"):
        masked_vs_sparse((0.0,), repeats=1)
