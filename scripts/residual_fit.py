"""Diagnostic (ships nothing): how much of its pseudo-target's residual the refiner reproduces.

On validation frames (train split), with S the contrast map, F* the pseudo-target and F the pipeline's refined
luma, the target residual is r* = F* - S(I) and the network's r = F - S(I). Prints per frame the least-squares
slope of r on r* (1 = the full residual), their correlation and the mean horizontal gradient of S(I), F*, F.

    .venv/bin/python scripts/residual_fit.py [--pipeline SPEC] [--every 8]
"""

from __future__ import annotations

import argparse

import numpy as np

from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.training.data import load_validation
from sgdfuse_ros.training.refiner import TargetConfig, frame_target


def mean_dx(img: np.ndarray) -> float:
    return float(np.abs(np.diff(img, axis=1)).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="sgdfuse", help="a pipeline spec with the refiner to check")
    parser.add_argument("--every", type=int, default=8, help="every N-th validation clip frame (all pairs)")
    args = parser.parse_args()
    pipeline = pipeline_from_spec(args.pipeline)[1]
    target = TargetConfig(**pipeline.refiner.info["meta"]["diffusion"]["target"])  # the one it was trained on
    samples = load_validation()
    pairs = [s for s in samples if s.group == "pairs"]
    frames = [s for s in samples if s.group != "pairs"][::args.every]
    for s in pairs + frames:
        pair = pipeline.prepare(s.ir, s.vis)
        result = pipeline.fuse_prepared(pair)
        initial, refined, masks = result.initial_luma, result.luma, result.masks
        goal, _ = frame_target(target, pair.ir, pair.vis, initial, masks["ir"], masks["vis"])
        stretch = target.fit_stretch(initial)
        base = stretch(initial) if stretch else initial  # S(I); a refiner trained without the map: I
        r_goal, r_net = (goal - base).ravel(), (refined - base).ravel()
        slope = float(r_net @ r_goal / (r_goal @ r_goal))
        corr = float(np.corrcoef(r_net, r_goal)[0, 1])
        print(f"{s.name:28} slope {slope:.2f} corr {corr:.2f} |r*| {np.abs(r_goal).mean():.4f} "
              f"|r| {np.abs(r_net).mean():.4f} mean |dx|: S(I) {mean_dx(base):.4f} F* {mean_dx(goal):.4f} "
              f"F {mean_dx(refined):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
