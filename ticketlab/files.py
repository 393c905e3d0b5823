"""Files: atomic writes (a crash leaves either the old file or the new one, never half of one),
tensors as safetensors (plain data: loading a file can never run code, unlike a pickle) and output
folders checked before any work starts."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from .errors import StoreError

TENSOR_ORDER = "ticketlab.order"  # the metadata entry that keeps a tensor dict's order


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


def tensors_to_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    """A dict of tensors as the bytes of a safetensors file.

    Each tensor is first copied to fresh contiguous CPU memory: safetensors refuses views and
    tensors that share storage (a stack's rows), and a copy changes no value. The names' order is
    kept in the metadata, since a mask's layer order is e.g. the order random pruning draws in.
    """
    plain = {n: t.detach().to("cpu", copy=True, memory_format=torch.contiguous_format) for n, t in tensors.items()}
    return safetensors.torch.save(plain, metadata={TENSOR_ORDER: json.dumps(list(plain))})


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A file of ``tensors_to_bytes``, or a ``.pt`` file of an older ticketlab (``_read_legacy``);
    ValueError with a one-line reason if it is damaged or holds more than a dict of tensors."""
    path = Path(path)
    try:
        tensors = _read_legacy(path) if path.suffix == ".pt" else _from_safetensors(path.read_bytes())
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, safetensors.SafetensorError) as err:
        raise ValueError(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__) from None
    if not isinstance(tensors, dict) or not all(isinstance(t, torch.Tensor) for t in tensors.values()):
        raise ValueError("not a dict of tensors")
    return tensors


def _from_safetensors(data: bytes) -> dict[str, torch.Tensor]:
    """The dict of ``tensors_to_bytes``, in its saved order (a file of another program: safetensors' order)."""
    tensors = safetensors.torch.load(data)
    header_size = int.from_bytes(data[:8], "little")  # the format: 8-byte little-endian size, then JSON
    names = json.loads(json.loads(data[8 : 8 + header_size]).get("__metadata__", {}).get(TENSOR_ORDER, "null"))
    if names is None:
        return tensors
    if not isinstance(names, list) or sorted(names, key=str) != sorted(tensors):
        raise ValueError("its recorded tensor names do not match its tensors")
    return {n: tensors[n] for n in names}


def _read_legacy(path: Path):
    """``torch.save`` of an older ticketlab, the only pickle ever read. Hence ``weights_only=True``:
    it refuses anything but tensors and containers, so a planted pickle runs no code. Loaded on the
    CPU, as safetensors files are."""
    return torch.load(path, map_location="cpu", weights_only=True)


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
