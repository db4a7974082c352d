"""Diagnostic (ships nothing): what a contrast stretch of the output trades, on the validation set.

Each fusion (default: stage 1, GFF, Laplacian pyramid, the default pipeline) is scored plain and with the
refiner's contrast map (``diffusion.contrast``) fitted to its own output at each percentile pair, on the
validation frames (train split). Writes ``frontier.md`` / ``frontier.json``: the group means of the 9 metrics.

    .venv/bin/python scripts/contrast_frontier.py --out docs/results/contrast_frontier
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sgdfuse_ros.diffusion.contrast import ContrastStretch
from sgdfuse_ros.evaluation import markdown_table
from sgdfuse_ros.metrics import DEFAULT_METRICS
from sgdfuse_ros.options import split_list
from sgdfuse_ros.training.data import load_validation
from sgdfuse_ros.training.select import Fuse, candidate_fuse, group_means, group_sizes


def stretched(fuse: Fuse, low: float, high: float) -> Fuse:
    """``fuse`` followed by the contrast map fitted to its output (percentiles ``low`` / ``high``)."""
    def run(ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
        out = fuse(ir, vis).astype(np.float32) / 255
        return np.clip(np.round(ContrastStretch.fit(out, low, high)(out) * 255), 0, 255).astype(np.uint8)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="stage1,gff,laplacian,sgdfuse", help="comma-separated pipeline specs")
    parser.add_argument("--stretches", default="0.2/99.8,1/99", help="comma-separated low/high percentile pairs")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        stretches = [(float(low), float(high)) for low, high in (s.split("/") for s in split_list(args.stretches))]
    except ValueError:
        parser.error(f"--stretches: expected low/high percentile pairs such as 0.2/99.8, got {args.stretches!r}")
    for low, high in stretches:  # bad percentiles fail here, not after the first fusion has run
        ContrastStretch.fit(np.zeros((2, 2), np.float32), low, high)
    samples = load_validation()
    table: dict[str, dict[str, dict[str, float]]] = {}
    for method in split_list(args.methods):
        fuse = candidate_fuse(method)
        table[method] = group_means(fuse, samples)
        for low, high in stretches:
            table[f"{method} + stretch {low:g}/{high:g}"] = group_means(stretched(fuse, low, high), samples)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "frontier.json").write_text(json.dumps(table, indent=1))
    rows = {(f"{g} ({n} frames)", name): means[g] for g, n in group_sizes(samples).items()
            for name, means in table.items()}
    text = "# Contrast stretch of the output: validation set (train split), group means\n\n"
    text += markdown_table(rows, DEFAULT_METRICS)
    (args.out / "frontier.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
