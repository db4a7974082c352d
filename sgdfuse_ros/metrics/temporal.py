"""Temporal stability of a fused video: flicker in static regions and flow-warped temporal error.

Both are computed for the fused frames and, on the same pixels, for the two sources (IR on the visible grid,
visible luma), so a fused video can be compared with what its inputs already do:

- ``flicker``: mean |frame_t - frame_{t-1}| (0..255 luma) over *static* pixels, where the visible image's
  optical flow (OpenCV DIS) is below ``STATIC_FLOW_PX``: there any change is noise, gain jumps or flicker.
- ``warp_error``: mean |frame_t - frame_{t-1} warped by the flow| over the pixels whose forward and backward
  flows agree (not occluded): temporal consistency where things move too.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

STATIC_FLOW_PX = 0.25  # flow magnitude below which a pixel is static
CONSISTENT_PX = 1.0  # forward-backward flow mismatch below which a pixel counts for the warp error


def _flow(dis: cv2.DISOpticalFlow, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return dis.calc(a, b, None)


def _u8(luma: np.ndarray) -> np.ndarray:
    return luma if luma.dtype == np.uint8 else np.round(np.clip(luma, 0.0, 1.0) * 255.0).astype(np.uint8)


class TemporalMeter:
    """Accumulates the metrics frame by frame: ``add({"vis": HxW, "ir": HxW, "fused": HxW, ...})`` (uint8 luma,
    or float in [0, 1]; any number of streams beside "vis", whose optical flow all of them share), then
    ``result()`` -> {stream: {"flicker": .., "warp_error": ..}}."""

    def __init__(self) -> None:
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.previous: dict[str, np.ndarray] | None = None
        self.sums: dict[str, np.ndarray] = {}  # stream -> (flicker sum, warp error sum)
        self.pixels = np.zeros(2)  # static pixels, consistent pixels
        self.frames = 0

    def add(self, frames: dict[str, np.ndarray]) -> None:
        current = {s: _u8(f) for s, f in frames.items()}
        self.frames += 1
        prev, self.previous = self.previous, current
        if prev is None or prev["vis"].shape != current["vis"].shape:
            return
        back = _flow(self.dis, current["vis"], prev["vis"])  # t -> t-1: current(x) ~ prev(x + back(x))
        fwd = _flow(self.dis, prev["vis"], current["vis"])
        h, w = back.shape[:2]
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mx, my = gx + back[..., 0], gy + back[..., 1]
        fwd_at = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        consistent = inside & (np.linalg.norm(back + fwd_at, axis=2) < CONSISTENT_PX)
        static = np.linalg.norm(back, axis=2) < STATIC_FLOW_PX
        self.pixels += (static.sum(), consistent.sum())
        for s in current:
            a, b = current[s].astype(np.float32), prev[s].astype(np.float32)
            warped = cv2.remap(b, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            self.sums.setdefault(s, np.zeros(2))
            self.sums[s] += (np.abs(a - b)[static].sum(), np.abs(a - warped)[consistent].sum())

    def result(self) -> dict[str, dict[str, float]]:
        n = np.maximum(self.pixels, 1)
        return {s: {"flicker": float(self.sums[s][0] / n[0]), "warp_error": float(self.sums[s][1] / n[1])}
                for s in self.sums} | {"pixels": {"static": float(self.pixels[0]), "consistent": float(self.pixels[1]),
                                               "frames": float(self.frames)}}


def temporal_metrics(frames: Iterable[dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    meter = TemporalMeter()
    for f in frames:
        meter.add(f)
    return meter.result()
