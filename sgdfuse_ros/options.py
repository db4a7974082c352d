"""Parsing of option values shared by the CLI, the training tools and the configs (no heavy imports)."""

from __future__ import annotations


def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``: a comma-separated option's items, stripped, empties dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]
