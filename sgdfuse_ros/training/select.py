"""Model selection on the train split's validation set, by the evaluation's own criterion.

    python -m sgdfuse_ros.training.select runs/a/model.pt runs/b/model.pt --out docs/results/stage1_selection

Rule (it never looks at an evaluation set; history in docs/stage1.md): in each validation group
("pairs": held-out train pairs; "video": held-out frames of the train clips) count the 9 metrics on which
the candidate's group mean beats the ``average`` and ``gff`` baselines; the candidate with the most wins,
summed over groups and baselines, is selected; a tie goes to the better mean rank over the 9 metrics.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..images import to_gray_u8
from ..methods import build_method
from ..methods.learned import run_model
from ..metrics import DEFAULT_METRICS, compute_metrics
from .data import Sample, load_validation

BASELINES = ("average", "gff")
GroupMeans = dict[str, dict[str, float]]  # group -> metric -> mean


def group_means(fuse: Callable[[np.ndarray, np.ndarray], np.ndarray], samples: list[Sample]) -> GroupMeans:
    """Mean of each metric per validation group for a luma fusion function."""
    per_group: dict[str, list[dict[str, float]]] = {}
    for s in samples:
        fused = fuse(s.ir.astype(np.float32) / 255.0, s.vis.astype(np.float32) / 255.0)
        per_group.setdefault(s.group, []).append(compute_metrics(to_gray_u8(fused), s.ir, s.vis))
    return {g: {k: float(np.mean([r[k] for r in rs])) for k in DEFAULT_METRICS} for g, rs in per_group.items()}


def wins(candidate: GroupMeans, baseline: GroupMeans) -> int:
    """Metrics (summed over groups) on which ``candidate`` is strictly higher than ``baseline``."""
    return sum(candidate[g][k] > baseline[g][k] for g in candidate for k in DEFAULT_METRICS)


def mean_rank(name: str, table: dict[str, GroupMeans]) -> float:
    """Mean rank (1 = best) of ``name`` among the rows of ``table`` over every group and metric."""
    ranks = []
    for g in table[name]:
        for k in DEFAULT_METRICS:
            ranks.append(1 + sum(other[g][k] > table[name][g][k] for other in table.values()))
    return float(np.mean(ranks))


def choose(table: dict[str, GroupMeans], candidates: list[str]) -> tuple[dict[str, dict[str, object]], str]:
    """Apply the rule to a table holding the baselines and the candidates: (scores per candidate, chosen)."""
    scores: dict[str, dict[str, object]] = {
        c: {"wins": {b: wins(table[c], table[b]) for b in BASELINES}, "mean_rank": mean_rank(c, table)}
        for c in candidates}
    best = max(candidates, key=lambda c: (sum(scores[c]["wins"].values()), -scores[c]["mean_rank"]))
    return scores, best


def select(checkpoints: list[Path]) -> dict[str, object]:
    """Score the baselines and checkpoints on the validation set and apply the rule."""
    import torch

    from ..models import load_model

    samples = load_validation()
    table = {b: group_means(build_method(b), samples) for b in BASELINES}
    for path in checkpoints:
        model, _ = load_model(path)
        model.eval()
        table[str(path)] = group_means(lambda ir, vis, m=model: run_model(m, ir, vis, torch.device("cpu")), samples)
    scores, best = choose(table, [str(p) for p in checkpoints])
    groups = {g: sum(s.group == g for s in samples) for g in table[BASELINES[0]]}
    return {"rule": __doc__.split("Rule ", 1)[1].strip(), "groups": groups, "means": table, "scores": scores,
            "selected": best}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for selection.json")
    args = parser.parse_args(argv)
    result = select(args.checkpoints)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "selection.json").write_text(json.dumps(result, indent=1))
    for c, s in result["scores"].items():
        print(f"{c}: wins {s['wins']} mean rank {s['mean_rank']:.2f}")
    print(f"selected: {result['selected']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
