"""A results store: one folder per run, named by a hash of everything that defines the run.

A finished run is loaded instead of retrained, so an interrupted experiment resumes at the
first unfinished run and notebooks share runs with each other and with the CLI. Every file is
written atomically and ``summary.json`` is written last, holding the SHA-256 of the run's other
files: a run folder without it is unfinished, one whose files do not match it is corrupted and
is recomputed. Tensors are safetensors files (plain data: loading one never runs code, unlike a
pickle); tables are CSV and JSON. Runs stored before that hold ``.pt`` files, still loaded (see
``Store.tensors``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import pandas as pd
import torch
from filelock import FileLock

from .errors import StoreError
from .files import atomic_write_bytes, atomic_write_text, read_tensors, tensors_to_bytes

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_root() -> Path:
    """``results/`` in the course repository, or ``~/.cache/ticketlab`` for an installed package."""
    if (REPO_ROOT / "pyproject.toml").exists() and os.access(REPO_ROOT, os.W_OK):
        return REPO_ROOT / "results"
    return Path.home() / ".cache" / "ticketlab"


def run_key(spec: dict) -> str:
    """A stable 16-hex-digit name for a run: the SHA-256 of its canonical JSON spec."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class Store:
    """Run folders under ``root/runs``; nothing is ever written outside ``root``."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else default_root()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"results folder {self.root} is a file; pass a folder path")
        try:
            (self.root / "runs").mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"cannot create results folder {self.root}: {err.strerror}; pass a writable folder"
            ) from None
        if not os.access(self.root, os.W_OK):
            raise StoreError(f"results folder {self.root} is not writable; pass a writable folder")

    def path(self, key: str) -> Path:
        if len(key) != 16 or any(c not in "0123456789abcdef" for c in key):
            raise StoreError(f"invalid run key {key!r}: keys are 16 hex digits")
        return self.root / "runs" / key

    @contextlib.contextmanager
    def claim(self, keys):
        """Hold the lock of every run in ``keys`` while they are trained, so that no run is ever
        trained twice, whichever processes or cluster workers share this store.

        One lock per run, not one for the store: workers training different runs never wait for
        each other. Locks are taken in sorted order, so two claimers of overlapping runs cannot
        deadlock; the second waits, then finds the runs stored (callers check ``has`` inside).
        ``filelock`` uses the operating system's own lock (Linux, macOS, Windows), which dies with
        its process: a killed worker never leaves a run locked.
        """
        locks = self.root / "locks"
        locks.mkdir(exist_ok=True)
        with contextlib.ExitStack() as held:
            for key in sorted(set(keys)):
                self.path(key)  # a malformed key fails here, before any lock is taken
                held.enter_context(FileLock(locks / f"{key}.lock"))
            yield

    def has(self, key: str) -> bool:
        """True if the run finished and its files are intact; a damaged run is removed (and so redone)."""
        folder = self.path(key)
        if not (folder / "summary.json").exists():
            return False
        problem = self._check(folder)
        if problem:
            warnings.warn(f"stored run {folder} is damaged ({problem}); it will be recomputed", stacklevel=2)
            shutil.rmtree(folder, ignore_errors=True)
            return False
        return True

    def save(self, key: str, spec: dict, summary: dict, curve: pd.DataFrame, tensors: dict[str, dict]) -> None:
        """Write a run's files, then its summary (the 'finished' marker) with their checksums."""
        folder = self.path(key)
        files = {
            "spec.json": json.dumps(spec, indent=1, sort_keys=True).encode(),
            "curve.csv": curve.to_csv(index=False).encode(),
        }
        files.update({f"{name}.safetensors": tensors_to_bytes(state) for name, state in tensors.items()})
        for name, data in files.items():
            atomic_write_bytes(folder / name, data)
        checksums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        record = {"summary": summary, "summary_sha256": _summary_digest(summary), "files": checksums}
        atomic_write_text(folder / "summary.json", json.dumps(record, indent=1))

    def stale(self, version: int) -> list[Path]:
        """Run folders whose spec names another engine version than ``version`` (or none). They are
        never loaded (the version is part of every key); this finds them so they can be reported
        and deleted."""
        folders = []
        for folder in sorted((self.root / "runs").iterdir()):
            try:
                spec = json.loads((folder / "spec.json").read_text())
            except (OSError, ValueError):
                continue  # unfinished or damaged: has() already recomputes those
            if spec.get("version") != version:
                folders.append(folder)
        return folders

    def delete(self, folders: list[Path]) -> None:
        """Remove run folders of this store (e.g. the stale ones); nothing outside ``root/runs``."""
        runs = (self.root / "runs").resolve()
        for folder in folders:
            if Path(folder).resolve().parent != runs:
                raise StoreError(f"{folder} is not a run folder of {self.root}; nothing was deleted")
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def summary(self, key: str) -> dict:
        return json.loads((self.path(key) / "summary.json").read_text())["summary"]

    def curve(self, key: str) -> pd.DataFrame:
        return pd.read_csv(self.path(key) / "curve.csv")

    def tensors(self, key: str, name: str) -> dict[str, torch.Tensor]:
        """Load a stored dict of tensors: ``<name>.safetensors``, or ``<name>.pt`` in a run stored by
        an older ticketlab (the same tensors, so such a run is valid, not stale)."""
        folder = self.path(key)
        path = folder / f"{name}.safetensors"
        if not path.exists():
            path = folder / f"{name}.pt"
        if not path.exists():
            raise StoreError(f"run {folder} has no stored {name!r}")
        try:
            return read_tensors(path)
        except ValueError as err:
            raise StoreError(
                f"stored file {path} is damaged or holds more than tensors ({err}); "
                f"delete {folder} and run again to recompute it"
            ) from None

    def _check(self, folder: Path) -> str | None:
        try:
            record = json.loads((folder / "summary.json").read_text())
            files, summary, digest = record["files"], record["summary"], record.get("summary_sha256")
        except (ValueError, KeyError, TypeError, OSError) as err:
            return f"summary.json unreadable: {err}"
        if digest is None:
            return "summary.json has no checksum of its numbers (written by an older ticketlab)"
        if digest != _summary_digest(summary):  # an edited number would otherwise be used silently
            return "summary.json's numbers do not match their checksum"
        for name, expected in files.items():
            try:
                actual = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            except OSError:
                return f"{name} missing"
            if actual != expected:
                return f"{name} does not match its checksum"
        return None


def _summary_digest(summary: dict) -> str:
    """SHA-256 of the summary's canonical JSON (floats round-trip exactly through JSON)."""
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
