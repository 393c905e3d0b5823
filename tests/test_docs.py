"""The README stays a newcomer's page and every file it links to exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_readme_fits_in_8_kb():
    assert README.stat().st_size <= 8 * 1024, "move detail to docs/ and link to it"


def test_every_local_link_in_the_readme_exists():
    links = re.findall(r"\]\(([^)#]+)\)", README.read_text())
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert local, "the README links to docs/ and CONTRIBUTING.md"
    assert [link for link in local if not (ROOT / link).exists()] == []
