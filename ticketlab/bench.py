"""``python -m ticketlab bench``: this machine's speed, side by side, in one run.

Three measurements of LeNet-300-100 with the paper's Adam and batch 60, interleaved so that
a noisy machine slows all of them alike:

- the fp32 matmul peak (a large square matrix product), the physical ceiling;
- the textbook loop a user would write: torchvision ``MNIST`` with ToTensor/Normalize through a
  ``DataLoader``, masks through ``torch.nn.utils.prune``, Adam, validation and test evaluated
  in batches every 100 iterations;
- ticketlab: the runs of one IMP level (several seeds) trained as one stack, validation every
  100 iterations, test at the early-stop iteration and every ``test_every`` iterations.

It prints milliseconds per run-iteration, the speedup, the fraction of matmul peak reached in
training, the cost of the paper's levels at five densities against the dense-equivalent floor
(what the surviving weights' multiply-adds cost at the matmul peak), one run alone, and projected
wall times of the lecture scale and of the paper's full protocol from the measured level costs.
The level costs are kept in ``results/bench.json`` for ``python -m ticketlab plan``'s estimate.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data as datasets
from . import kernels
from .errors import ConfigError
from .files import atomic_write_text
from .lottery import CONDITIONS, ExperimentConfig
from .masks import Mask
from .models import build
from .pruning import layer_rates, prune_magnitude, prune_random, sparsity_ladder
from .store import default_root
from .training import RunSpec, TrainConfig, train_stacked

HELP = "measure training speed: matmul peak, a textbook loop and ticketlab, side by side"
LENET_WEIGHTS = 784 * 300 + 300 * 100 + 100 * 10
LENET_FLOP_PER_ITERATION = 6 * 60 * LENET_WEIGHTS  # forward + backward, batch 60
# the paper protocol's evaluation per training iteration: 5,000 validation images every 100
# iterations and 10,000 test images every 1,000, a forward pass (2 FLOP per weight) each
PAPER_EVAL_FLOP_PER_ITERATION = 2 * LENET_WEIGHTS * (5_000 / 100 + 10_000 / 1_000)
DENSITY_ROUNDS = (0, 3, 7, 12, 18)  # 100, 51.3, 21.1, 7.0 and 1.9% of LeNet's weights remaining


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short measurement (under a minute)")
    parser.add_argument("--seeds", type=int, default=4, help="runs stacked by ticketlab (default 4)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repetitions (default 2, quick 1)")
    parser.add_argument(
        "--kernels",
        action="store_true",
        help="instead: the first layer's dense and sparse kernels at the paper's densities (the crossovers)",
    )


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    """Best fp32 GFLOP/s of a square matrix product, over ``repeats`` products (see ``_timed``)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = min(_timed(lambda: a @ b, repeats).times)
    return 2 * size**3 / best / 1e9


