"""Files: atomic writes (a crash leaves either the old file or the new one, never half of one)
and output folders checked before any work starts."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import torch

from .errors import StoreError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj, path: Path) -> None:
    """``torch.save`` of tensors/dicts of tensors, written atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def writable_folder(path, flag: str = "--out") -> Path:
    """Create ``path`` if needed and check it can be written, before any training or export,
    so that no work is lost to a folder that turns out to be a file or read-only."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise StoreError(f"{flag} {out} is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"{flag} {out} cannot be created ({err.strerror}); give a writable folder") from None
    if not os.access(out, os.W_OK):
        raise StoreError(f"{flag} {out} is not writable; give a writable folder")
    return out
