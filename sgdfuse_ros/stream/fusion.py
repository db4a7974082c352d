"""One synchronised thermal/RGB image-message pair -> encoded output images (the node and ``bag fuse``).

Pixels are converted by the core ``encodings`` unless the caller passes its own ``decode`` / ``encode_image``
(the node's cv_bridge conversions): ``decode(msg) -> (array, "rgb"|"bgr")`` and
``encode_image(array laid out as the encoding says, encoding) -> output image``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..images import to_gray_u8
from ..pipeline import FusionPipeline
from .encodings import BadMessage, ImageFields, check_fields, encode, rgb_layout, to_pipeline_input
from .temporal import StreamTemporal

OVERSIZED = "oversized"  # more pixels than the pipeline's max_megapixels: refused before decoding
SIZE_MISMATCH = "size_mismatch"  # thermal and RGB sizes differ while require_same_size is set
REJECTED_BY_PIPELINE = "rejected_by_pipeline"  # the pipeline refused the images (too small, ...)

OUTPUTS = ("fused", "mask_ir", "mask_vis", "initial")

Decoder = Callable[[ImageFields], tuple[np.ndarray, str]]
Encoder = Callable[[np.ndarray, str], Any]


@dataclass
class FusedFrame:
    """Encoded outputs of one pair; an output is absent when switched off or not produced by the pipeline."""

    images: dict[str, Any] = field(default_factory=dict)  # keys from OUTPUTS; EncodedImage by default
    timings: dict[str, float] = field(default_factory=dict)


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc ``malloc_trim``; elsewhere nothing). Called after an
    oversized message is refused: glibc serves large blocks from its heap once one such block was freed
    (its mmap threshold adapts upwards), so without this the process would keep the frame's size resident."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def accept_message(msg: ImageFields, pipeline: FusionPipeline) -> None:
    """The O(1) checks of one received image message (fields, then size against the pipeline's limit), so a
    bad or oversized message is counted and released before it is queued or decoded: ``BadMessage``."""
    check_fields(msg)
    try:
        pipeline.check_size(msg.width, msg.height)
    except InputError as err:
        raise BadMessage(OVERSIZED, str(err)) from None


def fuse_messages(pipeline: FusionPipeline, thermal: ImageFields, rgb: ImageFields, *, encoding: str = "rgb8",
                  require_same_size: bool = False, fused: bool = True, masks: bool = True,
                  initial: bool = False, decode: Decoder = to_pipeline_input,
                  encode_image: Encoder = encode, temporal: StreamTemporal | None = None) -> FusedFrame:
    """Decode, check, fuse and encode. Input problems raise ``BadMessage`` with a kind.

    ``temporal`` (the stream's state) smooths the thermal normalisation, the masks and the fused luma over
    frames and offers the prepared pair to its alignment monitor; without it every pair is fused on its own.
    """
    ir, ir_order = decode(thermal)
    if ir.ndim == 3 and ir_order == "bgr":  # a colour-mapped thermal image: luma needs RGB order
        ir = ir[:, :, ::-1]
    vis, vis_order = decode(rgb)
    if require_same_size and ir.shape[:2] != vis.shape[:2]:
        raise BadMessage(SIZE_MISMATCH, f"thermal {ir.shape[1]}x{ir.shape[0]} and RGB "
                         f"{vis.shape[1]}x{vis.shape[0]} differ (require_same_size is set)")
    smooths = temporal is not None and temporal.smooths  # PER_FRAME: each pair on its own, bit for bit
    try:
        result = pipeline(ir, vis, vis_order, temporal if smooths else None)
    except BadMessage:
        raise
    except InputError as err:
        raise BadMessage(REJECTED_BY_PIPELINE, str(err)) from None
    if temporal is not None:
        temporal.alignment.offer(result.pair or (lambda: pipeline.prepare(ir, vis, vis_order)), ir.shape[:2])
    out = FusedFrame(timings=result.timings)
    if fused:
        out.images["fused"] = encode_image(rgb_layout(result.fused, encoding), encoding)
    if masks and result.masks:
        out.images["mask_ir"] = encode_image(to_gray_u8(result.masks["ir"]), "mono8")
        out.images["mask_vis"] = encode_image(to_gray_u8(result.masks["vis"]), "mono8")
    if initial and result.initial is not None:
        out.images["initial"] = encode_image(rgb_layout(result.initial, encoding), encoding)
    return out
