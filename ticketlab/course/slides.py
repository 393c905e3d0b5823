"""Offline HTML slide decks of the course notebooks (lecture mode).

nbconvert's reveal.js exporter turns each notebook into one HTML deck, using the slide
metadata of its cells. A lecture hall may have no internet, so every script a deck loads
(reveal.js, RequireJS, jQuery, MathJax 2) is copied from ``node_modules/`` (the npm packages
pinned in ``package-lock.json``) into ``<out>/reveal.js/`` and referenced by a relative URL;
the parts of nbconvert's template that would fetch code from a CDN (mermaid diagrams, the
ipywidgets renderer) are left out. The output folder is self-contained: copy it anywhere and
open a deck in a browser.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ConfigError, TicketlabError
from ..files import writable_folder

HELP = "build offline HTML slide decks of the notebooks"
REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS = "reveal.js"  # folder next to the decks that holds the scripts; reveal's URL prefix

# (npm package, path inside it, destination inside <out>/reveal.js/)
VENDORED = (
    ("reveal.js", "dist", "dist"),
    ("reveal.js", "plugin", "plugin"),
    ("requirejs", "require.js", "require.js"),
    ("jquery", "dist/jquery.min.js", "jquery.min.js"),
)
# What nbconvert's MathJax configuration (TeX in, CommonHTML out) loads: the whole package is
# 73 MB, mostly fonts and output formats a deck never uses.
MATHJAX_PARTS = (
    "MathJax.js",
    "config/TeX-AMS_CHTML-full.js",
    "extensions",
    "jax/input/TeX",
    "jax/element",
    "jax/output/CommonHTML",
    "fonts/HTML-CSS/TeX/woff",
    "localization/en",
)
NPM_PACKAGES = ("reveal.js", "requirejs", "jquery", "mathjax")

# Cell tags for notebook authors: a figure slide shows the figure, not the code that drew it.
HIDE_INPUT_TAGS = ("hide-input", "remove-input")
REMOVE_CELL_TAGS = ("remove-cell",)

# nbconvert's deck re-typesets the current slide on every slide change by calling MathJax
# directly. When that happens while MathJax is still typesetting the page (a deck opened at a
# slide, or slides changed quickly), both write their output and formulas show twice: half the
# loads of notebook 02 at its second sub-slide did in headless Chromium. Queued behind MathJax's
# own work, the re-typesetting cannot race with it (0 of 24 loads).
RERENDER_DIRECT = "MathJax.Hub.Rerender(Reveal.getCurrentSlide());"
RERENDER_QUEUED = 'MathJax.Hub.Queue(["Rerender", MathJax.Hub, Reveal.getCurrentSlide()]);'

# nbconvert's reveal template without the blocks that import code from a CDN: mermaid (the
# course draws its diagrams with matplotlib) and the widget renderer (a static deck has no kernel).
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="slides/", help="folder for the decks and their scripts (default slides/)")
    parser.add_argument("--notebooks", default="notebooks/", help="folder of the .ipynb notebooks (default notebooks/)")


def main(args: argparse.Namespace) -> int:
    decks = build_decks(args.notebooks, args.out)
    for deck in decks:
        print(f"wrote {deck}")
    print("open a deck in a browser (no internet needed): S opens the speaker notes, F goes full screen")
    return 0


def build_decks(notebooks_dir, out_dir) -> list[Path]:
    """One ``<out>/<notebook>.html`` deck per ``*.ipynb`` (cells marked "skip" left out),
    plus the local scripts in ``<out>/reveal.js/``; returns the decks' paths."""
    notebooks = sorted(Path(notebooks_dir).glob("*.ipynb"))
    if not notebooks:
        raise ConfigError(
            f"no notebooks (*.ipynb) in {notebooks_dir}; give the folder that holds them, e.g. --notebooks notebooks/"
        )
    exporter = _exporter()
    out = writable_folder(out_dir)
    copy_scripts(out / ASSETS)
    decks = []
    for notebook in notebooks:
        resources = {"metadata": {"name": notebook.stem, "path": str(notebook.parent)}}
        body, _ = exporter.from_notebook_node(_read_for_slides(notebook), resources=resources)
        deck = out / f"{notebook.stem}.html"
        deck.write_text(body.replace(RERENDER_DIRECT, RERENDER_QUEUED), encoding="utf-8")
        decks.append(deck)
    return decks


def _read_for_slides(path: Path):
    """The notebook, with code folded in JupyterLab (View > Collapse Selected Code) tagged
    ``hide-input``: what is folded when presenting live is hidden in the deck too."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("jupyter", {}).get("source_hidden"):
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), HIDE_INPUT_TAGS[0]]
    return notebook


def copy_scripts(target: Path) -> None:
    """Copy reveal.js, RequireJS, jQuery and the needed parts of MathJax into ``target``."""
    modules = node_modules()
    mathjax = tuple(("mathjax", part, f"mathjax/{part}") for part in MATHJAX_PARTS)
    for package, source, destination in VENDORED + mathjax:
        _copy(modules / package / source, target / destination)


def node_modules() -> Path:
    """The npm packages the decks need, installed with ``npm ci`` on first use."""
    modules = REPO_ROOT / "node_modules"
    if all((modules / package).is_dir() for package in NPM_PACKAGES):
        return modules
    missing = f"reveal.js and friends are not in {modules}: run `npm install` in {REPO_ROOT} (once, online)"
    npm = shutil.which("npm")
    if npm is None or not (REPO_ROOT / "package-lock.json").is_file():
        raise TicketlabError(missing)
    print(f"installing the slide scripts from the npm registry into {modules} (once) ...", file=sys.stderr, flush=True)
    installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=REPO_ROOT, capture_output=True, text=True)
    if installed.returncode != 0:
        last_line = (installed.stderr.strip().splitlines() or ["no output"])[-1]
        raise TicketlabError(f"`npm ci` failed ({last_line}); {missing}")
    return modules


def _exporter():
    """nbconvert's reveal.js exporter with every script URL pointing into ``reveal.js/``."""
    try:
        from nbconvert import SlidesExporter
        from traitlets.config import Config
    except ImportError:
        raise TicketlabError("nbconvert is not installed: run `pip install -e '.[dev]'` (or `make venv`)") from None
    tags = Config(
        {
            "TagRemovePreprocessor": {
                "enabled": True,
                "remove_cell_tags": set(REMOVE_CELL_TAGS),
                "remove_input_tags": set(HIDE_INPUT_TAGS),
            }
        }
    )
    return SlidesExporter(
        config=tags,
        raw_template=OFFLINE_TEMPLATE,
        exclude_input_prompt=True,  # "In [3]:" is noise on a slide
        exclude_output_prompt=True,
        reveal_url_prefix=ASSETS,
        reveal_theme="white",  # the themes that import Google Fonts would need the internet
        require_js_url=f"{ASSETS}/require.js",
        jquery_url=f"{ASSETS}/jquery.min.js",
        mathjax_url=f"{ASSETS}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        # embed_images stays off: it re-parses Markdown's HTML blocks and closes <details> early
        # (jupyter/nbconvert#2020); images pasted into a Markdown cell (attachments) are embedded anyway.
    )


def _copy(source: Path, destination: Path) -> None:
    if not source.exists():
        raise TicketlabError(f"{source} is missing: run `npm ci` in {REPO_ROOT} to reinstall the slide scripts")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        shutil.copy2(source, destination)
