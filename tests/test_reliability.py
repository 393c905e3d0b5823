"""Reliability: bad input fails with one clear line before any training; a killed,
concurrent or damaged experiment never loses finished work and never uses a damaged file;
stored results never unpickle arbitrary objects and never leave the store's folder.

Every experiment here is the toy MLP on two moons (8 runs of 100 iterations), so the real
subprocesses (kill-and-resume, two writers at once) cost seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import safetensors.torch
import torch

from ticketlab import cli, lottery
from ticketlab.errors import StoreError, TicketlabError
from ticketlab.lottery import ExperimentConfig, collect, run_experiment
from ticketlab.masks import Mask
from ticketlab.models import build
from ticketlab.pruning import prune_to_density
from ticketlab.store import Store, run_key
from ticketlab.training import RunSpec, TrainConfig, train_stacked

REPO = Path(__file__).resolve().parent.parent
TINY = dict(
    model="toy-mlp",
    iterations=100,
    eval_every=50,
    rounds=2,
    seeds=(0, 1),
    conditions=("ticket", "reinit"),
    control_rounds=(2,),
)
TINY_FLAGS = [
    "--scale",
    "smoke",
    "--model",
    "toy-mlp",
    "--iterations",
    "100",
    "--eval-every",
    "50",
    "--rounds",
    "2",
    "--seeds",
    "0",
    "1",
    "--conditions",
    "ticket",
    "reinit",
    "--control-rounds",
    "2",
    "--device",
    "cpu",
    "--no-progress",
]
TINY_RUNS = 8  # rounds 0 and 1: two tickets each; round 2: two tickets and two reinit controls
SUBPROCESS_TIMEOUT = 300
ONE_THREAD_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread here and in every subprocess: tiny networks gain nothing from more, a
    shared CI machine loses a lot, and the in-process reference then does the same arithmetic."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(**changes) -> ExperimentConfig:
    return ExperimentConfig.at_scale("smoke", **{**TINY, **changes})


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny experiment run once, uninterrupted, in a fresh store: what every fault must reproduce."""
    root = tmp_path_factory.mktemp("reference") / "store"
    results = run_experiment(tiny_config(), Store(root), progress=False, device="cpu")
    assert len(results.summary) == TINY_RUNS
    return root, results


def assert_same_tables(results, reference_results) -> None:
    pd.testing.assert_frame_equal(results.summary, reference_results.summary)
    pd.testing.assert_frame_equal(results.curves, reference_results.curves)


# --- bad input: one table, exercised through the CLI and the Python API -----------------------


@dataclass(frozen=True)
class BadInput:
    """One mistake; ``message`` must appear in the one-line error of every entry point that takes it.

    In ``cli`` flags, ``{file}`` is an existing regular file and ``{readonly}`` a folder without
    write permission; the ``api`` call gets the test's folder, which holds both.
    """

    message: str
    cli: tuple[str, ...] | None = None  # flags appended to a valid `run` command (the last value wins)
    api: Callable[[Path], object] | None = None


def _toy_run(mask_of: str = "toy-mlp") -> RunSpec:
    """A toy-MLP run whose mask is shaped for the model ``mask_of``."""
    return RunSpec(lottery.initial_weights("toy-mlp", 0), Mask.ones_like(build(mask_of)), 0)


