"""Tests of ticketlab.data: the shipped file is genuine MNIST, the split is the paper's, and
every failure (damaged file, no network) ends in one readable sentence."""

import hashlib
import pickle
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar
import torchvision.datasets.mnist

from ticketlab import data
from ticketlab.errors import ConfigError, DataError

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TINY_TRAIN_SIZE = data.VALIDATION_SIZE + 10  # the smallest data set that leaves 10 to train on
TINY_TEST_SIZE = 20
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


@pytest.fixture(scope="module")
def raw_mnist():
    with np.load(data.DATA_DIR / data.MNIST_FILE) as arrays:
        return {key: arrays[key] for key in arrays.files}


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test touches the network: every torchvision download fails as it would offline."""

    def refuse(url, *args, **kwargs):
        raise URLError(f"offline test: refused {url}")

    for module in (torchvision.datasets.mnist, torchvision.datasets.cifar):
        monkeypatch.setattr(module, "download_and_extract_archive", refuse)


# --- the shipped file is genuine MNIST ------------------------------------------------------


def test_shipped_file_matches_its_published_sha256():
    digest = hashlib.sha256((data.DATA_DIR / data.MNIST_FILE).read_bytes()).hexdigest()
    assert digest == data.MNIST_SHA256


def test_shipped_file_has_the_keras_layout(raw_mnist):
    shapes = {key: (array.shape, array.dtype) for key, array in raw_mnist.items()}
    assert shapes == {
        "x_train": ((60000, 28, 28), np.uint8),
        "y_train": ((60000,), np.uint8),
        "x_test": ((10000, 28, 28), np.uint8),
        "y_test": ((10000,), np.uint8),
    }


def test_class_counts_are_those_of_mnist(raw_mnist):
    assert np.bincount(raw_mnist["y_train"]).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(raw_mnist["y_test"]).tolist() == MNIST_TEST_COUNTS


def test_first_training_labels_are_those_of_mnist(raw_mnist):
    assert raw_mnist["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_training_pixel_mean_is_that_of_mnist(raw_mnist):
    assert raw_mnist["x_train"].mean() / 255 == pytest.approx(0.1307, abs=5e-4)


# --- the split and the tensors --------------------------------------------------------------


def test_mnist_splits_have_the_papers_sizes_and_types(mnist):
    assert mnist.x_train.shape == (55000, 1, 28, 28)
    assert mnist.x_val.shape == (5000, 1, 28, 28)
    assert mnist.x_test.shape == (10000, 1, 28, 28)
    assert {mnist.x_train.dtype, mnist.x_val.dtype, mnist.x_test.dtype} == {torch.float32}
    assert {mnist.y_train.dtype, mnist.y_val.dtype, mnist.y_test.dtype} == {torch.int64}
    assert (mnist.num_classes, mnist.input_shape) == (10, (1, 28, 28))


def test_holdout_is_disjoint_and_covers_the_training_set():
    train_index, val_index = data._holdout_indices(60000, 5000)
    assert (len(train_index), len(val_index)) == (55000, 5000)
    assert not set(train_index.tolist()) & set(val_index.tolist())
    assert torch.equal(torch.cat([train_index, val_index]).sort().values, torch.arange(60000))


def test_splits_are_the_holdout_of_the_shipped_arrays(mnist, raw_mnist):
    train_index, val_index = data._holdout_indices(60000, 5000)
    labels = torch.from_numpy(raw_mnist["y_train"]).long()
    assert torch.equal(mnist.y_train, labels[train_index])
    assert torch.equal(mnist.y_val, labels[val_index])
    assert torch.equal(mnist.y_test, torch.from_numpy(raw_mnist["y_test"]).long())
    first_val_image = raw_mnist["x_train"][val_index[0]] / 255
    expected = torch.from_numpy((first_val_image - 0.1307) / 0.3081).float()
    torch.testing.assert_close(mnist.x_val[0, 0], expected)


def test_holdout_does_not_depend_on_the_run_seed():
    torch.manual_seed(1)
    first = data._holdout_indices(60000, 5000)
    torch.manual_seed(2)
    second = data._holdout_indices(60000, 5000)
    assert torch.equal(first[1], second[1])


def test_reloading_from_disk_gives_the_same_split(mnist):
    data._load_cached.cache_clear()
    reloaded = data.load("mnist")
    assert reloaded is not mnist
    assert torch.equal(reloaded.y_val, mnist.y_val)
    assert torch.equal(reloaded.x_val, mnist.x_val)
    assert data.load("mnist") is reloaded  # the second call comes from the cache


def test_normalised_training_set_has_zero_mean_and_unit_std(mnist):
    assert mnist.x_train.mean().item() == pytest.approx(0.0, abs=0.01)
    assert mnist.x_train.std().item() == pytest.approx(1.0, abs=0.02)


def test_repr_summarises_sizes_instead_of_printing_tensors(mnist):
    assert repr(mnist) == (
        "Splits(MNIST: 55,000 train / 5,000 val / 10,000 test, input (1, 28, 28), 10 classes)"
    )


def test_unknown_data_set_names_the_choices():
    with pytest.raises(ConfigError, match="'svhn'.*mnist, fashion-mnist, cifar10"):
        data.load("svhn")


# --- a damaged MNIST file -------------------------------------------------------------------


def flip_middle_byte(content: bytes) -> bytes:
    middle = len(content) // 2
    return content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1 :]


def truncate(content: bytes) -> bytes:
    return content[: len(content) // 2]


@pytest.mark.parametrize("damage", [flip_middle_byte, truncate])
def test_damaged_mnist_names_the_file_and_expected_sha256(tmp_path, damage):
    damaged = tmp_path / data.MNIST_FILE
    damaged.write_bytes(damage((data.DATA_DIR / data.MNIST_FILE).read_bytes()))
    with pytest.raises(DataError) as caught:
        data.load("mnist", root=tmp_path)
    message = str(caught.value)
    assert str(damaged) in message and data.MNIST_SHA256 in message and "corrupted" in message
    assert "\n" not in message


def test_missing_mnist_names_the_file_and_expected_sha256(tmp_path):
    with pytest.raises(DataError) as caught:
        data.load("mnist", root=tmp_path)
    message = str(caught.value)
    assert str(tmp_path / data.MNIST_FILE) in message and data.MNIST_SHA256 in message
    assert "\n" not in message


# --- Fashion-MNIST and CIFAR-10 from small files in torchvision's layouts --------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an uncompressed IDX file (the MNIST format): magic, big-endian sizes, bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_tiny_fashion_mnist(root: Path) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (TINY_TRAIN_SIZE, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(TINY_TRAIN_SIZE) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (TINY_TEST_SIZE, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(TINY_TEST_SIZE) % 10,
    }
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, array in arrays.items():
        write_idx(raw / name, array)
    return arrays


def cifar_batch(first_image: int, count: int) -> dict:
    """Images whose every red pixel is (index % 200), green 220 and blue 10: a layout probe."""
    index = np.arange(first_image, first_image + count)
    channels = [np.repeat((index % 200)[:, None], 1024, axis=1)]
    channels += [np.full((count, 1024), 220), np.full((count, 1024), 10)]
    return {"data": np.hstack(channels).astype(np.uint8), "labels": (index % 10).tolist()}


def write_tiny_cifar10(root: Path) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    per_batch = TINY_TRAIN_SIZE // 5
    batches = {f"data_batch_{i + 1}": cifar_batch(i * per_batch, per_batch) for i in range(5)}
    batches["test_batch"] = cifar_batch(0, TINY_TEST_SIZE)
    batches["batches.meta"] = {"label_names": [f"class {i}" for i in range(10)]}
    for name, content in batches.items():
        (folder / name).write_bytes(pickle.dumps(content))


def test_fashion_mnist_loads_from_idx_files_without_network(tmp_path):
    arrays = write_tiny_fashion_mnist(tmp_path)
    splits = data.load("fashion-mnist", root=tmp_path)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (10, 5000, 20)
    assert splits.input_shape == (1, 28, 28) and splits.x_test.dtype == torch.float32
    expected = (arrays["t10k-images-idx3-ubyte"] / 255 - 0.2860) / 0.3530
    torch.testing.assert_close(splits.x_test[:, 0], torch.from_numpy(expected).float())
    assert splits.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    all_train_labels = torch.cat([splits.y_train, splits.y_val])
    assert torch.bincount(all_train_labels).tolist() == [TINY_TRAIN_SIZE // 10] * 10


def test_cifar10_loads_from_pickled_batches_without_network(tmp_path, monkeypatch):
    # torchvision checks the MD5s of the real batches; the tiny ones only have to exist.
    monkeypatch.setattr(
        torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: Path(path).is_file()
    )
    write_tiny_cifar10(tmp_path)
    splits = data.load("cifar10", root=tmp_path)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (10, 5000, 20)
    assert splits.input_shape == (3, 32, 32)
    mean, std = torch.tensor([0.4914, 0.4822, 0.4465]), torch.tensor([0.2470, 0.2435, 0.2616])
    red = torch.arange(TINY_TEST_SIZE) % 200.0
    pixels = torch.stack([red, torch.full_like(red, 220.0), torch.full_like(red, 10.0)], dim=1)
    per_channel = splits.x_test.mean(dim=(2, 3))  # every test image is constant per channel
    torch.testing.assert_close(per_channel, (pixels / 255 - mean) / std)
    assert splits.y_test.tolist() == [i % 10 for i in range(TINY_TEST_SIZE)]


def test_offline_fashion_mnist_names_the_missing_file_and_its_folder(tmp_path):
    write_tiny_fashion_mnist(tmp_path)
    folder = tmp_path / "FashionMNIST" / "raw"
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as caught:
        data.load("fashion-mnist", root=tmp_path)
    message = str(caught.value)
    assert "t10k-labels-idx1-ubyte is missing" in message and f"into {folder}/" in message
    assert "train-images" not in message and "\n" not in message


def test_offline_cifar10_names_the_missing_files_and_the_archive(tmp_path):
    with pytest.raises(DataError) as caught:
        data.load("cifar10", root=tmp_path)
    message = str(caught.value)
    assert "data_batch_1" in message and "test_batch" in message
    assert f"download {CIFAR10_URL} into {tmp_path}/" in message
    assert str(tmp_path / "cifar-10-batches-py") in message and "\n" not in message
