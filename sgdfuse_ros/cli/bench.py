"""``sgdfuse bench``: per-stage latency (p50/p95/p99), throughput, memory, params and GFLOPs per backend."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..options import split_list
from ..outputs import add_overwrite_argument


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark pipelines per backend and size",
                       description="Time each pipeline (and the SeAFusion reference) per stage on every "
                                   "available backend at every size; write bench.json and bench.md.")
    p.add_argument("--pipelines", default="default",
                   help="comma-separated presets, method names or .yaml configs (default: default)")
    p.add_argument("--backends", default="cpu,onnxruntime,cuda,tensorrt",
                   help="comma-separated backends; unavailable ones are skipped and reported")
    p.add_argument("--sizes", default="640x480,1280x1024", help="comma-separated WIDTHxHEIGHT")
    p.add_argument("--iters", type=int, default=10, help="timed frames per case")
    p.add_argument("--warmup", type=int, default=2, help="untimed frames per case")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--reference", default="seafusion", help="pipeline to compare against ('none': no ratio)")
    p.add_argument("--random-weights", action="store_true",
                   help="learned models with fresh weights (when the trained ones are not installed)")
    p.add_argument("-o", "--out", default="out/bench", help="output folder for bench.json and bench.md")
    p.add_argument("--masks", default="", metavar="SAM_MODELS",
                   help="time the mask providers instead (640x480 msrs_test pairs): the offline provider and "
                        "these SAM architectures, e.g. vit_b,vit_l,vit_h ('offline': no SAM) -> masks.json/.md")
    add_overwrite_argument(p)
    p.add_argument("--estimate", type=Path, metavar="BENCH_JSON",
                   help="print the roofline estimate of Jetson Orin latency from this bench.json instead")
    p.set_defaults(func=run)


def run_masks(args: argparse.Namespace) -> int:
    from ..bench import masks

    models = [m for m in split_list(args.masks) if m != "offline"]
    out = Path(args.out) / "masks.json"
    result = masks.run(out, models, points_per_side=4, threads=args.threads, dataset="msrs_test", count=10,
                       runs=args.iters)
    table = masks.markdown_table(result)
    out.with_suffix(".md").write_text(table)
    print(table)
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.estimate:
        from ..bench.estimate import estimate_table

        print(estimate_table(json.loads(args.estimate.read_text())), end="")
        return 0
    from ..outputs import check_folder_output, existing_paths

    names = ("masks.json", "masks.md") if args.masks else ("bench.json", "bench.md")
    check_folder_output(args.out, existing_paths(split_list(args.pipelines)), names, args.overwrite)
    if args.masks:
        return run_masks(args)
    from ..bench.report import to_markdown
    from ..bench.runner import run_benchmarks
    from ..errors import ConfigError
    from ..export.engines import parse_shape

    if args.iters < 1 or args.warmup < 0:
        raise ConfigError("--iters must be >= 1 and --warmup >= 0")
    result = run_benchmarks(
        split_list(args.pipelines), split_list(args.backends),
        [parse_shape(s) for s in split_list(args.sizes)], iters=args.iters, warmup=args.warmup,
        threads=args.threads, reference=None if args.reference == "none" else args.reference,
        random_weights=args.random_weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "bench.md").write_text(to_markdown(result))
    print(to_markdown(result))
    print(f"written: {out / 'bench.json'}, {out / 'bench.md'}")
    return 0
