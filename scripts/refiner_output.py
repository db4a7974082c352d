"""Write a copy of a refiner checkpoint with its output options set (same weights, new diffusion meta).

    .venv/bin/python scripts/refiner_output.py sgdfuse_ros/weights/refiner_student.pt runs/student_b3.pt \
        --bound-radius 3 --base-radius 7

--bound-radius R: clamp the refined luma to [min, max] of [initial, IR, VIS] over a (2R+1)^2 window (no rim
or halo beyond the sources); --base-radius R: the contrast stretch maps the (2R+1)^2 base layer only, the
detail keeps gain 1 (no global stretch of the grain). 0 turns an option off. docs/refiner.md, "Bounded output".
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

from sgdfuse_ros.models.build import read_checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--bound-radius", type=int, default=0)
    parser.add_argument("--base-radius", type=int, default=0)
    args = parser.parse_args()
    ckpt = read_checkpoint(args.src)
    diffusion = ckpt["meta"]["diffusion"]
    diffusion["bound_radius"] = args.bound_radius
    if diffusion.get("stretch"):
        diffusion["stretch"]["base_radius"] = args.base_radius
    ckpt["meta"]["output_options"] = "python scripts/refiner_output.py " + shlex.join(sys.argv[1:])
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.dst)
    print(f"wrote {args.dst}: bound_radius {args.bound_radius}, base_radius {args.base_radius}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
