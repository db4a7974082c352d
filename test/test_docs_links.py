"""The README and docs/ stay navigable and small: every relative link and every cited repository path resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
DOCS_MAX_BYTES = 5_000_000

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
# a repository path cited as code, e.g. `docs/results/stage1/` or `sgdfuse_ros/stream/sync.py:PairSync`;
# patterns such as `scripts/train_*.sh` are not checked
CITED_PATH = re.compile(r"`((?:config|docs|launch|samples|scripts|sgdfuse_ros|test)/[^`\s*{}<>:]+)(?::\w+)?`")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+\s+(.+?)\s*$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def broken_links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading #{anchor})")
    broken += [f"`{p}` (no such path)" for p in CITED_PATH.findall(text) if not (ROOT / p).exists()]
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_broken_link_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# A heading\n")
    page.write_text("[ok](there.md#a-heading) [gone](missing.md) [bad](there.md#nope) `docs/no/such/file.md`\n"
                    "`sgdfuse_ros/moved.py:Thing` `scripts/train_*.sh` `test/test_docs_links.py:broken_links`\n")
    assert broken_links(page) == ["missing.md (no such file)", "there.md#nope (no heading #nope)",
                                  "`docs/no/such/file.md` (no such path)", "`sgdfuse_ros/moved.py` (no such path)"]


def test_docs_size() -> None:
    size = sum(f.stat().st_size for f in DOCS.rglob("*") if f.is_file())
    assert size <= DOCS_MAX_BYTES, f"docs/ is {size / 1e6:.1f} MB, over {DOCS_MAX_BYTES / 1e6:.0f} MB"
