"""Axis-aligned boxes of one image (ground truth or detections), IoU and non-maximum suppression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Boxes:
    """Boxes of one image in pixels: ``xyxy`` float32 (N, 4), ``classes`` int64 (N,), ``scores`` float32 (N,).

    Ground truth has score 1 for every box; detections carry the detector's confidence (any real scale).
    """

    xyxy: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.classes.shape != (n,) or self.scores.shape != (n,):
            raise InputError(f"Boxes: inconsistent shapes xyxy {self.xyxy.shape}, "
                             f"classes {self.classes.shape}, scores {self.scores.shape}")

    @classmethod
    def make(cls, xyxy: object, classes: object, scores: object | None = None) -> Boxes:
        xyxy_a = np.asarray(xyxy, np.float32).reshape(-1, 4)
        classes_a = np.asarray(classes, np.int64).reshape(-1)
        n = len(xyxy_a)
        scores_a = np.ones(n, np.float32) if scores is None else np.asarray(scores, np.float32).reshape(-1)
        return cls(xyxy_a, classes_a, scores_a)

    @classmethod
    def empty(cls) -> Boxes:
        return cls.make(np.zeros((0, 4)), np.zeros(0))

    def __len__(self) -> int:
        return len(self.xyxy)

    def select(self, keep: np.ndarray) -> Boxes:
        return Boxes(self.xyxy[keep], self.classes[keep], self.scores[keep])

    def of_class(self, cls: int) -> Boxes:
        return self.select(self.classes == cls)

    def scaled(self, factor: float) -> Boxes:
        return Boxes((self.xyxy * np.float32(factor)).astype(np.float32), self.classes, self.scores)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4), xyxy -> (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes: Boxes, iou_threshold: float, max_detections: int | None = None) -> Boxes:
    """Greedy per-class non-maximum suppression: keep the highest score, drop boxes overlapping it more."""
    order = np.argsort(-boxes.scores, kind="stable")
    iou = iou_matrix(boxes.xyxy[order], boxes.xyxy[order])
    same_class = boxes.classes[order][:, None] == boxes.classes[order][None, :]
    suppressed = np.zeros(len(order), bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(order[i])
        suppressed |= (iou[i] > iou_threshold) & same_class[i]
        if max_detections is not None and len(keep) >= max_detections:
            break
    return boxes.select(np.array(keep, np.int64))
