"""``sensor_msgs/Image`` fields <-> numpy, without ROS (for rclpy messages and rosbags dataclasses alike).

An image message is anything with ``height``, ``width``, ``encoding``, ``is_bigendian``, ``step``, ``data``.
Supported encodings: mono8, 8UC1, mono16, 16UC1, rgb8, bgr8, rgba8, bgra8. Rows may be padded
(``step > width * bytes_per_pixel``); 16-bit data honours ``is_bigendian``.

A message that cannot be used raises ``BadMessage`` (an ``InputError``) whose ``kind`` names the problem,
so a node can count bad messages per kind and log each kind once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Encoding:
    dtype: np.dtype
    channels: int
    order: str  # "gray", "rgb" or "bgr" (alpha, when present, is dropped by ``to_pipeline_input``)

    @property
    def bytes_per_pixel(self) -> int:
        return self.dtype.itemsize * self.channels


ENCODINGS: dict[str, Encoding] = {
    "mono8": Encoding(np.dtype(np.uint8), 1, "gray"),
    "8UC1": Encoding(np.dtype(np.uint8), 1, "gray"),
    "mono16": Encoding(np.dtype(np.uint16), 1, "gray"),
    "16UC1": Encoding(np.dtype(np.uint16), 1, "gray"),
    "rgb8": Encoding(np.dtype(np.uint8), 3, "rgb"),
    "bgr8": Encoding(np.dtype(np.uint8), 3, "bgr"),
    "rgba8": Encoding(np.dtype(np.uint8), 4, "rgb"),
    "bgra8": Encoding(np.dtype(np.uint8), 4, "bgr"),
}

# Kinds of bad message (a bad *pair* adds "size_mismatch" and "rejected_by_pipeline", see stream/fusion.py).
UNKNOWN_ENCODING = "unknown_encoding"
EMPTY_DATA = "empty_data"
ZERO_SIZE = "zero_size"
STEP_TOO_SMALL = "step_too_small"
DATA_SIZE_MISMATCH = "data_size_mismatch"


class BadMessage(InputError):
    """An image message that cannot be used; ``kind`` is one short tag per kind of problem."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ImageFields(Protocol):
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: Any  # bytes, array.array('B'), numpy uint8 array...


@dataclass(frozen=True)
class EncodedImage:
    """The fields of a ``sensor_msgs/Image`` (without header), ready to copy into a message."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: bytes


def check_fields(msg: ImageFields) -> Encoding:
    """Validate the fields of an image message in O(1) (no pixel is read); return its encoding."""
    enc = ENCODINGS.get(msg.encoding)
    if enc is None:
        raise BadMessage(UNKNOWN_ENCODING, f"unsupported encoding {msg.encoding!r} "
                         f"(supported: {', '.join(ENCODINGS)})")
    if msg.height <= 0 or msg.width <= 0:
        raise BadMessage(ZERO_SIZE, f"image of {msg.width}x{msg.height} pixels")
    size = len(msg.data)
    if size == 0:
        raise BadMessage(EMPTY_DATA, f"{msg.width}x{msg.height} {msg.encoding} image with no data")
    row = msg.width * enc.bytes_per_pixel
    if msg.step < row:
        raise BadMessage(STEP_TOO_SMALL, f"step {msg.step} < width {msg.width} x {enc.bytes_per_pixel} bytes "
                         f"per pixel ({msg.encoding})")
    if size != msg.step * msg.height:
        raise BadMessage(DATA_SIZE_MISMATCH, f"data has {size} bytes, expected step {msg.step} x height "
                         f"{msg.height} = {msg.step * msg.height}")
    return enc


def decode(msg: ImageFields) -> np.ndarray:
    """Image message -> HxW (gray) or HxWxC array in native byte order (a view of ``data`` when possible)."""
    enc = check_fields(msg)
    raw = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
    rows = raw[:, : msg.width * enc.bytes_per_pixel]
    if enc.dtype.itemsize > 1:
        dtype = enc.dtype.newbyteorder(">" if msg.is_bigendian else "<")
        rows = np.ascontiguousarray(rows).view(dtype)
        if not dtype.isnative:
            rows = rows.astype(enc.dtype)
    img = rows.reshape(msg.height, msg.width, enc.channels)
    return img[:, :, 0] if enc.channels == 1 else img


def to_pipeline_input(msg: ImageFields) -> tuple[np.ndarray, str]:
    """Image message -> (array without alpha, channel order "rgb"/"bgr") as ``FusionPipeline`` takes it."""
    enc = ENCODINGS.get(msg.encoding)
    img = decode(msg)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    return img, ("bgr" if enc is not None and enc.order == "bgr" else "rgb")


def encode(img: np.ndarray, encoding: str) -> EncodedImage:
    """Array laid out as ``encoding`` says (channel order included) -> message fields (rows unpadded)."""
    enc = ENCODINGS.get(encoding)
    if enc is None:
        raise InputError(f"cannot encode as {encoding!r} (supported: {', '.join(ENCODINGS)})")
    if img.dtype != enc.dtype:
        raise InputError(f"{encoding} needs {enc.dtype} data, got {img.dtype}")
    channels = 1 if img.ndim == 2 else img.shape[2]
    if img.ndim not in (2, 3) or channels != enc.channels or img.size == 0:
        raise InputError(f"{encoding} needs an HxW{'' if enc.channels == 1 else f'x{enc.channels}'} array, "
                         f"got shape {img.shape}")
    height, width = img.shape[:2]
    data = np.ascontiguousarray(img, enc.dtype.newbyteorder("<")).tobytes()
    return EncodedImage(height, width, encoding, 0, width * enc.bytes_per_pixel, data)


def rgb_layout(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """RGB uint8 HxWx3 (what the pipeline returns) in the channel order of ``encoding`` (rgb8 or bgr8)."""
    if encoding not in ("rgb8", "bgr8"):
        raise InputError(f"colour output encoding must be rgb8 or bgr8, got {encoding!r}")
    return rgb if encoding == "rgb8" else rgb[:, :, ::-1]


def encode_rgb(rgb: np.ndarray, encoding: str) -> EncodedImage:
    """RGB uint8 HxWx3 (what the pipeline returns) -> rgb8 or bgr8 fields."""
    return encode(rgb_layout(rgb, encoding), encoding)
