"""Preview video of fused output: IR | VIS | fused side by side, one video frame per fused message.

A fused message carries its RGB frame's header, so its RGB input is the RGB message with that stamp; the IR
panel shows the thermal message nearest in time (the one the synchroniser paired, unless a closer one was
dropped). Written with OpenCV's ``mp4v`` codec.
"""

from __future__ import annotations

import bisect
import statistics
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import InputError
from ..stream.encodings import to_pipeline_input
from ..stream.node_params import NodeParams
from ..visualize import image_grid
from .io import open_reader, stamp_ns, typestore

LABELS = ("IR", "VIS", "fused")


def _absolute(topic: str) -> str:
    return topic if topic.startswith("/") else "/" + topic


def _messages(path: str | Path, topics: list[str]) -> dict[str, list[Any]]:
    store = typestore()
    out: dict[str, list[Any]] = {t: [] for t in topics}
    with open_reader(path) as reader:
        conns = [c for c in reader.connections if c.topic in out]
        for conn, _, raw in reader.messages(connections=conns):
            out[conn.topic].append(store.deserialize_cdr(raw, conn.msgtype))
    return out


def _rgb(msg: Any) -> np.ndarray:
    img, order = to_pipeline_input(msg)
    if img.ndim == 3 and order == "bgr":
        img = img[:, :, ::-1]
    return img  # gray (8/16-bit) or RGB; image_grid stretches 16-bit for display


def write_preview(inputs_bag: str | Path, fused_bag: str | Path, out_path: str | Path, *,
                  params: NodeParams | None = None, fps: float | None = None, cell_width: int = 640) -> int:
    """Write the video; returns its number of frames (one per fused message with its RGB input found)."""
    p = params or NodeParams()
    thermal_topic, rgb_topic = _absolute(p.topics.thermal), _absolute(p.topics.rgb)
    fused_topic = _absolute(p.topics.fused)
    inputs = _messages(inputs_bag, [thermal_topic, rgb_topic])
    fused = _messages(fused_bag, [fused_topic])[fused_topic]
    if not inputs[thermal_topic] or not inputs[rgb_topic]:
        raise InputError(f"{inputs_bag}: no messages on {thermal_topic} and {rgb_topic}")
    rgb_by_stamp = {stamp_ns(m.header): m for m in inputs[rgb_topic]}
    thermal = sorted(inputs[thermal_topic], key=lambda m: stamp_ns(m.header))
    thermal_stamps = [stamp_ns(m.header) for m in thermal]
    if fps is None:
        gaps = np.diff(sorted(rgb_by_stamp))
        fps = 1e9 / statistics.median(gaps.tolist()) if len(gaps) else 30.0
    writer = None
    frames = 0
    try:
        for msg in fused:
            stamp = stamp_ns(msg.header)
            vis = rgb_by_stamp.get(stamp)
            if vis is None:
                continue
            k = bisect.bisect_left(thermal_stamps, stamp)
            near = min((i for i in (k - 1, k) if 0 <= i < len(thermal)), key=lambda i: abs(thermal_stamps[i] - stamp))
            width = min(cell_width, int(vis.width))
            grid = image_grid([[_rgb(thermal[near]), _rgb(vis), _rgb(msg)]], LABELS, cell_width=width)
            if writer is None:
                Path(out_path).parent.mkdir(parents=True, exist_ok=True)
                size = (grid.shape[1], grid.shape[0])
                writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
                if not writer.isOpened():
                    raise InputError(f"{out_path}: OpenCV cannot write an mp4v video here")
            writer.write(np.ascontiguousarray(grid[:, :, ::-1]))
            frames += 1
    finally:
        if writer is not None:
            writer.release()
    return frames
