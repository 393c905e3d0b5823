"""Data sets as normalised in-memory tensors with the paper's train / validation / test split.

Everything lives in memory because the networks are small: indexing a tensor is orders of
magnitude faster than a DataLoader that converts every image through PIL. MNIST ships with the
course (``data/mnist.npz``) so a lecture hall needs no network. Fashion-MNIST (and MNIST from a
data folder) is read from the four IDX files, plain or gzip-compressed from any source, and checked
by the digest of their content; torchvision downloads it when no copy is found, and CIFAR-10 always
comes through torchvision. The data folder is ``root``, else ``$TICKETLAB_DATA``, else ``data/``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
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
DATA_ENV = "TICKETLAB_DATA"
MNIST_FILE = "mnist.npz"
MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"

# The paper holds out 5,000 training images for early stopping; the hold-out is drawn with
# its own generator so that it is the same for every run seed and every experiment.
VALIDATION_SIZE = 5_000
SPLIT_SEED = 0

# The IDX files of MNIST and Fashion-MNIST (same names, same shapes), in _RawArrays' order.
IDX_SHAPES = {
    "train-images-idx3-ubyte": (60_000, 28, 28),
    "train-labels-idx1-ubyte": (60_000,),
    "t10k-images-idx3-ubyte": (10_000, 28, 28),
    "t10k-labels-idx1-ubyte": (10_000,),
}
IDX_TYPE_UBYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"
# Digests of each file's decompressed content, so that a copy re-compressed by a mirror or a
# distribution package passes (torchvision checks the MD5 of the .gz container and rejects it).
# MNIST: SHA-256 of the official files' content, rebuilt from the shipped mnist.npz (same pixels and
#   labels after the IDX header); decompressed copies of three official .gz files give the same
#   SHA-256, and all four give the MD5s published for the uncompressed files.
# Fashion-MNIST: the labels by SHA-256, computed from the .gz files of the official repository (their
#   MD5s are torchvision's). The images were too large to fetch here and no SHA-256 of their content is
#   published, so they are checked by the MD5 of their content that data set mirrors keeping the
#   uncompressed files publish (as git-annex keys; those mirrors' label MD5s match the labels above).
#   MD5 catches damage and a wrong data set, not a deliberate forgery.
IDX_DIGESTS = {
    "mnist": {
        "train-images-idx3-ubyte": "sha256:ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "sha256:65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "sha256:0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "sha256:ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "md5:f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "sha256:bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "md5:8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "sha256:0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
# Where each data set's IDX files are looked for, relative to the data folder, in this order; the
# first folder that holds any of them must hold all four. torchvision's layout keeps its downloads.
IDX_FOLDERS = {"mnist": ("mnist", "MNIST/raw"), "fashion-mnist": ("fashion-mnist", "FashionMNIST/raw", ".")}


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


def title(name: str) -> str:
    """The data set's name as figures and tables print it (e.g. "Fashion-MNIST"); unknown names as given."""
    return _SPECS[name].title if name in _SPECS else name


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

    def head(self, train: int | None = None, val: int | None = None, test: int | None = None) -> Splits:
        """The first ``train``, ``val`` and ``test`` examples of each split (None: all of it): a
        smaller set with the same hold-out, for tests and quick looks."""
        return Splits(
            self.name,
            self.x_train[:train],
            self.y_train[:train],
            self.x_val[:val],
            self.y_val[:val],
            self.x_test[:test],
            self.y_test[:test],
        )

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
    """Load a data set from the data folder (``data_folder(root)``), cached per process.

    Raises ConfigError for an unknown name and DataError for a missing or corrupted file.
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return _load_cached(name, data_folder(root))


def data_folder(root: str | Path | None = None) -> Path:
    """``root``, else ``$TICKETLAB_DATA``, else the repository's ``data/``: an environment variable
    reaches notebooks, the CLI (``--data-root`` sets it) and worker processes alike."""
    chosen = root if root is not None else os.environ.get(DATA_ENV) or None
    if chosen is None:
        return DATA_DIR
    folder = Path(chosen).expanduser().resolve()
    if not folder.is_dir():
        raise DataError(
            f"data folder {folder} is not a directory; create it or point root, ${DATA_ENV}"
            " or --data-root at the folder that holds the data"
        )
    return folder


@cache
def _load_cached(name: str, root: Path) -> Splits:
    """Read, check and split once; later calls cost nothing (errors are not cached)."""
    if name == "moons":
        return _toy_moons()
    readers = {"mnist": _read_any_mnist, "fashion-mnist": _read_fashion_mnist, "cifar10": _read_cifar10}
    return _build_splits(name, readers[name](root))


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


def _read_any_mnist(root: Path) -> _RawArrays:
    """The data folder's mnist.npz, else its MNIST IDX files, else the copy shipped in ``data/``."""
    if (root / MNIST_FILE).is_file():
        return _read_mnist(root / MNIST_FILE)
    folder = _idx_folder("mnist", root)
    return _read_idx_set("mnist", folder) if folder else _read_mnist(DATA_DIR / MNIST_FILE)


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


def _read_fashion_mnist(root: Path) -> _RawArrays:
    """The IDX files of the first folder that has them; torchvision downloads them if none has."""
    folder = _idx_folder("fashion-mnist", root)
    if folder is None:
        _download_fashion_mnist(root)
        folder = root / "FashionMNIST" / "raw"
    return _read_idx_set("fashion-mnist", folder)


