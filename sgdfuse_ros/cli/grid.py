"""``sgdfuse grid``: a picture of IR | VIS | each pipeline on chosen pairs (default: people seen only in IR)."""

from __future__ import annotations

import argparse

from ..options import split_list
from ..outputs import add_overwrite_argument
from .common import add_pipeline_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grid", help="image grid IR | VIS | pipelines on chosen pairs of a dataset")
    add_pipeline_args(p, multiple=True)
    p.add_argument("--dataset", default="msrs_test", help="set name under shared/data/ivif, or a folder")
    p.add_argument("--pairs", default="ir-only-night",
                   help="comma-separated pair names (file names without their suffix, e.g. 00016N for "
                        "ir/00016N.png + vi/00016N.png), or 'ir-only-night': the night pairs with the most people "
                        "labelled on IR but not on VIS (needs labels_det_yolo/infrared and visible)")
    p.add_argument("--count", type=int, default=4, help="pairs picked by 'ir-only-night'")
    p.add_argument("--cell-width", type=int, default=320, help="width in pixels of each image in the grid")
    p.add_argument("-o", "--out", default="out/grid.png", help="output image (.png or .jpg)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..config import pipeline_from_spec
    from ..datasets import find_pairs, resolve_dataset
    from ..detection.task_eval import ir_only_night_pairs
    from ..errors import InputError
    from ..evaluation import source_grays
    from ..images import MIN_SIDE, write_image
    from ..outputs import check_file_output
    from ..visualize import image_grid

    if args.cell_width < MIN_SIDE:
        raise InputError(f"--cell-width must be at least {MIN_SIDE}, got {args.cell_width}")
    dataset = resolve_dataset(args.dataset)
    ir_only = args.pairs == "ir-only-night"
    names = ir_only_night_pairs(args.dataset, args.count) if ir_only else split_list(args.pairs)
    by_name = {p.name: p for p in find_pairs(dataset)[0]}
    missing = [n for n in names if n not in by_name]
    if missing or not names:
        known = sorted(by_name)
        shown = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
        raise InputError(f"{args.dataset}: no pairs named {', '.join(missing) or '(none given)'}; --pairs takes "
                         f"pair names (file names without suffix): {shown}")
    out = check_file_output(args.out, [dataset], args.overwrite)
    pipelines = dict(pipeline_from_spec(s) for s in split_list(args.methods))
    rows = []
    for name in tqdm(names, desc="grid", unit="pair"):
        ir, vis, ir_gray, _ = source_grays(by_name[name])
        rows.append([ir_gray, vis, *(pipeline(ir, vis).fused for pipeline in pipelines.values())])
    write_image(out, image_grid(rows, ["IR", "VIS", *pipelines], cell_width=args.cell_width))
    print(f"wrote {out}: pairs {', '.join(names)}")
    return 0