BAD_INPUTS = {
    "prune rate above 1": BadInput(
        "pruning rate 1.5 is outside [0, 1)", ("--prune-rate", "1.5"), lambda tmp: tiny_config(prune_rate=1.5)
    ),
    "negative prune rate": BadInput(
        "pruning rate -0.1 is outside [0, 1)", ("--prune-rate", "-0.1"), lambda tmp: tiny_config(prune_rate=-0.1)
    ),
    "target density 0": BadInput(
        "density 0 is outside (0, 1]", api=lambda tmp: prune_to_density(lottery.initial_weights("toy-mlp", 0), 0)
    ),
    "target density above 1": BadInput(
        "density 1.5 is outside (0, 1]", api=lambda tmp: prune_to_density(lottery.initial_weights("toy-mlp", 0), 1.5)
    ),
    "unknown model": BadInput("unknown model 'resnet'", ("--model", "resnet"), lambda tmp: tiny_config(model="resnet")),
    "unknown dataset": BadInput(
        "unknown dataset 'imagenet'", ("--dataset", "imagenet"), lambda tmp: tiny_config(dataset="imagenet")
    ),
    "model-dataset mismatch": BadInput(
        "model 'toy-mlp' cannot train on 'mnist'", ("--dataset", "mnist"), lambda tmp: tiny_config(dataset="mnist")
    ),
    "unknown condition": BadInput(
        "unknown condition 'lottery'",
        ("--conditions", "ticket", "lottery"),
        lambda tmp: tiny_config(conditions=("ticket", "lottery")),
    ),
    "unknown scale": BadInput(
        "unknown scale 'huge'", ("--scale", "huge"), lambda tmp: ExperimentConfig.at_scale("huge", model="toy-mlp")
    ),
    "zero iterations": BadInput(
        "iterations must be a positive integer, got 0", ("--iterations", "0"), lambda tmp: tiny_config(iterations=0)
    ),
    "negative iterations": BadInput(
        "iterations must be a positive integer, got -5", ("--iterations", "-5"), lambda tmp: tiny_config(iterations=-5)
    ),
    "zero batch size": BadInput(
        "batch_size must be a positive integer, got 0", ("--batch-size", "0"), lambda tmp: tiny_config(batch_size=0)
    ),
    "negative batch size": BadInput(
        "batch_size must be a positive integer, got -60",
        ("--batch-size", "-60"),
        lambda tmp: tiny_config(batch_size=-60),
    ),
    "zero learning rate": BadInput(
        "learning rate must be positive, got 0", ("--lr", "0"), lambda tmp: tiny_config(lr=0)
    ),
    "negative learning rate": BadInput(
        "learning rate must be positive, got -0.001", ("--lr", "-0.001"), lambda tmp: tiny_config(lr=-0.001)
    ),
    "zero eval-every": BadInput(
        "eval_every must be a positive integer, got 0", ("--eval-every", "0"), lambda tmp: tiny_config(eval_every=0)
    ),
    "mask of another model": BadInput(
        "mask does not match the model", api=lambda tmp: Mask.ones_like(build("lenet")).check_matches(build("toy-mlp"))
    ),
    "mask of another model in training": BadInput(
        "mask does not match the model",
        api=lambda tmp: train_stacked(
            build("toy-mlp"), [_toy_run(mask_of="lenet")], None, TrainConfig(iterations=100, lr=1e-2), device="cpu"
        ),
    ),
    "more rounds than weights": BadInput(
        "200 rounds is more than toy-mlp has weights for", ("--rounds", "200"), lambda tmp: tiny_config(rounds=200)
    ),
    "control round beyond the rounds": BadInput(
        "control round 9 is outside 1..2", ("--control-rounds", "9"), lambda tmp: tiny_config(control_rounds=(9,))
    ),
    "rewind beyond training": BadInput(
        "rewind iteration 500 is beyond the training length 0..100",
        ("--rewind-iteration", "500"),
        lambda tmp: tiny_config(rewind_iteration=500),
    ),
    "rewind beyond training in training": BadInput(
        "rewind iteration 500 is beyond the training length 0..100",
        api=lambda tmp: train_stacked(
            build("toy-mlp"), [_toy_run()], None, TrainConfig(iterations=100, lr=1e-2), rewind_iteration=500
        ),
    ),
    "empty seed list": BadInput("is empty: give at least one seed", ("--seeds",), lambda tmp: tiny_config(seeds=())),
    "--out is a file": BadInput("--out {file} is a file", ("--out", "{file}")),
    "--out cannot be created": BadInput("--out {file}/sub cannot be created", ("--out", "{file}/sub")),
    "--out not writable": BadInput("--out {readonly} is not writable", ("--out", "{readonly}")),
    "store is a file": BadInput(
        "results folder {file} is a file", ("--store", "{file}"), lambda tmp: Store(tmp / "file")
    ),
    "store cannot be created": BadInput(
        "cannot create results folder {file}/sub", ("--store", "{file}/sub"), lambda tmp: Store(tmp / "file" / "sub")
    ),
    "unknown device": BadInput(
        "unknown device 'abacus'",
        ("--device", "abacus"),
        lambda tmp: run_experiment(tiny_config(), Store(tmp / "store"), device="abacus"),
    ),
}
ROOT_IGNORES_PERMISSIONS = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes through folder permissions; '--out cannot be created' covers an unusable --out",
)


