"""Noise and halo figures (not in the reference code): NR, Immerkaer's noise ratio, and OS, overshoot.

- ``immerkaer_sigma``: Immerkaer (1996), "Fast noise variance estimation": the 3x3 kernel
  [[1,-2,1],[-2,4,-2],[1,-2,1]] (the difference of two Laplacians, blind to planes and nearly so to smooth
  structure) and sigma = sqrt(pi/2) * sum|I*K| / (6 (W-2)(H-2)), over the valid region, on grey 0..255.
- ``noise_ratio`` (NR): sigma(F) / max(sigma(IR), sigma(VIS)); above 1 the fusion adds grain that neither
  camera had (lower is cleaner; a blur also lowers it, so read it beside SF/AG/Qabf).
- ``overshoot`` (OS): mean grey levels by which F leaves the range [min, max] of both sources in a
  (2r+1)^2 window around each pixel: halos, dark rims and ringing that no source explains (0 for any
  per-pixel convex blend of the sources).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from sgdfuse_ros.metrics._common import as_f64

IMMERKAER_KERNEL = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def immerkaer_sigma(img: np.ndarray) -> float:
    """Immerkaer's noise standard deviation of a 2-D image (grey levels); NaN below 3x3."""
    f = as_f64(img)
    h, w = f.shape
    if h < 3 or w < 3:
        return float("nan")
    response = cv2.filter2D(f, cv2.CV_64F, IMMERKAER_KERNEL)[1:-1, 1:-1]  # symmetric kernel: correlation == convolution
    return float(math.sqrt(math.pi / 2.0) * np.abs(response).sum() / (6.0 * (w - 2) * (h - 2)))


def noise_ratio(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """NR = sigma(F) / max(sigma(IR), sigma(VIS)) (Immerkaer sigmas); inf when both sources are noise-free."""
    ref = max(immerkaer_sigma(ir), immerkaer_sigma(vis))
    sigma = immerkaer_sigma(fused)
    return float(sigma / ref) if ref > 0 else (float("inf") if sigma > 0 else float("nan"))


def overshoot_map(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, radius: int = 3) -> np.ndarray:
    """Per pixel: max(0, F - local max of both sources, local min of both sources - F) over the (2r+1)^2
    window, in the images' own units."""
    f, a, b = as_f64(fused), as_f64(ir), as_f64(vis)
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    high = cv2.dilate(np.maximum(a, b), kernel, borderType=cv2.BORDER_REPLICATE)
    low = cv2.erode(np.minimum(a, b), kernel, borderType=cv2.BORDER_REPLICATE)
    return np.maximum(f - high, 0.0) + np.maximum(low - f, 0.0)


def overshoot(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, radius: int = 3) -> float:
    """OS: the mean of ``overshoot_map`` on grey 0..255."""
    return float(np.mean(overshoot_map(fused, ir, vis, radius)))
