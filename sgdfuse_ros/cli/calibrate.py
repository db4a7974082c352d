"""``sgdfuse calibrate SOURCE -o params.yaml``: estimate the thermal -> RGB homography of a camera pair."""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="estimate the thermal->RGB homography from frame pairs; write params",
                       description="Register a thermal and an RGB camera from frame pairs (edge-based, across "
                                   "modalities) or a heated checkerboard, and write the node's parameter file "
                                   "with pipeline.input.homography set. Nothing is written when registration fails.")
    p.add_argument("source", nargs="+", help="a bag folder, a folder with ir/ + vi/, two videos (IR VIS), or "
                                             "clip:NAME (a shared clip)")
    p.add_argument("-o", "--output", required=True, help="parameter YAML to write")
    p.add_argument("--params", help="parameter YAML to start from (its homography is the initial guess and the "
                                    "'before' score; default: the package's config/sgdfuse.yaml)")
    p.add_argument("--model", choices=("homography", "affine", "similarity"), default="homography")
    p.add_argument("--pairs", type=int, default=8, help="frame pairs spread over the source (default 8)")
    p.add_argument("--min-pairs", type=int, default=2, help="pairs that must agree (default 2)")
    p.add_argument("--target", choices=("scene", "checkerboard"), default="scene",
                   help="scene: edges of any structured scene; checkerboard: a (heated) board in view")
    p.add_argument("--board", default="9x6", help="checkerboard inner corners, COLSxROWS (default 9x6)")
    p.add_argument("--thermal-topic", default="/thermal/image")
    p.add_argument("--rgb-topic", default="/rgb/image")
    p.set_defaults(func=run)


def _homography_text(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.9g}" for v in values) + "]"


def write_params(base: Path, out: Path, homography: list[float], note: str) -> None:
    """``base`` with its ``homography:`` line replaced (comments kept); the result is checked by reading it."""
    from ..config import read_ros_params_yaml
    from ..errors import InputError
    from ..stream.node_params import params_from_flat

    text = base.read_text()
    pattern = re.compile(r"^(\s*homography:\s*)(\[[^\]]*\])", re.M)
    if len(pattern.findall(text)) != 1:
        raise InputError(f"{base}: expected exactly one 'homography:' line (in the pipeline section)")
    text = pattern.sub(lambda m: m.group(1) + _homography_text(homography), text)
    text = f"# {note}\n" + text
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    try:
        params_from_flat(read_ros_params_yaml(tmp))
    except Exception:
        tmp.unlink()
        raise
    tmp.replace(out)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..bag.pairs import load_pairs
    from ..config import read_ros_params_yaml
    from ..datasets import REPO_ROOT
    from ..errors import InputError
    from ..registration import calibrate
    from ..registration.target import calibrate_target
    from ..stream.node_params import params_from_flat

    base = Path(args.params) if args.params else REPO_ROOT / "config" / "sgdfuse.yaml"
    _, config = params_from_flat(read_ros_params_yaml(base))
    previous = np.array(config.input.homography, np.float64).reshape(3, 3) if config.input.homography else None
    pairs = load_pairs(args.source, args.pairs, args.thermal_topic, args.rgb_topic)
    if args.target == "checkerboard":
        try:
            cols, rows = (int(v) for v in args.board.lower().split("x"))
        except ValueError:
            raise InputError(f"--board takes COLSxROWS inner corners, e.g. 9x6, got {args.board!r}") from None
        cal = calibrate_target(pairs, (cols, rows), args.model, previous)
    else:
        cal = calibrate(pairs, args.model, previous, min_pairs=min(args.min_pairs, len(pairs)))
    for k, e in enumerate(cal.per_pair):
        if e.reason:
            print(f"  pair {k}: not used ({e.reason})")
    print(cal.summary())
    h = (cal.homography / cal.homography[2, 2]).ravel().tolist()
    note = f"sgdfuse calibrate {' '.join(args.source)}: {cal.summary()}"
    write_params(base, Path(args.output), h, note)
    print(f"homography (IR pixel -> RGB pixel, row-major): {_homography_text(h)}")
    print(f"wrote {args.output}")
    return 0
