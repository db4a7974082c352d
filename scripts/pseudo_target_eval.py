"""Diagnostic (ships nothing, chooses nothing): score the refiner's training target itself on evaluation sets.

The pseudo-target (docs/refiner.md) is computed from the frame alone, so it can be run in place of the network:
how the default pipeline would score if the student reproduced its target exactly. Prints the comparison with
a published-results table (default ../shared/PEERS.md).

    .venv/bin/python scripts/pseudo_target_eval.py [--datasets msrs_test,roadscene] [--published FILE]
"""

from __future__ import annotations

import argparse

import numpy as np

from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.evaluation import evaluate
from sgdfuse_ros.images import PreparedPair
from sgdfuse_ros.metrics import DEFAULT_METRICS
from sgdfuse_ros.published import compare, read_published
from sgdfuse_ros.training.refiner import TargetConfig, frame_target


class PseudoTargetRefiner:
    """A refiner that returns the training target (on the contrast-normalised images), as the student's output."""

    def __init__(self, target: TargetConfig | None = None) -> None:
        self.target = target or TargetConfig()

    def __call__(self, pair: PreparedPair, initial: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
        zeros = np.zeros_like(initial)
        target, _ = frame_target(self.target, pair.ir, pair.vis, initial, masks.get("ir", zeros),
                                 masks.get("vis", zeros))
        return target.astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="msrs_test,roadscene")
    parser.add_argument("--published", default="../shared/PEERS.md")
    args = parser.parse_args()
    pipeline = pipeline_from_spec("sgdfuse")[1]  # stage 1 + offline masks; its refiner is replaced
    pipeline.refiner = PseudoTargetRefiner()
    result = evaluate({"pseudo-target": pipeline}, args.datasets.split(","), DEFAULT_METRICS)
    print(compare(result.means(), read_published(args.published), DEFAULT_METRICS))
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
