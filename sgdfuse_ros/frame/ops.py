"""Tensor versions of the per-stage pipeline's host steps (``images.py``, ``diffusion.contrast``), traceable.

Every op works on one frame of a fixed size (the frame graph is built per frame size), uses only ops that
ONNX opset 17 and TensorRT's ONNX parser support, and matches its numpy/OpenCV counterpart to float32
rounding: percentiles by bisection on counts (no sort, no TopK: TensorRT limits TopK's k), resizing as
constant matrices (OpenCV's INTER_AREA and INTER_LINEAR weights), the homography as ``grid_sample``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..metrics.noise import IMMERKAER_KERNEL
from ..models.layers import box_mean

LUMA = (0.299, 0.587, 0.114)  # BT.601, as images.rgb_to_ycbcr


def percentiles(values: torch.Tensor, qs: tuple[float, ...], lo: float, hi: float, iters: int) -> torch.Tensor:
    """``np.percentile(values, qs)`` (linear interpolation) of a flat tensor whose values lie in [lo, hi].

    Each order statistic x_(k) is bracketed by ``iters`` bisections of [lo, hi] on the count of values at
    most the midpoint, then taken exactly as the smallest value above the lower bracket (exact for integer
    data once the bracket is narrower than 1; within (hi - lo) / 2**iters for floats). Scalar brackets, one
    percentile at a time: elementwise ops against a scalar are the fast path of every backend.
    """
    n = values.shape[0]
    above_all = torch.full((), hi + 1.0, device=values.device)  # a stand-in for "no value": above them all
    one, zero = torch.ones((), device=values.device), torch.zeros((), device=values.device)
    out = []
    for q in qs:
        rank = q / 100.0 * (n - 1)
        k, frac = math.floor(rank), rank - math.floor(rank)
        low = torch.full((), lo - 0.5, device=values.device)  # count(x <= low) <= k always
        high = torch.full((), hi + 0.5, device=values.device)
        for _ in range(iters):
            mid = (low + high) * 0.5
            above = torch.where(values <= mid, one, zero).sum() > k  # x_(k) <= mid
            high, low = torch.where(above, mid, high), torch.where(above, low, mid)
        x_k = torch.where(values > low, values, above_all).min()
        has_next_equal = torch.where(values <= x_k, one, zero).sum() > k + 1
        x_next = torch.minimum(torch.where(values > x_k, values, above_all).min(), values.max())  # k = n - 1
        out.append(x_k + frac * (torch.where(has_next_equal, x_k, x_next) - x_k))
    return torch.stack(out)


def stretch_range(image: torch.Tensor, low_q: float, high_q: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(lo, hi) of ``ContrastStretch.fit`` for a float image in [0, 1]: its percentiles, (0, 1) if flat."""
    p = percentiles(image.reshape(-1), (low_q, high_q), 0.0, 1.0, iters=22)
    flat = (p[1] - p[0]) < 1e-3
    return torch.where(flat, torch.zeros_like(p[0]), p[0]), torch.where(flat, torch.ones_like(p[1]), p[1])


def contrast_stretch(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, knee: float) -> torch.Tensor:
    """``ContrastStretch(lo, hi, knee)(x)``: linear up to the knee, a tanh shoulder above, 0 below lo."""
    u = torch.clamp((x - lo) * (1.0 / (hi - lo)), min=0.0)
    shoulder = knee + (1 - knee) * torch.tanh((u - knee) / (1 - knee))
    return torch.where(u <= knee, u, shoulder)


def stretch_slope(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, knee: float) -> torch.Tensor:
    """``ContrastStretch(lo, hi, knee).slope(x)``: the map's derivative."""
    gain = 1.0 / (hi - lo)
    u = (x - lo) * gain
    shoulder = 1.0 - torch.tanh((u - knee) / (1 - knee)) ** 2
    return gain * torch.where(u < 0, torch.zeros_like(u), torch.where(u <= knee, torch.ones_like(u), shoulder))


def immerkaer_sigma(x: torch.Tensor) -> torch.Tensor:
    """``metrics.noise.immerkaer_sigma`` of a (1, 1, H, W) image, in its own units."""
    kernel = x.new_tensor(IMMERKAER_KERNEL)[None, None]
    return math.sqrt(math.pi / 2.0) / 6.0 * F.conv2d(x, kernel).abs().mean()


