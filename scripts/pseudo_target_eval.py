"""Diagnostic (ships nothing): score the refiner's training target itself, in place of the network.

The pseudo-target (docs/refiner.md) is computed from the frame alone, so it can be run in place of the network:
how the default pipeline would score if the student reproduced its target exactly.

    # evaluation sets, compared with a published-results table (default ../shared/PEERS.md)
    .venv/bin/python scripts/pseudo_target_eval.py [--datasets msrs_test,roadscene] [--published FILE]
    # validation set (train split): target variants against stage 1 and GFF, by training.select's rule
    .venv/bin/python scripts/pseudo_target_eval.py --validation --variant stretch_high=99.9 --variant lam=0.2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.evaluation import evaluate
from sgdfuse_ros.images import PreparedPair
from sgdfuse_ros.metrics import DEFAULT_METRICS
from sgdfuse_ros.metrics import to_gray_u8 as matlab_gray
from sgdfuse_ros.options import split_list
from sgdfuse_ros.published import compare, read_published
from sgdfuse_ros.training.data import load_validation
from sgdfuse_ros.training.refiner import TargetConfig, frame_target
from sgdfuse_ros.training.select import candidate_fuse, choose, group_means


class PseudoTargetRefiner:
    """A refiner that returns the training target (on the contrast-normalised images), as the student's output."""

    def __init__(self, target: TargetConfig | None = None) -> None:
        self.target = target or TargetConfig()

    def __call__(self, pair: PreparedPair, initial: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
        zeros = np.zeros_like(initial)
        target, _ = frame_target(self.target, pair.ir, pair.vis, initial, masks.get("ir", zeros),
                                 masks.get("vis", zeros))
        return target.astype(np.float32)


def target_pipeline(target: TargetConfig):
    pipeline = pipeline_from_spec("sgdfuse")[1]  # stage 1 + offline masks; its refiner is replaced
    pipeline.refiner = PseudoTargetRefiner(target)
    return pipeline


def target_fuse(target: TargetConfig):
    pipeline = target_pipeline(target)
    return lambda ir, vis: matlab_gray(pipeline(ir, vis).fused)


def validation(variants: list[str], baselines: tuple[str, ...]) -> dict[str, object]:
    """The rule of ``training.select`` over target variants (the table holds the baselines and every variant)."""
    samples = load_validation()
    table = {b: group_means(candidate_fuse(b), samples) for b in baselines}
    table |= {v or "default": group_means(target_fuse(TargetConfig().with_changes(v)), samples) for v in variants}
    scores, best = choose(table, [v or "default" for v in variants], baselines)
    return {"baselines": list(baselines), "means": table, "scores": scores, "selected": best}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="msrs_test,roadscene")
    parser.add_argument("--published", default="../shared/PEERS.md")
    parser.add_argument("--validation", action="store_true", help="score on the validation set instead")
    parser.add_argument("--variant", action="append", default=None,
                        help="TargetConfig changes, key=value[,key=value] (repeatable; '' = the default)")
    parser.add_argument("--baselines", default="stage1,gff", help="validation baselines (pipeline specs)")
    parser.add_argument("--out", type=Path, help="validation: folder for selection.json")
    args = parser.parse_args()
    variants = args.variant or [""]
    if args.validation:
        result = validation(variants, tuple(split_list(args.baselines)))
        for name, groups in result["means"].items():
            for group, means in groups.items():
                print(f"{name:40.40} {group:6} " + " ".join(f"{k} {v:.4g}" for k, v in means.items()))
        for name, s in result["scores"].items():
            print(f"{name}: wins {s['wins']} mean rank {s['mean_rank']:.2f}")
        print(f"selected: {result['selected']}")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "selection.json").write_text(json.dumps(result, indent=1))
        return 0
    if len(variants) > 1:
        parser.error("evaluation sets take one variant")
    pipeline = target_pipeline(TargetConfig().with_changes(variants[0]))
    result = evaluate({"pseudo-target": pipeline}, split_list(args.datasets), DEFAULT_METRICS)
    print(compare(result.means(), read_published(args.published), DEFAULT_METRICS))
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
