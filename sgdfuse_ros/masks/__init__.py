"""Semantic prior of the refiner: IR and VIS masks (SAM, or an offline saliency provider), real-time modes.

``build_mask_source(MaskConfig)`` is the one entry point (``MaskConfig`` is the ``masks`` section of a
``PipelineConfig``); see docs/masks.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .base import SAM_MODELS, SAM_PATHS, MaskProvider, MaskSource, PairMaskSource, validate_masks
from .encoding import ENCODINGS, Instance, encode_instances
from .offline import OfflineProvider
from .perturb import parse_perturbations
from .schedule import MASK_MODES, schedule

MASK_SOURCES = ("none", "offline", "sam", "sam-onnx")
FALLBACKS = ("offline", "none")


@dataclass
class MaskConfig:
    """The mask source and its options: the ``masks`` section of a pipeline configuration."""

    source: str = "offline"  # semantic prior (docs/masks.md): none | offline | sam | sam-onnx
    encoding: str = "saliency-weighted"  # many masks -> one channel: saliency-weighted | binary-union
    mode: str = "every_frame"  # every_frame | every_n | async (SAM in a worker thread)
    every_n: int = 5  # every_n: masks every N-th pair, reused in between
    max_age_s: float = 1.0  # async: oldest masks still used, else the fallback's
    fallback: str = "offline"  # when SAM fails or its masks are too old: offline | none
    sam_model: str = "vit_b"  # vit_b | vit_l | vit_h
    sam_checkpoint: str = ""  # that model's .pth (needed by source: sam); nothing is downloaded
    sam_points_per_side: int = 16  # SAM's point grid
    sam_path: str = "generator"  # generator (automatic mask generator) | predictor (soft masks, cheaper)
    sam_onnx_encoder: str = ""  # sam-onnx: SAM / MobileSAM image encoder exported to ONNX
    sam_onnx_decoder: str = ""  # sam-onnx: the segment-anything ONNX decoder

    def __post_init__(self) -> None:
        choices = {"source": MASK_SOURCES, "encoding": ENCODINGS, "mode": MASK_MODES, "fallback": FALLBACKS,
                   "sam_model": tuple(SAM_MODELS), "sam_path": SAM_PATHS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"masks.{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        if int(self.every_n) < 1 or not float(self.max_age_s) > 0:
            raise ConfigError(f"masks.every_n must be >= 1 and masks.max_age_s > 0, got {self.every_n}, "
                              f"{self.max_age_s}")
        if not 1 <= int(self.sam_points_per_side) <= 64:
            raise ConfigError(f"masks.sam_points_per_side must lie in 1..64, got {self.sam_points_per_side}")


def build_mask_source(config: MaskConfig, device: str = "auto") -> MaskSource | None:
    """The mask source ``config`` describes, in its real-time mode; None for source "none".

    ``device`` is where SAM runs: auto | cpu | cuda[:N] (the offline provider runs on the CPU).
    """
    if config.source == "none":
        return None
    offline = PairMaskSource(OfflineProvider(config.encoding))
    if config.source == "offline":
        return schedule(offline, config.mode, every_n=config.every_n, max_age_s=config.max_age_s)
    provider: MaskProvider
    if config.source == "sam-onnx":
        from .sam_onnx import OnnxSamProvider

        provider = OnnxSamProvider(config.sam_onnx_encoder, config.sam_onnx_decoder,
                                   points_per_side=config.sam_points_per_side, encoding=config.encoding)
    else:
        from .sam import SamProvider  # torch + segment_anything only when SAM is asked for

        provider = SamProvider(
            model=config.sam_model,
            checkpoint=config.sam_checkpoint,
            points_per_side=config.sam_points_per_side,
            path=config.sam_path,
            encoding=config.encoding,
            device=device,
        )
    fallback = offline if config.fallback == "offline" else None
    return schedule(PairMaskSource(provider), config.mode, every_n=config.every_n,
                    max_age_s=config.max_age_s, fallback=fallback)


__all__ = [
    "ENCODINGS",
    "FALLBACKS",
    "MASK_MODES",
    "MASK_SOURCES",
    "Instance",
    "MaskConfig",
    "MaskProvider",
    "MaskSource",
    "OfflineProvider",
    "PairMaskSource",
    "build_mask_source",
    "encode_instances",
    "parse_perturbations",
    "validate_masks",
]