def base_only_stretch(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, knee: float, radius: int,
                      detail_snr: float = 0.0, detail_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``ContrastStretch(lo, hi, knee).base_only(x, radius, detail_snr * sigma(x), detail_mask)``: the map on
    the (2r+1)^2 box base, detail added back (with the noise-aware or masked gain when asked for)."""
    base = box_mean(x, radius)
    detail = x - base
    share = detail_mask
    if detail_snr > 0:
        floor = detail_snr * immerkaer_sigma(x)
        noise_share = detail**2 / (detail**2 + floor**2 + 1e-12)
        share = noise_share if share is None else share * noise_share
    if share is not None:
        detail = detail * (1.0 + torch.clamp(stretch_slope(base, lo, hi, knee) - 1.0, min=0.0) * share)
    return contrast_stretch(base, lo, hi, knee) + detail


def target_mask(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """``diffusion.contrast.target_mask``: a (1, 1, H, W) mask grown by a (2r+1)^2 maximum."""
    return F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)


def agc_step(counts: torch.Tensor, state: torch.Tensor, percentiles_: tuple[float, float], smoothing: float,
             scene_change: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``stream.temporal.ThermalAGC`` on a 16-bit frame's counts: (low, high, next state).

    ``state`` is (low, high, valid) of the previous frames (valid 0: none yet); the next state is (low, high,
    restarted), restarted 1 when this frame's median left the range by more than ``scene_change`` ranges (a
    new scene: the range restarts from this frame's percentiles), else the range moves by ``smoothing`` of the
    way to them.
    """
    lo, median, hi = percentiles(counts.reshape(-1), (percentiles_[0], 50.0, percentiles_[1]), 0.0, 65535.0,
                                 iters=17)
    s_lo, s_hi, valid = state[0], state[1], state[2] > 0.5
    margin = scene_change * torch.clamp(s_hi - s_lo, min=1.0)
    inside = (median >= s_lo - margin) & (median <= s_hi + margin)
    if smoothing >= 1.0:  # per frame: the frame's own percentiles, never a restart
        return lo, hi, torch.stack([lo, hi, torch.zeros_like(lo)])
    smooth = valid & inside
    new_lo = torch.where(smooth, s_lo + smoothing * (lo - s_lo), lo)
    new_hi = torch.where(smooth, s_hi + smoothing * (hi - s_hi), hi)
    restarted = (valid & ~inside).float()
    return new_lo, new_hi, torch.stack([new_lo, new_hi, restarted])


def normalise_thermal(counts: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Thermal counts -> [0, 1] with ``lo``..``hi`` mapped to 0..1 (``images.to_unit_float``); 0 if flat."""
    scaled = torch.clamp((counts - lo) / (hi - lo), 0.0, 1.0)
    return torch.where(hi > lo, scaled, torch.zeros_like(scaled))


def area_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(out, in) weights of OpenCV's INTER_AREA shrink along one axis (box overlap / scale)."""
    scale = size_in / size_out
    m = np.zeros((size_out, size_in), np.float64)
    for i in range(size_out):
        start, stop = i * scale, (i + 1) * scale
        for j in range(math.floor(start), min(math.ceil(stop), size_in)):
            m[i, j] = max(0.0, min(stop, j + 1) - max(start, j)) / scale
    return m.astype(np.float32)


def linear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(out, in) weights of OpenCV's INTER_LINEAR along one axis (half-pixel centres, edges clamped)."""
    scale = size_in / size_out
    m = np.zeros((size_out, size_in), np.float64)
    for i in range(size_out):
        src = (i + 0.5) * scale - 0.5
        j = math.floor(src)
        t = src - j
        if j < 0:
            j, t = 0, 0.0
        if j >= size_in - 1:
            j, t = size_in - 1, 0.0
        m[i, j] += 1 - t
        if t > 0:
            m[i, j + 1] += t
    return m.astype(np.float32)


def resize_matrices(shape_in: tuple[int, int], shape_out: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows (Ho, Hi), cols (Wo, Wi)) so that ``rows @ img @ cols.T`` is ``images.resize_to(img, shape_out)``."""
    shrink = shape_in[0] > shape_out[0] and shape_in[1] > shape_out[1]
    make = area_matrix if shrink else linear_matrix
    return make(shape_in[0], shape_out[0]), make(shape_in[1], shape_out[1])


def homography_grid(homography: np.ndarray, shape_in: tuple[int, int], shape_out: tuple[int, int]) -> np.ndarray:
    """(1, Ho, Wo, 2) ``grid_sample`` grid (align_corners=True) of ``cv2.warpPerspective(img, H, out)``."""
    inv = np.linalg.inv(np.asarray(homography, np.float64))
    ys, xs = np.mgrid[0:shape_out[0], 0:shape_out[1]].astype(np.float64)
    pts = inv @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    u, v = pts[0] / pts[2], pts[1] / pts[2]
    gx = 2.0 * u / max(shape_in[1] - 1, 1) - 1.0
    gy = 2.0 * v / max(shape_in[0] - 1, 1) - 1.0
    return np.stack([gx, gy], axis=-1).reshape(1, *shape_out, 2).astype(np.float32)


def warp(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """(1, 1, Hi, Wi) -> (1, 1, Ho, Wo) bilinear at ``grid``, zeros outside (BORDER_CONSTANT)."""
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def rgb_to_ycbcr(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(1, 3, H, W) RGB in [0, 1] -> Y, Cb, Cr (1, 1, H, W) each, as ``images.rgb_to_ycbcr``."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b
    return y, (b - y) * 0.564 + 0.5, (r - y) * 0.713 + 0.5


def ycbcr_to_rgb(y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor) -> torch.Tensor:
    """Inverse colour of ``images.ycbcr_to_rgb_u8`` (before rounding): (1, 3, H, W)."""
    cb, cr = cb - 0.5, cr - 0.5
    return torch.cat([y + 1.403 * cr, y - 0.714 * cr - 0.344 * cb, y + 1.773 * cb], dim=1)


def reverse_channels(x: torch.Tensor) -> torch.Tensor:
    """RGB <-> BGR of (1, 3, H, W)."""
    return torch.cat([x[:, 2:3], x[:, 1:2], x[:, 0:1]], dim=1)


def to_u8(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] float -> uint8 with numpy's rounding (half to even)."""
    return torch.round(torch.clamp(x, 0.0, 1.0) * 255.0).to(torch.uint8)
