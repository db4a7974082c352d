"""Peak resident memory of a pipeline against the frame size: the figure behind the default pixel limit.

    PYTHONPATH=. .venv/bin/python scripts/memory_per_megapixel.py --pipeline default --sizes 640x480,1280x960,1920x1440

Each size runs in a fresh process (peak RSS only grows, so sizes must not share one): the pipeline is built,
fuses one random pair of that size once, and reports ``ru_maxrss``. The slope of peak RSS over megapixels
(least squares) is the memory per megapixel; the intercept is the fixed cost (code, models).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

import numpy as np


def measure(pipeline: str, width: int, height: int, threads: int) -> float:
    """Peak RSS (MB) of this process after building ``pipeline`` and fusing one ``width``x``height`` pair."""
    import torch

    from sgdfuse_ros.config import pipeline_from_spec

    torch.set_num_threads(threads)
    _, fuse = pipeline_from_spec(f"{pipeline}:input.max_megapixels=0")  # 0: no limit, this measures it
    rng = np.random.default_rng(0)
    fuse(rng.integers(0, 256, (height, width), np.uint8), rng.integers(0, 256, (height, width, 3), np.uint8))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="default")
    parser.add_argument("--sizes", default="640x480,1280x960,1920x1440", help="comma-separated WxH")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one WxH in this process
    args = parser.parse_args()
    if args.one:
        width, height = map(int, args.one.split("x"))
        print(json.dumps({"mb": measure(args.pipeline, width, height, args.threads)}))
        return 0
    rows = []
    for size in args.sizes.split(","):
        out = subprocess.run([sys.executable, __file__, "--pipeline", args.pipeline, "--threads",
                              str(args.threads), "--one", size], capture_output=True, text=True, check=True)
        width, height = map(int, size.split("x"))
        mb = json.loads(out.stdout.strip().splitlines()[-1])["mb"]
        rows.append((width * height / 1e6, mb))
        print(f"{size:>11}  {width * height / 1e6:6.2f} MP  peak RSS {mb:8.0f} MB", flush=True)
    mp, mb = np.array(rows).T
    slope, intercept = np.polyfit(mp, mb, 1)
    print(f"pipeline {args.pipeline}: {slope:.0f} MB per megapixel + {intercept:.0f} MB fixed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
