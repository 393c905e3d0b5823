"""``Mask``: which weights of a network survive, as per-layer 0/1 tensors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from torch import nn

from .errors import ConfigError, StoreError
from .files import atomic_write_bytes, read_tensors, tensors_to_bytes
from .models import prunable_names


class Mask(dict):
    """A mapping from layer name (``"fc1.weight"``) to a 0/1 float tensor of that layer's shape.

    Float (not bool) so that applying it is one multiply; values are exactly 0.0 or 1.0.
    """

    @classmethod
    def ones_like(cls, model_or_params) -> Mask:
        """The dense mask: every prunable weight survives."""
        params = _params(model_or_params)
        return cls({n: torch.ones_like(params[n], dtype=torch.float32) for n in prunable_names(params)})

    @property
    def num_weights(self) -> int:
        return sum(m.numel() for m in self.values())

    @property
    def num_remaining(self) -> int:
        return int(sum(m.sum().item() for m in self.values()))

    @property
    def density(self) -> float:
        """Fraction of prunable weights that survive."""
        return self.num_remaining / self.num_weights

    @property
    def sparsity(self) -> float:
        return 1.0 - self.density

    @property
    def percent_remaining(self) -> float:
        return 100.0 * self.density

    def report(self) -> pd.DataFrame:
        """One row per layer: weights, remaining, percent remaining."""
        rows = [{"layer": n, "weights": m.numel(), "remaining": int(m.sum().item())} for n, m in self.items()]
        df = pd.DataFrame(rows)
        df["percent_remaining"] = 100.0 * df["remaining"] / df["weights"]
        return df

    def check_matches(self, model_or_params) -> None:
        """Raise ConfigError unless this mask covers exactly the model's prunable layers and shapes."""
        params = _params(model_or_params)
        expected = {n: tuple(params[n].shape) for n in prunable_names(params)}
        actual = {n: tuple(m.shape) for n, m in self.items()}
        if expected != actual:
            raise ConfigError(f"mask does not match the model: mask layers {actual}, model layers {expected}")

    def apply_(self, model_or_params) -> None:
        """Zero the pruned weights in place (the invariant re-established after every step)."""
        params = _params(model_or_params)
        with torch.no_grad():
            for name, m in self.items():
                params[name].mul_(m)

    def save(self, path) -> None:
        """Write a safetensors file of bool tensors (e.g. ``mask.safetensors``), atomically.

        A ``.pt`` name is refused: ``load`` reads ``.pt`` as the pickle files of older versions.
        """
        path = Path(path)
        if path.suffix == ".pt":
            raise ConfigError(f"{path}: masks are saved as safetensors; name the file {path.stem}.safetensors")
        atomic_write_bytes(path, tensors_to_bytes({n: m.to(torch.bool) for n, m in self.items()}))

    @classmethod
    def load(cls, path) -> Mask:
        """Load a file of ``save``, or a ``.pt`` file saved by an older version."""
        path = Path(path)
        if not path.exists():
            raise StoreError(f"no mask file at {path}; save one first with Mask.save")
        try:
            return cls({n: m.to(torch.float32) for n, m in read_tensors(path).items()})
        except ValueError as err:
            raise StoreError(
                f"{path} is not a saved Mask (damaged, or holds more than a dict of tensors): {err}"
            ) from None

    def clone(self) -> Mask:
        return Mask({n: m.clone() for n, m in self.items()})


def _params(model_or_params) -> dict[str, torch.Tensor]:
    if isinstance(model_or_params, nn.Module):
        return dict(model_or_params.named_parameters())
    return dict(model_or_params)
