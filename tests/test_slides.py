"""Slide decks: built offline from slide metadata, with every script served from a local copy."""

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from ticketlab import cli
from ticketlab.course import slides
from ticketlab.errors import ConfigError, TicketlabError

REPO = Path(__file__).resolve().parent.parent
REMOTE = re.compile(
    r"""<(?:script|img|iframe)\b[^>]*\bsrc\s*=\s*["']?((?:https?:)?//[^"'\s>]+)"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?((?:https?:)?//[^"'\s>]+)"""
    r"""|url\(\s*["']?((?:https?:)?//[^"')\s]+)"""
    r"""|\bimport\b[^;]*?["']((?:https?:)?//[^"']+)""",
    re.IGNORECASE,
)
FIGURE_RED = (220, 20, 20)


def remote_resources(html: str) -> list[str]:
    """URLs a page would fetch from the internet (links a reader may click are fine)."""
    return [next(url for url in match if url) for match in REMOTE.findall(html)]


class SectionCounter(HTMLParser):
    """Counts reveal.js slides: nbconvert nests each slide's sub-slides in an outer <section>."""

    def __init__(self):
        super().__init__()
        self.depth, self.outer, self.inner = 0, 0, 0

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.depth += 1
            self.outer += self.depth == 1
            self.inner += self.depth == 2

    def handle_endtag(self, tag):
        if tag == "section":
            self.depth -= 1


def count_sections(html: str) -> tuple[int, int]:
    counter = SectionCounter()
    counter.feed(html)
    return counter.outer, counter.inner


def _cell(cell, slide_type):
    cell.metadata["slideshow"] = {"slide_type": slide_type}
    return cell


def _red_figure_png() -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(["dense", "ticket"], [97.5, 98.1], color=[c / 255 for c in FIGURE_RED])
    ax.set(title="Test accuracy at early stop", ylabel="accuracy (%)")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def demo_notebook() -> nbformat.NotebookNode:
    """Three horizontal slides, four slides in all (one sub-slide), a fragment, a skipped and a
    removed cell, speaker notes, inline math, a figure whose code is hidden and a folded cell."""
    figure = new_code_cell(
        "plot_accuracy()",
        outputs=[new_output("display_data", data={"image/png": _red_figure_png()})],
        metadata={"tags": ["hide-input"]},
    )
    return new_notebook(
        cells=[
            _cell(new_markdown_cell("# Lottery tickets\nA ticket is $m \\odot \\theta_0$."), "slide"),
            _cell(new_markdown_cell("- appears on a click"), "fragment"),
            _cell(
                new_markdown_cell(
                    "## Iterative magnitude pruning\nTrain $f(x; m \\odot \\theta)$ from $\\theta_0$ to "
                    "$\\theta_j$, keep the largest $p\\%$ of $|\\theta_j|$ in $m$, reset to "
                    "$m \\odot \\theta_0$; repeat until $\\lVert m \\rVert_0 \\ll |\\theta|$."
                ),
                "subslide",
            ),
            _cell(new_code_cell("SKIPPED_SETUP = 1"), "skip"),
            _cell(new_code_cell("REMOVED_BY_TAG = 1", metadata={"tags": ["remove-cell"]}), "-"),
            _cell(new_markdown_cell("Speaker: mention Frankle & Carbin 2019."), "notes"),
            _cell(figure, "slide"),
            _cell(new_markdown_cell("The ticket beats the dense network."), "-"),
            _cell(
                new_code_cell(
                    "print_folded_result()",
                    metadata={"jupyter": {"source_hidden": True}},
                    outputs=[new_output("stream", name="stdout", text="FOLDED_OUTPUT\n")],
                ),
                "-",
            ),
            _cell(new_markdown_cell("# Summary"), "slide"),
            _cell(new_markdown_cell("<details><summary>Hint</summary>\n\nRank by **|w|**.\n\n</details>"), "-"),
        ]
    )


def _require_reveal() -> None:
    """Without npm the slides command cannot install reveal.js, so a build cannot be tested."""
    if shutil.which("npm") is None and not (REPO / "node_modules" / "reveal.js").is_dir():
        pytest.skip("reveal.js is not installed and npm is missing (install Node.js, then `npm install`)")


def _build(notebooks: Path, out: Path) -> list[Path]:
    _require_reveal()
    return slides.build_decks(notebooks, out)


@pytest.fixture(scope="module")
def demo_deck(tmp_path_factory) -> Path:
    notebooks = tmp_path_factory.mktemp("notebooks")
    nbformat.write(demo_notebook(), notebooks / "01_demo.ipynb")
    (deck,) = _build(notebooks, tmp_path_factory.mktemp("slides"))
    return deck


def test_deck_has_one_section_per_slide_and_keeps_notes(demo_deck):
    html = demo_deck.read_text(encoding="utf-8")
    assert demo_deck.name == "01_demo.html"
    assert count_sections(html) == (3, 4)
    assert html.count('class="fragment"') == 1
    assert re.search(r'<aside class="notes">.*?Speaker: mention Frankle', html, re.DOTALL)
    assert "SKIPPED_SETUP" not in html and "REMOVED_BY_TAG" not in html


def test_figure_slide_shows_the_figure_without_its_code(demo_deck):
    html = demo_deck.read_text(encoding="utf-8")
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) == 1
    assert "plot_accuracy" not in html
    assert "In&nbsp;[" not in html and "In [" not in html


def test_hints_stay_collapsed_in_the_deck(demo_deck):
    html = demo_deck.read_text(encoding="utf-8")
    assert re.search(r"<details><summary>Hint</summary>\s*<p>Rank by <strong>\|w\|</strong>.</p>\s*</details>", html)


