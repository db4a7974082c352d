"""``sgdfuse eval``: pipelines x datasets -> CSV, Markdown table, metric plot and image grids."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..options import split_list
from ..outputs import add_overwrite_argument
from .common import add_pipeline_args
from .eval_det import add_arguments as add_det_arguments
from .eval_det import run as run_det
from .eval_temporal import add_arguments as add_temporal_arguments
from .eval_temporal import run as run_temporal


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score fusion pipelines on datasets (reference MATLAB metrics)")
    add_pipeline_args(p, multiple=True)
    p.add_argument("--datasets", default="msrs_test,roadscene",
                   help="comma-separated set names under shared/data/ivif, or folders with ir/ + vi/")
    p.add_argument("--metrics", default="", help="comma-separated metric names (default: the nine headline)")
    p.add_argument("-o", "--out", default="out/eval", help="output folder (refused when not empty, unless --overwrite)")
    add_overwrite_argument(p)
    p.add_argument("--limit", type=int, default=None, help="first N pairs of each set")
    p.add_argument("--save-fused", action="store_true", help="also write every fused image")
    p.add_argument("--mask-perturb", default="",
                   help="also score each masked pipeline with perturbed masks, e.g. erode:3,dilate:3")
    p.add_argument("--published", default="",
                   help="a Markdown table of published results (e.g. shared/PEERS.md): also write published.md, "
                        "those rows beside ours with the metrics each of ours wins against each")
    p.add_argument("--ablations", action="store_true",
                   help="score the refiner ablation variants instead of --methods (one table, ablations.md; "
                        "--limit defaults to 20 pairs per set, 0: all)")
    p.add_argument("--ablation-dir", default="runs/refiner_ablations",
                   help="weights of the separately trained variants (scripts/train_ablations.sh)")
    p.add_argument("--task", choices=("fusion", "det", "temporal"), default="fusion",
                   help="fusion: image-quality metrics; det: detection AP50 on IR, VIS and fused outputs; "
                        "temporal: flicker and flow-warped error of fused videos (--bags) beside the sources'")
    add_det_arguments(p)
    add_temporal_arguments(p)
    p.set_defaults(func=run)


def perturbed_variants(pipelines: dict, spec: str) -> dict:
    """``label+erode:3`` -> a copy of a pipeline whose masks go through that perturbation."""
    import copy

    from ..errors import ConfigError
    from ..masks.perturb import parse_perturbations

    masked = {label: p for label, p in pipelines.items() if p.masks is not None}
    if not masked:
        raise ConfigError("--mask-perturb needs a pipeline that uses masks (e.g. one with a refiner)")
    variants = {}
    for name, perturb in parse_perturbations(spec):
        for label, pipeline in masked.items():
            variant = copy.copy(pipeline)
            variant.masks = lambda pair, source=pipeline.masks, fn=perturb: fn(source(pair))
            variants[f"{label}+{name}"] = variant
    return variants


def check_output(args: argparse.Namespace) -> None:
    """The output folder, before any model loads: not an input, writable, empty unless --overwrite."""
    from ..outputs import check_run_folder, existing_paths

    named = [*split_list(args.datasets), *split_list(args.methods), *args.bags, args.published, args.ablation_dir]
    check_run_folder(args.out, existing_paths(named), args.overwrite)


def run(args: argparse.Namespace) -> int:
    check_output(args)
    if args.task == "det":
        return run_det(args)
    if args.task == "temporal":
        return run_temporal(args)
    if args.ablations:
        return run_ablation_table(args)
    from ..config import pipeline_from_spec
    from ..evaluation import evaluate, markdown_table
    from ..evaluation.published import compare, read_published
    from ..metrics import DEFAULT_METRICS

    published = read_published(args.published) if args.published else None  # a bad file fails before the work
    pipelines = dict(pipeline_from_spec(s) for s in split_list(args.methods))
    if args.mask_perturb:
        pipelines.update(perturbed_variants(pipelines, args.mask_perturb))
    metrics = tuple(split_list(args.metrics)) or DEFAULT_METRICS
    out = Path(args.out)
    result = evaluate(pipelines, split_list(args.datasets), metrics,
                      out_dir=out, limit=args.limit, save_fused=args.save_fused)
    print(markdown_table(result.means(), result.table_names))
    print(f"reports in {out}/: summary.md, summary.csv, scores.csv, metrics.png, grid_*.jpg")
    if published is not None:
        text = compare(result.means(), published, result.table_names)
        (out / "published.md").write_text(text)
        print(text)
        print(f"published results beside ours: {out / 'published.md'}")
    for s in result.errors:
        print(f"  failed: {s.dataset}/{s.pair} [{s.method}]: {s.error}")
    return 1 if result.errors or any(result.unmatched.values()) else 0


def run_ablation_table(args: argparse.Namespace) -> int:
    from ..evaluation.ablations import run_ablations

    limit = 20 if args.limit is None else args.limit
    path, failed = run_ablations(split_list(args.datasets), out_dir=args.out, limit=limit or None,
                                 ablation_dir=args.ablation_dir)
    print(path.read_text())
    print(f"table in {path}")
    return 1 if failed else 0
