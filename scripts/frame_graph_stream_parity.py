"""Frame graph vs the per-stage pipeline on video: the replay clips through ``bag fuse`` with the temporal
defaults (smoothed thermal AGC, masks and output), once per stage (``cpu`` backend) and once through the
frame graph (``onnxruntime``: the graph with the stream's state), compared message by message in grey
levels; the flicker of both beside the sources' (``bag.temporal``). Writes a Markdown table and JSON.

    .venv/bin/python scripts/frame_graph_stream_parity.py [--clips 0111_1716,1230_1202] [--max-frames 60]
        [--out docs/results/frame_graph]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sgdfuse_ros.bag.fuse import fuse_bag
from sgdfuse_ros.bag.make import BagSpec, make_bag
from sgdfuse_ros.bag.temporal import _images, bag_temporal_metrics
from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.datasets import shared_root
from sgdfuse_ros.stream.node_params import NodeParams

PATHS = {"per stage": "cpu", "frame graph": "onnxruntime"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/results/frame_graph")
    ap.add_argument("--clips", default="0111_1716,1230_1202")
    ap.add_argument("--encoding", default="mono16", help="thermal encoding of the bags")
    ap.add_argument("--max-frames", type=int, default=60, help="first N frame pairs of each clip (0: all)")
    ap.add_argument("--keep", default="", help="keep the bags in this folder")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    video = shared_root() / "data" / "video" / "m3svd"
    pipelines = {label: pipeline_from_spec(f"sgdfuse:runtime.backend={backend}")[1]
                 for label, backend in PATHS.items()}
    work = Path(args.keep or tempfile.mkdtemp(prefix="stream_parity_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip in args.clips.split(","):
        bag = work / f"{clip}_{args.encoding}"
        if not bag.exists():
            make_bag(video / "ir" / f"{clip}.mp4", video / "vi" / f"{clip}.mp4", bag,
                     BagSpec(thermal_encoding=args.encoding, max_frames=args.max_frames))
        fused = {}
        for label, pipeline in pipelines.items():
            fused[label] = work / f"{clip}_{args.encoding}_{PATHS[label]}"
            if not fused[label].exists():
                report = fuse_bag(bag, fused[label], pipeline, NodeParams())  # the temporal defaults
                print(clip, label, report.summary().splitlines()[-2], flush=True)
        frames = [_images(path, ["/fused_image"])["/fused_image"] for path in fused.values()]
        stamps = sorted(set(frames[0]) & set(frames[1]))
        diffs = [np.abs(frames[0][s].astype(np.int16) - frames[1][s].astype(np.int16)) for s in stamps]
        metrics = bag_temporal_metrics(bag, list(fused.values()))
        rows.append({"clip": clip, "thermal": args.encoding, "frames": len(stamps),
                     "unmatched": len(set(frames[0]) ^ set(frames[1])),
                     "largest_p99": max(float(np.percentile(d, 99)) for d in diffs),
                     "largest": max(int(d.max()) for d in diffs),
                     "over_1": float(np.mean([(d > 1).mean() for d in diffs])),
                     "flicker": {"ir": metrics["ir"]["flicker"], "vis": metrics["vis"]["flicker"],
                                 **{label: metrics[path.name]["flicker"] for label, path in fused.items()}}})
        print(json.dumps(rows[-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stream_parity.json").write_text(json.dumps({"max_frames": args.max_frames, "rows": rows}, indent=2) + "\n")
    cmd = (f".venv/bin/python scripts/frame_graph_stream_parity.py --clips {args.clips} --encoding {args.encoding} "
           f"--max-frames {args.max_frames}")
    lines = ["# Frame graph vs per-stage pipeline on video (default pipeline, `bag fuse`, temporal defaults)\n",
             f"Written by `{cmd}`. Grey levels over every channel of every fused frame; flicker in 0..255 luma.\n",
             "| clip | thermal | frames | largest p99 | largest difference | values > 1 apart | flicker IR | "
             "flicker VIS | flicker per stage | flicker frame graph |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        f = r["flicker"]
        lines.append(f"| {r['clip']} | {r['thermal']} | {r['frames']} | {r['largest_p99']:.0f} | {r['largest']} | "
                     f"{100 * r['over_1']:.4f} % | {f['ir']:.3f} | {f['vis']:.3f} | {f['per stage']:.3f} | "
                     f"{f['frame graph']:.3f} |")
    (out / "stream_parity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
