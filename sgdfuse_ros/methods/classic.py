"""Classic, training-free fusion baselines: the floor of every results table.

Registered names (all take and return float32 HxW luma in [0, 1]):
- ``average``: pixel-wise mean.
- ``maxabs``: base layers (7x7 box mean) averaged, detail layers chosen by the larger absolute value.
- ``laplacian``: Laplacian-pyramid fusion (Burt & Adelson 1983); detail levels chosen by the larger
  local activity (window mean of |detail|), the top (base) level averaged.
- ``gff``: Guided Filtering based Fusion (Li, Kang, Hu 2013), see ``gff.py``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import cv2
import numpy as np

from ..errors import ConfigError, InputError
from ..images import MIN_SIDE
from .gff import gff
from .registry import FuseFn, register_method

MAX_PYRAMID_LEVELS = 5
PYRAMID_TOP_MIN_SIDE = 8  # automatic depth stops before the top level gets smaller than this


def average(ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Pixel-wise mean of the two images."""
    return (ir + vis) * 0.5


def _choose_detail(d_ir: np.ndarray, d_vis: np.ndarray, window: int) -> np.ndarray:
    """Per pixel, the detail whose activity (mean |detail| over ``window`` x ``window``) is larger."""
    act_ir, act_vis = np.abs(d_ir), np.abs(d_vis)
    if window > 1:
        act_ir, act_vis = cv2.blur(act_ir, (window, window)), cv2.blur(act_vis, (window, window))
    return np.where(act_ir >= act_vis, d_ir, d_vis)


def maxabs(ir: np.ndarray, vis: np.ndarray, *, base_size: int = 7) -> np.ndarray:
    """Two-scale max-abs fusion: mean of the box-filtered bases + per-pixel max-|detail|."""
    if base_size < 3 or base_size % 2 == 0:
        raise ConfigError(f"maxabs: base_size must be odd >= 3, got {base_size}")
    base_ir, base_vis = cv2.blur(ir, (base_size, base_size)), cv2.blur(vis, (base_size, base_size))
    detail = _choose_detail(ir - base_ir, vis - base_vis, window=1)
    return np.clip((base_ir + base_vis) * 0.5 + detail, 0.0, 1.0)


def pyramid_depth(shape: tuple[int, ...], max_levels: int = MAX_PYRAMID_LEVELS) -> int:
    """Detail levels for an image: keep the top >= 8 px, at least 1, at most ``max_levels``."""
    return max(1, min(max_levels, int(np.log2(min(shape[:2]) / PYRAMID_TOP_MIN_SIDE))))


def laplacian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """``levels`` band-pass images (finest first) followed by the low-pass top; any size, odd included."""
    pyramid = []
    current = img
    for _ in range(levels):
        down = cv2.pyrDown(current)
        pyramid.append(current - cv2.pyrUp(down, dstsize=current.shape[::-1]))
        current = down
    pyramid.append(current)
    return pyramid


def collapse_pyramid(pyramid: list[np.ndarray]) -> np.ndarray:
    img = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        img = band + cv2.pyrUp(img, dstsize=band.shape[::-1])
    return img


def laplacian(ir: np.ndarray, vis: np.ndarray, *, levels: int | None = None, window: int = 3) -> np.ndarray:
    """Laplacian-pyramid fusion; ``levels=None`` picks the depth from the image size (up to 5)."""
    if window < 1 or window % 2 == 0:
        raise ConfigError(f"laplacian: window must be odd >= 1, got {window}")
    depth = pyramid_depth(ir.shape) if levels is None else levels
    if depth < 1 or min(ir.shape) >> depth < 1:
        raise ConfigError(f"laplacian: {depth} levels do not fit an image of {ir.shape[1]}x{ir.shape[0]}")
    pyr_ir, pyr_vis = laplacian_pyramid(ir, depth), laplacian_pyramid(vis, depth)
    fused = [_choose_detail(a, b, window) for a, b in zip(pyr_ir[:-1], pyr_vis[:-1], strict=True)]
    fused.append((pyr_ir[-1] + pyr_vis[-1]) * 0.5)
    return np.clip(collapse_pyramid(fused), 0.0, 1.0)


def _describe(img: object) -> str:
    return f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__


def check_luma_pair(ir: np.ndarray, vis: np.ndarray) -> None:
    """Raise InputError unless both are float HxW arrays of one shape, finite and in [0, 1]."""
    for name, img in (("infrared", ir), ("visible", vis)):
        if not isinstance(img, np.ndarray) or img.ndim != 2 or img.dtype.kind != "f":
            raise InputError(f"{name} luma: expected a float HxW array, got {_describe(img)}")
        if min(img.shape) < MIN_SIDE:
            raise InputError(f"{name} luma: {img.shape[1]}x{img.shape[0]} is too small (min side {MIN_SIDE})")
        lo, hi = float(img.min()), float(img.max())
        if not (lo >= 0.0 and hi <= 1.0):  # also false for NaN
            raise InputError(f"{name} luma: values must be finite and in [0, 1] (got {lo:.3g}..{hi:.3g})")
    if ir.shape != vis.shape:
        raise InputError(f"luma images differ in shape: infrared {ir.shape}, visible {vis.shape}")


def _checked(fn: Callable[..., np.ndarray], options: dict[str, object]) -> FuseFn:
    """``fn`` with its options bound, validating the inputs and returning float32 in [0, 1]."""
    try:
        inspect.signature(fn).bind(None, None, **options)
    except TypeError as err:
        raise ConfigError(f"{fn.__name__}: {err}") from None

    @functools.wraps(fn)
    def fuse(ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
        check_luma_pair(ir, vis)
        ir32, vis32 = ir.astype(np.float32, copy=False), vis.astype(np.float32, copy=False)
        return np.clip(fn(ir32, vis32, **options), 0.0, 1.0).astype(np.float32, copy=False)

    return fuse


def _factory(fn: Callable[..., np.ndarray]) -> Callable[..., FuseFn]:
    return lambda **options: _checked(fn, options)


for _fn in (average, maxabs, laplacian, gff):
    register_method(_fn.__name__, _factory(_fn))
