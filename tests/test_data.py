"""Tests of ticketlab.data: the shipped file is genuine MNIST, the split is the paper's, any copy
of the IDX files loads from the data folder, and every failure (damaged file, no network) ends in
one readable sentence."""

import gzip
import hashlib
import io
import os
import pickle
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar
import torchvision.datasets.mnist

from ticketlab import cli, data, lottery
from ticketlab.errors import ConfigError, DataError
from ticketlab.store import Store

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


@pytest.fixture(autouse=True)
def fresh_data_folder(monkeypatch):
    """No test sees the developer's $TICKETLAB_DATA or another test's cached data set."""
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    yield
    data._load_cached.cache_clear()


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
    assert repr(mnist) == ("Splits(MNIST: 55,000 train / 5,000 val / 10,000 test, input (1, 28, 28), 10 classes)")


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


def test_missing_mnist_names_the_file_and_expected_sha256(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)  # a checkout that lost data/mnist.npz
    with pytest.raises(DataError) as caught:
        data.load("mnist")
    message = str(caught.value)
    assert str(tmp_path / data.MNIST_FILE) in message and data.MNIST_SHA256 in message
    assert "\n" not in message


# --- IDX files: Fashion-MNIST (and MNIST) from any copy, plain or gzip-compressed ---------------

IDX_FILES = list(data.IDX_SHAPES)


def idx_content(array: np.ndarray) -> bytes:
    """An IDX file's content (the MNIST format): magic, big-endian sizes, unsigned bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def gzipped(content: bytes, level: int = 9, mtime: int = 0, filename: str = "") -> bytes:
    """gzip with a chosen level and header (name, time): every copy differs, the content does not."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=filename, mode="wb", fileobj=buffer, compresslevel=level, mtime=mtime) as file:
        file.write(content)
    return buffer.getvalue()


