"""Mask providers and the ``MaskSource`` that applies one to both images of a pair.

A *provider* segments one image: ``provider(image, modality) -> float32 HxW in [0, 1]``, where ``image`` is
float32 luma HxW in [0, 1] (or RGB HxWx3 in [0, 1] for a provider with ``uses_color = True``) and
``modality`` is ``"ir"`` or ``"vis"``. A *mask source* turns a ``PreparedPair`` into
``{"ir": HxW, "vis": HxW}`` (what ``FusionPipeline`` calls); an empty dict means "no masks this frame".

Every mask source sets two attributes after each call, read by the node's diagnostics:
``last_provider`` (str: which provider made the masks returned, "none" if none) and ``last_age_s``
(float: seconds between the frame the masks were computed for and now; 0.0 for masks of this frame).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..errors import InputError
from ..images import MIN_SIDE, PreparedPair, ycbcr_to_rgb_u8

MODALITIES = ("ir", "vis")
SAM_MODELS = {"vit_b": (768, 12), "vit_l": (1024, 24), "vit_h": (1280, 32)}  # encoder embed dim, depth
SAM_PATHS = ("generator", "predictor")


class MaskProvider(Protocol):
    """Segments one image into a single-channel soft mask."""

    name: str
    uses_color: bool  # True: the visible image comes as RGB HxWx3 float32 [0, 1] (when the pair has colour)

    def __call__(self, image: np.ndarray, modality: str) -> np.ndarray: ...


class MaskSource(Protocol):
    """``pair -> {"ir": HxW, "vis": HxW}`` float32 masks in [0, 1] (or ``{}``) + diagnostics attributes."""

    last_provider: str
    last_age_s: float

    def __call__(self, pair: PreparedPair) -> dict[str, np.ndarray]: ...


def _in_unit_range(values: np.ndarray) -> bool:
    """All values finite and in [0, 1] (NaN propagates through min/max and fails the comparison)."""
    lo, hi = values.min(), values.max()
    return bool(lo >= 0.0 and hi <= 1.0)


def check_provider_input(image: np.ndarray, modality: str) -> None:
    """Raise InputError unless ``image`` is a usable float32 HxW (or HxWx3) image in [0, 1]."""
    if modality not in MODALITIES:
        raise InputError(f"mask provider: modality must be one of {MODALITIES}, got {modality!r}")
    if not isinstance(image, np.ndarray):
        raise InputError(f"mask provider ({modality}): expected a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise InputError(f"mask provider ({modality}): expected HxW luma or HxWx3 RGB, got {image.shape}")
    if image.size == 0 or min(image.shape[:2]) < MIN_SIDE:
        raise InputError(f"mask provider ({modality}): image of shape {image.shape} is empty or too small "
                         f"(min side {MIN_SIDE})")
    if image.dtype != np.float32:
        raise InputError(f"mask provider ({modality}): expected float32 in [0, 1], got {image.dtype}")
    if not _in_unit_range(image):
        raise InputError(f"mask provider ({modality}): values must be finite and lie in [0, 1]")


def validate_masks(masks: dict[str, np.ndarray], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Check a mask dict against the pair's grid: ``{}`` or both keys, float32 HxW, finite, in [0, 1]."""
    if not masks:
        return {}
    missing = [m for m in MODALITIES if m not in masks]
    if missing:
        raise InputError(f"masks: missing {', '.join(missing)} (got keys {sorted(masks)})")
    for key in MODALITIES:
        mask = masks[key]
        if not isinstance(mask, np.ndarray) or mask.shape != tuple(shape):
            got = mask.shape if isinstance(mask, np.ndarray) else type(mask).__name__
            raise InputError(f"masks[{key!r}]: expected shape {tuple(shape)} (the visible grid), got {got}")
        if mask.dtype != np.float32:
            raise InputError(f"masks[{key!r}]: expected float32, got {mask.dtype}")
        if not _in_unit_range(mask):
            raise InputError(f"masks[{key!r}]: values must be finite and lie in [0, 1]")
    return masks


def provider_input(pair: PreparedPair, modality: str, uses_color: bool) -> np.ndarray:
    """The image a provider gets for one side of the pair (RGB only for colour-aware providers)."""
    if modality == "ir":
        return pair.ir
    if uses_color and pair.vis_cbcr is not None:
        return ycbcr_to_rgb_u8(pair.vis, pair.vis_cbcr).astype(np.float32) / 255.0
    return pair.vis


class PairMaskSource:
    """Applies one provider to the IR and the VIS image of each pair (synchronously)."""

    def __init__(self, provider: MaskProvider) -> None:
        self.provider = provider
        self.last_provider = "none"
        self.last_age_s = 0.0

    @property
    def name(self) -> str:
        return self.provider.name

    def __call__(self, pair: PreparedPair) -> dict[str, np.ndarray]:
        uses_color = bool(getattr(self.provider, "uses_color", False))
        masks = {m: self.provider(provider_input(pair, m, uses_color), m) for m in MODALITIES}
        validate_masks(masks, pair.shape)
        self.last_provider, self.last_age_s = self.provider.name, 0.0
        return masks
