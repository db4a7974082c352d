"""Heated-target / checkerboard registration: the board's inner corners found in both images give point
correspondences; one homography (or affine / similarity) is fitted to the corners of all pairs together."""

from __future__ import annotations

import cv2
import numpy as np

from .estimate import (
    Calibration,
    PairEstimate,
    RegistrationError,
    _gray,
    finish,
    fit_model,
    project,
)


def _find(gray: np.ndarray, board: tuple[int, int]) -> np.ndarray | None:
    """Inner corners (N x 2) of a ``board`` (columns x rows of inner corners); a heated board can be
    brighter or darker than its squares in thermal, so the inverted image is tried too."""
    u8 = np.round(gray * 255).astype(np.uint8)
    for img in (u8, 255 - u8):
        found, pts = cv2.findChessboardCornersSB(img, board, flags=cv2.CALIB_CB_NORMALIZE_IMAGE)
        if found:
            return pts.reshape(-1, 2).astype(np.float64)
    return None


def _same_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` in the order of ``b``: an inverted (heated) board can be detected from the opposite corner."""
    def error(pts: np.ndarray) -> float:
        h, _ = cv2.findHomography(pts, b, 0)
        return float("inf") if h is None else float(np.abs(project(h, pts) - b).mean())

    return min((a, a[::-1]), key=error)


def calibrate_target(pairs: list[tuple[np.ndarray, np.ndarray]], board: tuple[int, int],
                     model: str = "homography", previous: np.ndarray | None = None) -> Calibration:
    """Fit ``model`` to the board corners seen in both images of the pairs; residual = RMS reprojection px."""
    src, dst, estimates = [], [], []
    for ir, vis in pairs:
        a, b = _find(_gray(ir), board), _find(_gray(vis), board)
        if a is None or b is None:
            estimates.append(PairEstimate(None, reason=f"board not found in the {'thermal' if a is None else 'RGB'} "
                                                       "image"))
            continue
        src.append(_same_order(a, b))
        dst.append(b)
        estimates.append(PairEstimate(None))
    if not src:
        raise RegistrationError(f"the {board[0]}x{board[1]} board was found in no pair (both images needed)")
    s, d = np.concatenate(src), np.concatenate(dst)
    h, inliers = cv2.findHomography(s, d, cv2.RANSAC, 3.0)
    if h is None or inliers.sum() < 8:
        raise RegistrationError("the board corners do not fit one homography (a moving camera or wrong board size?)")
    h = fit_model(h / h[2, 2], pairs[0][0].shape[:2], model)
    residual = float(np.sqrt(((project(h, s) - d) ** 2).sum(axis=1).mean()))
    return finish(h, model, pairs, previous, len(src), residual, estimates)
