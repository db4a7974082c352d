"""A figure of masks for a few evaluation pairs: one row per pair, IR | IR mask | VIS | VIS mask.

    .venv/bin/python scripts/masks_figure.py --out docs/images/masks_grid.jpg
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from sgdfuse_ros.datasets import find_pairs
from sgdfuse_ros.images import prepare_pair, read_image, to_gray_u8, write_image, ycbcr_to_rgb_u8
from sgdfuse_ros.masks import MaskConfig, MaskSource, build_mask_source

DEFAULT_PAIRS = (("msrs_test", "00004N"), ("msrs_test", "01070N"), ("msrs_test", "00055D"),
                 ("roadscene", "FLIR_00006"), ("llvip_test12", "190001"), ("m3fd_sample1", "M3FD_00471"))


def mask_row(ir_path: Path, vis_path: Path, source: MaskSource, tile_width: int) -> np.ndarray:
    """IR | IR mask | VIS | VIS mask as one RGB uint8 strip of tiles ``tile_width`` px wide."""
    pair = prepare_pair(read_image(ir_path), read_image(vis_path))
    masks = source(pair)
    gray = [to_gray_u8(pair.ir), to_gray_u8(masks["ir"]), None, to_gray_u8(masks["vis"])]
    tiles = [np.repeat(g[..., None], 3, axis=2) if g is not None else ycbcr_to_rgb_u8(pair.vis, pair.vis_cbcr)
             for g in gray]
    height = round(tile_width * pair.shape[0] / pair.shape[1])
    size = (tile_width, height)
    return np.concatenate([cv2.resize(t, size, interpolation=cv2.INTER_AREA) for t in tiles], axis=1)


def mask_grid(source: MaskSource, pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
              tile_width: int = 200) -> np.ndarray:
    rows = []
    for dataset, name in pairs:
        found = {p.name: p for p in find_pairs(dataset)[0]}
        rows.append(mask_row(found[name].ir, found[name].vis, source, tile_width))
    return np.concatenate(rows, 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the image to write (.png or .jpg)")
    parser.add_argument("--encoding", default="saliency-weighted")
    parser.add_argument("--tile-width", type=int, default=200)
    args = parser.parse_args(argv)
    source = build_mask_source(MaskConfig(encoding=args.encoding))
    print(write_image(args.out, mask_grid(source, tile_width=args.tile_width)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
