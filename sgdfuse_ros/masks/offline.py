"""Offline mask provider: no checkpoint, CPU only, a few milliseconds per image.

It finds *salient blobs*, not objects: unlike SAM's class-agnostic object masks there is no notion of a
"thing" with a closed outline, only regions that stand out from their surroundings.

IR  (thermal saliency): contrast of each pixel over a heavily blurred background, thresholded at
    ``max(Otsu, min_contrast)`` on the positive (hotter) part, cleaned by morphological opening/closing,
    connected components filtered by area. Hot targets (people, engines, lamps) come out; cold objects and
    large uniformly warm areas do not.
VIS (local-contrast saliency): Itti-style centre-surround intensity contrast (centres 1-2 px, surrounds
    8-16 px); seeds above ``max(Otsu, 3 x mean, min_contrast)``, background below half of that, then a
    marker watershed on the image so that region boundaries follow image edges; regions filtered by area.
    Lights, bright or dark vehicles and people against a plain background come out; strongly textured
    areas (foliage against the sky, paving) do too.

Regions become instances (quality 1, edges softened by a small blur) and go through the same encodings as
SAM's masks (``encoding.py``). Everything runs at ``work_side`` px (long side) and the channel is resized
back to the input grid (bilinear).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from .base import check_provider_input
from .encoding import Instance, check_encoding, encode_instances


def _otsu(values: np.ndarray) -> float:
    """Otsu threshold of values in [0, 1]."""
    u8 = np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
    thresh, _ = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(thresh) / 255.0


def thermal_saliency(ir: np.ndarray) -> np.ndarray:
    """Positive contrast of each pixel over its background (float32, >= 0).

    The background is a Gaussian blur of sigma = long side / 16, computed on a 1/8 thumbnail for speed.
    """
    h, w = ir.shape
    small = cv2.resize(ir, (max(w // 8, 1), max(h // 8, 1)), interpolation=cv2.INTER_AREA)
    background = cv2.GaussianBlur(small, (0, 0), max(h, w) / 128, borderType=cv2.BORDER_REFLECT)
    return np.maximum(ir - cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR), 0.0)


def center_surround(luma: np.ndarray) -> np.ndarray:
    """Itti-style intensity contrast: sum of |centre - surround|, centres 1, 2 px, surrounds 8, 16 px."""
    h, w = luma.shape
    small = cv2.resize(luma, (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA)
    surrounds = [cv2.resize(cv2.GaussianBlur(small, (0, 0), s / 4), (w, h), interpolation=cv2.INTER_LINEAR)
                 for s in (8.0, 16.0)]
    out = np.zeros_like(luma)
    for c in (1.0, 2.0):
        centre = cv2.GaussianBlur(luma, (0, 0), c)
        for surround in surrounds:
            out += np.abs(centre - surround)
    return cv2.GaussianBlur(out / 4, (0, 0), 2.0)


Region = tuple[np.ndarray, tuple[int, int]]  # binary crop, (row, column) of its corner


def _labelled_regions(
    labels: np.ndarray, first: int, last: int, min_area: int, max_area: int
) -> list[Region]:
    """Regions of a label image (labels ``first``..``last``) whose area lies in [min_area, max_area]."""
    regions = []
    for label, window in enumerate(ndimage.find_objects(labels, max_label=last), start=1):
        if window is None or label < first:
            continue
        crop = labels[window] == label
        if min_area <= int(crop.sum()) <= max_area:
            regions.append((crop, (window[0].start, window[1].start)))
    return regions


def _soft_instance(region: Region, shape: tuple[int, int], sigma: float) -> Instance:
    """A region with edges softened by a Gaussian of ``sigma`` px (the window grows to hold the blur)."""
    (crop, (y, x)), pad = region, int(np.ceil(3 * sigma))
    y0, x0 = max(y - pad, 0), max(x - pad, 0)
    y1, x1 = min(y + crop.shape[0] + pad, shape[0]), min(x + crop.shape[1] + pad, shape[1])
    canvas = np.zeros((y1 - y0, x1 - x0), np.float32)
    canvas[y - y0:y - y0 + crop.shape[0], x - x0:x - x0 + crop.shape[1]] = crop
    if sigma > 0:
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    return Instance(canvas, 1.0, (y0, x0))


class OfflineProvider:
    """Thermal saliency blobs (IR) and centre-surround + watershed regions (VIS); see the module doc."""

    uses_color = False

    def __init__(
        self,
        encoding: str = "saliency-weighted",
        *,
        work_side: int = 320,
        min_contrast: float = 0.06,
        min_area_frac: float = 5e-4,
        max_area_frac: float = 0.5,
        edge_sigma: float = 1.0,
    ) -> None:
        self.encoding = check_encoding(encoding)
        self.work_side = int(work_side)
        self.min_contrast = float(min_contrast)
        self.min_area_frac = float(min_area_frac)
        self.max_area_frac = float(max_area_frac)
        self.edge_sigma = float(edge_sigma)
        self.name = "offline"

    def __call__(self, image: np.ndarray, modality: str) -> np.ndarray:
        check_provider_input(image, modality)
        luma = image if image.ndim == 2 else (image @ np.array([0.299, 0.587, 0.114], np.float32))
        h, w = luma.shape
        scale = min(1.0, self.work_side / max(h, w))
        size = (max(round(w * scale), 8), max(round(h * scale), 8))
        work = cv2.resize(luma, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else luma
        regions = self._ir_regions(work) if modality == "ir" else self._vis_regions(work)
        instances = [_soft_instance(r, work.shape, self.edge_sigma) for r in regions]
        channel = encode_instances(instances, work, modality, self.encoding, min_area_frac=self.min_area_frac,
                                   max_area_frac=self.max_area_frac)
        if channel.shape != (h, w):
            channel = cv2.resize(channel, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(channel, 0.0, 1.0)

    def _area_bounds(self, shape: tuple[int, int]) -> tuple[int, int]:
        n = shape[0] * shape[1]
        return max(int(self.min_area_frac * n), 4), int(self.max_area_frac * n)

    def _ir_regions(self, ir: np.ndarray) -> list[Region]:
        sal = thermal_saliency(ir)
        peak = float(sal.max())
        if peak < self.min_contrast:  # nothing hotter than its surroundings
            return []
        binary = (sal > max(_otsu(sal / peak) * peak, self.min_contrast)).astype(np.uint8)
        binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, _disk(1))
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, _disk(2))
        count, labels = cv2.connectedComponents(binary, connectivity=8)
        return _labelled_regions(labels, 1, count - 1, *self._area_bounds(ir.shape))

    def _vis_regions(self, vis: np.ndarray) -> list[Region]:
        sal = center_surround(vis)
        peak = float(sal.max())
        if peak < self.min_contrast:  # flat frame: nothing is salient
            return []
        thresh = max(_otsu(sal / peak) * peak, 3.0 * float(sal.mean()), self.min_contrast)
        seeds = cv2.morphologyEx((sal > thresh).astype(np.uint8), cv2.MORPH_OPEN, _disk(1))
        count, seed_labels = cv2.connectedComponents(seeds, connectivity=8)
        if count <= 1:
            return []
        markers = np.where(seed_labels > 0, seed_labels + 1, 0).astype(np.int32)
        markers[sal < 0.5 * thresh] = 1  # sure background
        u8 = np.round(vis * 255).astype(np.uint8)
        cv2.watershed(cv2.cvtColor(u8, cv2.COLOR_GRAY2BGR), markers)  # boundaries become -1
        return _labelled_regions(np.maximum(markers, 0), 2, count, *self._area_bounds(vis.shape))


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
