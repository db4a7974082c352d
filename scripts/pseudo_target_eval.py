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
from pathlib import Path

import numpy as np

from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.evaluation import evaluate
from sgdfuse_ros.evaluation.published import compare, read_published
from sgdfuse_ros.images import PreparedPair
from sgdfuse_ros.metrics import DEFAULT_METRICS
from sgdfuse_ros.options import split_list
from sgdfuse_ros.pipeline import FusionPipeline
from sgdfuse_ros.training.refiner import TargetConfig, frame_target
from sgdfuse_ros.training.select import Fuse, candidate_fuse, pipeline_fuse, report, select


class PseudoTargetRefiner:
    """A refiner that returns the training target (on the contrast-normalised images), as the student's output."""

    def __init__(self, target: TargetConfig | None = None) -> None:
        self.target = target or TargetConfig()

    def __call__(self, pair: PreparedPair, initial: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
        zeros = np.zeros_like(initial)
        target, _ = frame_target(self.target, pair.ir, pair.vis, initial, masks.get("ir", zeros),
                                 masks.get("vis", zeros))
        return target.astype(np.float32)


def target_pipeline(target: TargetConfig) -> FusionPipeline:
    pipeline = pipeline_from_spec("sgdfuse")[1]  # stage 1 + offline masks; its refiner is replaced
    pipeline.refiner = PseudoTargetRefiner(target)
    return pipeline


def validation(variants: list[str], baselines: tuple[str, ...]) -> dict[str, object]:
    """The rule of ``training.select`` over target variants, named by their changes ("default": none)."""
    changes = {v or "default": v for v in variants}

    def fuse_for(name: str) -> Fuse:
        if name not in changes:  # a baseline
            return candidate_fuse(name)
        return pipeline_fuse(target_pipeline(TargetConfig().with_changes(changes[name])))

    return select(list(changes), baselines, fuse_for)


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
        report(result, args.out)
        return 0
    if len(variants) > 1:
        parser.error("evaluation sets take one variant")
    pipeline = target_pipeline(TargetConfig().with_changes(variants[0]))
    result = evaluate({"pseudo-target": pipeline}, split_list(args.datasets), DEFAULT_METRICS)
    print(compare(result.means(), read_published(args.published), DEFAULT_METRICS))
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