def tiny_fashion_mnist(monkeypatch, train_size: int = TINY_TRAIN_SIZE, test_size: int = TINY_TEST_SIZE) -> dict:
    """The four files' contents of a tiny Fashion-MNIST. Test-only: the official sizes and digests are
    swapped for the tiny files' own, so every check still runs, against these files."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train_size, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(train_size) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test_size, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(test_size) % 10,
    }
    contents = {file: idx_content(array) for file, array in arrays.items()}
    monkeypatch.setattr(data, "IDX_SHAPES", {file: array.shape for file, array in arrays.items()})
    digests = {file: f"sha256:{hashlib.sha256(content).hexdigest()}" for file, content in contents.items()}
    monkeypatch.setitem(data.IDX_DIGESTS, "fashion-mnist", digests)
    return contents


def write_files(folder: Path, contents: dict, suffix: str = "", pack=lambda content: content) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file, content in contents.items():
        (folder / f"{file}{suffix}").write_bytes(pack(content))
    return folder


def one_line_error(root, name="fashion-mnist") -> str:
    with pytest.raises(DataError) as caught:
        data.load(name, root=root)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_fashion_mnist_loads_from_idx_files_without_network(tmp_path, monkeypatch):
    contents = tiny_fashion_mnist(monkeypatch)
    write_files(tmp_path / "FashionMNIST" / "raw", contents)
    splits = data.load("fashion-mnist", root=tmp_path)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (10, 5000, 20)
    assert splits.input_shape == (1, 28, 28) and splits.x_test.dtype == torch.float32
    test_images = np.frombuffer(contents["t10k-images-idx3-ubyte"], np.uint8, offset=16).reshape(-1, 28, 28)
    expected = (test_images / 255 - 0.2860) / 0.3530
    torch.testing.assert_close(splits.x_test[:, 0], torch.from_numpy(expected).float())
    assert splits.y_test.tolist() == [i % 10 for i in range(TINY_TEST_SIZE)]
    all_train_labels = torch.cat([splits.y_train, splits.y_val])
    assert torch.bincount(all_train_labels).tolist() == [TINY_TRAIN_SIZE // 10] * 10


GZIP_COPIES = {
    "fastest, no name": lambda content: gzipped(content, level=1),
    "best, another name and time": lambda content: gzipped(content, 9, mtime=1_234_567_890, filename="copy.idx"),
    "two members, as parallel compressors write": lambda content: (
        gzipped(content[:1000], level=6) + gzipped(content[1000:], level=3)
    ),
}


@pytest.mark.parametrize("pack", GZIP_COPIES.values(), ids=GZIP_COPIES.keys())
def test_gzip_copies_load_the_same_arrays_as_plain_files(tmp_path, monkeypatch, pack):
    contents = tiny_fashion_mnist(monkeypatch)
    plain = data.load("fashion-mnist", root=write_files(tmp_path / "plain", contents))
    compressed = write_files(tmp_path / "gz" / "fashion-mnist", contents, ".gz", pack)
    assert compressed.joinpath("train-images-idx3-ubyte.gz").read_bytes()[:2] == b"\x1f\x8b"
    from_gz = data.load("fashion-mnist", root=tmp_path / "gz")
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(plain, part), getattr(from_gz, part)), part


def test_content_decides_not_the_name_a_plain_file_named_gz_loads(tmp_path, monkeypatch):
    contents = tiny_fashion_mnist(monkeypatch)
    write_files(tmp_path, contents, ".gz")
    assert len(data.load("fashion-mnist", root=tmp_path).y_test) == TINY_TEST_SIZE


@pytest.mark.parametrize("folder", ["fashion-mnist", "FashionMNIST/raw", "."])
def test_each_searched_folder_is_read(tmp_path, monkeypatch, folder):
    write_files(tmp_path / folder, tiny_fashion_mnist(monkeypatch), ".gz", gzipped)
    assert len(data.load("fashion-mnist", root=tmp_path).y_test) == TINY_TEST_SIZE


def test_the_first_folder_holding_files_wins_and_must_hold_all_four(tmp_path, monkeypatch):
    contents = tiny_fashion_mnist(monkeypatch)
    write_files(tmp_path / "FashionMNIST" / "raw", contents)
    write_files(tmp_path / "fashion-mnist", {"t10k-labels-idx1-ubyte": contents["t10k-labels-idx1-ubyte"]})
    message = one_line_error(tmp_path)
    assert f"in {tmp_path / 'fashion-mnist'} lacks" in message  # never completed from another copy


def test_missing_file_names_the_folder_and_the_four_files(tmp_path, monkeypatch):
    folder = write_files(tmp_path / "FashionMNIST" / "raw", tiny_fashion_mnist(monkeypatch))
    (folder / "t10k-labels-idx1-ubyte").unlink()
    message = one_line_error(tmp_path)
    assert f"Fashion-MNIST in {folder} lacks t10k-labels-idx1-ubyte:" in message
    assert all(file in message for file in IDX_FILES) and "(each plain or .gz, from any source) there" in message


def test_offline_without_any_copy_names_every_folder_searched_and_the_four_files(tmp_path):
    message = one_line_error(tmp_path)
    assert "could not be downloaded" in message
    folders = [tmp_path / "fashion-mnist", tmp_path / "FashionMNIST" / "raw", tmp_path]
    assert f"none of {', '.join(map(str, folders))}:" in message
    assert all(file in message for file in IDX_FILES) and "plain or .gz" in message
    assert data.DATA_ENV in message and "--data-root" in message


def test_a_download_lands_where_the_next_load_finds_it(tmp_path, monkeypatch):
    contents = tiny_fashion_mnist(monkeypatch)

    def download(url, download_root, filename, md5):  # torchvision's downloader without the network
        name = filename.removesuffix(".gz")
        write_files(Path(download_root), {name: contents[name]})

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", download)
    assert len(data.load("fashion-mnist", root=tmp_path).y_test) == TINY_TEST_SIZE
    assert data._idx_folder("fashion-mnist", tmp_path) == tmp_path / "FashionMNIST" / "raw"


def flip_a_pixel(content: bytes) -> bytes:
    return content[:100] + bytes([content[100] ^ 0x01]) + content[101:]


def wrong_magic(content: bytes) -> bytes:
    return bytes([0, 0, 0x08, 1]) + content[4:]


def wrong_dims(content: bytes) -> bytes:
    return content[:12] + np.array([27], ">i4").tobytes() + content[16:]


DAMAGE = {  # how the train images are damaged -> what the message says
    "a flipped pixel": (flip_a_pixel, "", "is damaged or another data set: its content has sha256:"),
    "truncated": (truncate, "", "is truncated:"),
    "a truncated gzip file": (lambda content: truncate(gzipped(content)), ".gz", "damaged or truncated gzip"),
    "a labels header": (wrong_magic, "", "has magic number 0x00000801, not 0x00000803"),
    "wrong dims": (wrong_dims, "", "holds an array of shape (5010, 28, 27), expected (5010, 28, 28)"),
    "a header cut short": (lambda content: content[:10], "", "too few for an IDX header"),
}


@pytest.mark.parametrize(("damage", "suffix", "says"), DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_file_is_rejected_in_one_line_naming_it(tmp_path, monkeypatch, damage, suffix, says):
    contents = tiny_fashion_mnist(monkeypatch)
    folder = write_files(tmp_path, {f: c for f, c in contents.items() if f != "train-images-idx3-ubyte"})
    damaged = folder / f"train-images-idx3-ubyte{suffix}"
    damaged.write_bytes(damage(contents["train-images-idx3-ubyte"]))
    message = one_line_error(tmp_path)
    assert message.startswith(str(damaged)) and says in message
    assert "replace it" in message


def test_official_digests_reject_another_data_sets_files(tmp_path, raw_mnist):
    """With the real sizes and digests: MNIST's files are not taken for Fashion-MNIST."""
    contents = {file: idx_content(raw_mnist[key]) for file, key in zip(IDX_FILES, data._RawArrays._fields)}
    write_files(tmp_path / "fashion-mnist", contents)
    message = one_line_error(tmp_path)
    assert "train-images-idx3-ubyte is damaged or another data set" in message
    assert data.IDX_DIGESTS["fashion-mnist"]["train-images-idx3-ubyte"] in message