def test_code_folded_in_jupyterlab_shows_only_its_output(demo_deck):
    html = demo_deck.read_text(encoding="utf-8")
    assert "FOLDED_OUTPUT" in html
    assert "print_folded_result" not in html


def test_slide_changes_queue_mathjax_instead_of_racing_it(demo_deck):
    html = demo_deck.read_text(encoding="utf-8")
    assert slides.RERENDER_QUEUED in html
    assert "MathJax.Hub.Rerender(" not in html, "a direct re-typesetting call races with MathJax's own"


def test_deck_loads_no_script_from_the_internet(demo_deck):
    html = demo_deck.read_text(encoding="utf-8")
    assert remote_resources(html) == []
    assert not re.search(r"<script[^>]*src=[\"']?https?:", html)
    assert '<script src="reveal.js/require.js">' in html


def test_local_scripts_the_deck_names_exist(demo_deck):
    html = demo_deck.read_text(encoding="utf-8")
    local = re.findall(r"""(?:src|href)=["'](reveal\.js/[^"'?]+)""", html)
    local += re.findall(r'"(reveal\.js/[^"]+\.js)"', html)  # the modules RequireJS loads
    assert {
        "reveal.js/dist/reveal.js",
        "reveal.js/plugin/notes/notes.js",
        "reveal.js/dist/theme/white.css",
        "reveal.js/mathjax/MathJax.js",
    } <= set(local)
    assert all((demo_deck.parent / path).is_file() for path in local)


def test_remote_resource_finder_catches_cdn_scripts():
    page = (
        '<script src="https://cdn.example/require.js"></script><link rel="stylesheet" href="//cdn.example/a.css">'
        "<style>@font-face { src: url('https://fonts.example/f.woff') }</style>"
        '<script type="module">import mermaid from "https://cdn.example/mermaid.mjs";</script>'
        '<a href="https://arxiv.org/abs/1803.03635">paper</a><script src="reveal.js/require.js"></script>'
    )
    assert remote_resources(page) == [
        "https://cdn.example/require.js",
        "//cdn.example/a.css",
        "https://fonts.example/f.woff",
        "https://cdn.example/mermaid.mjs",
    ]


def test_empty_notebook_folder_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match="no notebooks"):
        slides.build_decks(tmp_path, tmp_path / "out")
    assert cli.main(["slides", "--notebooks", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_missing_reveal_without_npm_says_run_npm_install(tmp_path, monkeypatch):
    monkeypatch.setattr(slides, "REPO_ROOT", tmp_path)
    with pytest.raises(TicketlabError, match="run `npm install`"):
        slides.node_modules()


def test_cli_writes_a_deck_per_notebook(tmp_path, capsys):
    nbformat.write(demo_notebook(), tmp_path / "02_more.ipynb")
    nbformat.write(demo_notebook(), tmp_path / "01_first.ipynb")
    _require_reveal()
    assert cli.main(["slides", "--notebooks", str(tmp_path), "--out", str(tmp_path / "decks")]) == 0
    assert sorted(p.name for p in (tmp_path / "decks").glob("*.html")) == ["01_first.html", "02_more.html"]
    assert "wrote" in capsys.readouterr().out


COURSE_NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.skipif(not COURSE_NOTEBOOKS, reason="no course notebooks yet")
def test_course_notebooks_build_into_offline_decks(tmp_path):
    decks = _build(REPO / "notebooks", tmp_path)
    assert [d.stem for d in decks] == [n.stem for n in COURSE_NOTEBOOKS]
    for deck in decks:
        html = deck.read_text(encoding="utf-8")
        assert count_sections(html)[1] >= 5, f"{deck.name} has fewer than 5 slides"
        assert remote_resources(html) == [], f"{deck.name} loads resources from the internet"
        assert not re.findall(r'<img[^>]*src="(?!data:)', html), (
            f"{deck.name} links an image file; paste it into the cell"
        )


CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=5000",
]


def _chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "profile"
    run = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_figure_slide_renders_in_headless_chromium(demo_deck, tmp_path):
    import numpy as np
    from PIL import Image

    figure_slide = f"{demo_deck.as_uri()}#/1"
    dom = _chromium(tmp_path, "--dump-dom", figure_slide)
    assert re.search(r'class="reveal [^"]*\bready\b', dom), "reveal.js did not start (local copy not loaded?)"
    assert "MJXc-" in dom, "MathJax did not typeset the formula"
    shot = tmp_path / "slide.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,720", figure_slide)
    r, g, b = np.asarray(Image.open(shot).convert("RGB")).astype(int).transpose(2, 0, 1)
    red = int(((r > 180) & (g < 80) & (b < 80)).sum())
    assert red > 5000, "the figure's red bars are not on the screenshot"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_formulas_of_a_slide_opened_directly_show_once(demo_deck, tmp_path):
    """Opening a deck at a slide changes slides while MathJax is still typesetting; nbconvert's
    direct re-typesetting then drew formulas twice in about half the loads. Every load must
    look the same (four loads: a direct call doubles about half of them, so it rarely passes)."""
    import numpy as np
    from PIL import Image

    shots = []
    for attempt in range(4):
        shot = tmp_path / f"load{attempt}.png"
        _chromium(
            tmp_path / f"profile{attempt}",
            f"--screenshot={shot}",
            "--window-size=1280,720",
            f"{demo_deck.as_uri()}#/0/1",
        )
        # the slide's content only: reveal.js animates its progress bar and arrows on its own clock
        shots.append(np.asarray(Image.open(shot).convert("L"))[20:620])
    assert (shots[0] < 128).sum() > 500, "the slide's text is not on the screenshot"
    assert all(np.array_equal(shot, shots[0]) for shot in shots[1:]), "the slide looked different between loads"
