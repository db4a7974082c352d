"""Semantic prior of the refiner: IR and VIS masks (SAM, or an offline saliency provider), real-time modes.

``build_mask_source(name, **options)`` is the one entry point (``PipelineConfig`` passes its ``mask*`` and
``sam_*`` fields here); see docs/masks.md.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import SAM_MODELS, SAM_PATHS, MaskProvider, MaskSource, PairMaskSource, validate_masks
from .encoding import ENCODINGS, Instance, encode_instances
from .offline import OfflineProvider
from .perturb import parse_perturbations
from .schedule import MASK_MODES, schedule

MASK_SOURCES = ("none", "offline", "sam", "sam-onnx")
FALLBACKS = ("offline", "none")

_DEFAULTS: dict[str, Any] = {
    "encoding": "saliency-weighted",  # ENCODINGS
    "mode": "every_frame",  # MASK_MODES
    "every_n": 5,  # every_n: masks every N-th pair
    "max_age_s": 1.0,  # async: oldest masks still used
    "fallback": "offline",  # what replaces SAM's masks when they fail or are too old: offline | none
    "sam_model": "vit_b",  # vit_b | vit_l | vit_h
    "sam_checkpoint": "",  # the .pth of that model (required for "sam")
    "sam_points_per_side": 16,
    "sam_path": "generator",  # generator | predictor
    "sam_device": "auto",  # auto | cpu | cuda[:N]
    "sam_fp16": True,  # autocast float16 on CUDA
    "sam_onnx_encoder": "",  # sam-onnx: encoder .onnx (SAM / MobileSAM image encoder)
    "sam_onnx_decoder": "",  # sam-onnx: the official segment-anything ONNX decoder
}
_CHOICES = {  # option: (its PipelineConfig field, allowed values)
    "encoding": ("mask_encoding", ENCODINGS),
    "mode": ("mask_mode", MASK_MODES),
    "fallback": ("mask_fallback", FALLBACKS),
    "sam_model": ("sam_model", tuple(SAM_MODELS)),
    "sam_path": ("sam_path", SAM_PATHS),
}


def check_mask_options(name: str = "offline", **options: Any) -> dict[str, Any]:
    """All options of ``build_mask_source`` (defaults filled in), checked without loading anything."""
    unknown = sorted(set(options) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown mask option(s): {', '.join(unknown)}; known: {', '.join(_DEFAULTS)}")
    if name not in MASK_SOURCES:
        raise ConfigError(f"masks must be one of {', '.join(MASK_SOURCES)}, got {name!r}")
    opts = {**_DEFAULTS, **options}
    for key, (field, choices) in _CHOICES.items():
        if opts[key] not in choices:
            raise ConfigError(f"{field} must be one of {', '.join(choices)}, got {opts[key]!r}")
    if int(opts["every_n"]) < 1 or not float(opts["max_age_s"]) > 0:
        raise ConfigError(f"mask_every_n must be >= 1 and mask_max_age_s > 0, got {opts['every_n']}, "
                          f"{opts['max_age_s']}")
    if not 1 <= int(opts["sam_points_per_side"]) <= 64:
        raise ConfigError(f"sam_points_per_side must lie in 1..64, got {opts['sam_points_per_side']}")
    return opts


def build_mask_source(name: str = "offline", **options: Any) -> MaskSource | None:
    """The mask source ``name`` (none | offline | sam | sam-onnx) in a real-time mode; None for "none"."""
    opts = check_mask_options(name, **options)
    if name == "none":
        return None
    offline = PairMaskSource(OfflineProvider(opts["encoding"]))
    if name == "offline":
        return schedule(offline, opts["mode"], every_n=opts["every_n"], max_age_s=opts["max_age_s"])
    provider: MaskProvider
    if name == "sam-onnx":
        from .sam_onnx import OnnxSamProvider

        provider = OnnxSamProvider(opts["sam_onnx_encoder"], opts["sam_onnx_decoder"],
                                   points_per_side=opts["sam_points_per_side"], encoding=opts["encoding"])
    else:
        from .sam import SamProvider  # torch + segment_anything only when SAM is asked for

        provider = SamProvider(
            model=opts["sam_model"],
            checkpoint=opts["sam_checkpoint"],
            points_per_side=opts["sam_points_per_side"],
            path=opts["sam_path"],
            encoding=opts["encoding"],
            device=opts["sam_device"],
            fp16=opts["sam_fp16"],
        )
    fallback = offline if opts["fallback"] == "offline" else None
    return schedule(PairMaskSource(provider), opts["mode"], every_n=opts["every_n"],
                    max_age_s=opts["max_age_s"], fallback=fallback)


def mask_options(config: Any) -> tuple[str, dict[str, Any]]:
    """(name, options) of ``build_mask_source`` from a ``PipelineConfig``'s ``mask*`` / ``sam_*`` fields.

    SAM runs on CUDA when the config's ``backend`` is cuda or tensorrt, on the CPU for cpu or
    onnxruntime, and wherever CUDA is available for auto.
    """
    devices = {"cuda": "cuda", "tensorrt": "cuda", "cpu": "cpu", "onnxruntime": "cpu"}
    device = devices.get(config.backend, "auto")
    return config.masks, {
        "encoding": config.mask_encoding, "mode": config.mask_mode, "every_n": config.mask_every_n,
        "max_age_s": config.mask_max_age_s, "fallback": config.mask_fallback, "sam_model": config.sam_model,
        "sam_checkpoint": config.sam_checkpoint, "sam_points_per_side": config.sam_points_per_side,
        "sam_path": config.sam_path, "sam_device": device, "sam_onnx_encoder": config.sam_onnx_encoder,
        "sam_onnx_decoder": config.sam_onnx_decoder,
    }


__all__ = [
    "ENCODINGS",
    "FALLBACKS",
    "MASK_MODES",
    "MASK_SOURCES",
    "Instance",
    "MaskProvider",
    "MaskSource",
    "OfflineProvider",
    "PairMaskSource",
    "build_mask_source",
    "check_mask_options",
    "encode_instances",
    "mask_options",
    "parse_perturbations",
    "validate_masks",
]