# --- MNIST from a data folder ---------------------------------------------------------------


def test_mnist_idx_files_rebuilt_from_the_shipped_file_pass_the_official_digests(tmp_path, mnist, raw_mnist):
    contents = {file: idx_content(raw_mnist[key]) for file, key in zip(IDX_FILES, data._RawArrays._fields)}
    folder = write_files(tmp_path / "MNIST" / "raw", contents)
    (folder / "t10k-images-idx3-ubyte").unlink()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzipped(contents["t10k-images-idx3-ubyte"], level=1))
    from_idx = data.load("mnist", root=tmp_path)
    assert from_idx is not mnist
    assert torch.equal(from_idx.x_val, mnist.x_val) and torch.equal(from_idx.y_train, mnist.y_train)


def test_mnist_falls_back_to_the_shipped_file(tmp_path, mnist):
    assert torch.equal(data.load("mnist", root=tmp_path).y_val, mnist.y_val)


# --- which data folder --------------------------------------------------------------------------


def test_data_folder_is_root_then_environment_then_repository(tmp_path, monkeypatch):
    assert data.data_folder() == data.DATA_DIR
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    assert data.data_folder() == tmp_path / "env"
    assert data.data_folder(tmp_path) == tmp_path


def test_fashion_mnist_is_read_from_the_environment_folder(tmp_path, monkeypatch):
    write_files(tmp_path / "fashion-mnist", tiny_fashion_mnist(monkeypatch), ".gz", gzipped)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert len(data.load("fashion-mnist").y_test) == TINY_TEST_SIZE


def test_a_data_folder_that_does_not_exist_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "typo"))
    message = one_line_error(None, "mnist")
    assert f"data folder {tmp_path / 'typo'} is not a directory" in message


def test_cli_data_root_sets_the_environment_for_every_later_load(tmp_path):
    args = cli.build_parser().parse_args(["run", "--data-root", str(tmp_path), "--scale", "smoke"])
    cli.apply_data_root(args)
    assert os.environ[data.DATA_ENV] == str(tmp_path)
    assert data.data_folder() == tmp_path


def test_cli_without_data_root_leaves_the_environment_alone():
    cli.apply_data_root(cli.build_parser().parse_args(["run"]))
    assert data.DATA_ENV not in os.environ


def test_cli_rejects_a_missing_data_root_before_training(tmp_path, capsys):
    assert cli.main(["run", "--data-root", str(tmp_path / "typo"), "--scale", "smoke"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: data folder {tmp_path / 'typo'} is not a directory") and error.count("\n") == 1


@pytest.mark.parametrize(
    "model",
    ["lenet", "conv2", pytest.param("conv4", marks=pytest.mark.slow), pytest.param("conv6", marks=pytest.mark.slow)],
)
def test_models_train_end_to_end_on_a_fashion_mnist_copy(tmp_path, monkeypatch, model):
    monkeypatch.setattr(data, "VALIDATION_SIZE", 20)  # small sets and batches: a second, not minutes, for Conv-2
    write_files(tmp_path / "data" / "fashion-mnist", tiny_fashion_mnist(monkeypatch, 60, 20), ".gz", gzipped)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "data"))
    config = lottery.ExperimentConfig.at_scale(
        "smoke", model=model, dataset="fashion-mnist", iterations=20, eval_every=10, rounds=1, batch_size=10
    )
    results = lottery.run_experiment(config, store=Store(tmp_path / "store"), progress=False)
    assert sorted(results.summary["round"]) == [0, 1]
    assert results.summary["test_acc_at_early_stop"].between(0, 1).all()


# --- CIFAR-10 from small files in torchvision's layout ----------------------------------------


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


def test_cifar10_loads_from_pickled_batches_without_network(tmp_path, monkeypatch):
    # torchvision checks the MD5s of the real batches; the tiny ones only have to exist.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: Path(path).is_file())
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


def test_offline_cifar10_names_the_missing_files_and_the_archive(tmp_path):
    with pytest.raises(DataError) as caught:
        data.load("cifar10", root=tmp_path)
    message = str(caught.value)
    assert "data_batch_1" in message and "test_batch" in message
    assert f"download {CIFAR10_URL} into {tmp_path}/" in message
    assert str(tmp_path / "cifar-10-batches-py") in message and "\n" not in message
