"""Published reference numbers (a Markdown table such as ``shared/PEERS.md``) beside our own means.

The file is read as text: a header row with a ``method`` column and metric columns, and before it a column
with the set, e.g. ``msrs_test (160)`` (a blank cell: the set of the row above; what follows the first space
is dropped). ``compare`` writes, per evaluated set, the published rows next to ours (best of each column in
bold) and, for each of our methods, the metrics on which its mean beats each published method.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from . import MEDIAN, markdown_table

Means = dict[tuple[str, str], dict[str, float]]  # (dataset, method) -> metric -> value
_RULE = re.compile(r"^:?-+:?$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _number(cell: str) -> float | None:
    """A numeric cell (bold allowed) -> its value; the set/method cells or a missing value -> None."""
    try:
        return float(cell.strip("*"))
    except ValueError:
        return None


def read_published(path: str | Path) -> Means:
    """Every row of every Markdown table in ``path`` that has a ``method`` column -> (set, method) -> values."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"published results file not found: {path}")
    table: Means = {}
    header: list[str] = []
    dataset = ""
    for line in path.read_text().splitlines():
        if not line.lstrip().startswith("|"):
            header = []  # a table ends at the first line that is not a row
            continue
        cells = _cells(line)
        if "method" in (c.lower() for c in cells):
            header = [c.lower() if c.lower() == "method" else c for c in cells]
            dataset = ""  # a new table names its own sets
            continue
        if not header or all(_RULE.match(c) for c in cells) or len(cells) != len(header):
            continue
        m = header.index("method")
        if m > 0 and cells[0]:
            dataset = cells[0].split()[0]
        values = {n: v for n, c in zip(header, cells, strict=True) if (v := _number(c)) is not None}
        if dataset and values:
            table[(dataset, cells[m])] = values
    if not table:
        raise ConfigError(f"{path}: no Markdown table with a 'method' column and numeric metric columns")
    return table


def wins(ours: dict[str, float], theirs: dict[str, float], names: Sequence[str]) -> list[str]:
    """The metrics (higher is better) on which ``ours`` is strictly above ``theirs``, of those both give."""
    return [n for n in names if n in ours and n in theirs and ours[n] > theirs[n]]


def compare(means: Means, published: Means, names: Sequence[str]) -> str:
    """Markdown: per evaluated set, published rows + ours side by side, then each of ours' wins per method."""
    parts: list[str] = []
    for dataset in dict.fromkeys(d for d, _ in means):
        refs = {m: v for (d, m), v in published.items() if d == dataset}
        if not refs:
            parts.append(f"### {dataset}\n\nNo published numbers for this set.\n")
            continue
        shown = [n for n in names if all(n in v for v in refs.values())]  # the metrics compared
        rows = {(dataset, f"{m} (published)"): v for m, v in refs.items()}
        rows.update({k: v for k, v in means.items() if k[0] == dataset})
        extra = [n for n in names if n not in shown and n.endswith(MEDIAN)]  # ours only (NR med): a dash there
        lines = [markdown_table(rows, [*shown, *extra])]
        for (d, method), ours in means.items():
            if d != dataset:
                continue
            for ref, theirs in refs.items():
                won = wins(ours, theirs, shown)
                lines.append(f"- {method} vs {ref}: **{len(won)} of {len(shown)}** ({', '.join(won) or 'none'})")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)
