"""Minimal working stand-ins for ``message_filters`` and ``cv_bridge`` (ROS packages that are not on PyPI).

They implement the APIs the node uses, with real behaviour (pairing, pixel conversion), so the adapters are
tested against something that can disagree with them. Install one with ``monkeypatch.setitem(sys.modules,
"message_filters", fake_message_filters())``.
"""

from __future__ import annotations

import itertools
import types
from typing import ClassVar

import numpy as np

# -- message_filters (the Python API of ros2/message_filters, Humble..Kilted) --


def _ns(msg) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


class SimpleFilter:
    def __init__(self) -> None:
        self.callbacks: dict[int, tuple] = {}

    def registerCallback(self, cb, *args):  # message_filters' names
        self.callbacks[len(self.callbacks)] = (cb, args)
        return len(self.callbacks) - 1

    def signalMessage(self, *msg):
        for cb, args in list(self.callbacks.values()):
            cb(*(msg + args))


class Subscriber(SimpleFilter):
    def __init__(self, node, msg_type, topic, qos_profile=10) -> None:
        super().__init__()
        self.node, self.topic = node, topic
        self.sub = node.create_subscription(msg_type, topic, self.callback, qos_profile)

    def callback(self, msg) -> None:
        self.signalMessage(msg)


class TimeSynchronizer(SimpleFilter):
    """Sets of identical stamps; per-input queues ``{stamp_ns: msg}`` of at most ``queue_size``."""

    def __init__(self, fs, queue_size) -> None:
        super().__init__()
        self.queue_size = queue_size
        self.queues: list[dict[int, object]] = [{} for _ in fs]
        for i, f in enumerate(fs):
            f.registerCallback(self.add, self.queues[i], i)

    def _insert(self, msg, queue) -> int:
        stamp = _ns(msg)
        queue[stamp] = msg
        while len(queue) > self.queue_size:
            del queue[min(queue)]
        return stamp

    def add(self, msg, queue, index=None) -> None:
        stamp = self._insert(msg, queue)
        if all(stamp in q for q in self.queues):
            self.signalMessage(*(q.pop(stamp) for q in self.queues))


class ApproximateTimeSynchronizer(TimeSynchronizer):
    """Greedy pairing as message_filters' Python class: the new message with the closest partners whose
    spread is below ``slop`` (seconds), if any."""

    def __init__(self, fs, queue_size, slop, allow_headerless=False) -> None:
        super().__init__(fs, queue_size)
        self.slop_ns = round(slop * 1e9)

    def add(self, msg, queue, index=None) -> None:
        stamp = self._insert(msg, queue)
        if stamp not in queue:  # the oldest of a full queue: dropped at once
            return
        others = [sorted((s for s in q if abs(s - stamp) <= self.slop_ns), key=lambda s: abs(s - stamp))
                  for j, q in enumerate(self.queues) if j != index]
        for combo in itertools.product(*others):
            stamps = list(combo)
            stamps.insert(index, stamp)
            if max(stamps) - min(stamps) < self.slop_ns:
                self.signalMessage(*(q.pop(s) for q, s in zip(self.queues, stamps, strict=True)))
                return


def fake_message_filters() -> types.ModuleType:
    module = types.ModuleType("message_filters")
    module.SimpleFilter, module.Subscriber = SimpleFilter, Subscriber
    module.TimeSynchronizer, module.ApproximateTimeSynchronizer = TimeSynchronizer, ApproximateTimeSynchronizer
    return module


# -- cv_bridge (CvBridge of ros-perception/vision_opencv, ROS 2) --

_TYPES = {"mono8": (np.uint8, 1), "8UC1": (np.uint8, 1), "mono16": (np.uint16, 1), "16UC1": (np.uint16, 1),
          "rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "rgba8": (np.uint8, 4), "bgra8": (np.uint8, 4)}


class CvBridge:
    calls: ClassVar[dict[str, int]] = {}  # class-wide, reset by fake_cv_bridge()

    def imgmsg_to_cv2(self, img_msg, desired_encoding="passthrough"):
        assert desired_encoding == "passthrough"
        CvBridge.calls["imgmsg_to_cv2"] += 1
        dtype, channels = _TYPES[img_msg.encoding]
        dtype = np.dtype(dtype).newbyteorder(">" if img_msg.is_bigendian else "<")
        rows = np.frombuffer(bytes(img_msg.data), np.uint8).reshape(img_msg.height, img_msg.step)
        rows = rows[:, : img_msg.width * channels * dtype.itemsize].copy()
        img = rows.view(dtype).astype(dtype.newbyteorder("="))
        return img.reshape(img_msg.height, img_msg.width, channels).squeeze(axis=2) if channels == 1 else \
            img.reshape(img_msg.height, img_msg.width, channels)

    def cv2_to_imgmsg(self, cvim, encoding="passthrough", header=None):
        from sensor_msgs.msg import Image

        CvBridge.calls["cv2_to_imgmsg"] += 1
        dtype, channels = _TYPES[encoding]
        assert cvim.dtype == dtype and (cvim.shape[2] if cvim.ndim == 3 else 1) == channels
        msg = Image(height=cvim.shape[0], width=cvim.shape[1], encoding=encoding, is_bigendian=0)
        if header is not None:
            msg.header = header
        msg.data = cvim.astype(np.dtype(dtype).newbyteorder("<")).tobytes()
        msg.step = len(msg.data) // msg.height
        return msg


def fake_cv_bridge() -> types.ModuleType:
    CvBridge.calls = {"imgmsg_to_cv2": 0, "cv2_to_imgmsg": 0}
    module = types.ModuleType("cv_bridge")
    module.CvBridge = CvBridge
    return module
