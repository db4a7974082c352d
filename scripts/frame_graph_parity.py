"""Frame graph vs the per-stage pipeline (same weights, CPU): per-pixel differences of the fused images.

For every pair of the given sets, the pipeline's per-stage image (``FusionPipeline`` on the ``cpu``
backend) and its frame graph's image (torch, CPU; the same masks as inputs) are compared channel-wise
in grey levels; per set the table gives the largest 99th percentile, the largest difference and the share
of values more than 1 grey level apart. Resumable (one JSON line per pair in the output folder).

    .venv/bin/python scripts/frame_graph_parity.py [--pipeline default] [--sets msrs_test,roadscene]
        [--out docs/results/frame_graph]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from sgdfuse_ros.config import build_pipeline, config_from_spec
from sgdfuse_ros.datasets import find_pairs, resolve_dataset
from sgdfuse_ros.frame.graph import FrameSpec
from sgdfuse_ros.frame.runner import frame_graph
from sgdfuse_ros.images import gray_view, read_image


def compare(pipeline, ir: np.ndarray, vis: np.ndarray) -> dict[str, float]:
    result = pipeline(ir, vis)
    gray = gray_view(ir)
    spec = FrameSpec.of(gray, vis, "rgb", masks=pipeline.masks is not None)
    graph = frame_graph(spec, pipeline.fuse_fn.module, pipeline.refiner, pipeline.thermal_percentiles,
                        pipeline.homography)
    args = [torch.from_numpy(np.ascontiguousarray(gray)), torch.from_numpy(vis)]
    if spec.masks:
        args += [torch.from_numpy(result.masks["ir"]), torch.from_numpy(result.masks["vis"])]
    with torch.inference_mode():
        out = graph(*args).numpy()
    diff = np.abs(out.astype(np.int16) - result.fused.astype(np.int16))
    return {"p99": float(np.percentile(diff, 99)), "max": int(diff.max()), "over_1": float((diff > 1).mean())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="default")
    parser.add_argument("--sets", default="msrs_test,roadscene")
    parser.add_argument("--out", default="docs/results/frame_graph")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "pairs.jsonl"
    done = {}
    if rows_path.is_file():
        for line in rows_path.read_text().splitlines():
            row = json.loads(line)
            done[(row["set"], row["pair"])] = row
    _, config = config_from_spec(args.pipeline)
    pipeline = build_pipeline(config.replace({"runtime.backend": "cpu"}))
    table = ["| set | pairs | largest p99 (grey levels) | mean p99 | largest difference | values > 1 apart |",
             "|---|---:|---:|---:|---:|---:|"]
    summary = {}
    for name in args.sets.split(","):
        pairs, _ = find_pairs(resolve_dataset(name))
        rows = []
        for pair in pairs:
            key = (name, pair.name)
            if key not in done:
                row = {"set": name, "pair": pair.name, **compare(pipeline, read_image(pair.ir), read_image(pair.vis))}
                with rows_path.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                done[key] = row
            rows.append(done[key])
        p99 = [r["p99"] for r in rows]
        summary[name] = {"pairs": len(rows), "max_p99": max(p99), "mean_p99": float(np.mean(p99)),
                         "max": max(r["max"] for r in rows), "over_1": float(np.mean([r["over_1"] for r in rows]))}
        s = summary[name]
        table.append(f"| {name} | {s['pairs']} | {s['max_p99']:.0f} | {s['mean_p99']:.2f} | {s['max']} | "
                     f"{100 * s['over_1']:.4f} % |")
        print(table[-1], flush=True)
    (out / "parity.json").write_text(json.dumps({"pipeline": args.pipeline, "sets": summary}, indent=2) + "\n")
    cmd = f"scripts/frame_graph_parity.py --pipeline {args.pipeline} --sets {args.sets}"
    (out / "parity.md").write_text(f"# Frame graph vs per-stage pipeline ({args.pipeline}, CPU)\n\n"
                                   f"Written by `.venv/bin/python {cmd}`.\n\n" + "\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
