"""The benchmark's pieces run, and its report ends with the exact line the issue asks for."""

import argparse
import math
import time

import pytest
import torch

from ticketlab import bench


@pytest.fixture(autouse=True)
def own_record(tmp_path, monkeypatch):
    """``bench.main`` saves its level costs for ``plan``: in a test, never into the user's results/."""
    monkeypatch.setattr(bench, "record_path", lambda: tmp_path / "bench.json")


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
    monkeypatch.setattr(
        bench,
        "ticketlab_level",
        lambda iterations, seeds, test_every: lengths.update(stacked=iterations, test_every=test_every) or (1.0, 1.25),
    )
    monkeypatch.setattr(bench, "paper_level", lambda iterations, round_=1, seeds=5: 1.5)
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


def test_report_gives_each_density_against_its_floor_and_ends_with_the_summary_line(monkeypatch, capsys):
    monkeypatch.setattr(bench, "matmul_peak", lambda: 100.0)
    monkeypatch.setattr(bench, "textbook_loop", lambda iterations: (8.0, 10.0))
    monkeypatch.setattr(bench, "ticketlab_level", lambda iterations, seeds, test_every: (1.0, 1.25))
    level_ms = {0: 2.0, 3: 1.5, 7: 1.0, 12: 0.5, 18: 0.25}
    monkeypatch.setattr(
        bench, "paper_level", lambda iterations, round_=1, seeds=5: 3.0 if seeds == 1 else level_ms[round_]
    )
    assert bench.main(argparse.Namespace(quick=True, seeds=4, repeats=None)) == 0
    out = capsys.readouterr().out
    assert "one run alone: 3.00 ms/iteration" in out
    dense_floor = (bench.LENET_FLOP_PER_ITERATION + bench.PAPER_EVAL_FLOP_PER_ITERATION) / 100e9 * 1e3
    assert f"level  0 (100.0%):  2.00  floor {dense_floor:5.2f}" in out
    assert "level  7 ( 21.1%):  1.00" in out and "level 18 (  1.9%):  0.25" in out
    last = out.strip().splitlines()[-1]
    hours = bench.projected_hours(
        bench.ExperimentConfig.at_scale("paper", conditions=("ticket", "reinit", "random-prune")), level_ms
    )
    assert last == f"bench: speedup 8.0x over textbook, 96% of matmul peak, paper protocol {hours:.1f} h"


def test_projection_counts_every_distinct_run():
    config = bench.ExperimentConfig.at_scale("smoke", seeds=(0, 1), conditions=("ticket", "reinit"))
    runs = 2 * (config.rounds + 1) + 2 * len(config.control_rounds)
    assert bench.projected_hours(config, 1.0) == runs * config.iterations * 1.0 / 3.6e6


def test_projection_interpolates_between_the_measured_levels():
    """Each round is projected at its own cost: measured, or interpolated between the two measured
    rounds around it (held beyond the last)."""
    config = bench.ExperimentConfig.at_scale("paper", conditions=("ticket", "reinit", "random-prune"))
    measured = {0: 4.0, 10: 2.0, 18: 1.0}
    cost = {r: 4.0 - 0.2 * r if r <= 10 else 2.0 - (r - 10) / 8 for r in range(19)}
    expected = sum(len(config.runs_at(r)) * config.iterations * cost[r] for r in range(19)) / 3.6e6
    assert bench.projected_hours(config, measured) == pytest.approx(expected)
    assert bench.projected_hours(config.replace(rounds=20), {0: 1.0, 3: 1.0}) == bench.projected_hours(
        config.replace(rounds=20), 1.0
    )


def test_floor_counts_only_what_survives():
    dense = bench.dense_equivalent_floor_ms(0, 100.0)
    assert bench.dense_equivalent_floor_ms(7, 100.0) == pytest.approx(dense * 0.211, rel=0.01)


def test_sparse_level_runs_have_the_layer_sizes_of_their_round():
    runs = bench._level_runs(range(2), ("ticket", "random-prune"), round_=11)
    for run in runs:
        assert run.mask["fc1.weight"].mean().item() == pytest.approx(0.8**11, abs=1e-3)


def test_masked_vs_sparse_times_every_density_and_rejects_bad_ones():
    from ticketlab.bench import masked_vs_sparse
    from ticketlab.errors import ConfigError

    table = masked_vs_sparse((1.0, 0.1), repeats=3)
    assert table["density"].tolist() == [1.0, 0.1]
    assert (table[["dense_ms", "masked_ms", "sparse_ms", "ticketlab_ms"]] > 0).all().all()
    with pytest.raises(ConfigError, match="density 0"):
        masked_vs_sparse((0.0,), repeats=1)


def test_micro_benchmarks_time_with_torch_utils_benchmark_at_the_bench_thread_count():
    """``torch.utils.benchmark.Timer`` runs at one thread unless told otherwise: the bench's
    micro-benchmarks must run at the thread count the rest of the bench (and training) uses."""
    threads = torch.get_num_threads()
    seen = []
    try:
        torch.set_num_threads(2)
        measurement = bench._timed(lambda: seen.append(torch.get_num_threads()), calls=4)
    finally:
        torch.set_num_threads(threads)
    assert set(seen) == {2} and len(seen) >= 4
    assert len(measurement.times) == 4 and min(measurement.times) <= measurement.median <= max(measurement.times)
    assert 2.0 <= bench._ms(lambda: time.sleep(0.002), repeats=4) < 200.0  # median ms of each call
    assert 0 < bench.matmul_peak(size=64, repeats=3) < 1e6  # GFLOP/s


def test_kernel_crossover_times_both_kernels_and_says_which_the_engine_uses(capsys):
    from ticketlab.bench import _print_kernels, kernel_crossover
    from ticketlab.training import SPARSE_DENSITY

    table = kernel_crossover(rounds=(1, 10), steps=2, repeats=1)
    assert table["round"].tolist() == [1, 10]
    assert table["fc1_density"].tolist() == pytest.approx([0.8, 0.8**10], abs=1e-3)
    timed = ["step_dense_ms", "step_sparse_ms", "validation_dense_ms", "validation_sparse_ms"]
    assert (table[timed] > 0).all().all()
    assert table["trains_sparse"].tolist() == [False, 0.8**10 <= SPARSE_DENSITY["train"]] == [False, True]
    _print_kernels(table)
    assert "level 10 (fc1 10.7%)" in capsys.readouterr().out
