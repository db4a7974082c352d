"""Write a copy of a stage-1 blend checkpoint with its output options set (same weights, new model config).

    .venv/bin/python scripts/stage1_output.py sgdfuse_ros/weights/stage1.pt runs/stage1_f05_m13_b3.pt \
        --detail-gains 0.5,1.3 --bound-radius 3

--detail-gains: a fixed gain for each detail layer (fine, mid) in place of the learned per-pixel gains;
--bound-radius R: clamp the output to [min, max] of IR and VIS over a (2R+1)^2 window (no halo or rim that no
source explains; 0 turns it off). docs/stage1.md, "Issue 22, third round".
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
    parser.add_argument("--detail-gains", type=lambda t: [float(g) for g in t.split(",")])
    parser.add_argument("--bound-radius", type=int, default=0)
    args = parser.parse_args()
    ckpt = read_checkpoint(args.src)
    if ckpt["model"] != "stage1" or ckpt["config"].get("output") != "blend":
        raise SystemExit(f"{args.src}: not a stage-1 blend checkpoint")
    ckpt["config"]["detail_gains"] = args.detail_gains
    ckpt["config"]["bound_radius"] = args.bound_radius
    ckpt["meta"]["output_options"] = "python scripts/stage1_output.py " + shlex.join(sys.argv[1:])
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.dst)
    print(f"wrote {args.dst}: detail_gains {args.detail_gains}, bound_radius {args.bound_radius}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
