"""``sgdfuse bag play BAG``: publish a bag's messages over DDS at the recorded rate, like ``ros2 bag play``.

Messages are published as the recorded CDR bytes (no conversion), each at its receive time divided by
``rate``. Differences from ``ros2 bag play`` (which is not on PyPI):
- ``restamp``: header stamps are rewritten as ``now_at_start + (stamp - first_receive_time) / rate`` so that
  they track the publishing clock (then stamp -> publish latency measured downstream is meaningful);
- ``wait_subscribers``: wait until every publisher has that many subscribers (DDS discovery) before playing.
"""

from __future__ import annotations

import importlib
import struct
import time
from pathlib import Path
from typing import Any

from rclpy.duration import Duration
from rclpy.node import Node

from ..bag.io import open_reader, typestore
from ..errors import InputError
from .qos import image_qos


def message_class(msgtype: str) -> Any:
    """``"sensor_msgs/msg/Image"`` -> the rclpy message class."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise InputError(f"message type {msgtype} is not installed for rclpy") from None


def play_bag(node: Node, path: str | Path, *, rate: float = 1.0, topics: list[str] | None = None,
             remap: dict[str, str] | None = None, restamp: bool = False, wait_subscribers: int = 0,
             wait_timeout: float = 10.0, reliability: str = "reliable", depth: int = 10) -> dict[str, int]:
    """Publish the bag's messages from ``node``; returns messages published per (remapped) topic."""
    if not rate > 0:
        raise InputError(f"rate must be > 0, got {rate}")
    remap = remap or {}
    store = typestore()
    counts: dict[str, int] = {}
    with open_reader(path) as reader:
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        if not conns:
            raise InputError(f"{path}: none of the topics {topics} is in the bag")
        qos = image_qos(reliability, depth)
        stamped = {c.topic for c in conns if restamp and _has_header(store, c.msgtype)}
        pubs = {}
        for c in conns:
            name = remap.get(c.topic, c.topic)
            pubs[c.topic] = node.create_publisher(message_class(c.msgtype), name, qos)
            counts[name] = 0
        _wait_for_subscribers(list(pubs.values()), wait_subscribers, wait_timeout)
        start_wall = time.monotonic()
        start_ros = node.get_clock().now().nanoseconds
        first: int | None = None
        for conn, log_time, raw in reader.messages(connections=conns):
            first = log_time if first is None else first
            delay = start_wall + (log_time - first) / 1e9 / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if conn.topic in stamped:
                raw = _restamp(raw, start_ros, first, rate)
            pubs[conn.topic].publish(bytes(raw))
            counts[remap.get(conn.topic, conn.topic)] += 1
    for pub in pubs.values():  # reliable: let the last messages be delivered before the caller tears down
        wait = getattr(pub, "wait_for_all_acked", None)  # rclpy >= Galactic
        if wait is not None:
            wait(Duration(seconds=5))
    return counts


def play_bag_file(path: str | Path, **options: Any) -> dict[str, int]:
    """``play_bag`` from a node of its own (rclpy initialised and shut down here): ``sgdfuse bag play``."""
    import rclpy

    rclpy.init()
    node = rclpy.create_node("sgdfuse_bag_play")
    try:
        return play_bag(node, path, **options)
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


def _has_header(store: Any, msgtype: str) -> bool:
    fields = store.fielddefs.get(msgtype, ((), ()))[1]
    return bool(fields) and fields[0][0] == "header" and fields[0][1][1] == "std_msgs/msg/Header"


def _restamp(raw: bytes, start_ns: int, first_ns: int, rate: float) -> bytes:
    """Header stamp ``t`` -> ``start_ns + (t - first_ns) / rate``, patched in the CDR bytes.

    A message starting with ``std_msgs/Header`` has its stamp right after the 4-byte encapsulation header:
    ``int32 sec`` at offset 4 and ``uint32 nanosec`` at offset 8 (byte order from the encapsulation kind).
    """
    order = "<" if raw[1] & 1 else ">"
    sec, nanosec = struct.unpack_from(order + "iI", raw, 4)
    ns = start_ns + round((sec * 1_000_000_000 + nanosec - first_ns) / rate)  # exact: small ints divided
    out = bytearray(raw)
    struct.pack_into(order + "iI", out, 4, ns // 1_000_000_000, ns % 1_000_000_000)
    return bytes(out)


def _wait_for_subscribers(pubs: list[Any], count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while count > 0 and any(p.get_subscription_count() < count for p in pubs):
        if time.monotonic() > deadline:
            missing = [p.topic_name for p in pubs if p.get_subscription_count() < count]
            raise InputError(f"no {count} subscriber(s) on {', '.join(missing)} after {timeout} s")
        time.sleep(0.05)
