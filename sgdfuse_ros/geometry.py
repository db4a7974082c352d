"""The IR -> VIS homography: one check shared by the configuration, the pipeline and calibration
(``registration.estimate.check_warp``).

A homography maps thermal pixel coordinates to RGB pixel coordinates (row-major 3x3). It is usable when it is
finite, non-singular and well-conditioned and, once the image sizes are known, maps the whole thermal image
in front of the camera (no point through the line at infinity) onto at least ``MIN_COVERAGE`` of the RGB grid.
The conditioning is measured in normalised coordinates (each image scaled to a unit square, or to a nominal
1000-pixel square while the sizes are unknown), so a plain pixel offset does not count as ill-conditioned.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .errors import ConfigError

MAX_CONDITION = 1e6  # largest condition number of the normalised homography
MIN_COVERAGE = 0.1  # smallest fraction of the RGB grid that the warped thermal image must cover
NOMINAL_SIDE = 1000.0  # pixels: image scale assumed while the sizes are unknown

Size = tuple[int, int]  # (width, height)


def _unit_square(size: Size | None) -> np.ndarray:
    w, h = (NOMINAL_SIDE, NOMINAL_SIDE) if size is None else (float(size[0]), float(size[1]))
    return np.diag([w, h, 1.0])


def check_homography(values: Sequence[float] | np.ndarray, ir_size: Size | None = None,
                     vis_size: Size | None = None, min_coverage: float = MIN_COVERAGE) -> np.ndarray:
    """The homography as a 3x3 float64 array, or ``ConfigError`` saying why it is unusable.

    Without sizes only the matrix itself is checked (configuration time); with both sizes, also where it puts
    the thermal image on the RGB grid.
    """
    h = np.asarray(values, np.float64)
    if h.size != 9:
        raise ConfigError(f"homography needs 9 values (row-major 3x3), got {h.size}")
    h = h.reshape(3, 3)
    if not np.isfinite(h).all():
        raise ConfigError(f"homography contains NaN or inf: {h.tolist()}")
    normalised = np.linalg.inv(_unit_square(vis_size)) @ h @ _unit_square(ir_size)
    singular = np.linalg.svd(normalised, compute_uv=False)
    condition = singular[0] / singular[-1] if singular[-1] > 0 else float("inf")
    if not condition <= MAX_CONDITION:
        kind = "singular" if singular[-1] <= singular[0] * 1e-15 else "ill-conditioned"
        raise ConfigError(f"homography is {kind} (condition number {condition:.3g}, at most {MAX_CONDITION:g})")
    if ir_size is not None and vis_size is not None:
        coverage = warped_coverage(h, ir_size, vis_size)
        if coverage < min_coverage:
            raise ConfigError(f"homography maps the {ir_size[0]}x{ir_size[1]} thermal image onto {coverage:.1%} "
                              f"of the {vis_size[0]}x{vis_size[1]} RGB grid (at least {min_coverage:.0%} needed)")
    return h


def warped_coverage(h: np.ndarray, ir_size: Size, vis_size: Size) -> float:
    """Fraction of the RGB grid covered by the thermal image warped by ``h``; 0 when part of it crosses the
    line at infinity (a homography that folds the image is not usable)."""
    w, hgt = ir_size
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, hgt, 1], [0, hgt, 1]], np.float64) @ h.T
    if not (corners[:, 2] > 1e-12 * np.abs(corners).max()).all():
        return 0.0
    quad = (corners[:, :2] / corners[:, 2:]).astype(np.float32)
    if not cv2.isContourConvex(quad):
        return 0.0
    vw, vh = vis_size
    grid = np.array([[0, 0], [vw, 0], [vw, vh], [0, vh]], np.float32)
    area, _ = cv2.intersectConvexConvex(quad, grid)
    return max(float(area), 0.0) / float(vw * vh)