def _benchmark():
    """``torch.utils.benchmark``, imported on first use: importing it loads
    ``torch.utils.cpp_extension``, which logs "No CUDA runtime is found" on a machine with a CUDA
    toolkit and no GPU (this one): noise in a notebook's output, so silenced while importing."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import torch.utils.benchmark as benchmark
    finally:
        logger.setLevel(level)
    return benchmark


def _timed(fn, calls: int):
    """``fn()`` timed ``calls`` times by ``torch.utils.benchmark.Timer``, one call at a time (each
    after the Timer's warm-up of two calls), as one ``Measurement``: ``.times`` holds each call's
    seconds, ``.median`` their median.

    The Timer runs at the thread count the rest of the bench uses (its own default is one thread,
    which would time the 2-core machine at half its speed), and on an accelerator it synchronises
    before reading the clock. One call at a time, not ``blocked_autorange``'s blocks: on a shared
    machine a block spans the moments the scheduler gives the CPU to other jobs, and the median of
    single calls leaves those out (with two training jobs on the 2-core machine, LeNet's first
    layer on a batch took 0.79 ms a call in blocks of 20 against 0.37 ms one call at a time); the
    calls timed here last 0.1 ms or more, so the clock's own cost does not matter.

    Training is timed by hand instead (``_ms_per_run_iteration``): a call lasts seconds and pays
    one-off costs (the data, the stack, the evaluations at its ends) that the difference of two
    lengths cancels (``_steady_ms``); a Timer would repeat whole calls and report those costs as if
    they recurred.
    """
    benchmark = _benchmark()
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return benchmark.Measurement.merge([timer.timeit(1) for _ in range(calls)])[0]


def _write_idx(folder: Path) -> None:
    """Write the shipped MNIST as the IDX files torchvision's ``MNIST`` reads (no download)."""
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    with np.load(datasets.DATA_DIR / datasets.MNIST_FILE) as arrays:
        for split, prefix in (("train", "train"), ("test", "t10k")):
            images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
            header = np.array([2051, len(images), 28, 28], dtype=">i4").tobytes()
            (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
            header = np.array([2049, len(labels)], dtype=">i4").tobytes()
            (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(header + labels.astype(np.uint8).tobytes())


def textbook_loop(iterations: int, eval_every: int = 100) -> tuple[float, float]:
    """The loop from tutorials: DataLoader over torchvision MNIST, prune hooks, Adam.

    Returns (ms per iteration training only, ms per iteration including evaluation).
    """
    if iterations % eval_every:
        raise ConfigError(
            f"iterations = {iterations} must be a multiple of eval_every = {eval_every}, "
            "so that the loop holds its share of evaluation"
        )
    import torchvision.transforms as T
    from torch import nn
    from torch.nn.utils import prune
    from torch.utils.data import DataLoader, Subset
    from torchvision.datasets import MNIST

    with tempfile.TemporaryDirectory() as tmp:
        _write_idx(Path(tmp))
        transform = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
        full = MNIST(tmp, train=True, download=False, transform=transform)
        test = MNIST(tmp, train=False, download=False, transform=transform)
        train, val = Subset(full, range(55_000)), Subset(full, range(55_000, 60_000))
        loader = DataLoader(train, batch_size=60, shuffle=True)
        model = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10)
        )
        for layer, amount in ((model[1], 0.2), (model[3], 0.2), (model[5], 0.1)):
            prune.l1_unstructured(layer, "weight", amount=amount)
        optimizer = torch.optim.Adam(model.parameters(), lr=1.2e-3)
        train_time = eval_time = 0.0
        batches = iter(loader)
        for it in range(1, iterations + 1):
            start = time.perf_counter()
            try:
                x, y = next(batches)
            except StopIteration:
                batches = iter(loader)
                x, y = next(batches)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_time += time.perf_counter() - start
            if it % eval_every == 0:
                start = time.perf_counter()
                with torch.no_grad():
                    for split in (val, test):
                        for xb, yb in DataLoader(split, batch_size=1000):
                            (model(xb).argmax(1) == yb).sum()
                eval_time += time.perf_counter() - start
    return 1e3 * train_time / iterations, 1e3 * (train_time + eval_time) / iterations


def ticketlab_level(iterations: int, seeds: int, eval_every: int = 100, test_every: int = 1000) -> tuple[float, float]:
    """One IMP level (round 1: 80% of weights) for ``seeds`` ticket runs as one stack.

    Returns (ms per run-iteration training only, ms per run-iteration including evaluation), both
    in the steady state (see ``_steady_ms``): the difference of ``iterations`` and
    ``iterations // 2``, which must be a multiple of ``test_every`` so that it holds its share of
    validation and test passes. Like the textbook loop's timing, which starts after its data
    set is built, neither counts what a call pays once: a whole short call would count its one-off
    evaluations as if they recurred (at 200 iterations three validation and three test passes
    where the steady state has two and one), which halved the reported speedup.
    """
    half = iterations // 2
    if half % test_every or test_every % eval_every:
        raise ConfigError(
            f"iterations // 2 = {half} must be a multiple of test_every = {test_every}, "
            f"itself a multiple of eval_every = {eval_every}"
        )
    runs = _level_runs(range(seeds), ("ticket",))
    training = _steady_ms(runs, lambda n: TrainConfig(iterations=n, lr=1.2e-3, eval_every=n, test_every=n), half)
    evaluated = _steady_ms(
        runs, lambda n: TrainConfig(iterations=n, lr=1.2e-3, eval_every=eval_every, test_every=test_every), half
    )
    return training, evaluated


def paper_level(iterations: int, round_: int = 1, seeds: int = 5) -> float:
    """ms per run-iteration, with evaluation, of one of the paper's pruning levels as ticketlab
    trains it: ``seeds`` x (ticket, reinit, random pruning) runs in one stack (the dense round 0:
    the tickets alone), validation every 100 iterations and test once per ``iterations`` (the
    paper scale's 1,000, or more often: a conservative estimate for shorter windows), in the
    steady state (see ``_steady_ms``), with the layer sizes of pruning round ``round_``.
    ``seeds=1`` at round 1 is one run alone, as notebook 01 and most users train.
    """
    conditions = ("ticket", "reinit", "random-prune") if round_ > 0 and seeds > 1 else ("ticket",)
    runs = _level_runs(range(seeds), conditions, round_)
    test_every = iterations if iterations % 100 == 0 else None
    return _steady_ms(
        runs, lambda n: TrainConfig(iterations=n, lr=1.2e-3, eval_every=100, test_every=test_every), iterations
    )


def _steady_ms(runs: list[RunSpec], config_for, iterations: int) -> float:
    """ms per run-iteration of the training loop itself: the difference between training for
    ``2 * iterations`` and for ``iterations``, so what every call pays once (loading the data,
    building the stack, the evaluations at iteration 0, at the end and at the early stop, a
    50,000-iteration run pays them once too) cancels out."""
    short = _ms_per_run_iteration(runs, config_for(iterations), warm_up=True) * iterations
    long = _ms_per_run_iteration(runs, config_for(2 * iterations)) * 2 * iterations
    return (long - short) / iterations


def _level_runs(seeds, conditions, round_: int = 1) -> list[RunSpec]:
    """Runs of pruning round ``round_`` (round 1: 80% of weights): the ticket's magnitude mask on
    θ0, the same mask on fresh weights (reinit), or a random mask of the same layer sizes on θ0
    (random pruning). Only the layer sizes matter for timing, so θ0 stands in for trained weights."""
    model = build("lenet")
    runs = []
    for seed in seeds:
        init = {n: p.detach().clone() for n, p in build("lenet", seed=seed).named_parameters()}
        mask = Mask.ones_like(init)
        for _ in range(round_):
            mask = prune_magnitude(init, mask, layer_rates(model))
        for condition in conditions:
            if condition == "reinit":
                fresh = {n: p.detach().clone() for n, p in build("lenet", seed=1000 + seed).named_parameters()}
                runs.append(RunSpec(fresh, mask, seed))
            elif condition == "random-prune":
                runs.append(RunSpec(init, prune_random(mask, torch.Generator().manual_seed(seed)), seed))
            else:
                runs.append(RunSpec(init, mask, seed))
    return runs


def _ms_per_run_iteration(runs: list[RunSpec], config: TrainConfig, warm_up: bool = False) -> float:
    mnist = datasets.load("mnist")
    if warm_up:  # first-call costs are not the loop's speed
        short = TrainConfig(iterations=min(50, config.iterations), lr=config.lr, eval_every=min(50, config.iterations))
        train_stacked(build("lenet"), runs, mnist, short, progress=False)
    start = time.perf_counter()
    train_stacked(build("lenet"), runs, mnist, config, progress=False)
    return 1e3 * (time.perf_counter() - start) / (config.iterations * len(runs))


def masked_vs_sparse(densities=(1.0, 0.211, 0.036), batch: int = 60, repeats: int = 200, seed: int = 0):
    """Milliseconds for LeNet's first layer (784 -> 300) on one batch: dense weights, the same
    weights with a 0/1 mask applied (what a ticket is on ordinary hardware), torch's sparse CSR
    product over the survivors, and ``kernels.spmm`` (ticketlab's kernel for the same product).
    Notebook 05 uses it to show that a mask alone saves no time, and what skipping zeros takes.
    """
    import pandas as pd

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 784, generator=generator)
    weight = torch.randn(300, 784, generator=generator)
    bias, xt = torch.zeros(1, 300), kernels.tiled(x.T.unsqueeze(0))
    rows = []
    for density in densities:
        if not 0 < density <= 1:
            raise ConfigError(f"density {density} is outside (0, 1]; give the fraction of weights kept, e.g. 0.2")
        mask = (torch.rand(weight.shape, generator=generator) < density).float()
        masked = weight * mask
        with warnings.catch_warnings():  # "sparse CSR support is in beta": true, and not the student's concern
            warnings.simplefilter("ignore", UserWarning)
            sparse = masked.to_sparse_csr()
        crow, col = sparse.crow_indices(), sparse.col_indices().to(torch.int32)
        values = sparse.values()
        rows.append(
            dict(
                density=density,
                dense_ms=_ms(lambda: x @ weight.T, repeats),
                masked_ms=_ms(lambda masked=masked: x @ masked.T, repeats),
                sparse_ms=_ms(lambda sparse=sparse: torch.sparse.mm(sparse, x.T), repeats),
                ticketlab_ms=_ms(
                    lambda crow=crow, col=col, values=values: kernels.spmm(crow, col, values, bias, xt),
                    repeats,
                ),
            )
        )
    return pd.DataFrame(rows)


