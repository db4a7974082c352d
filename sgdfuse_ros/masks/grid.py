"""Point-grid prompting helpers shared by the SAM backends (numpy only: no torch needed)."""

from __future__ import annotations

import numpy as np

from .encoding import Instance


def to_rgb_u8(image: np.ndarray) -> np.ndarray:
    """float32 luma HxW or RGB HxWx3 in [0, 1] -> RGB uint8 HxWx3 (what SAM expects)."""
    u8 = np.round(image * 255.0).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(u8[..., None], 3, axis=2) if u8.ndim == 2 else u8)


def grid_points(points_per_side: int, shape: tuple[int, int]) -> np.ndarray:
    """SAM's regular point grid (cell centres) in pixel (x, y) coordinates of an image of ``shape``."""
    offset = 1 / (2 * points_per_side)
    side = np.linspace(offset, 1 - offset, points_per_side)
    xs, ys = np.meshgrid(side, side)
    return np.stack([xs.ravel() * shape[1], ys.ravel() * shape[0]], axis=1)


def stability_score(logits: np.ndarray, threshold: float = 0.0, offset: float = 1.0) -> float:
    """SAM's stability score of one mask: IoU of the masks thresholded at ``threshold`` +- ``offset``."""
    union = int(np.count_nonzero(logits > threshold - offset))
    return int(np.count_nonzero(logits > threshold + offset)) / union if union else 0.0


def _box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x0, y0, x1, y1) box (inclusive pixel bounds) with many."""
    x0, y0 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x1, y1 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0 + 1, 0, None) * np.clip(y1 - y0 + 1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)  # noqa: E731
    return inter / (area(box) + area(boxes) - inter)


def nms_instances(candidates: list[tuple[np.ndarray, float]], iou_thresh: float) -> list[Instance]:
    """Soft instances (sigmoid of logits) from (logits HxW, score) pairs after box NMS, best score first."""
    boxes, kept_candidates = [], []
    for logits, score in candidates:
        hard = logits > 0.0
        rows, cols = np.nonzero(hard.any(axis=1))[0], np.nonzero(hard.any(axis=0))[0]
        if rows.size:
            boxes.append((cols[0], rows[0], cols[-1], rows[-1]))
            kept_candidates.append((logits, score))
    if not boxes:
        return []
    box_array = np.array(boxes, np.float64)
    order = np.argsort([-score for _, score in kept_candidates], kind="stable")
    chosen: list[int] = []
    for i in order:
        if not chosen or _box_iou(box_array[i], box_array[chosen]).max() <= iou_thresh:
            chosen.append(int(i))
    instances = []
    for i in chosen:
        logits, score = kept_candidates[i]
        soft = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
        inst = Instance.from_full(np.where(soft < 0.02, 0.0, soft).astype(np.float32), score)
        if inst is not None:
            instances.append(inst)
    return instances
