"""``sgdfuse ship``: copy a trained checkpoint into the shipped weights and record it in their manifest."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..outputs import add_overwrite_argument


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ship", help="ship a trained checkpoint (weights folder + manifest.json)",
                       description="Copy RUN/model.pt to DEST (e.g. sgdfuse_ros/weights/stage1.pt) and record "
                                   "its command, data, commit, sha256, parameters, GFLOPs and validation in "
                                   "manifest.json beside it. Fusion networks and refiners alike.")
    p.add_argument("src", type=Path, help="the run's checkpoint, e.g. runs/stage1/model.pt")
    p.add_argument("dest", type=Path, help="where it goes, e.g. sgdfuse_ros/weights/stage1.pt")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import read_checkpoint
    from ..outputs import check_file_output

    check_file_output(args.dest, [args.src], args.overwrite, suffixes=(".pt",))
    from ..training.refiner import MODEL_NAME, ship_refiner
    from ..training.ship import ship

    if read_checkpoint(args.src)["model"] == MODEL_NAME:
        entry = ship_refiner(args.src, args.dest)
        print(f"shipped {args.dest} ({entry['bytes']} bytes, {entry['gflops_640x480_total']} GFLOPs)")
    else:
        entry = ship(args.src, args.dest)
        print(f"shipped {args.dest} ({entry['bytes']} bytes, sha256 {entry['sha256'][:12]}...)")
    return 0
