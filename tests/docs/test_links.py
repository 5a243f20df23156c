"""Every relative link of the README and of docs/ points at a file or folder of the tree."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def pages():
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def broken_links(page):
    targets = (match.group(1) for match in LINK.finditer(page.read_text()))
    relative = (t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t))
    return [target for target in relative if target and not (page.parent / target).exists()]


def test_the_pages_link_each_other():
    assert len(pages()) > 5  # the README and the docs were found


def test_every_relative_link_resolves():
    broken = {page.relative_to(ROOT): broken_links(page) for page in pages()}
    broken = {page: links for page, links in broken.items() if links}
    assert not broken, f"links to missing files (fix the path or add the file): {broken}"
