"""The results store's tensor files: safetensors (plain data, never a pickle) that give back exactly
the tensors saved, in their order; runs stored by older versions as ``.pt`` files still load as
valid runs; a damaged file is a one-line StoreError that says which run folder to delete."""

import hashlib
import io
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch

from ticketlab.errors import StoreError
from ticketlab.files import read_tensors
from ticketlab.lottery import ExperimentConfig, run_experiment
from ticketlab.store import Store
from ticketlab.training import ENGINE_VERSION

KEY = "0123456789abcdef"


def example_tensors() -> dict[str, dict[str, torch.Tensor]]:
    """Bool masks and float32 weights under dotted names, in an order that is not alphabetical."""
    generator = torch.Generator().manual_seed(0)
    final = {
        name: torch.randn(shape, generator=generator)
        for name, shape in (("fc2.weight", (3, 4)), ("fc1.weight", (4, 5)), ("fc1.bias", (4,)))
    }
    return {"mask": {name: torch.rand(w.shape, generator=generator) > 0.5 for name, w in final.items()}, "final": final}


def save(store: Store, tensors: dict) -> Path:
    store.save(KEY, {"version": ENGINE_VERSION}, {"x": 1}, pd.DataFrame({"iteration": [0]}), tensors)
    return store.path(KEY)


def assert_same(loaded: dict, expected: dict) -> None:
    assert list(loaded) == list(expected)
    for name, tensor in expected.items():
        assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], tensor), name


def to_old_format(folder: Path) -> None:
    """Rewrite a run folder as ticketlab stored runs before safetensors: each dict of tensors a
    ``torch.save`` file ``<name>.pt``, its checksum in summary.json."""
    record = json.loads((folder / "summary.json").read_text())
    for path in sorted(folder.glob("*.safetensors")):
        buffer = io.BytesIO()
        torch.save(read_tensors(path), buffer)
        (folder / f"{path.stem}.pt").write_bytes(buffer.getvalue())
        del record["files"][path.name]
        record["files"][f"{path.stem}.pt"] = hashlib.sha256(buffer.getvalue()).hexdigest()
        path.unlink()
    (folder / "summary.json").write_text(json.dumps(record, indent=1))


def test_bool_and_float_tensors_with_dotted_names_round_trip_exactly(tmp_path):
    store, tensors = Store(tmp_path), example_tensors()
    save(store, tensors)
    for name, expected in tensors.items():
        assert_same(store.tensors(KEY, name), expected)


def test_views_and_tensors_sharing_storage_are_stored_by_value(tmp_path):
    """A stack's rows, a transposed row and one row twice: safetensors takes none of them as they are."""
    stack = torch.randn(3, 4, 5)
    final = {"a.weight": stack[1], "b.weight": stack[2].t(), "c.weight": stack[1]}
    expected = {name: t.clone() for name, t in final.items()}
    store = Store(tmp_path)
    save(store, {"final": final})
    assert_same(store.tensors(KEY, "final"), expected)
    assert_same(final, expected)  # the saved tensors themselves are untouched


def test_a_new_run_holds_no_pickle(tmp_path):
    folder = save(Store(tmp_path), example_tensors())
    assert sorted(p.name for p in folder.iterdir()) == [
        "curve.csv",
        "final.safetensors",
        "mask.safetensors",
        "spec.json",
        "summary.json",
    ]
    checksums = json.loads((folder / "summary.json").read_text())["files"]
    for path in folder.glob("*.safetensors"):
        data = path.read_bytes()  # safetensors: an 8-byte little-endian header length, then the JSON header
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        assert set(header) - {"__metadata__"} == set(example_tensors()[path.stem])
        assert checksums[path.name] == hashlib.sha256(data).hexdigest()


def test_a_run_stored_in_the_old_format_loads_and_is_not_stale(tmp_path):
    store, tensors = Store(tmp_path), example_tensors()
    to_old_format(save(store, tensors))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checksum mismatch would warn and delete the run
        assert store.has(KEY)
    assert not store.stale(ENGINE_VERSION)
    for name, expected in tensors.items():
        assert_same(store.tensors(KEY, name), expected)


def test_an_experiment_stored_in_the_old_format_is_loaded_not_retrained(tmp_path):
    config = ExperimentConfig.at_scale(
        "smoke",
        model="toy-mlp",
        iterations=100,
        eval_every=50,
        rounds=1,
        seeds=(0,),
        conditions=("ticket", "random-prune"),
        control_rounds=(1,),
    )
    store = Store(tmp_path)
    reference = run_experiment(config, store, progress=False, device="cpu")
    for folder in (tmp_path / "runs").iterdir():
        to_old_format(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = run_experiment(config, store, progress=False, device="cpu")
    assert not list(tmp_path.rglob("*.safetensors"))  # a retrained run would be stored as safetensors
    pd.testing.assert_frame_equal(again.summary, reference.summary)
    pd.testing.assert_frame_equal(again.curves, reference.curves)
    assert_same(again.final_weights(seed=0, round_=1), reference.final_weights(seed=0, round_=1))


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _garble_the_header(data: bytes) -> bytes:
    return data[:8] + b"[" + data[9:]


def _claim_a_huge_header(data: bytes) -> bytes:
    return (2**40).to_bytes(8, "little") + data[8:]


@pytest.mark.parametrize("damage", [_truncate, _garble_the_header, _claim_a_huge_header])
def test_a_damaged_safetensors_file_is_a_one_line_store_error(tmp_path, damage):
    folder = save(Store(tmp_path), example_tensors())
    path = folder / "final.safetensors"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StoreError) as raised:
        Store(tmp_path).tensors(KEY, "final")  # past has(), which would catch the checksum
    message = str(raised.value)
    assert f"stored file {path} is damaged" in message and f"delete {folder} and run again" in message
    assert "\n" not in message


def test_a_tensor_the_run_never_stored_is_a_store_error(tmp_path):
    save(Store(tmp_path), example_tensors())
    with pytest.raises(StoreError, match="has no stored 'rewind'"):
        Store(tmp_path).tensors(KEY, "rewind")
