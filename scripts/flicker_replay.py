"""Flicker of the default pipeline through ``bag fuse`` on the replay clips: per-frame (today's behaviour,
``temporal`` smoothing off) against the temporal defaults (smoothed thermal normalisation and masks), beside
the sources' own values (``sgdfuse_ros.bag.temporal``). Writes a Markdown table and JSON.

    .venv/bin/python scripts/flicker_replay.py -o docs/results/registration --max-frames 60
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sgdfuse_ros.bag.fuse import fuse_bag
from sgdfuse_ros.bag.make import BagSpec, make_bag
from sgdfuse_ros.bag.temporal import bag_temporal_metrics
from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.datasets import shared_root
from sgdfuse_ros.stream.node_params import NodeParams
from sgdfuse_ros.stream.temporal import PER_FRAME, TemporalParams


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default="docs/results/registration")
    ap.add_argument("--clips", default="0111_1716,1230_1202")
    ap.add_argument("--encodings", default="mono16,mono8", help="thermal encodings of the bags")
    ap.add_argument("--max-frames", type=int, default=60, help="first N frame pairs of each clip (0: all)")
    ap.add_argument("--pipeline", default="default")
    ap.add_argument("--keep", default="", help="keep the bags in this folder")
    ap.add_argument("--ablation", action="store_true", help="also without the output smoothing")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    video = shared_root() / "data" / "video" / "m3svd"
    _, pipeline = pipeline_from_spec(args.pipeline)
    variants = {"per-frame (before)": PER_FRAME, "temporal (default)": TemporalParams()}
    if args.ablation:
        variants = {**variants, "AGC + masks, no output smoothing": dataclasses.replace(TemporalParams(),
                                                                                        output_smoothing=0.0)}
    rows = []
    work = Path(args.keep or tempfile.mkdtemp(prefix="flicker_"))
    for clip in args.clips.split(","):
        for encoding in args.encodings.split(","):
            bag = work / f"{clip}_{encoding}"
            if not bag.exists():
                make_bag(video / "ir" / f"{clip}.mp4", video / "vi" / f"{clip}.mp4", bag,
                         BagSpec(thermal_encoding=encoding, max_frames=args.max_frames))
            fused = []
            for k, (label, temporal) in enumerate(variants.items()):
                out = work / f"{clip}_{encoding}_fused{k}"
                if not out.exists():
                    report = fuse_bag(bag, out, pipeline, NodeParams(temporal=temporal))
                    print(clip, encoding, label, report.summary().splitlines()[-2], flush=True)
                fused.append(out)
            m = bag_temporal_metrics(bag, fused)
            row = {"clip": clip, "thermal": encoding, "ir": m["ir"], "vis": m["vis"],
                   **{label: m[f.name] for label, f in zip(variants, fused, strict=True)}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "flicker.json").write_text(json.dumps({"pipeline": args.pipeline, "max_frames": args.max_frames,
                                                  "rows": rows}, indent=1))
    labels = list(variants)
    lines = [f"| clip | thermal | IR | VIS | {' | '.join(labels)} | fused <= max(sources) | lower than before |",
             "|---|---|---|---|" + "---|" * len(labels) + "---|---|"]
    for metric in ("flicker", "warp_error"):
        lines.append(f"| **{metric}** |" + " |" * (len(labels) + 5))
        for r in rows:
            vals = [r[label][metric] for label in labels]
            top = max(r["ir"][metric], r["vis"][metric])
            lines.append(f"| {r['clip']} | {r['thermal']} | {r['ir'][metric]:.3f} | {r['vis'][metric]:.3f} | "
                         + " | ".join(f"{v:.3f}" for v in vals)
                         + f" | {'yes' if vals[1] <= top else 'no'} | {'yes' if vals[1] < vals[0] else 'no'} |")
    (out / "flicker.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
