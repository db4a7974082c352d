"""``sgdfuse demo``: the best shipped pipeline on the sample pairs in the repository."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_pipeline_args

REPO_SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="fuse the bundled sample pairs and write a comparison grid")
    p.add_argument("--samples", default=str(REPO_SAMPLES),
                   help="folder with ir/ + vi/ (default: the repository's samples/)")
    p.add_argument("-o", "--out", default="out/demo", help="output folder")
    add_pipeline_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import pipeline_from_spec
    from ..datasets import find_pairs
    from ..images import read_image, write_image
    from ..visualize import image_grid

    label, pipeline = pipeline_from_spec(args.pipeline)
    pairs, _ = find_pairs(args.samples)
    out = Path(args.out)
    rows = []
    for pair in pairs:
        ir, vis = read_image(pair.ir), read_image(pair.vis)
        result = pipeline(ir, vis)
        path = write_image(out / f"{pair.name}_fused.png", result.fused)
        row = [ir, vis, result.fused, *(result.masks[k] for k in ("ir", "vis") if k in result.masks)]
        rows.append(row)
        print(f"{path}  ({sum(result.timings.values()):.0f} ms)")
    labels = ["IR", "VIS", f"fused ({label})", "IR mask", "VIS mask"]
    grid = write_image(out / "grid.png", image_grid(rows, labels, cell_width=320))
    print(f"grid of {len(rows)} pairs: {grid.resolve()}")
    return 0
