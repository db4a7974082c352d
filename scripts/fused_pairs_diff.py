"""Fuse a few pairs with one pipeline and compare with another checkout's run of the same pairs.

Checks that a pipeline spec of today's code reproduces an older commit's pipeline (docs/detection.md, issue 22:
the previous default through ``stage1.weights``/``refiner.weights``). Run it once per checkout, the code
of each chosen by ``PYTHONPATH`` (the script sits outside the package, so the cwd is not on sys.path):

    git worktree add --detach /tmp/old 023d455
    SGDFUSE_SHARED=$PWD/../shared PYTHONPATH=/tmp/old python scripts/fused_pairs_diff.py fuse sgdfuse /tmp/old.npz
    PYTHONPATH=. python scripts/fused_pairs_diff.py fuse runs/det_prev/sgdfuse_prev.yaml /tmp/prev.npz
    PYTHONPATH=. python scripts/fused_pairs_diff.py diff /tmp/old.npz /tmp/prev.npz
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from sgdfuse_ros.config import pipeline_from_spec
from sgdfuse_ros.datasets import find_pairs, resolve_dataset


def fuse(spec: str, out: str, dataset: str) -> None:
    """The first night and the first day pair of ``dataset`` (MSRS names end in N/D), fused, into ``out``."""
    torch.set_num_threads(1)
    pairs = find_pairs(resolve_dataset(dataset))[0]
    chosen = [next(p for p in pairs if p.name.endswith(s)) for s in ("N", "D")]
    _, pipeline = pipeline_from_spec(spec)
    np.savez(out, **{p.name: pipeline.fuse_files(p.ir, p.vis).fused for p in chosen})


def diff(a: str, b: str) -> None:
    """Per pair: largest and mean absolute difference (grey levels), share of values that differ."""
    first, second = np.load(a), np.load(b)
    for name in first.files:
        d = np.abs(first[name].astype(np.int32) - second[name].astype(np.int32))
        print(f"{name}: max {d.max()}, mean {d.mean():.4f}, differing {100 * (d > 0).mean():.4f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fuse")
    f.add_argument("spec", help="pipeline: preset, method, spec with overrides or .yaml")
    f.add_argument("out", help=".npz of the fused RGB images")
    f.add_argument("--dataset", default="msrs_test")
    d = sub.add_parser("diff")
    d.add_argument("a")
    d.add_argument("b")
    args = parser.parse_args()
    fuse(args.spec, args.out, args.dataset) if args.command == "fuse" else diff(args.a, args.b)


if __name__ == "__main__":
    main()