def _cases(entry_point: str) -> list:
    """The table's rows that ``entry_point`` ("cli" or "api") can be given."""
    return [
        pytest.param(case, id=name, marks=[ROOT_IGNORES_PERMISSIONS] if "{readonly}" in case.message else [])
        for name, case in BAD_INPUTS.items()
        if getattr(case, entry_point) is not None
    ]


@pytest.fixture
def places(tmp_path):
    """A regular file and a read-only folder to misuse as output or store paths."""
    (tmp_path / "file").write_text("not a folder\n")
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    yield {"file": tmp_path / "file", "readonly": readonly, "tmp": tmp_path}
    readonly.chmod(0o700)


@pytest.fixture
def no_training(monkeypatch):
    """Training is forbidden: every bad input must be rejected before the first step."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(lottery, "train_stacked", refuse)


@pytest.mark.parametrize("case", _cases("cli"))
def test_cli_rejects_bad_input_in_one_line_before_training(case, places, no_training, capsys):
    flags = [flag.format(**places) for flag in case.cli]
    argv = ["run", *TINY_FLAGS, "--store", str(places["tmp"] / "store"), "--out", str(places["tmp"] / "out"), *flags]
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert case.message.format(**places) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", _cases("api"))
def test_api_rejects_bad_input_in_one_line(case, places):
    with pytest.raises(TicketlabError) as raised:
        case.api(places["tmp"])
    message = str(raised.value)
    assert "\n" not in message
    assert case.message.format(**places) in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_gpu_is_reported_before_training(no_training, tmp_path):
    with pytest.raises(TicketlabError, match="device 'cuda' is not available on this machine"):
        run_experiment(tiny_config(), Store(tmp_path / "store"), device="cuda")


def test_argparse_errors_exit_with_status_2_and_a_usage_line(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--iterations", "ten"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.splitlines()[-1].endswith("argument --iterations: invalid int value: 'ten'")
    assert "Traceback" not in err


def test_real_command_exits_with_status_2_and_no_traceback(tmp_path):
    case = BAD_INPUTS["prune rate above 1"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ticketlab",
            "run",
            *TINY_FLAGS,
            "--store",
            str(tmp_path / "store"),
            "--out",
            str(tmp_path / "out"),
            *case.cli,
        ],
        cwd=REPO,
        env=ONE_THREAD_ENV,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ") and case.message in done.stderr
    assert not (tmp_path / "store").exists()  # rejected before anything was written


# --- kill and resume ---------------------------------------------------------------------------


def cli_command(store: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "ticketlab", "run", *TINY_FLAGS, "--store", str(store), "--out", str(out)]


def finished_runs(store: Path) -> dict[Path, tuple[int, bytes]]:
    """Every run's 'finished' marker with its modification time and contents."""
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (store / "runs").glob("*/summary.json")}


