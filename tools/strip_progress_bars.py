"""Remove finished progress bars from executed notebooks' stored outputs.

A tqdm bar in a Jupyter kernel is a widget; once training ends only a "0%" stub of it would be
stored, which tells a reader nothing. tests/test_notebooks.py checks that none is committed.
Usage: python tools/strip_progress_bars.py notebooks/*.ipynb
"""

import json
import re
import sys

PROGRESS_BAR = re.compile(r"\d+%\|.*\| \d+/\d+ \[")


def is_progress_bar(output: dict) -> bool:
    text = output.get("text") or output.get("data", {}).get("text/plain", "")
    return bool(PROGRESS_BAR.search("".join(text)))


for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    for cell in notebook["cells"]:
        if "outputs" in cell:
            cell["outputs"] = [o for o in cell["outputs"] if not is_progress_bar(o)]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(notebook, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
