"""Input checks, MATLAB-compatible grayscale conversion and filtering helpers shared by the metrics."""

from __future__ import annotations

import cv2
import numpy as np

from sgdfuse_ros.errors import InputError

# First row of the inverse NTSC matrix: the exact coefficients of MATLAB's rgb2gray.
RGB2GRAY_COEFFS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def to_gray_u8(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` for uint8 RGB (HxWx3, R first); a 2-D (or HxWx1) uint8 image passes through."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise InputError(f"to_gray_u8: expected a uint8 image, got dtype {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return img
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputError(f"to_gray_u8: expected HxW or HxWx3 (RGB), got shape {img.shape}")
    rgb = img.astype(np.float64)
    c0, c1, c2 = RGB2GRAY_COEFFS
    y = c0 * rgb[:, :, 0] + c1 * rgb[:, :, 1] + c2 * rgb[:, :, 2]
    # MATLAB round (half away from zero; y >= 0 here) without the floor(y + 0.5) rounding trap.
    r = np.floor(y)
    r += (y - r) >= 0.5
    return np.clip(r, 0, 255).astype(np.uint8)


def check_u8_gray(img: np.ndarray, name: str) -> np.ndarray:
    """The image as a 2-D uint8 array, or InputError (a ValueError) naming what is wrong."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise InputError(f"{name}: expected a uint8 grayscale image, got dtype {arr.dtype} "
                         "(convert colour images with to_gray_u8)")
    if arr.ndim != 2:
        raise InputError(f"{name}: expected a 2-D HxW grayscale image, got shape {arr.shape} "
                         "(convert colour images with to_gray_u8)")
    if arr.size == 0:
        raise InputError(f"{name}: empty image")
    return arr


def check_triple(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> tuple[np.ndarray, ...]:
    """Validate a (fused, ir, vis) triple: uint8, 2-D, one shape."""
    arrs = tuple(check_u8_gray(x, n) for x, n in ((fused, "fused"), (ir, "ir"), (vis, "vis")))
    if not arrs[0].shape == arrs[1].shape == arrs[2].shape:
        raise InputError(f"fused, ir and vis must have the same shape, got {arrs[0].shape}, "
                         f"{arrs[1].shape} and {arrs[2].shape}")
    if min(arrs[0].shape) < 2:
        raise InputError(f"images must be at least 2x2 pixels, got {arrs[0].shape}")
    return arrs


def as_f64(img: np.ndarray) -> np.ndarray:
    """The image as float64 holding its raw values (im2double(x)*255 for uint8 input)."""
    arr = np.asarray(img, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D image, got shape {arr.shape}")
    return arr


def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of ``fspecial('gaussian', size, sigma)`` (the 2-D kernel is its outer product)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def filter_valid(img: np.ndarray, k1d: np.ndarray) -> np.ndarray:
    """``filter2(outer(k1d, k1d), img, 'valid')``: separable correlation without padding."""
    r = (k1d.size - 1) // 2
    h, w = img.shape
    if h <= 2 * r or w <= 2 * r:
        return np.zeros((max(h - 2 * r, 0), max(w - 2 * r, 0)))
    out = cv2.sepFilter2D(img, cv2.CV_64F, k1d, k1d, borderType=cv2.BORDER_CONSTANT)
    return out[r:h - r, r:w - r]


def filter_same_replicate(img: np.ndarray, k1d: np.ndarray) -> np.ndarray:
    """``imfilter(img, outer(k1d, k1d), 'replicate')`` for a symmetric kernel, output the size of img."""
    return cv2.sepFilter2D(img, cv2.CV_64F, k1d, k1d, borderType=cv2.BORDER_REPLICATE)


def box_sum_valid(img: np.ndarray, size: int) -> np.ndarray:
    """Sums over every size x size window ('valid'); exact for data on a dyadic grid (any order is exact)."""
    r = (size - 1) // 2
    h, w = img.shape
    out = cv2.boxFilter(img, cv2.CV_64F, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return out[r:h - r, r:w - r]


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """MATLAB ``corr2``: Pearson correlation over all pixels."""
    xc = x - x.mean()
    yc = y - y.mean()
    return float(np.sum(xc * yc) / np.sqrt(np.sum(xc * xc) * np.sum(yc * yc)))
