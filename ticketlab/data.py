"""Data sets as normalised in-memory tensors with the paper's train / validation / test split.

Everything lives in memory because the networks are small: indexing a tensor is orders of
magnitude faster than a DataLoader that converts every image through PIL. MNIST ships with the
course (``data/mnist.npz``) so a lecture hall needs no network; Fashion-MNIST and CIFAR-10 are
downloaded by torchvision on first use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple
from urllib.error import URLError

import numpy as np
import torch

from .errors import ConfigError, DataError

DATASETS = ("mnist", "fashion-mnist", "cifar10", "moons")
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MNIST_FILE = "mnist.npz"
MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"

# The paper holds out 5,000 training images for early stopping; the hold-out is drawn with
# its own generator so that it is the same for every run seed and every experiment.
VALIDATION_SIZE = 5_000
SPLIT_SEED = 0


class _Spec(NamedTuple):
    """What differs between data sets: display name, normalisation, classes, one example's shape."""

    title: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int
    input_shape: tuple[int, ...]


_SPECS = {
    "mnist": _Spec("MNIST", (0.1307,), (0.3081,), 10, (1, 28, 28)),
    "fashion-mnist": _Spec("Fashion-MNIST", (0.2860,), (0.3530,), 10, (1, 28, 28)),
    "cifar10": _Spec("CIFAR-10", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 10, (3, 32, 32)),
    "moons": _Spec("two moons", (0.5, 0.25), (0.87, 0.5), 2, (2,)),
}


def input_shape(name: str) -> tuple[int, ...]:
    """The shape of one example of data set ``name``, known without loading it (models are built
    for it before any data is read, e.g. to draw θ0)."""
    if name not in _SPECS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return _SPECS[name].input_shape
TOY_SIZES = {"train": 1_000, "val": 500, "test": 1_000}


class _RawArrays(NamedTuple):
    """A data set as stored: uint8 images (N, H, W) or (N, H, W, C) and integer labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True, eq=False, repr=False)
class Splits:
    """One data set split three ways; x is float32 (N, C, H, W), y is int64.

    ``load`` hands the same object to every caller, so treat the tensors as read-only.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def num_classes(self) -> int:
        return _SPECS[self.name].num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one image (C, H, W): what a model's first layer must accept."""
        return tuple(self.x_train.shape[1:])

    def describe(self) -> str:
        """One line of sizes, for notebooks and logs (the default repr would print tensors)."""
        return (
            f"{_SPECS[self.name].title}: {len(self.y_train):,} train / {len(self.y_val):,} val"
            f" / {len(self.y_test):,} test, input {self.input_shape}, {self.num_classes} classes"
        )

    def __repr__(self) -> str:
        return f"Splits({self.describe()})"


