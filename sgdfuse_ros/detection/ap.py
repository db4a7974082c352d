"""AP50 and bootstrap confidence intervals over images.

- Matching (per image, per class): detections in decreasing score order; each takes the unmatched ground-truth
  box of highest IoU if that IoU >= 0.5 (true positive), else it is a false positive.
- AP: VOC all-point interpolation (area under the precision envelope, PASCAL VOC 2010+ / ``voc_ap``).
- Bootstrap: resample the images with replacement; an image drawn k times counts its detections and ground
  truth k times. Matching is per image, so it is done once; a resample only re-weights images. The 95 %
  interval is the 2.5/97.5 percentile of the resampled APs. Using the same seed and image list for two
  inputs gives paired resamples, so ``paired_difference`` bounds the difference of two inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .boxes import Boxes, iou_matrix

IOU_THRESHOLD = 0.5
N_RESAMPLES = 1000
_CHUNK = 250  # resamples evaluated at once (memory: chunk x detections)


@dataclass(frozen=True)
class ClassMatches:
    """The detections of one class in one image, scored against its ground truth."""

    scores: np.ndarray  # float64 (D,)
    true_positive: np.ndarray  # bool (D,)
    n_ground_truth: int


def match_class(dets: Boxes, gt: Boxes, iou_threshold: float = IOU_THRESHOLD) -> ClassMatches:
    """Greedy matching by score of one class's detections to its ground truth (one image)."""
    order = np.argsort(-dets.scores, kind="stable")
    iou = iou_matrix(dets.xyxy[order], gt.xyxy)
    taken = np.zeros(len(gt), bool)
    tp = np.zeros(len(order), bool)
    for i in range(len(order)):
        if not len(gt):
            break
        candidates = np.where(taken, -1.0, iou[i])
        j = int(np.argmax(candidates))
        if candidates[j] >= iou_threshold:
            taken[j] = True
            tp[i] = True
    return ClassMatches(dets.scores[order].astype(np.float64), tp, len(gt))


def match_image(dets: Boxes, gt: Boxes, num_classes: int,
                iou_threshold: float = IOU_THRESHOLD) -> list[ClassMatches]:
    """One ``ClassMatches`` per class for an image."""
    return [match_class(dets.of_class(c), gt.of_class(c), iou_threshold) for c in range(num_classes)]


@dataclass(frozen=True)
class PooledMatches:
    """One class's matches of a list of images, pooled and sorted by decreasing score."""

    scores: np.ndarray  # (D,)
    true_positive: np.ndarray  # bool (D,)
    image: np.ndarray  # int (D,): index of the image each detection comes from
    n_ground_truth: np.ndarray  # int (n_images,)

    @classmethod
    def pool(cls, per_image: Sequence[ClassMatches]) -> PooledMatches:
        if not per_image:
            raise InputError("AP needs at least one image")
        scores = np.concatenate([m.scores for m in per_image])
        order = np.argsort(-scores, kind="stable")
        tp = np.concatenate([m.true_positive for m in per_image])
        image = np.concatenate([np.full(len(m.scores), i) for i, m in enumerate(per_image)]).astype(np.int64)
        n_gt = np.array([m.n_ground_truth for m in per_image], np.int64)
        return cls(scores[order], tp[order], image[order], n_gt)

    @property
    def n_images(self) -> int:
        return len(self.n_ground_truth)


def _weighted_ap(pooled: PooledMatches, weights: np.ndarray) -> np.ndarray:
    """AP for each row of image weights (R, n_images); NaN where the weighted ground truth is empty.

    With integer weights this equals the AP of the resample in which every image is repeated ``weight``
    times (copies of a true positive share a score, and the precision envelope is the same either way).
    """
    w = weights[:, pooled.image].astype(np.float64)  # (R, D)
    tp_w = w * pooled.true_positive
    tp_cum = np.cumsum(tp_w, axis=1)
    det_cum = np.cumsum(w, axis=1)
    precision = np.divide(tp_cum, det_cum, out=np.zeros_like(tp_cum), where=det_cum > 0)
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    n_gt = weights @ pooled.n_ground_truth.astype(np.float64)
    area = np.sum(tp_w * envelope, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_gt > 0, area / n_gt, np.nan)


def average_precision(per_image: Sequence[ClassMatches]) -> float:
    """All-point interpolated AP of one class over images; NaN if there is no ground truth."""
    pooled = PooledMatches.pool(per_image)
    return float(_weighted_ap(pooled, np.ones((1, pooled.n_images)))[0])


def bootstrap_aps(per_image: Sequence[ClassMatches], n_resamples: int = N_RESAMPLES,
                  seed: int = 0) -> np.ndarray:
    """AP of ``n_resamples`` resamples of the images (with replacement); same seed, same draws."""
    pooled = PooledMatches.pool(per_image)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, pooled.n_images, size=(n_resamples, pooled.n_images))
    out = []
    for start in range(0, n_resamples, _CHUNK):
        chunk = draws[start:start + _CHUNK]
        weights = np.zeros((len(chunk), pooled.n_images))
        np.add.at(weights, (np.arange(len(chunk))[:, None], chunk), 1.0)
        out.append(_weighted_ap(pooled, weights))
    return np.concatenate(out)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """(low, high) percentile interval of the finite samples (NaN = resample without ground truth)."""
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True)
class APEstimate:
    ap: float
    low: float
    high: float
    n_images: int
    n_ground_truth: int


def ap_with_interval(per_image: Sequence[ClassMatches], n_resamples: int = N_RESAMPLES, seed: int = 0,
                     level: float = 0.95) -> tuple[APEstimate, np.ndarray]:
    """Point AP, its bootstrap interval, and the resampled APs (for paired comparisons)."""
    if n_resamples < 1:
        raise InputError(f"n_resamples must be >= 1, got {n_resamples}")
    samples = bootstrap_aps(per_image, n_resamples, seed)
    lo, hi = percentile_interval(samples, level)
    n_gt = int(sum(m.n_ground_truth for m in per_image))
    return APEstimate(average_precision(per_image), lo, hi, len(per_image), n_gt), samples


def paired_difference(samples_a: np.ndarray, samples_b: np.ndarray,
                      level: float = 0.95) -> tuple[float, float]:
    """Interval of AP(a) - AP(b) from resamples drawn with the same seed over the same images."""
    if samples_a.shape != samples_b.shape:
        raise InputError("paired bootstrap needs the same number of resamples for both inputs")
    return percentile_interval(samples_a - samples_b, level)
