"""Orin latency *estimate* of a pipeline's frame graph (a roofline from FLOPs and memory traffic, no GPU).

Builds the frame graph (``sgdfuse export frame``'s graph: the node's default output filter over frames
inside, 8-bit thermal) per size, counts its FLOPs (convolutions and
matmuls) and its memory traffic (convolutions in fp16; every other op unfused, at its own dtype: an upper
bound), and writes the estimate table of ``bench.estimate`` (docs/jetson.md cites it).

    .venv/bin/python scripts/frame_graph_estimate.py [--pipeline default] [--sizes 640x480,1280x1024]
        [--out docs/results/frame_graph/orin_estimate.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sgdfuse_ros.bench.estimate import frame_estimate_header, frame_estimate_rows, op_traffic_mb
from sgdfuse_ros.cli.export import node_output_filter, pipeline_frame_graph
from sgdfuse_ros.export.engines import parse_shape
from sgdfuse_ros.models.flops import gflops
from sgdfuse_ros.options import split_list


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="default")
    parser.add_argument("--sizes", default="640x480,1280x1024")
    parser.add_argument("--out", default="docs/results/frame_graph/orin_estimate.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    output_filter = node_output_filter()  # the node's default stream: the graph runs its output filter
    lines = frame_estimate_header()
    for size in split_list(args.sizes):
        height, width = parse_shape(size)
        graph, io, _ = pipeline_frame_graph(args.pipeline, height, width, output_filter)
        inputs = tuple(io.example_inputs().values())
        lines += frame_estimate_rows(args.pipeline, size, gflops(graph, *inputs), op_traffic_mb(graph, inputs))
        print(lines[-2], lines[-1], sep="\n", flush=True)
    cmd = f".venv/bin/python scripts/frame_graph_estimate.py --pipeline {args.pipeline} --sizes {args.sizes}"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(f"# Orin estimate of the {args.pipeline} frame graph (computed, not measured)\n\n"
                              f"Written by `{cmd}`.\n\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
