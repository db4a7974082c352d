"""Full-resolution crops, one row per crop: IR | VIS | each pipeline (1:1 pixels: grain and rims show).

    .venv/bin/python scripts/crops_figure.py --methods gff,stage1,sgdfuse \
        --crop llvip_test12/190001@600,400,192 --crop roadscene/FLIR_00006@100,20,160 -o docs/images/crops.png

A crop is SET/NAME@X,Y,SIZE (top-left corner and side in pixels of the visible image); a label after '#'
is written on the row's IR cell (e.g. ...@600,400,192#night pedestrian). With --fused DIR (the fused/ folder
of an ``sgdfuse eval --save-fused`` run) an image saved there as SET/METHOD/NAME.png is used instead of
running that pipeline again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.datasets import find_pairs
from sgdfuse_ros.evaluation import source_grays
from sgdfuse_ros.images import read_image, write_image
from sgdfuse_ros.options import split_list
from sgdfuse_ros.visualize import _label, as_rgb_u8, image_grid


def parse_crop(spec: str) -> tuple[str, str, int, int, int, str]:
    spec, _, label = spec.partition("#")
    where, _, box = spec.partition("@")
    dataset, _, name = where.rpartition("/")
    x, y, size = (int(v) for v in box.split(","))
    return dataset, name, x, y, size, label


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="gff,stage1,sgdfuse", help="pipeline specs (sgdfuse eval --methods)")
    parser.add_argument("--crop", action="append", required=True, help="SET/NAME@X,Y,SIZE[#label]")
    parser.add_argument("--fused", type=Path, help="fused/ folder of an eval --save-fused run to reuse")
    parser.add_argument("-o", "--out", default="docs/images/crops.png")
    args = parser.parse_args()
    methods = split_list(args.methods)
    pipelines: dict = {}

    def fused(dataset: str, name: str, method: str, ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
        saved = args.fused / dataset / method / f"{name}.png" if args.fused else None
        if saved is not None and saved.is_file():
            return read_image(saved)
        if method not in pipelines:
            pipelines[method] = pipeline_from_spec(method)[1]
        return np.asarray(pipelines[method](ir, vis).fused)

    rows = []
    for spec in args.crop:
        dataset, name, x, y, size, label = parse_crop(spec)
        pair = next(p for p in find_pairs(dataset)[0] if p.name == name)
        ir, vis, ir_gray, _ = source_grays(pair)
        cells = [ir_gray, vis] + [fused(dataset, name, m, ir, vis) for m in methods]
        crops = [as_rgb_u8(c)[y:y + size, x:x + size] for c in cells]
        if label:
            crops[0] = _label(crops[0], label)
        rows.append(crops)
    size = max(r[0].shape[1] for r in rows)
    grid = image_grid(rows, ["IR", "VIS", *methods], cell_width=size)
    print(f"wrote {write_image(Path(args.out), grid)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
