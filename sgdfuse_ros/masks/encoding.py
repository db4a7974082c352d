"""Many instance masks -> one channel (what the refiner sees per modality).

Both encodings start from instances (a soft mask in [0, 1] and a quality in [0, 1]: SAM's predicted IoU x
stability score, or 1 for the offline provider's blobs), keep the ``max_instances`` best by quality, drop
instances whose area (pixels >= 0.5) is below ``min_area_frac`` or above ``max_area_frac`` of the image
(specks and background regions such as sky or road), and take the pixel-wise max of what remains:

``binary-union``
    ``max_i [mask_i >= 0.5]``: 1 on any kept object, 0 elsewhere; hard edges.

``saliency-weighted``
    ``max_i w_i * mask_i`` with ``w_i = quality_i * (floor + (1 - floor) * saliency_i) * area_prior_i``;
    soft edges are kept. ``saliency_i`` compares the mean luma inside the instance with a ring around it
    (width ``max(3, sqrt(area) / 4)`` px): IR ``clip((inside - ring) / 0.15, 0, 1)`` (hotter than its
    surroundings), VIS ``clip(|inside - ring| / 0.15, 0, 1)`` (local contrast). ``floor`` (0.25) keeps a
    well-segmented object with little contrast visible. ``area_prior`` is 1 up to 10 % of the image and
    falls linearly to 0 at ``max_area_frac``. Every factor lies in [0, 1], so the channel does too, and its
    value is comparable across frames (no per-image normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError

ENCODINGS = ("saliency-weighted", "binary-union")
CONTRAST_SCALE = {"ir": 0.15, "vis": 0.15}  # luma difference that counts as fully salient
SALIENCY_FLOOR = 0.25
FULL_PRIOR_AREA_FRAC = 0.10


@dataclass(frozen=True)
class Instance:
    """One object mask: ``mask`` (float32 [0, 1], binary or soft) covers the image window at ``offset``."""

    mask: np.ndarray
    quality: float  # in [0, 1]
    offset: tuple[int, int] = (0, 0)  # (row, column) of mask[0, 0] in the image

    @classmethod
    def from_full(cls, mask: np.ndarray, quality: float, pad: int = 4) -> Instance | None:
        """An instance cropped to the bounding box (+ ``pad``) of a full-image mask; None if it is empty."""
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        if rows.size == 0:
            return None
        y0, x0 = max(rows[0] - pad, 0), max(cols[0] - pad, 0)
        y1, x1 = min(rows[-1] + pad + 1, mask.shape[0]), min(cols[-1] + pad + 1, mask.shape[1])
        return cls(np.ascontiguousarray(mask[y0:y1, x0:x1], np.float32), float(quality), (int(y0), int(x0)))


def check_encoding(encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise ConfigError(f"masks.encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    return encoding


def area_prior(frac: float, min_area_frac: float, max_area_frac: float) -> float:
    """1 for object-sized regions, 0 for specks and for regions covering ``max_area_frac`` or more."""
    if frac < min_area_frac or frac >= max_area_frac:
        return 0.0
    if frac <= FULL_PRIOR_AREA_FRAC:
        return 1.0
    return float((max_area_frac - frac) / max(max_area_frac - FULL_PRIOR_AREA_FRAC, 1e-6))


def instance_saliency(region: np.ndarray, offset: tuple[int, int], luma: np.ndarray, modality: str) -> float:
    """Contrast of a binary region (placed at ``offset``) against a ring around it, in [0, 1]."""
    area = int(np.count_nonzero(region))
    radius = max(3, round(area**0.5 / 4))
    (y, x), (h, w) = offset, region.shape
    y0, x0 = max(y - radius, 0), max(x - radius, 0)
    y1, x1 = min(y + h + radius, luma.shape[0]), min(x + w + radius, luma.shape[1])
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    inside[y - y0:y - y0 + h, x - x0:x - x0 + w] = region
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    ring = cv2.dilate(inside, kernel) - inside  # 1 on the ring only
    if not ring.any():  # the region fills the image: nothing to compare with
        return 0.0
    patch = luma[y0:y1, x0:x1]
    diff = cv2.mean(patch, inside)[0] - cv2.mean(patch, ring)[0]
    contrast = diff if modality == "ir" else abs(diff)
    return min(max(contrast / CONTRAST_SCALE[modality], 0.0), 1.0)


def encode_instances(
    instances: list[Instance],
    luma: np.ndarray,
    modality: str,
    encoding: str = "saliency-weighted",
    *,
    max_instances: int = 64,
    min_area_frac: float = 1e-4,
    max_area_frac: float = 0.5,
) -> np.ndarray:
    """One float32 HxW channel in [0, 1] from instance masks on the grid of ``luma`` (see module doc)."""
    check_encoding(encoding)
    out = np.zeros(luma.shape, np.float32)
    ranked = sorted(instances, key=lambda inst: inst.quality, reverse=True)[:max_instances]
    for inst in ranked:
        (y, x), (h, w) = inst.offset, inst.mask.shape
        if y < 0 or x < 0 or y + h > luma.shape[0] or x + w > luma.shape[1]:
            raise ValueError(f"instance {inst.mask.shape} at {inst.offset} exceeds the image {luma.shape}")
        region = inst.mask >= 0.5
        prior = area_prior(np.count_nonzero(region) / luma.size, min_area_frac, max_area_frac)
        if prior == 0.0:
            continue
        window = out[y:y + h, x:x + w]
        if encoding == "binary-union":
            window[region] = 1.0
            continue
        saliency = instance_saliency(region, inst.offset, luma, modality)
        quality = min(max(float(inst.quality), 0.0), 1.0)
        weight = quality * (SALIENCY_FLOOR + (1 - SALIENCY_FLOOR) * saliency) * prior
        np.maximum(window, weight * inst.mask, out=window)
    return out
