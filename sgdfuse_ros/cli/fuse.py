"""``sgdfuse fuse``: one pair, or every pair of a folder laid out ``ir/`` + ``vi/``.

Inputs and outputs are checked before any model loads: missing or oversized inputs, an output that would
replace an input or an existing file (without ``--overwrite``), or that cannot be written, fail at once.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..outputs import add_overwrite_argument
from .common import add_pipeline_args

if TYPE_CHECKING:
    from ..config import PipelineConfig
    from ..datasets import Pair

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fuse", help="fuse one IR/VIS pair or a folder of pairs",
                       description="Fuse --ir FILE --vis FILE -o OUT.png, or a folder: FOLDER -o OUTDIR.")
    p.add_argument("folder", nargs="?", help="folder with ir/ and vi/ subfolders (pairs share names)")
    p.add_argument("--ir", help="infrared image file")
    p.add_argument("--vis", help="visible image file")
    p.add_argument("-o", "--output", required=True, help="output PNG (one pair) or folder (a folder of pairs)")
    p.add_argument("--masks", action="store_true", help="also write the IR/VIS masks the pipeline makes")
    add_overwrite_argument(p)
    add_pipeline_args(p)
    p.set_defaults(func=run)


def _outputs(out: Path, with_masks: bool) -> list[Path]:
    """The files written for one pair: the fused image, then the masks (when asked for)."""
    masks = [out.with_name(f"{out.stem}_mask_{key}.png") for key in ("ir", "vis")] if with_masks else []
    return [out, *masks]


def _save(result, out: Path, with_masks: bool) -> None:
    from ..images import to_gray_u8, write_image

    write_image(out, result.fused)
    if with_masks:
        for key, mask in result.masks.items():
            write_image(out.with_name(f"{out.stem}_mask_{key}.png"), to_gray_u8(mask))


def run(args: argparse.Namespace) -> int:
    from ..datasets import find_pairs, resolve_dataset
    from ..errors import InputError

    single = args.ir or args.vis
    if (single and args.folder) or (not single and not args.folder):
        raise InputError("give either --ir FILE --vis FILE, or a FOLDER (not both)")
    if single and not (args.ir and args.vis):
        raise InputError("a single pair needs both --ir and --vis")
    for path in (args.ir, args.vis) if single else ():  # before the heavy imports: a typo fails at once
        if not Path(path).is_file():
            raise InputError(f"{path}: no such file")
    pairs = None if single else find_pairs(resolve_dataset(args.folder))
    from ..config import config_from_spec

    label, config = config_from_spec(args.pipeline)
    return _run_single(args, label, config) if pairs is None else _run_folder(args, label, config, *pairs)


def _run_single(args: argparse.Namespace, label: str, config: PipelineConfig) -> int:
    from ..config import build_pipeline
    from ..images import read_image
    from ..outputs import check_file_output

    ir, vis = read_image(args.ir, config.input.max_megapixels), read_image(args.vis, config.input.max_megapixels)
    out = Path(args.output)
    for path in _outputs(out, args.masks):
        check_file_output(path, (args.ir, args.vis), args.overwrite)
    pipeline = build_pipeline(config)
    log.info("pipeline: %s", label)
    result = pipeline(ir, vis)
    _save(result, out, args.masks)
    print(f"wrote {out}  ({', '.join(f'{k} {v:.1f} ms' for k, v in result.timings.items())})")
    return 0


def _run_folder(args: argparse.Namespace, label: str, config: PipelineConfig, pairs: list[Pair],
                unmatched: list[str]) -> int:
    from tqdm import tqdm

    from ..config import build_pipeline
    from ..datasets import resolve_dataset
    from ..outputs import check_folder_output

    folder = resolve_dataset(args.folder)
    out = Path(args.output)
    names = [p.name for pair in pairs for p in _outputs(Path(f"{pair.name}.png"), args.masks)]
    check_folder_output(out, (folder, *(p for pair in pairs for p in (pair.ir, pair.vis))), names, args.overwrite)
    pipeline = build_pipeline(config)
    log.info("pipeline: %s", label)
    failed = []
    for pair in tqdm(pairs, desc="fuse", unit="pair"):
        try:  # one bad pair (unreadable, too large, a model failure) does not stop the others
            _save(pipeline.fuse_files(pair.ir, pair.vis), out / f"{pair.name}.png", args.masks)
        except Exception as err:
            failed.append(f"{pair.name}: {err}")
            log.error("%s: %s", pair.name, err)
    print(f"fused {len(pairs) - len(failed)} of {len(pairs)} pairs into {out}")
    for line in failed + [f"{name}: no partner" for name in unmatched]:
        print(f"  failed: {line}")
    return 1 if failed or unmatched else 0