def _download_fashion_mnist(root: Path) -> None:
    """torchvision fetches the official .gz files into ``<root>/FashionMNIST/raw/`` and unpacks them."""
    try:
        _torchvision_class("fashion-mnist")(str(root), train=True, download=True)
    except (URLError, RuntimeError, OSError) as error:
        folders = ", ".join(str(root / folder) for folder in IDX_FOLDERS["fashion-mnist"])
        raise DataError(
            f"Fashion-MNIST could not be downloaded and is in none of {folders}: {_idx_advice()} in one"
            f" of them, or point ${DATA_ENV} or --data-root at a folder that has them (see data/README.md)"
        ) from error


def _idx_advice() -> str:
    """What a folder must hold, for every message that says where to put the files."""
    return f"put the four files {', '.join(IDX_SHAPES)} (each plain or .gz, from any source)"


def _idx_folder(name: str, root: Path) -> Path | None:
    """The first of the data set's folders that holds any of its IDX files, plain or .gz."""
    for relative in IDX_FOLDERS[name]:
        folder = root / relative
        if any(_idx_path(folder, file) for file in IDX_SHAPES):
            return folder
    return None


def _idx_path(folder: Path, file: str) -> Path | None:
    """The file as it is, else as ``.gz`` (any gzip file counts: only its content is checked)."""
    return next((path for path in (folder / file, folder / f"{file}.gz") if path.is_file()), None)


def _read_idx_set(name: str, folder: Path) -> _RawArrays:
    """All four IDX files of one folder: a partial set is an error, never mixed with another copy."""
    paths = {file: _idx_path(folder, file) for file in IDX_SHAPES}
    missing = [file for file, path in paths.items() if path is None]
    if missing:
        raise DataError(f"{_SPECS[name].title} in {folder} lacks {', '.join(missing)}: {_idx_advice()} there")
    return _RawArrays(*(torch.from_numpy(_read_idx(name, file, path)) for file, path in paths.items()))


def _read_idx(name: str, file: str, path: Path) -> np.ndarray:
    """One IDX file (magic, big-endian sizes, unsigned bytes) as an array, once its header, its
    length and the digest of its content match the official file."""
    content = _decompressed(path)
    shape = IDX_SHAPES[file]
    header_size = 4 * (1 + len(shape))
    replace = f"replace it with {_SPECS[name].title}'s {file}"
    if len(content) < header_size:
        raise DataError(f"{path} is truncated: {len(content)} bytes, too few for an IDX header; {replace}")
    magic, *dims = np.frombuffer(content, ">u4", count=1 + len(shape)).tolist()
    expected_magic = IDX_TYPE_UBYTE << 8 | len(shape)
    if magic != expected_magic:
        raise DataError(
            f"{path} has magic number 0x{magic:08x}, not 0x{expected_magic:08x}"
            f" ({len(shape)}-D unsigned bytes): not an IDX file of this kind; {replace}"
        )
    if tuple(dims) != shape:
        raise DataError(f"{path} holds an array of shape {tuple(dims)}, expected {shape}; {replace}")
    expected_size = header_size + int(np.prod(shape))
    if len(content) != expected_size:
        state = "truncated" if len(content) < expected_size else "longer than its header says"
        raise DataError(f"{path} is {state}: {len(content):,} bytes, expected {expected_size:,}; {replace}")
    algorithm, expected = IDX_DIGESTS[name][file].split(":")
    digest = hashlib.new(algorithm, content, usedforsecurity=False).hexdigest()
    if digest != expected:
        raise DataError(
            f"{path} is damaged or another data set: its content has {algorithm}:{digest},"
            f" expected {algorithm}:{expected}; {replace}"
        )
    return np.frombuffer(content, np.uint8, offset=header_size).reshape(shape).copy()  # writable for torch


def _decompressed(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with gzip's magic: any name, level or compressor."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from error
    if not content.startswith(GZIP_MAGIC):
        return content
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path} is a damaged or truncated gzip file ({error}); replace it") from error


def _read_cifar10(root: Path) -> _RawArrays:
    """Load (downloading if needed) through torchvision, taking its arrays in bulk."""
    dataset_class = _torchvision_class("cifar10")
    try:
        train = dataset_class(str(root), train=True, download=True)
        test = dataset_class(str(root), train=False, download=True)
    except (URLError, RuntimeError, OSError) as error:
        raise DataError(_cifar10_unavailable_message(root)) from error
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


def _cifar10_unavailable_message(root: Path) -> str:
    """One sentence: which CIFAR-10 files are missing and where to put them."""
    dataset_class = _torchvision_class("cifar10")
    folder = root / dataset_class.base_folder
    names = [file for file, _ in dataset_class.train_list + dataset_class.test_list]
    names.append(dataset_class.meta["filename"])
    missing = [file for file in names if not (folder / file).is_file()]
    if not missing:
        return f"CIFAR-10 files in {folder} cannot be read; delete that folder to download again"
    verb = "is" if len(missing) == 1 else "are"
    return (
        f"CIFAR-10 could not be downloaded and {', '.join(missing)} {verb} missing: download"
        f" {dataset_class.url} into {root}/ (torchvision extracts it to {folder}/)"
    )


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
        raise DataError(f"{name} has {num_train} training images, too few to hold out {VALIDATION_SIZE}")
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
    # (x / 255 - mean) / std as two in-place passes over one copy, not four passes with temporaries
    return x.float().contiguous().mul_(1 / (255 * std)).sub_(mean / std)
