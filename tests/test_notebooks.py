"""The committed notebooks: each pairs with its jupytext twin and was committed after a clean run
(no error, no warning, no path of the machine that ran it in any output)."""

import json
import re
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
PROGRESS_BAR = re.compile(r"\d+%\|.*\| \d+/\d+ \[")
ABSOLUTE_PATH = re.compile(r"(/root/|/home/|/work/|/Users/|/tmp/|[A-Z]:\\\\)")


def outputs(path):
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        for output in cell.get("outputs", []):
            yield index, output


def text_of(output) -> str:
    if "text" in output:
        return "".join(output["text"])
    data = output.get("data", {})
    return "".join(data.get("text/plain", "")) + "".join(data.get("text/html", ""))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_and_its_py_twin_hold_the_same_cells(path):
    twin = jupytext.read(path.with_suffix(".py"))
    notebook = jupytext.read(path)
    assert [c.source for c in notebook.cells] == [c.source for c in twin.cells]
    assert [c.cell_type for c in notebook.cells] == [c.cell_type for c in twin.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_was_committed_after_a_clean_run(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), "a code cell was never run"
    for index, output in outputs(path):
        assert output["output_type"] != "error", f"cell {index} stored an error"
        text = text_of(output)
        if output.get("name") == "stderr":
            assert "Warning" not in text, f"cell {index} stored a warning: {text[:200]}"
        assert not ABSOLUTE_PATH.search(text), f"cell {index} shows a path of the machine that ran it: {text[:200]}"
        assert not PROGRESS_BAR.search(text), (
            f"cell {index} stored a progress bar (run with TQDM_DISABLE=1): {text[:80]}"
        )


EXERCISE = re.compile(r"^# (?:\*\*\d+\. |### Exercise \d+|### Project \d+)", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_has_a_collapsed_solution(path):
    source = path.with_suffix(".py").read_text()
    starts = [m.start() for m in EXERCISE.finditer(source)]
    assert starts, "no exercises found: the exercise headings changed, update EXERCISE"
    ends = starts[1:] + [source.index("## Bibliography", starts[-1])]
    for start, end in zip(starts, ends):
        title = source[start : source.index("\n", start)]
        assert "<details><summary>Solution</summary>" in source[start:end], f"no solution for {title}"
