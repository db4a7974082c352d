"""rosbags helpers: the type store and ``sensor_msgs/Image`` messages <-> the core ``EncodedImage``."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..stream.encodings import EncodedImage

IMAGE_TYPE = "sensor_msgs/msg/Image"
log = logging.getLogger(__name__)


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


def cdr_stamp_ns(raw: bytes) -> int:
    """The header stamp of a serialised message whose first field is a ``std_msgs/Header`` (``Image``,
    ``CompressedImage``), read from its first bytes without deserialising the pixels: after the 4-byte CDR
    encapsulation header come ``stamp.sec`` (int32) and ``stamp.nanosec`` (uint32)."""
    if len(raw) < 12 or raw[0] != 0 or raw[1] not in (0, 1):
        raise InputError("not a CDR-serialised message")
    sec, nanosec = struct.unpack("<iI" if raw[1] == 1 else ">iI", raw[4:12])
    return sec * 1_000_000_000 + nanosec


def open_writer(path: str | Path) -> Any:
    """An MCAP rosbag2 writer at ``path`` (a folder that must not exist yet)."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    path = Path(path)
    if path.exists():
        raise InputError(f"{path}: already exists (rosbag2 writes a new folder)")
    return Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)


def partial_path(path: str | Path) -> Path:
    """Where a bag is written before it is complete: ``.NAME.partial/NAME`` beside ``NAME`` (the inner name
    keeps rosbag2's file names, which follow the folder's, unchanged by the final rename)."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial") / path.name


def check_new_bag(path: str | Path, inputs: tuple[str | Path, ...] = ()) -> Path:
    """A bag folder to be created: must not exist, nor lie inside an input; its parent must be writable."""
    from ..outputs import check_not_input, check_writable_folder

    path = Path(path)
    if path.exists() or path.is_symlink():
        raise InputError(f"{path}: already exists (bag tools write a new folder)")
    check_not_input(path, inputs)
    check_writable_folder(path.parent)
    return path


@contextlib.contextmanager
def bag_output(path: str | Path, inputs: tuple[str | Path, ...] = ()) -> Iterator[Path]:
    """A bag folder that appears complete or not at all.

    The bag is written into ``partial_path(path)`` and renamed onto ``path`` when the block succeeds; on an
    error, Ctrl-C or SIGTERM (raised as an exception by the CLI) the partial folder is removed. After SIGKILL
    or a power cut it stays behind, ``path`` does not exist, and the next run removes it and starts afresh.
    """
    path = check_new_bag(path, inputs)
    work = partial_path(path)
    if work.parent.exists():
        log.warning("%s: removing the partial output of an interrupted run", work.parent)
        shutil.rmtree(work.parent)
    try:
        work.parent.mkdir()
        yield work
        os.rename(work, path)
    except OSError as err:
        raise InputError(f"{path}: cannot write the bag ({err.strerror or err})") from None
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)


@contextlib.contextmanager
def open_reader(path: str | Path) -> Iterator[Any]:
    """``with open_reader(path) as reader``: an open rosbag2 reader; a missing, empty or corrupt bag is an
    InputError naming it."""
    from rosbags.rosbag2 import Reader
    from rosbags.rosbag2.errors import ReaderError

    path = Path(path)
    if not (path / "metadata.yaml").is_file():
        raise InputError(f"{path}: not a rosbag2 folder (no metadata.yaml)")
    reader = Reader(path)
    try:
        reader.open()
    except ReaderError as err:
        salvaged = _salvage(path)
        if salvaged is None:
            raise InputError(f"{path}: unreadable bag ({err})") from None
        log.warning("%s: %s; read as far as it goes: %d messages in %d of %d bytes", path, err,
                    salvaged.message_count, salvaged.read_bytes, salvaged.total_bytes)
        yield salvaged
        return
    try:
        yield reader
    finally:
        reader.close()


def _salvage(path: Path) -> Any:
    """The readable part of a truncated MCAP bag, or None when there is none (not MCAP, no message)."""
    from .salvage import SalvageReader

    files = sorted(path.glob("*.mcap"))
    if not files:
        return None
    reader = SalvageReader(files)
    return reader if reader.message_count else None
