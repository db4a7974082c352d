"""``sensor_msgs/Image`` <-> arrays (cv_bridge when importable, else the core encodings); stamps <-> ns.

The node converts pixels with an ``ImageConverter``: ``to_array(msg) -> (array, "rgb"|"bgr")`` for the
pipeline and ``to_msg(array, encoding, header) -> Image`` for the outputs.
- ``CoreImages``: the core ``sgdfuse_ros.stream.encodings`` (zero-copy for 8-bit data, no ROS package needed);
- ``CvBridgeImages``: ``CvBridge().imgmsg_to_cv2(msg, desired_encoding="passthrough")`` / ``cv2_to_imgmsg``.
  Messages are still validated by the core checks first, so a bad message raises the same ``BadMessage``
  kind with either converter (cv_bridge's own errors carry no kind).
``use_cv_bridge`` (auto | true | false) picks one: ``image_converter``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Protocol

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from ..stream.encodings import EncodedImage, check_fields, encode, to_pipeline_input
from .optional import optional_module, use_optional


def stamp_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def copy_header(header: Header) -> Header:
    return Header(stamp=Time(sec=header.stamp.sec, nanosec=header.stamp.nanosec), frame_id=header.frame_id)


def to_image_msg(image: EncodedImage, header: Header) -> Image:
    msg = Image(header=copy_header(header), height=image.height, width=image.width, encoding=image.encoding,
                is_bigendian=image.is_bigendian, step=image.step)
    msg.data = image.data
    return msg


def array_to_image_msg(img: np.ndarray, encoding: str, header: Header) -> Image:
    """An array laid out as ``encoding`` says -> Image message."""
    return to_image_msg(encode(img, encoding), header)


class ImageConverter(Protocol):
    name: str

    def to_array(self, msg: Image) -> tuple[np.ndarray, str]: ...

    def to_msg(self, img: np.ndarray, encoding: str, header: Header) -> Image: ...


class CoreImages:
    name = "core"

    def to_array(self, msg: Image) -> tuple[np.ndarray, str]:
        return to_pipeline_input(msg)

    def to_msg(self, img: np.ndarray, encoding: str, header: Header) -> Image:
        return array_to_image_msg(img, encoding, header)


class CvBridgeImages:
    name = "cv_bridge"

    def __init__(self, cv_bridge: ModuleType) -> None:
        self.bridge = cv_bridge.CvBridge()

    def to_array(self, msg: Image) -> tuple[np.ndarray, str]:
        enc = check_fields(msg)  # the core checks first: a bad message keeps its kind
        img = self.bridge.imgmsg_to_cv2(msg, desired_encoding="passthrough")
        if img.ndim == 3 and img.shape[2] == 4:
            img = img[:, :, :3]
        return img, ("bgr" if enc.order == "bgr" else "rgb")

    def to_msg(self, img: np.ndarray, encoding: str, header: Header) -> Image:
        msg = self.bridge.cv2_to_imgmsg(np.ascontiguousarray(img), encoding=encoding)
        msg.header = copy_header(header)
        return msg


def image_converter(use_cv_bridge: str) -> ImageConverter:
    """``use_cv_bridge``: auto (cv_bridge when importable) | true (required: ConfigError if missing) | false."""
    wanted = {"auto": None, "true": True, "false": False}[use_cv_bridge]
    module = optional_module("cv_bridge") if wanted is not False else None
    if use_optional("use_cv_bridge", wanted, module, "cv_bridge"):
        assert module is not None
        return CvBridgeImages(module)
    return CoreImages()