KERNEL_ROUNDS = (1, 2, 3, 4, 5, 7, 10, 14)  # 80% down to 4.4% of the first layer


def kernel_crossover(rounds=KERNEL_ROUNDS, steps: int = 50, repeats: int = 3):
    """A paper level's 15-run stack at each round, both ways: ms per training step (forward,
    backward, Adam) and per validation pass (5,000 images) with the dense products, and with the
    first layer on ``kernels``; the best of ``repeats`` interleaved measurements. The crossovers
    in ``training.SPARSE_DENSITY`` come from this table on the course machine (docs/engine.md);
    they are constants, because which kernels a run uses changes its rounding."""
    import pandas as pd

    from .training import _Path, _path_of

    mnist = datasets.load("mnist")
    ladder = sparsity_ladder("lenet", rounds=max(rounds)).set_index("round")["percent_remaining"]
    rows = []
    for round_ in rounds:
        runs = _level_runs(range(5), ("ticket", "reinit", "random-prune"), round_)
        best = {}
        for _ in range(repeats):
            for name, path in (("dense", _Path()), ("sparse", _Path(train=True, evaluate=True))):
                step, evaluation = _stack_ms(runs, path, mnist, steps)
                best[name] = [min(a, b) for a, b in zip(best.get(name, (np.inf, np.inf)), (step, evaluation))]
        density = float(runs[0].mask["fc1.weight"].mean())
        chosen = _path_of(build("lenet"), runs[0], torch.device("cpu"))  # what the engine does with it
        rows.append(
            dict(
                round=round_,
                percent_remaining=float(ladder[round_]),
                fc1_density=density,
                step_dense_ms=best["dense"][0],
                step_sparse_ms=best["sparse"][0],
                validation_dense_ms=best["dense"][1],
                validation_sparse_ms=best["sparse"][1],
                trains_sparse=chosen.train,
                evaluates_sparse=chosen.evaluate,
            )
        )
    return pd.DataFrame(rows)


