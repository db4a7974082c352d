"""Write a copy of a checkpoint with its output options set (same weights, new model config or diffusion meta).

    .venv/bin/python scripts/output_options.py sgdfuse_ros/weights/refiner_student.pt runs/student_b3.pt \
        --bound-radius 3 --base-radius 7
    .venv/bin/python scripts/output_options.py sgdfuse_ros/weights/stage1.pt runs/coring/s1_f05_m13_b3.pt \
        --detail-gains 0.5,1.3 --bound-radius 3

Refiner checkpoints (docs/refiner.md, "Bounded output"): --bound-radius R clamps the refined luma to [min, max]
of [initial, IR, VIS] over a (2R+1)^2 window (no rim or halo beyond the sources); --base-radius R makes the
contrast stretch map the (2R+1)^2 base layer only, the detail keeping gain 1 (no global stretch of the grain);
--detail-snr K (with --base-radius) gives the detail the map's slope where it stands K noise sigmas above the grain;
--detail-mask-radius R (with --base-radius) gives it inside the IR mask grown by R (the thermal targets' outlines);
--source-bound-radius R clamps the final refined luma to [min, max] of the raw IR and VIS over a (2R+1)^2 window;
--no-residual (a diagnostic, not an option to ship) zeroes the head's output convolution, so the refiner outputs
its contrast map of the initial fusion alone: what the tone map does without the network.
Stage-1 blend checkpoints (docs/stage1.md, "Issue 22, third round"): --detail-gains a fixed gain for each detail
layer (fine, mid) in place of the learned per-pixel gains; --bound-radius R clamps the output to [min, max] of
IR and VIS over a (2R+1)^2 window; --weight-sharpness the base weight's prior sharpness apart from the detail
choices' (docs/stage1.md, "Issue 22, fourth round"). 0 turns a radius off.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from sgdfuse_ros.models.build import read_checkpoint


def set_refiner(ckpt: dict[str, Any], args: argparse.Namespace) -> str:
    diffusion = ckpt["meta"]["diffusion"]
    diffusion["bound_radius"] = args.bound_radius
    diffusion["source_bound_radius"] = args.source_bound_radius
    if diffusion.get("stretch"):
        diffusion["stretch"]["base_radius"] = args.base_radius
        diffusion["stretch"]["detail_snr"] = args.detail_snr
        diffusion["stretch"]["detail_mask_radius"] = args.detail_mask_radius
    if args.no_residual:  # tanh(0) = 0: a zero residual over the contrast-normalised initial fusion
        for key in ("head.out.weight", "head.out.bias"):
            ckpt["state_dict"][key].zero_()
    return (f"bound_radius {args.bound_radius}, source_bound_radius {args.source_bound_radius}, "
            f"base_radius {args.base_radius}, detail_snr {args.detail_snr}, "
            f"detail_mask_radius {args.detail_mask_radius}"
            f"{', no residual' if args.no_residual else ''}")


def set_stage1(ckpt: dict[str, Any], args: argparse.Namespace) -> str:
    if ckpt["config"].get("output") != "blend":
        raise SystemExit(f"{args.src}: stage 1 options need a blend-output checkpoint")
    ckpt["config"]["detail_gains"] = args.detail_gains
    ckpt["config"]["bound_radius"] = args.bound_radius
    if args.weight_sharpness is not None:
        ckpt["config"]["weight_sharpness"] = args.weight_sharpness
    return (f"detail_gains {args.detail_gains}, bound_radius {args.bound_radius}, "
            f"weight_sharpness {ckpt['config'].get('weight_sharpness')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--bound-radius", type=int, default=0)
    parser.add_argument("--base-radius", type=int, default=0, help="refiner only")
    parser.add_argument("--detail-snr", type=float, default=0.0, help="refiner only")
    parser.add_argument("--detail-mask-radius", type=int, default=0, help="refiner only")
    parser.add_argument("--source-bound-radius", type=int, default=0, help="refiner only")
    parser.add_argument("--no-residual", action="store_true", help="refiner only: a diagnostic (the tone map alone)")
    parser.add_argument("--detail-gains", type=lambda t: [float(g) for g in t.split(",")], help="stage 1 only")
    parser.add_argument("--weight-sharpness", type=float, help="stage 1 only")
    args = parser.parse_args()
    ckpt = read_checkpoint(args.src)
    changed = set_refiner(ckpt, args) if "diffusion" in ckpt["meta"] else set_stage1(ckpt, args)
    ckpt["meta"]["output_options"] = "python scripts/output_options.py " + shlex.join(sys.argv[1:])
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.dst)
    print(f"wrote {args.dst}: {changed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
