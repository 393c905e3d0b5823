"""Command line: ``python -m ticketlab run|plan|store|bench|reference|beyond|slides``.

Thin: parse flags, build an ``ExperimentConfig``, call the package, print. Bad input ends
with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .data import DATA_ENV, DATASETS, data_folder
from .errors import TicketlabError
from .files import writable_folder
from .lottery import CONDITIONS, SCALES, ExperimentConfig, run_experiment, scale_from_env
from .models import MODELS
from .pruning import PRUNING_RULES
from .training import ENGINE_VERSION

# commands that live in a module of their own (its add_arguments, HELP and main)
MODULE_COMMANDS = {"bench": "bench", "reference": "reference", "beyond": "beyond", "slides": "course.slides"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ticketlab", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_run_arguments(
        commands.add_parser(
            "run",
            help="run (or resume) a lottery-ticket experiment",
            description="Run or resume a lottery-ticket experiment; finished runs are loaded from the store.",
        )
    )
    add_run_arguments(
        commands.add_parser(
            "plan",
            help="list an experiment's runs, how many are stored, the time left",
            description="Plan an experiment without training: its runs per level, "
            "how many are stored, and the estimated time for the rest.",
        )
    )
    store = commands.add_parser(
        "store",
        help="report (and delete) stored runs of an older engine",
        description="Report the runs in the store that an older engine made (never loaded).",
    )
    store.add_argument("--store", default=None, help="results store (default: results/)")
    store.add_argument("--prune-stale", action="store_true", help="delete the runs of an older engine")
    for name, module in MODULE_COMMANDS.items():
        try:
            mod = importlib.import_module(f"ticketlab.{module}")
        except ImportError:
            continue
        mod.add_arguments(commands.add_parser(name, help=mod.HELP, description=mod.HELP))
    return parser


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="lenet", help=f"network: {', '.join(MODELS)} (default lenet)")
    p.add_argument("--dataset", help=f"data set: {', '.join(DATASETS)} (default: the paper's for the model)")
    p.add_argument("--scale", default=None, help=f"preset: {', '.join(SCALES)} (default: $TICKETLAB_SCALE or lecture)")
    p.add_argument("--seeds", type=int, nargs="*", help="trial seeds, e.g. --seeds 0 1 2")
    p.add_argument("--rounds", type=int, help="pruning rounds after the dense run (LeNet: 15 reaches 3.6%% remaining)")
    p.add_argument("--conditions", nargs="+", help=f"conditions to run: {', '.join(CONDITIONS)} (ticket is always run)")
    p.add_argument(
        "--control-rounds", type=int, nargs="+", help="rounds at which the controls run (default: the scale's)"
    )
    p.add_argument(
        "--prune-rate", type=float, help="fraction of surviving fc weights pruned per round (output layer: half)"
    )
    p.add_argument(
        "--pruning",
        choices=tuple(PRUNING_RULES),
        help="layerwise: each layer loses its rate (the paper's LeNet and Conv rule, default); "
        "global: all layers ranked together (the paper's VGG and ResNet rule)",
    )
    p.add_argument("--lr", type=float, help="Adam learning rate (default: the paper's for the model)")
    p.add_argument("--iterations", type=int, help="training iterations per run")
    p.add_argument("--batch-size", type=int, help="minibatch size (paper: 60)")
    p.add_argument("--eval-every", type=int, help="validation every N iterations (paper: 100)")
    p.add_argument(
        "--test-every",
        type=int,
        help="test curve every N iterations (a multiple of --eval-every); test accuracy at early stop is always exact",
    )
    p.add_argument("--rewind-iteration", type=int, help="reset survivors to the weights at this iteration (0: θ0)")
    p.add_argument(
        "--out", default="results/experiment", help="folder for tables and figures (default results/experiment)"
    )
    p.add_argument("--store", default=None, help="results store shared with the notebooks (default: results/)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    p.add_argument(
        "--data-root",
        default=None,
        help=f"data folder, passed on as ${DATA_ENV} (default: ${DATA_ENV}, else the repository's data/). "
        "Fashion-MNIST: its four IDX files, plain or .gz, in fashion-mnist/, FashionMNIST/raw/ or the "
        "folder itself; MNIST: mnist.npz, else IDX files in mnist/ or MNIST/raw/, else the shipped copy",
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local: this machine (default); dask: a Dask cluster (with --workers or --scheduler)",
    )
    p.add_argument("--workers", type=int, help="with --executor dask: start a local cluster of N worker processes")
    p.add_argument(
        "--scheduler",
        help="with --executor dask: a running Dask scheduler's address (tcp://HOST:8786) "
        "or its scheduler file (*.json on a shared disk; see docs/scale-out.md)",
    )


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """Explicit flags override the scale's defaults."""
    overrides = dict(
        dataset=args.dataset,
        seeds=args.seeds,
        rounds=args.rounds,
        conditions=args.conditions,
        control_rounds=args.control_rounds,
        prune_rate=args.prune_rate,
        pruning=args.pruning,
        lr=args.lr,
        iterations=args.iterations,
        batch_size=args.batch_size,
        eval_every=args.eval_every,
        test_every=args.test_every,
        rewind_iteration=args.rewind_iteration,
    )
    if args.seeds is not None and not args.seeds:
        raise TicketlabError("--seeds is empty: give at least one seed, e.g. --seeds 0")
    return ExperimentConfig.at_scale(args.scale or scale_from_env(), model=args.model, **overrides)