def _stack_ms(runs: list[RunSpec], path, data, steps: int) -> tuple[float, float]:
    """(ms per training step, ms per validation pass) of ``runs`` as one stack on ``path``'s kernels,
    timed inside the training loop's pieces (a whole call would add its evaluations and set-up)."""
    from .training import _Adam, _Stack

    stack = _Stack(build("lenet"), runs, torch.device("cpu"), path)
    optimizer = _Adam(*stack.optimized(), TrainConfig(iterations=steps, lr=1.2e-3))
    batches = torch.randint(
        0, len(data.x_train), (steps + 5, len(runs), 60), generator=torch.Generator().manual_seed(0)
    )
    for i, idx in enumerate(batches):
        if i == 5:  # after a warm-up
            start = time.perf_counter()
        stack.gradients(data.x_train[idx], data.y_train[idx])
        optimizer.step()
    step = (time.perf_counter() - start) / steps * 1e3
    stack.sync()
    stack.evaluate(data.x_val[:1000], data.y_val[:1000])
    start = time.perf_counter()
    stack.evaluate(data.x_val, data.y_val)
    return step, (time.perf_counter() - start) * 1e3


def _print_kernels(table) -> None:
    print("the first layer's kernels, a paper level (15 runs stacked), ms per step and per validation (5,000 images):")
    for row in table.itertuples():
        chosen = f"{'sparse' if row.trains_sparse else 'dense'} / {'sparse' if row.evaluates_sparse else 'dense'}"
        print(
            f"  level {row.round:2d} (fc1 {100 * row.fc1_density:4.1f}%): step {row.step_dense_ms:5.2f} dense, "
            f"{row.step_sparse_ms:5.2f} sparse; validation {row.validation_dense_ms:4.0f} dense, "
            f"{row.validation_sparse_ms:4.0f} sparse; used: {chosen}"
        )


