"""Temporal metrics of fused bags (``metrics.temporal``) against the bag they were fused from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..images import resize_to, rgb_to_ycbcr
from ..metrics.temporal import TemporalMeter
from ..stream.encodings import to_pipeline_input
from .io import open_reader, stamp_ns, typestore


def _images(path: Path, topics: list[str]) -> dict[str, dict[int, Any]]:
    store = typestore()
    out: dict[str, dict[int, Any]] = {t: {} for t in topics}
    with open_reader(path) as reader:
        conns = [c for c in reader.connections if c.topic in topics]
        for conn, _, raw in reader.messages(connections=conns):
            msg = store.deserialize_cdr(raw, conn.msgtype)
            img, order = to_pipeline_input(msg)
            out[conn.topic][stamp_ns(msg.header)] = img[..., ::-1] if img.ndim == 3 and order == "bgr" else img
    return out


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) / 255.0 if rgb.ndim == 2 else rgb_to_ycbcr(rgb[..., :3].astype(np.float32) / 255.0)[0]


def bag_temporal_metrics(source_bag: str | Path, fused_bags: list[str | Path], thermal_topic: str = "/thermal/image",
                         rgb_topic: str = "/rgb/image", fused_topic: str = "/fused_image") -> dict[str, Any]:
    """{"ir": .., "vis": .., "<fused bag name>": ..}, each {"flicker", "warp_error"}, over the frames every fused
    bag has (matched by the RGB stamp the outputs carry). A 16-bit thermal source is shown with one fixed range
    for the whole clip (its 1st..99th percentiles over all frames): the scene's own changes, no gain jumps."""
    src = _images(Path(source_bag), [thermal_topic, rgb_topic])
    fused = {str(b): _images(Path(b), [fused_topic])[fused_topic] for b in fused_bags}
    stamps = sorted(set(src[rgb_topic]).intersection(*[set(f) for f in fused.values()]))
    th_stamps = np.array(sorted(src[thermal_topic]))
    thermal = {s: src[thermal_topic][int(th_stamps[np.abs(th_stamps - s).argmin()])] for s in stamps}
    first = next(iter(thermal.values()))
    lo = hi = 0.0
    if first.dtype == np.uint16:
        lo, hi = np.percentile(np.concatenate([t[::4, ::4].ravel() for t in thermal.values()]), (1.0, 99.0))
    meter = TemporalMeter()  # one optical flow per frame pair, shared by the sources and every fused bag
    for s in stamps:
        vis = _luma(src[rgb_topic][s])
        t = thermal[s] if thermal[s].ndim == 2 else thermal[s][..., 0]
        ir = t.astype(np.float32) / 255.0 if t.dtype == np.uint8 else \
            np.clip((t.astype(np.float32) - lo) / max(hi - lo, 1.0), 0.0, 1.0)
        streams = {"vis": vis, "ir": resize_to(ir, vis.shape)}
        meter.add(streams | {name: _luma(frames[s]) for name, frames in fused.items()})
    r = meter.result()
    frame_count = {"frames": r["pixels"]["frames"]}
    return {"ir": r["ir"], "vis": r["vis"]} | {Path(name).name: r[name] | frame_count for name in fused}
