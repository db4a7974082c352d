"""IR-VIS alignment score: correlation of gradient magnitudes on the visible grid (no ROS imports).

Thermal and visible intensities are unrelated, but both images have edges where objects end; when the
cameras are registered, the edges coincide. The score is the Pearson correlation of the two gradient-magnitude
maps over the pixels the IR image covers, each map minus its local mean (a Gaussian of ``DETAIL_SIGMA``), so
that the images' coarse layout (more edges below the horizon in both) does not correlate by itself: about
0.2-0.5 on the registered m3svd clips, near 0 for a wrong warp (docs/registration.md).
"""

from __future__ import annotations

import cv2
import numpy as np

SCORE_SIDE = 320  # the score is computed at this longer side: cheap, and insensitive to pixel noise
DETAIL_SIGMA = 6.0  # px at SCORE_SIDE: the local mean removed from the edge maps


def edge_map(gray: np.ndarray, blur_sigma: float = 1.0) -> np.ndarray:
    """Gradient magnitude (Sobel of a Gaussian-smoothed image), float32."""
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), blur_sigma) if blur_sigma > 0 else gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _shrink(img: np.ndarray, side: int) -> np.ndarray:
    scale = side / max(img.shape[:2])
    if scale >= 1.0:
        return img
    size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def alignment_score(ir_on_grid: np.ndarray, vis: np.ndarray, valid: np.ndarray | None = None,
                    side: int = SCORE_SIDE) -> float:
    """Edge correlation of an IR image already on the visible grid and the visible luma (both HxW float).

    ``valid`` (HxW bool) marks the pixels the warped IR image covers; pixels near its border are left out
    (the warp's edge is not a scene edge). Returns 0.0 when either image has no edges there.
    """
    ir_s, vis_s = _shrink(ir_on_grid, side), _shrink(vis, side)
    e_ir, e_vis = (e - cv2.GaussianBlur(e, (0, 0), DETAIL_SIGMA) for e in (edge_map(ir_s), edge_map(vis_s)))
    mask = np.ones(e_ir.shape, np.uint8) if valid is None else _shrink(valid.astype(np.uint8) * 255, side) > 250
    mask = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # also drops the image border
    mask[:2], mask[-2:], mask[:, :2], mask[:, -2:] = False, False, False, False
    a, b = e_ir[mask].astype(np.float64), e_vis[mask].astype(np.float64)
    if a.size < 16:
        return 0.0
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def ir_to_grid(ir: np.ndarray, shape: tuple[int, int], homography: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """IR float image on the visible grid (resized, or warped by an IR->VIS homography) and its valid mask."""
    h, w = shape
    if homography is None:
        homography = scale_homography(ir.shape[:2], shape)
    warped = cv2.warpPerspective(ir.astype(np.float32), homography, (w, h), flags=cv2.INTER_LINEAR)
    valid = cv2.warpPerspective(np.ones(ir.shape[:2], np.uint8), homography, (w, h), flags=cv2.INTER_NEAREST)
    return warped, valid.astype(bool)


def scale_homography(src_shape: tuple[int, int], dst_shape: tuple[int, int]) -> np.ndarray:
    """The homography of a plain resize from ``src_shape`` (H, W) to ``dst_shape`` (pixel centres aligned)."""
    sx, sy = dst_shape[1] / src_shape[1], dst_shape[0] / src_shape[0]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