def _ms(fn, repeats: int) -> float:
    """Median milliseconds of ``fn()`` over ``repeats`` calls (see ``_timed``)."""
    return 1000 * _timed(fn, repeats).median


def projected_hours(config: ExperimentConfig, ms_per_run_iteration) -> float:
    """Wall time of every run of ``config`` at the measured speed: one figure for every round, or
    ``{round: ms}`` measured at some rounds, interpolated in between (the rounds form a geometric
    ladder of densities, so a round's cost varies smoothly with its number) and held beyond."""
    total = 0.0
    for round_ in range(config.rounds + 1):
        total += len(config.runs_at(round_)) * config.iterations * cost_at(ms_per_run_iteration, round_)
    return total / 3.6e6


def cost_at(measured, round_: int) -> float:
    """ms per run-iteration at ``round_``: a single figure, or measured rounds interpolated."""
    if not isinstance(measured, dict):
        return float(measured)
    rounds = sorted(measured)
    return float(np.interp(round_, rounds, [measured[r] for r in rounds]))


def record_path() -> Path:
    """Where ``bench`` keeps this machine's last per-level costs, for ``python -m ticketlab plan``."""
    return default_root() / "bench.json"


def save_level_costs(path: Path, level_ms: dict[int, float]) -> None:
    atomic_write_text(
        path,
        json.dumps(
            {
                "ms_per_run_iteration": {str(r): ms for r, ms in level_ms.items()},
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            },
            indent=1,
        ),
    )