def load(name: str = "mnist", root: str | Path | None = None) -> Splits:
    """Load a data set from ``root`` (default: the repository's ``data/``), cached per process.

    Raises ConfigError for an unknown name and DataError for a missing or corrupted file.
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    folder = Path(root).expanduser().resolve() if root is not None else DATA_DIR
    return _load_cached(name, folder)


@cache
def _load_cached(name: str, root: Path) -> Splits:
    """Read, check and split once; later calls cost nothing (errors are not cached)."""
    if name == "moons":
        return _toy_moons()
    raw = _read_mnist(root / MNIST_FILE) if name == "mnist" else _read_torchvision(name, root)
    return _build_splits(name, raw)


def _toy_moons(noise: float = 0.25, seed: int = 0) -> Splits:
    """Two interleaved half-moons in 2-D (scikit-learn), standardised: a ticket in seconds."""
    from sklearn.datasets import make_moons

    spec = _SPECS["moons"]
    parts = []
    for offset, size in enumerate(TOY_SIZES.values()):
        x, y = make_moons(n_samples=size, noise=noise, random_state=seed + offset)
        x = (torch.as_tensor(x, dtype=torch.float32) - torch.tensor(spec.mean)) / torch.tensor(spec.std)
        parts += [x, torch.as_tensor(y, dtype=torch.long)]
    return Splits("moons", *parts)


def _read_mnist(path: Path) -> _RawArrays:
    """Read the shipped MNIST after checking its SHA-256, so damaged bytes never train silently."""
    if not path.is_file():
        raise DataError(
            f"{path} is missing (expected SHA-256 {MNIST_SHA256}); restore it with"
            f" `git checkout -- data/{MNIST_FILE}` (see data/README.md)"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MNIST_SHA256:
        raise DataError(
            f"{path} is corrupted: SHA-256 {digest}, expected {MNIST_SHA256}; restore it with"
            f" `git checkout -- data/{MNIST_FILE}` (see data/README.md)"
        )
    with np.load(path) as arrays:
        return _RawArrays(*(torch.from_numpy(arrays[key]) for key in _RawArrays._fields))


def _read_torchvision(name: str, root: Path) -> _RawArrays:
    """Load (downloading if needed) through torchvision, taking its arrays in bulk."""
    dataset_class = _torchvision_class(name)
    try:
        train = dataset_class(str(root), train=True, download=True)
        test = dataset_class(str(root), train=False, download=True)
    except (URLError, RuntimeError, OSError) as error:
        raise DataError(_unavailable_message(name, root)) from error
    return _RawArrays(
        torch.as_tensor(train.data),
        torch.as_tensor(train.targets),
        torch.as_tensor(test.data),
        torch.as_tensor(test.targets),
    )


def _torchvision_class(name: str) -> type:
    """Import torchvision lazily: MNIST users never pay for it."""
    from torchvision import datasets

    return {"fashion-mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}[name]


def _expected_files(name: str, root: Path) -> tuple[Path, list[str], str]:
    """The folder torchvision reads, the files it needs there, and where they come from."""
    dataset_class = _torchvision_class(name)
    if name == "cifar10":
        names = [file for file, _ in dataset_class.train_list + dataset_class.test_list]
        names.append(dataset_class.meta["filename"])
        return root / dataset_class.base_folder, names, dataset_class.url
    names = [file.removesuffix(".gz") for file, _ in dataset_class.resources]
    return root / dataset_class.__name__ / "raw", names, dataset_class.mirrors[0]


def _unavailable_message(name: str, root: Path) -> str:
    """One sentence: which files are missing and where to put them."""
    folder, names, source = _expected_files(name, root)
    missing = [file for file in names if not (folder / file).is_file()]
    title = _SPECS[name].title
    if not missing:
        return f"{title} files in {folder} cannot be read; delete that folder to download again"
    if name == "cifar10":
        where = f"download {source} into {root}/ (torchvision extracts it to {folder}/)"
    else:
        where = f"download them (as .gz) from {source} into {folder}/"
    verb = "is" if len(missing) == 1 else "are"
    return f"{title} could not be downloaded and {', '.join(missing)} {verb} missing: {where}"


def _holdout_indices(num_images: int, val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ascending (train, validation) indices of a fixed hold-out that no run seed can change."""
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    held_out = torch.zeros(num_images, dtype=torch.bool)
    held_out[torch.randperm(num_images, generator=generator)[:val_size]] = True
    return (~held_out).nonzero().squeeze(1), held_out.nonzero().squeeze(1)


def _build_splits(name: str, raw: _RawArrays) -> Splits:
    """Hold out VALIDATION_SIZE training images for validation and normalise every part."""
    num_train = len(raw.y_train)
    if num_train <= VALIDATION_SIZE:
        raise DataError(
            f"{name} has {num_train} training images, too few to hold out {VALIDATION_SIZE}"
        )
    train_index, val_index = _holdout_indices(num_train, VALIDATION_SIZE)
    return Splits(
        name,
        _normalise(name, raw.x_train[train_index]),
        raw.y_train[train_index].long(),
        _normalise(name, raw.x_train[val_index]),
        raw.y_train[val_index].long(),
        _normalise(name, raw.x_test),
        raw.y_test.long(),
    )


def _normalise(name: str, images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W[, C]) -> float32 (N, C, H, W) with zero mean and unit std per channel."""
    x = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
    spec = _SPECS[name]
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1)
    std = torch.tensor(spec.std).view(1, -1, 1, 1)
    # (x / 255 - mean) / std as two in-place passes: four times faster than the textbook form.
    return x.float().contiguous().mul_(1 / (255 * std)).sub_(mean / std)
