"""rosbags helpers: the type store and ``sensor_msgs/Image`` messages <-> the core ``EncodedImage``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..stream.encodings import EncodedImage

IMAGE_TYPE = "sensor_msgs/msg/Image"


def typestore() -> Any:
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_HUMBLE)  # sensor_msgs/Image is the same in every ROS 2 distribution


def image_message(store: Any, image: EncodedImage, stamp_ns: int, frame_id: str) -> Any:
    t = store.types
    stamp = t["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
    header = t["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)
    return t[IMAGE_TYPE](header=header, height=image.height, width=image.width, encoding=image.encoding,
                         is_bigendian=image.is_bigendian, step=image.step,
                         data=np.frombuffer(image.data, np.uint8))


def stamp_ns(header: Any) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def open_writer(path: str | Path) -> Any:
    """An MCAP rosbag2 writer at ``path`` (a folder that must not exist yet)."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    path = Path(path)
    if path.exists():
        raise InputError(f"{path}: already exists (rosbag2 writes a new folder)")
    return Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)


def open_reader(path: str | Path) -> Any:
    from rosbags.rosbag2 import Reader

    path = Path(path)
    if not (path / "metadata.yaml").is_file():
        raise InputError(f"{path}: not a rosbag2 folder (no metadata.yaml)")
    return Reader(path)