def kill_after_first_run(command: list[str], store: Path) -> dict[Path, tuple[int, bytes]]:
    """Start ``command``; SIGKILL it as soon as one run is stored, i.e. in the middle of the experiment."""
    process = subprocess.Popen(command, cwd=REPO, env=ONE_THREAD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    try:
        while not (store / "runs").is_dir() or not any((store / "runs").glob("*/summary.json")):
            assert process.poll() is None, f"finished before any run was stored: {process.stderr.read()}"
            assert time.monotonic() < deadline, "no run was stored in time"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    return finished_runs(store)


def test_killed_command_resumes_without_retraining_and_writes_the_tables_of_an_uninterrupted_run(reference, tmp_path):
    store, out = tmp_path / "store", tmp_path / "out"
    before = kill_after_first_run(cli_command(store, out), store)
    assert 1 <= len(before) < TINY_RUNS  # killed mid-experiment, after at least one run was stored
    done = subprocess.run(
        cli_command(store, out),
        cwd=REPO,
        env=ONE_THREAD_ENV,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert {p: finished_runs(store)[p] for p in before} == before  # finished runs were loaded, not retrained
    for table in ("summary", "curves"):
        expected = pd.read_csv(io.StringIO(getattr(reference[1], table).to_csv(index=False)))
        pd.testing.assert_frame_equal(pd.read_csv(out / f"{table}.csv"), expected)


# --- two writers at once -----------------------------------------------------------------------

# Runs the tiny experiment on the store given as argv[1] and prints how many runs it trained.
RUN_SCRIPT = f"""
import sys
from ticketlab import lottery
from ticketlab.store import Store

trained = []
real_train_stacked = lottery.train_stacked

def counting_train_stacked(model, runs, *args, **kwargs):
    trained.append(len(runs))
    return real_train_stacked(model, runs, *args, **kwargs)

lottery.train_stacked = counting_train_stacked
config = lottery.ExperimentConfig.at_scale("smoke", **{TINY!r})
lottery.run_experiment(config, Store(sys.argv[1]), progress=False, device="cpu")
print("trained", sum(trained))
"""


def script_command(store: Path) -> list[str]:
    return [sys.executable, "-c", RUN_SCRIPT, str(store)]


def trained_count(stdout: str) -> int:
    return int(stdout.split("trained")[-1])


def test_two_processes_on_one_store_train_each_run_once_and_agree(reference, tmp_path):
    store = tmp_path / "store"
    processes = [
        subprocess.Popen(
            script_command(store),
            cwd=REPO,
            env=ONE_THREAD_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=SUBPROCESS_TIMEOUT) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    assert sum(trained_count(out) for out, _ in outputs) == TINY_RUNS  # the lock: no run trained twice
    config, opened = tiny_config(), Store(store)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checksum mismatch would warn
        for round_ in range(config.rounds + 1):
            for condition, seed in config.runs_at(round_):
                key = run_key(config.run_spec(condition, seed, round_))
                assert opened.has(key)
                assert opened.tensors(key, "mask")
        results = collect(config, opened)
    assert not list(store.rglob("*.tmp"))
    assert_same_tables(results, reference[1])


# --- damaged and half-written runs -------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _not_an_object(path: Path) -> None:
    path.write_text("[]")


def _edit_a_number(path: Path) -> None:
    """A hand edit (or a bit flip in a digit) that leaves valid JSON: accuracy 0.97 -> 0.99."""
    record = json.loads(path.read_text())
    record["summary"]["test_acc_at_early_stop"] += 0.02
    path.write_text(json.dumps(record, indent=1))


def copy_of(reference, tmp_path: Path) -> Store:
    return Store(shutil.copytree(reference[0], tmp_path / "store"))


def round_one_tickets(store: Store) -> list[Path]:
    """Both seeds' round-1 tickets: damaging both keeps the retrained stack that of the reference."""
    config = tiny_config()
    return [store.path(run_key(config.run_spec("ticket", seed, 1))) for seed in config.seeds]


@pytest.mark.parametrize(
    "name, damage",
    [
        ("curve.csv", _truncate),
        ("mask.safetensors", _flip_a_byte),
        ("final.safetensors", _flip_a_byte),
        ("final.safetensors", _truncate),
        ("summary.json", _truncate),
        ("summary.json", _not_an_object),
        ("summary.json", _edit_a_number),
    ],
)
def test_damaged_file_is_reported_with_its_path_and_recomputed(reference, tmp_path, name, damage):
    store = copy_of(reference, tmp_path)
    folders = round_one_tickets(store)
    for folder in folders:
        damage(folder / name)
    with pytest.warns(UserWarning) as caught:
        results = run_experiment(tiny_config(), store, progress=False, device="cpu")
    messages = [str(w.message) for w in caught]
    for folder in folders:
        assert any(str(folder) in m and name in m and "recomputed" in m for m in messages), messages
    assert_same_tables(results, reference[1])


def test_run_folder_left_by_a_crash_is_unfinished_and_recomputed(reference, tmp_path):
    store = copy_of(reference, tmp_path)
    folders = round_one_tickets(store)
    for folder in folders:  # a crash after some files, before summary.json, in the middle of a write
        (folder / "summary.json").unlink()
        (folder / ".final.safetensors.x7q2.tmp").write_bytes((folder / "final.safetensors").read_bytes()[:100])
    assert len(collect(tiny_config(), store).summary) == TINY_RUNS - len(folders)
    results = run_experiment(tiny_config(), store, progress=False, device="cpu")
    assert all((folder / "summary.json").exists() for folder in folders)
    assert_same_tables(results, reference[1])


# --- safe loading ------------------------------------------------------------------------------


class WritesMarker:
    """A pickle payload: unpickling it with full pickle creates ``marker`` (any code could run)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant_payload(folder: Path, marker: Path, forge_checksum: bool) -> None:
    """Replace the final weights by a malicious pickle under the name a run stored before safetensors
    gives them, ``final.pt`` (the one place the store still reads a pickle); optionally also fix its
    checksum, as an attacker could."""
    (folder / "final.safetensors").unlink()
    torch.save(WritesMarker(marker), folder / "final.pt")
    record = json.loads((folder / "summary.json").read_text())
    digest = record["files"].pop("final.safetensors")
    if forge_checksum:
        digest = hashlib.sha256((folder / "final.pt").read_bytes()).hexdigest()
    record["files"]["final.pt"] = digest
    (folder / "summary.json").write_text(json.dumps(record))


def test_payload_would_run_if_fully_unpickled(tmp_path):
    """The test payload is real: without ``weights_only`` it writes its marker."""
    marker = tmp_path / "marker"
    torch.save(WritesMarker(marker), tmp_path / "evil.pt")
    torch.load(tmp_path / "evil.pt", weights_only=False).close()  # the payload returns the file it opened
    assert marker.exists()


def test_stored_files_are_safetensors_csv_and_json_never_a_pickle(reference):
    folders = list((reference[0] / "runs").iterdir())
    assert len(folders) == TINY_RUNS
    for path in (p for folder in folders for p in folder.iterdir()):
        assert path.suffix in {".safetensors", ".csv", ".json"}, path
        if path.suffix == ".safetensors":
            data = path.read_bytes()  # safetensors: an 8-byte little-endian header length, then a JSON header
            assert data[8:9] == b"{" and json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
            state = safetensors.torch.load(data)
            assert state and all(isinstance(t, torch.Tensor) for t in state.values())


def test_malicious_pickle_with_a_stale_checksum_is_discarded_unread(reference, tmp_path):
    store = copy_of(reference, tmp_path)
    folder, marker = round_one_tickets(store)[0], tmp_path / "marker"
    plant_payload(folder, marker, forge_checksum=False)
    with pytest.warns(UserWarning, match="final.pt does not match its checksum"):
        assert not store.has(folder.name)
    assert not folder.exists() and not marker.exists()


def test_malicious_pickle_with_a_forged_checksum_is_refused_and_reported(reference, tmp_path):
    store = copy_of(reference, tmp_path)
    folder, marker = round_one_tickets(store)[0], tmp_path / "marker"
    plant_payload(folder, marker, forge_checksum=True)
    results = collect(tiny_config(), store)
    with pytest.raises(StoreError) as raised:
        results.final_weights(seed=0, round_=1)
    assert str(folder / "final.pt") in str(raised.value) and "\n" not in str(raised.value)
    assert not marker.exists()


@pytest.mark.parametrize("key", ["../../etc/passwd", "../../etc", "..", "", "/etc/passwd", "runs/../../../x"])
def test_store_paths_never_leave_the_store(tmp_path, key):
    store = Store(tmp_path / "store")
    with pytest.raises(StoreError, match="invalid run key"):
        store.path(key)
    assert store.path("0123456789abcdef").parent == store.root / "runs"


# --- runs of an older engine ------------------------------------------------------------------


def test_runs_of_an_older_engine_are_reported_and_pruned(tmp_path, capsys):
    from ticketlab import cli
    from ticketlab.training import ENGINE_VERSION

    store = Store(tmp_path)
    for key, version in (("a" * 16, ENGINE_VERSION), ("b" * 16, ENGINE_VERSION - 1), ("c" * 16, None)):
        spec = {"model": "lenet"} if version is None else {"version": version, "model": "lenet"}
        store.save(key, spec, {"x": 1}, pd.DataFrame({"iteration": [0]}), {})
    assert [p.name for p in store.stale(ENGINE_VERSION)] == ["b" * 16, "c" * 16]
    assert cli.main(["store", "--store", str(tmp_path)]) == 0
    assert "3 runs, 2 of them from an older engine" in capsys.readouterr().out
    assert cli.main(["store", "--store", str(tmp_path), "--prune-stale"]) == 0
    assert "deleted 2 stale runs" in capsys.readouterr().out
    assert store.has("a" * 16) and not store.stale(ENGINE_VERSION)
    with pytest.raises(StoreError, match="not a run folder"):
        store.delete([tmp_path])
