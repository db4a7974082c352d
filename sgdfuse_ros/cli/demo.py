"""``sgdfuse demo``: the shipped pipeline on the bundled samples: still pairs, and a clip through the ROS 2 node.

1. Still pairs (``samples/ir`` + ``samples/vi``): fused images and ``grid.png``.
2. The 2 s clip ``samples/video/{ir,vi}/0111_1716_2s.mp4`` -> ``bag make`` (``clip_bag/``) -> the real fusion
   node (rclpy lifecycle node, configured and activated in this process, fed by a bag player whose rate is
   chosen from the pipeline speed measured here so that every pair is fused) -> its outputs recorded
   (``fused_bag/``) -> ``preview.mp4`` (IR | VIS | fused side by side).
DDS only ever runs in a private network namespace: outside one, the demo re-executes itself under
``unshare -n`` (loopback only). Where that is not permitted it says so and fuses the clip offline
(``bag fuse``: the node's checks, synchroniser and pipeline without DDS) instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from .common import add_pipeline_args

REPO_SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CLIP = "0111_1716_2s"  # the first 2 s of the M3SVD replay clip 0111_1716 (samples/ATTRIBUTION.md)
MIN_INTERVAL = 0.02  # s: the clip's cameras run at 30 Hz, so a pair is released when its second frame arrives
RATE_MARGIN = 3.0  # the player leaves the node 3x the time it needs per pair (decode, fuse, encode)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="fuse the bundled samples: still pairs -> grid.png, a clip through the "
                                    "ROS 2 node -> bag + preview video",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", default=str(REPO_SAMPLES),
                   help="folder with ir/ + vi/ (default: the repository's samples/)")
    p.add_argument("--video", default=str(REPO_SAMPLES / "video"), help="folder with ir/ + vi/ videos")
    p.add_argument("--clip", default=CLIP, help=f"video name in --video, without .mp4 (default {CLIP})")
    p.add_argument("--frames", type=int, default=0, help="only the first N frame pairs of the clip (0: all)")
    p.add_argument("--rate", type=float, default=0.0,
                   help="player speed factor (default: chosen from the measured pipeline speed)")
    p.add_argument("--offline", action="store_true", help="no DDS: fuse the clip's bag offline (bag fuse)")
    p.add_argument("-o", "--out", default="out/demo", help="output folder")
    add_pipeline_args(p)
    p.set_defaults(func=run)


def _argv(args: argparse.Namespace) -> list[str]:
    """This demo's command line (to re-execute it)."""
    argv = ["demo", "--samples", args.samples, "--video", args.video, "--clip", args.clip, "--frames",
            str(args.frames), "--rate", str(args.rate), "-o", args.out, "--pipeline", args.pipeline]
    return [*argv, "--offline"] if args.offline else argv


def run(args: argparse.Namespace) -> int:
    from ..errors import SGDFuseError
    from ..ros import netns

    if not args.offline and not netns.only_loopback():
        if os.environ.get(netns.MARK):
            raise SGDFuseError("re-executed under `unshare -n` but still seeing other interfaces: no DDS")
        flags = netns.unshare_flags()
        if flags is not None:
            print(f"re-running the demo in a private network namespace (unshare {' '.join(flags)}, loopback "
                  "only) so that DDS stays on this machine", flush=True)
            return netns.run_in_private_netns([sys.executable, "-m", "sgdfuse_ros", *_argv(args)], flags)
        print("`unshare -n` is not permitted here, so DDS stays off: the clip is fused offline with "
              "`bag fuse` (the node's checks, synchroniser and pipeline) instead of through the node")
        args.offline = True
    return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    from ..config import pipeline_from_spec

    started = time.monotonic()
    label, pipeline = pipeline_from_spec(args.pipeline)
    out = Path(args.out)
    _stills(pipeline, label, Path(args.samples), out)
    _clip(args, pipeline, out)
    print(f"demo done in {time.monotonic() - started:.0f} s")
    return 0


def _stills(pipeline: Any, label: str, samples: Path, out: Path) -> None:
    from ..datasets import find_pairs
    from ..images import read_image, write_image
    from ..visualize import image_grid

    pairs, _ = find_pairs(samples)
    rows = []
    for pair in pairs:
        ir, vis = read_image(pair.ir), read_image(pair.vis)
        result = pipeline(ir, vis)
        path = write_image(out / f"{pair.name}_fused.png", result.fused)
        row = [ir, vis, result.fused, *(result.masks[k] for k in ("ir", "vis") if k in result.masks)]
        rows.append(row)
        print(f"{path}  ({sum(result.timings.values()):.0f} ms)")
    labels = ["IR", "VIS", f"fused ({label})", "IR mask", "VIS mask"]
    grid = write_image(out / "grid.png", image_grid(rows, labels, cell_width=320))
    print(f"grid of {len(rows)} pairs: {grid.resolve()}")


