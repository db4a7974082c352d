"""``sgdfuse eval --task temporal --bags SOURCE FUSED...``: temporal stability of fused videos (bags)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bags", nargs="+", default=[], metavar="BAG",
                   help="--task temporal: the source bag, then one or more bags `bag fuse` made from it")
    p.add_argument("--fused-topic", default="/fused_image", help="--task temporal: the fused topic")


def run(args: argparse.Namespace) -> int:
    from ..bag.temporal import bag_temporal_metrics
    from ..errors import InputError

    if len(args.bags) < 2:
        raise InputError("--task temporal needs --bags SOURCE_BAG FUSED_BAG [FUSED_BAG ...]")
    result = bag_temporal_metrics(args.bags[0], args.bags[1:], fused_topic=args.fused_topic)
    lines = ["| stream | flicker (static regions) | flow-warped error |", "|---|---|---|"]
    for name, m in result.items():
        label = {"ir": "IR (source)", "vis": "VIS (source)"}.get(name, name)
        lines.append(f"| {label} | {m['flicker']:.3f} | {m['warp_error']:.3f} |")
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "temporal.md").write_text(text)
    (out / "temporal.json").write_text(json.dumps(result, indent=2))
    print(text + f"(0..255 luma; written to {out}/temporal.md and temporal.json)")
    return 0
