"""environment.yml (the conda and Binder route) must install what pyproject.toml declares."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PIP = {"pytorch": "torch"}  # conda-forge names the torch package "pytorch"
NOT_FROM_PYPROJECT = {"python", "pip"}  # the interpreter and the installer of `-e .`


@pytest.fixture(scope="module")
def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


@pytest.fixture(scope="module")
def conda_pins(environment):
    """{pip name: "X.Y"} for every conda package except python and pip."""
    pins = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str):
            name, _, version = entry.partition("=")
            pins[CONDA_TO_PIP.get(name, name).lower()] = version
    for name in NOT_FROM_PYPROJECT:
        pins.pop(name, None)
    return pins


@pytest.fixture(scope="module")
def pyproject_minimums():
    """{pip name: minimum version or None} of the runtime and dev dependencies."""
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {normalised_name(item): minimum_version(item) for item in requirements}


def normalised_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement)[0].lower().replace("_", "-")


def minimum_version(requirement: str) -> str | None:
    match = re.search(r">=\s*([0-9.]+)", requirement)
    return match[1] if match else None


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_only_the_conda_forge_channel(environment):
    assert environment["name"] == "ticketlab"
    assert environment["channels"] == ["conda-forge"]


def test_installs_python_pip_and_the_package_itself(environment):
    dependencies = environment["dependencies"]
    assert "python=3.11" in dependencies and "pip" in dependencies
    pip_sections = [entry["pip"] for entry in dependencies if isinstance(entry, dict)]
    assert pip_sections == [["-e ."]]


def test_every_package_is_pinned_to_major_minor(conda_pins):
    unpinned = {name: pin for name, pin in conda_pins.items() if not re.fullmatch(r"\d+\.\d+", pin)}
    assert not unpinned


def test_packages_match_pyproject(conda_pins, pyproject_minimums):
    assert set(conda_pins) == set(pyproject_minimums)


def test_pins_satisfy_pyproject_minimums(conda_pins, pyproject_minimums):
    too_old = {
        name: pin
        for name, pin in conda_pins.items()
        if pyproject_minimums.get(name) and version_tuple(pin) < version_tuple(pyproject_minimums[name])[:2]
    }
    assert not too_old