def _clip(args: argparse.Namespace, pipeline: Any, out: Path) -> None:
    from ..bag.make import BagSpec, make_bag
    from ..bag.preview import write_preview
    from ..errors import InputError
    from ..stream.node_params import NodeParams
    from ..stream.sync import SyncConfig

    video = Path(args.video)
    ir, vis = video / "ir" / f"{args.clip}.mp4", video / "vi" / f"{args.clip}.mp4"
    if not (ir.is_file() and vis.is_file()):
        raise InputError(f"clip {args.clip!r} not found: expected {ir} and {vis}")
    clip_bag, fused_bag, preview = out / "clip_bag", out / "fused_bag", out / "preview.mp4"
    for folder in (clip_bag, fused_bag):  # this demo's own outputs of an earlier run
        if folder.exists():
            shutil.rmtree(folder)
    # two free-running 30 Hz cameras: stamp jitter of +-3 ms, thermal 5 ms behind; a BGR camera driver
    spec = BagSpec(jitter=0.003, thermal_offset=0.005, rgb_encoding="bgr8", max_frames=args.frames)
    made = make_bag(ir, vis, clip_bag, spec)
    print(f"clip {args.clip}: {made.frames} frame pairs at {made.fps:.0f} fps -> {clip_bag}")
    params = NodeParams(sync=SyncConfig(min_interval=MIN_INTERVAL))
    if args.offline:
        from ..bag.fuse import fuse_bag

        report = fuse_bag(clip_bag, fused_bag, pipeline, params)
        print("offline (bag fuse, no DDS):\n" + report.summary())
        pairs_out = report.pairs_fused
    else:
        pairs_out = _through_node(args, pipeline, made, clip_bag, fused_bag)
    frames = write_preview(clip_bag, fused_bag, preview, params=params, fps=made.fps)
    print(f"fused bag: {fused_bag.resolve()}  ({pairs_out} fused pairs)")
    print(f"preview:   {preview.resolve()}  ({frames} frames, IR | VIS | fused)")


def _through_node(args: argparse.Namespace, pipeline: Any, made: Any, clip_bag: Path, fused_bag: Path) -> int:
    from ..bag.fuse import seconds_per_pair
    from ..ros.demo_replay import replay_through_node

    per_pair = seconds_per_pair(clip_bag, pipeline)
    rate = args.rate or min(1.0, (1.0 / made.fps) / (RATE_MARGIN * per_pair))
    print(f"replaying through the fusion node (in this process: lifecycle node configured + activated, a "
          f"recorder, a bag player at rate {rate:.3g}: the node needs {per_pair * 1000:.0f} ms per pair here, "
          f"the player leaves it {RATE_MARGIN:.0f}x that)", flush=True)
    r = replay_through_node(clip_bag, fused_bag, pipeline, rate=rate,
                            params={"sync.min_interval": MIN_INTERVAL})
    by_sync = [sum(d.values()) for d in r.dropped_by_sync]
    reasons = "; ".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in d.items())
                        for name, d in zip(("thermal", "RGB"), r.dropped_by_sync, strict=True) if d)
    print(f"node (sync by {r.sync_implementation}, images by {r.images}), {r.seconds:.1f} s:")
    print(f"  pairs in: {made.frames} (messages received: thermal {r.received[0]}, RGB {r.received[1]}; "
          f"bad {sum(r.bad)})")
    print(f"  pairs synced {r.synced} -> fused and published {r.fused}")
    print(f"  messages dropped by sync: thermal {by_sync[0]}, RGB {by_sync[1]}"
          + (f" ({reasons})" if reasons else "") + f"; still waiting in sync: {sum(r.pending_in_sync)}")
    print(f"  pairs dropped by back-pressure {r.dropped_backpressure}, rejected {sum(r.rejected.values())}, "
          f"failed {sum(r.failed.values())}")
    print("  recorded: " + ", ".join(f"{topic} {n}" for topic, n in r.recorded.items()))
    return r.fused