def load_level_costs(path: Path) -> dict[int, float] | None:
    """The per-level costs ``bench`` saved, or None where it has not run (or the file is unreadable)."""
    try:
        record = json.loads(Path(path).read_text())
        return {int(r): float(ms) for r, ms in record["ms_per_run_iteration"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def dense_equivalent_floor_ms(round_: int, peak_gflops: float) -> float:
    """ms per run-iteration that the surviving weights' multiply-adds (training and the paper's
    evaluation) take at the matmul peak: what a run would cost if it cost exactly what survives."""
    share = sparsity_ladder("lenet", rounds=round_)["percent_remaining"].iloc[-1] / 100
    return share * (LENET_FLOP_PER_ITERATION + PAPER_EVAL_FLOP_PER_ITERATION) / (peak_gflops * 1e9) * 1e3


def main(args: argparse.Namespace) -> int:
    repeats = args.repeats or (1 if args.quick else 2)
    if getattr(args, "kernels", False):  # (tests build the namespace by hand)
        _print_kernels(kernel_crossover(KERNEL_ROUNDS[::3] if args.quick else KERNEL_ROUNDS, repeats=repeats + 1))
        return 0
    # multiples of the evaluation periods, so that every figure holds its share of evaluation
    textbook_iterations, stacked_iterations, paper_iterations = (200, 1000, 100) if args.quick else (1000, 2000, 1000)
    print(
        f"bench: torch {torch.__version__}, {torch.get_num_threads()} threads, LeNet-300-100, batch 60, "
        f"{repeats} interleaved repeat(s)",
        flush=True,
    )
    lecture = ExperimentConfig.at_scale("lecture", conditions=CONDITIONS)  # the notebooks' experiment
    paper = ExperimentConfig.at_scale("paper", conditions=("ticket", "reinit", "random-prune"))
    peak, textbook, ours, single, levels = [], [], [], [], {r: [] for r in DENSITY_ROUNDS}
    for _ in range(repeats):
        peak.append(matmul_peak())
        textbook.append(textbook_loop(textbook_iterations))
        # evaluated as the lecture is (test every lecture.test_every, for its curves): an honest projection
        ours.append(ticketlab_level(stacked_iterations, args.seeds, test_every=lecture.test_every))
        single.append(paper_level(paper_iterations, round_=1, seeds=1))
        for round_ in DENSITY_ROUNDS:
            levels[round_].append(paper_level(paper_iterations, round_))
    best_peak, level_ms = max(peak), {r: min(ms) for r, ms in levels.items()}
    tb_train, tb_total = min(t[0] for t in textbook), min(t[1] for t in textbook)
    tl_train, tl_total = min(t[0] for t in ours), min(t[1] for t in ours)
    fraction = LENET_FLOP_PER_ITERATION / (tl_train / 1e3) / (best_peak * 1e9)
    paper_hours = projected_hours(paper, level_ms)
    save_level_costs(record_path(), level_ms)
    print(
        f"fp32 matmul peak:      {best_peak:7.1f} GFLOP/s  (floor {LENET_FLOP_PER_ITERATION / best_peak / 1e6:.2f} ms/iteration)"
    )
    print(f"textbook loop:         {tb_train:7.2f} ms/iteration training, {tb_total:.2f} with evaluation")
    print(
        f"ticketlab ({args.seeds} stacked): {tl_train:7.2f} ms/run-iteration training, {tl_total:.2f} with evaluation "
        f"(test every {lecture.test_every})"
    )
    print(f"ticketlab, one run alone: {min(single):.2f} ms/iteration with the paper's evaluation")
    print(
        "paper levels (15 stacked; the dense level: 5), ms/run-iteration with evaluation, against the floor of "
        "what survives:"
    )
    ladder = sparsity_ladder("lenet", rounds=max(DENSITY_ROUNDS)).set_index("round")["percent_remaining"]
    for round_, ms in level_ms.items():
        floor = dense_equivalent_floor_ms(round_, best_peak)
        print(
            f"  level {round_:2d} ({ladder[round_]:5.1f}%): {ms:5.2f}  floor {floor:5.2f}  ({ms / floor:4.1f}x the floor)"
        )
    print(
        f"projected: lecture scale {projected_hours(lecture, tl_total) * 60:.1f} min, "
        f"paper protocol (5 seeds x 19 levels x ticket, reinit, random-prune) {paper_hours:.1f} h"
    )
    print(
        f"bench: speedup {tb_total / tl_total:.1f}x over textbook, {100 * fraction:.0f}% of matmul peak, "
        f"paper protocol {paper_hours:.1f} h"
    )
    return 0
