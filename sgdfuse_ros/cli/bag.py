"""``sgdfuse bag make|fuse|play``: rosbag2 tools (make a thermal + RGB bag, fuse one offline, replay one)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .common import add_pipeline_args

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bag", help="make, fuse or replay rosbag2 files of thermal + RGB images",
                       description="rosbag2 (MCAP) tools: make a bag from videos, fuse one, replay one.")
    bag = p.add_subparsers(dest="bag_command", required=True, metavar="ACTION")

    m = bag.add_parser("make", help="IR + VIS videos or image folders -> a bag with two Image topics")
    m.add_argument("--ir", help="infrared video or image folder")
    m.add_argument("--vis", help="visible video or image folder")
    m.add_argument("--clip", help="a clip of shared/data/video/m3svd instead of --ir/--vis (e.g. 0111_1716)")
    m.add_argument("-o", "--output", required=True, help="bag folder to create")
    m.add_argument("--fps", type=float, help="frame rate (default: the videos'; folders: 30)")
    m.add_argument("--max-frames", type=int, default=0, help="stop after N frame pairs (0: all)")
    m.add_argument("--jitter", type=float, default=0.0, help="stamp jitter in s, uniform +- (default 0)")
    m.add_argument("--thermal-offset", type=float, default=0.0, help="seconds added to thermal stamps")
    m.add_argument("--thermal-encoding", choices=("mono8", "mono16"), default="mono8",
                   help="mono16: 8-bit frames scaled to centi-kelvin, 27315 + 16 * value")
    m.add_argument("--rgb-encoding", choices=("rgb8", "bgr8"), default="rgb8")
    m.add_argument("--thermal-topic", default="/thermal/image")
    m.add_argument("--rgb-topic", default="/rgb/image")
    m.add_argument("--thermal-frame", default="thermal_camera", help="frame_id of the thermal images")
    m.add_argument("--rgb-frame", default="rgb_camera", help="frame_id of the RGB images")
    m.add_argument("--start", type=float, default=1_700_000_000.0, help="first stamp (s since the epoch)")
    m.add_argument("--seed", type=int, default=0, help="seed of the jitter")
    m.set_defaults(func=run_make)

    f = bag.add_parser("fuse", help="fuse a bag offline (the node's sync and pipeline) into a new bag")
    f.add_argument("input", help="bag folder with the thermal and RGB topics")
    f.add_argument("output", help="bag folder to create with the fused (and mask) topics")
    f.add_argument("--params", help="the node's ROS parameter YAML (topics, sync, publish, pipeline)")
    f.add_argument("--json", help="also write the accounting as JSON to this file")
    f.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    add_pipeline_args(f)
    f.set_defaults(func=run_fuse)

    y = bag.add_parser("play", help="publish a bag over ROS 2 at the recorded rate (like ros2 bag play)")
    y.add_argument("bag", help="bag folder")
    y.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default 1)")
    y.add_argument("--topics", nargs="+", help="only these topics")
    y.add_argument("--remap", nargs="+", default=[], metavar="FROM:=TO", help="publish topic FROM as TO")
    y.add_argument("--restamp", action="store_true",
                   help="rewrite header stamps onto the playback clock (stamp->publish latency stays real)")
    y.add_argument("--wait-subscribers", type=int, default=0, metavar="N",
                   help="wait until every topic has N subscribers before playing")
    y.add_argument("--wait-timeout", type=float, default=10.0, help="seconds to wait for subscribers")
    y.add_argument("--qos", choices=("reliable", "best_effort"), default="reliable", help="reliability")
    y.add_argument("--depth", type=int, default=10, help="publisher queue depth")
    y.set_defaults(func=run_play)


def run_make(args: argparse.Namespace) -> int:
    from ..bag.make import BagSpec, make_bag
    from ..datasets import shared_root
    from ..errors import InputError

    if args.clip:
        root = shared_root()
        if root is None:
            raise InputError("--clip needs the shared data (set SGDFUSE_SHARED to the folder holding data/)")
        video = root / "data" / "video" / "m3svd"
        ir, vis = video / "ir" / f"{args.clip}.mp4", video / "vi" / f"{args.clip}.mp4"
    elif args.ir and args.vis:
        ir, vis = Path(args.ir), Path(args.vis)
    else:
        raise InputError("give --ir and --vis (videos or image folders), or --clip NAME")
    spec = BagSpec(thermal_topic=args.thermal_topic, rgb_topic=args.rgb_topic,
                   thermal_frame=args.thermal_frame, rgb_frame=args.rgb_frame,
                   thermal_encoding=args.thermal_encoding, rgb_encoding=args.rgb_encoding, fps=args.fps,
                   start_ns=round(args.start * 1e9), jitter=args.jitter, thermal_offset=args.thermal_offset,
                   max_frames=args.max_frames, seed=args.seed)
    made = make_bag(ir, vis, args.output, spec)
    print(f"wrote {made.path}: {made.frames} frame pairs at {made.fps:.2f} fps "
          f"({args.thermal_topic} {args.thermal_encoding}, {args.rgb_topic} {args.rgb_encoding})")
    return 0


def run_fuse(args: argparse.Namespace) -> int:
    from ..bag.io import check_new_bag, open_reader

    with open_reader(args.input):  # a missing or corrupt input fails before any model loads
        pass
    check_new_bag(args.output, (args.input,))
    if args.json:
        from ..outputs import check_file_output

        check_file_output(args.json, (args.input, args.output), args.overwrite, suffixes=None)

    from ..bag.fuse import fuse_bag
    from ..config import build_pipeline, pipeline_from_spec, read_ros_params_yaml
    from ..stream.node_params import NodeParams, params_from_flat

    params = NodeParams()
    if args.params:
        params, config = params_from_flat(read_ros_params_yaml(args.params))
        use_params = args.pipeline == "default"  # an explicit --pipeline wins over the file's section
        pipeline = build_pipeline(config) if use_params else pipeline_from_spec(args.pipeline)[1]
    else:
        pipeline = pipeline_from_spec(args.pipeline)[1]
    report = fuse_bag(args.input, args.output, pipeline, params)
    print(report.summary())
    if args.json:
        from ..outputs import write_bytes_atomic

        write_bytes_atomic(args.json, json.dumps(report.as_dict(), indent=2).encode())
    return 0 if report.balanced and not report.input_truncated else 1  # 1: written, but not all of the input


def run_play(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..ros.bag_play import play_bag_file

    remap = {}
    for item in args.remap:
        if ":=" not in item:
            raise InputError(f"--remap takes FROM:=TO, got {item!r}")
        src, dst = item.split(":=", 1)
        remap[src] = dst
    counts = play_bag_file(args.bag, rate=args.rate, topics=args.topics, remap=remap, restamp=args.restamp,
                           wait_subscribers=args.wait_subscribers, wait_timeout=args.wait_timeout,
                           reliability=args.qos, depth=args.depth)
    print("published: " + ", ".join(f"{topic} {n}" for topic, n in counts.items()))
    return 0