def apply_data_root(args: argparse.Namespace) -> None:
    """--data-root reaches ``data.load`` as $TICKETLAB_DATA, since ExperimentConfig has no field for it;
    checked here, before any training, so that a wrong folder costs nothing."""
    if args.data_root is not None:
        os.environ[DATA_ENV] = str(data_folder(args.data_root))


def run(args: argparse.Namespace) -> int:
    from .store import Store

    apply_data_root(args)
    config = config_from_args(args)
    out = writable_folder(args.out)  # before any training, so no work is lost to a bad --out
    store = Store(args.store)
    from .viz import plots  # after validation: bad input is reported first, but still before any training

    print(
        f"ticketlab: {config.model} on {config.dataset}, scale {config.scale}, seeds {list(config.seeds)}, "
        f"rounds 0..{config.rounds}, conditions {', '.join(config.conditions)}; store {store.root}",
        flush=True,
    )
    stale = store.stale(ENGINE_VERSION)
    if stale:
        print(
            f"note: {len(stale)} stored runs come from an older engine and are ignored; "
            f"delete them with: python -m ticketlab store --prune-stale",
            flush=True,
        )
    results = run_experiment(
        config, store=store, progress=not args.no_progress, device=args.device, executor=executor_from_args(args)
    )
    results.curves.to_csv(out / "curves.csv", index=False)
    results.summary.to_csv(out / "summary.csv", index=False)
    figures = plots.save_experiment_figures(results, out)
    print(summary_table(results.summary).to_string())
    print(f"wrote {out / 'curves.csv'}, {out / 'summary.csv'} and {len(figures)} figures to {out}")
    return 0


def executor_from_args(args: argparse.Namespace):
    """The executor the flags name; Dask flags without ``--executor dask`` are a mistake worth a line."""
    if args.executor == "local":
        if args.workers is not None or args.scheduler is not None:
            raise TicketlabError("--workers and --scheduler need --executor dask")
        return None
    from .executors import DaskExecutor

    on_gpus = args.workers is not None and str(args.device or "").startswith("cuda")  # one worker per GPU
    return DaskExecutor(workers=args.workers, scheduler=args.scheduler, gpus=on_gpus)


def plan_command(args: argparse.Namespace) -> int:
    from .bench import record_path
    from .plan import estimated_hours, plan
    from .store import Store

    config = config_from_args(args)
    store = Store(args.store)
    plan_ = plan(config)
    hours = estimated_hours(plan_, store, record_path())
    print(plan_.describe(store, hours))
    if hours is None and config.model == "lenet":
        print("no time estimate yet: `python -m ticketlab bench --quick` measures this machine's per-level costs once")
    return 0


def store_command(args: argparse.Namespace) -> int:
    from .store import Store

    store = Store(args.store)
    stale = store.stale(ENGINE_VERSION)
    total = sum(1 for _ in (store.root / "runs").iterdir())
    print(
        f"{store.root}: {total} runs, {len(stale)} of them from an older engine than version {ENGINE_VERSION}"
        + (" (never loaded)" if stale else "")
    )
    if stale and args.prune_stale:
        store.delete(stale)
        print(f"deleted {len(stale)} stale runs")
    elif stale:
        print("delete them with: python -m ticketlab store --prune-stale")
    return 0


def summary_table(summary):
    """Mean over seeds per condition and level: early-stop iteration and test accuracy there."""
    table = summary.groupby(["condition", "round"]).agg(
        percent_remaining=("percent_remaining", "first"),
        early_stop_iteration=("early_stop_iteration", "mean"),
        test_acc_at_early_stop=("test_acc_at_early_stop", "mean"),
        seeds=("seed", "count"),
    )
    return table.round({"percent_remaining": 1, "early_stop_iteration": 0, "test_acc_at_early_stop": 4})


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return run(args)
        if args.command == "store":
            return store_command(args)
        if args.command == "plan":
            return plan_command(args)
        return importlib.import_module(f"ticketlab.{MODULE_COMMANDS[args.command]}").main(args)
    except TicketlabError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are stored; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
