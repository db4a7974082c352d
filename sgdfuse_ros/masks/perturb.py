"""Mask perturbations for robustness tests (``sgdfuse eval --mask-perturb erode:3,dilate:3``).

``erode:R`` / ``dilate:R`` apply grey-level morphology with a disk of radius R pixels to a soft mask
(pixel-wise min / max over the disk), so soft boundaries shrink or grow by R pixels and stay soft.
``parse_perturbations("erode:3,dilate:3")`` gives ``[("erode:3", fn), ("dilate:3", fn)]``: each ``fn``
maps a mask dict ``{"ir": HxW, "vis": HxW}`` to a new one (``{}`` stays ``{}``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..errors import ConfigError
from ..options import split_list

MaskFn = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
MAX_RADIUS = 64


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grey erosion of a float mask by a disk of ``radius`` px (borders count as unchanged)."""
    if radius == 0:
        return mask.copy()
    return cv2.erode(mask, _disk(radius), borderType=cv2.BORDER_REPLICATE)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation of a float mask by a disk of ``radius`` px."""
    if radius == 0:
        return mask.copy()
    return cv2.dilate(mask, _disk(radius), borderType=cv2.BORDER_REPLICATE)


OPERATIONS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {"erode": erode, "dilate": dilate}


def perturbation(name: str, radius: int) -> MaskFn:
    """A function applying ``name`` (erode | dilate) with ``radius`` to every mask of a dict."""
    op = OPERATIONS[name]

    def apply(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {key: op(np.ascontiguousarray(mask, np.float32), radius) for key, mask in masks.items()}

    return apply


def parse_perturbations(spec: str) -> list[tuple[str, MaskFn]]:
    """``"erode:3,dilate:3"`` -> ``[("erode:3", fn), ("dilate:3", fn)]``; a clear ConfigError otherwise."""
    items = split_list(spec)
    if not items:
        raise ConfigError(f"mask perturbation spec {spec!r} is empty; expected e.g. 'erode:3,dilate:3'")
    result = []
    for item in items:
        name, _, radius_text = item.partition(":")
        if name not in OPERATIONS:
            raise ConfigError(f"mask perturbation {item!r}: unknown operation {name!r}; "
                              f"use {' or '.join(OPERATIONS)} followed by ':R' (R pixels)")
        try:
            radius = int(radius_text)
        except ValueError:
            raise ConfigError(f"mask perturbation {item!r}: expected {name}:R, R an integer") from None
        if not 0 <= radius <= MAX_RADIUS:
            raise ConfigError(f"mask perturbation {item!r}: radius must lie in 0..{MAX_RADIUS}")
        result.append((f"{name}:{radius}", perturbation(name, radius)))
    return result
