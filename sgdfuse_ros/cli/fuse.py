"""``sgdfuse fuse``: one pair, or every pair of a folder laid out ``ir/`` + ``vi/``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .common import add_pipeline_args

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fuse", help="fuse one IR/VIS pair or a folder of pairs",
                       description="Fuse --ir FILE --vis FILE -o OUT.png, or a folder: FOLDER -o OUTDIR.")
    p.add_argument("folder", nargs="?", help="folder with ir/ and vi/ subfolders (pairs share names)")
    p.add_argument("--ir", help="infrared image file")
    p.add_argument("--vis", help="visible image file")
    p.add_argument("-o", "--output", required=True, help="output PNG (one pair) or folder (a folder of pairs)")
    p.add_argument("--masks", action="store_true", help="also write the IR/VIS masks the pipeline makes")
    add_pipeline_args(p)
    p.set_defaults(func=run)


def _save(result, out: Path, with_masks: bool) -> None:
    from ..images import to_gray_u8, write_image

    write_image(out, result.fused)
    if with_masks:
        for key, mask in result.masks.items():
            write_image(out.with_name(f"{out.stem}_mask_{key}.png"), to_gray_u8(mask))


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..config import pipeline_from_spec
    from ..datasets import find_pairs
    from ..errors import InputError, SGDFuseError

    single = args.ir or args.vis
    if (single and args.folder) or (not single and not args.folder):
        raise InputError("give either --ir FILE --vis FILE, or a FOLDER (not both)")
    if single and not (args.ir and args.vis):
        raise InputError("a single pair needs both --ir and --vis")
    label, pipeline = pipeline_from_spec(args.pipeline)
    log.info("pipeline: %s", label)
    out = Path(args.output)
    if single:
        result = pipeline.fuse_files(args.ir, args.vis)
        _save(result, out, args.masks)
        print(f"wrote {out}  ({', '.join(f'{k} {v:.1f} ms' for k, v in result.timings.items())})")
        return 0
    pairs, unmatched = find_pairs(args.folder)
    failed = []
    for pair in tqdm(pairs, desc="fuse", unit="pair"):
        try:
            _save(pipeline.fuse_files(pair.ir, pair.vis), out / f"{pair.name}.png", args.masks)
        except SGDFuseError as err:
            failed.append(str(err))
            log.error("%s", err)
    print(f"fused {len(pairs) - len(failed)} of {len(pairs)} pairs into {out}")
    for line in failed + [f"{name}: no partner" for name in unmatched]:
        print(f"  failed: {line}")
    return 1 if failed or unmatched else 0
