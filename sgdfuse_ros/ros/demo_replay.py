"""Replay a thermal + RGB bag through the fusion node in this process and record what it publishes.

Three nodes share an rclpy context of their own, in one process:
- the ``FusionNode``, driven through its lifecycle (configure, activate; deactivate at the end);
- a recorder writing the node's output topics to a new MCAP bag as received (serialized bytes, like
  ``ros2 bag record``);
- a player (``play_bag``): the recorded CDR bytes at the recorded receive times divided by ``rate``, header
  stamps untouched (so the node pairs exactly as ``bag fuse`` does), reliable.
Node and recorder are spun by a multi-threaded executor; the player publishes from the calling thread.
DDS reaches every interface of the current network namespace: this refuses to run unless the loopback is
the only one (``unshare -n``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from ..bag.io import IMAGE_TYPE, open_writer, typestore
from ..errors import SGDFuseError
from ..pipeline import FusionPipeline
from .bag_play import play_bag
from .fusion_node import FusionNode, start
from .netns import only_loopback

NODE_DEFAULTS = {"autostart": False, "qos.input_reliability": "reliable", "qos.input_depth": 100,
                 "qos.output_depth": 100}


@dataclass
class ReplayReport:
    rate: float
    played: dict[str, int]  # player: topic -> messages published
    received: list[int]  # node, per input (thermal, RGB)
    bad: list[int]
    synced: int
    fused: int
    dropped_by_sync: list[dict[str, int]]  # per input: reason -> messages (non-zero only)
    pending_in_sync: list[int]
    dropped_backpressure: int
    rejected: dict[str, int]
    failed: dict[str, int]
    recorded: dict[str, int]  # output topic -> messages written to the bag
    sync_implementation: str
    images: str
    seconds: float  # from the first message played to the node settled


class BagRecorder:
    """Writes every message of ``topics`` (sensor_msgs/Image) to a new MCAP bag, as received."""

    def __init__(self, context: Context, path: str | Path, topics: list[str]) -> None:
        self.node = rclpy.create_node("sgdfuse_demo_recorder", context=context)
        self._writer = open_writer(path)
        self._writer.open()
        self._lock = threading.Lock()
        self.counts = dict.fromkeys(topics, 0)
        store = typestore()
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        for topic in topics:
            conn = self._writer.add_connection(topic, IMAGE_TYPE, typestore=store)
            self.node.create_subscription(Image, topic, partial(self._write, topic, conn), qos, raw=True)

    def _write(self, topic: str, conn: Any, raw: bytes) -> None:
        with self._lock:
            self._writer.write(conn, self.node.get_clock().now().nanoseconds, raw)
            self.counts[topic] += 1

    def close(self) -> None:
        with self._lock:
            self._writer.close()


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SGDFuseError(f"replay: {what} after {timeout:.0f} s")
        time.sleep(0.02)


def replay_through_node(bag: str | Path, out_bag: str | Path, pipeline: FusionPipeline, *, rate: float,
                        params: dict[str, Any] | None = None, timeout: float = 120.0) -> ReplayReport:
    """Play ``bag`` into a FusionNode running ``pipeline``; its outputs go to ``out_bag``."""
    if not only_loopback():
        raise SGDFuseError("refusing to start DDS: this network namespace has interfaces besides the loopback "
                           "(run it under `unshare -n`)")
    context = Context()
    rclpy.init(context=context)
    overrides = [Parameter(k, value=v) for k, v in {**NODE_DEFAULTS, **(params or {})}.items()]
    nodes: list[Any] = []
    executor: MultiThreadedExecutor | None = None
    recorder: BagRecorder | None = None
    try:
        node = FusionNode(context=context, parameter_overrides=overrides, pipeline_factory=lambda config: pipeline)
        nodes.append(node)
        if not start(node):
            raise SGDFuseError("the fusion node failed to configure or activate (reason logged above)")
        outputs = node.output_publishers
        assert node.params is not None  # the node runs in the root namespace: a relative name gets a "/"
        topics = {name: getattr(pub, "topic_name", None) or "/" + getattr(node.params.topics, name).lstrip("/")
                  for name, pub in outputs.items()}
        recorder = BagRecorder(context, out_bag, list(topics.values()))
        player = rclpy.create_node("sgdfuse_demo_player", context=context)
        nodes += [recorder.node, player]
        executor = MultiThreadedExecutor(num_threads=3, context=context)
        executor.add_node(node)
        executor.add_node(recorder.node)
        threading.Thread(target=executor.spin, daemon=True).start()
        _wait(lambda: all(pub.get_subscription_count() >= 1 for pub in outputs.values()), 20,
              "the recorder did not match the node's publishers")
        started = time.monotonic()
        played = play_bag(player, bag, rate=rate, wait_subscribers=1, reliability="reliable", depth=100)
        stats = node.stats
        assert stats is not None and node.worker is not None

        def settled() -> bool:  # every input received and handled, every output recorded
            worker = node.worker
            done = (stats.fused + stats.dropped_backpressure + sum(stats.rejected.values())
                    + sum(stats.failed.values()) + stats.discarded)
            return (sum(stats.received) == sum(played.values()) and worker is not None
                    and worker.in_flight == 0 and done == stats.synced
                    and all(recorder.counts[topic] == stats.published[name] for name, topic in topics.items()))

        _wait(settled, timeout, "the node did not settle")
        seconds = time.monotonic() - started
        node.trigger_deactivate()
        assert node.sync is not None
        sync_stats, pending = node.sync.snapshot()
        dropped = [{reason: counts[i] for reason, counts in sync_stats.dropped.items() if counts[i]}
                   for i in range(2)]
        return ReplayReport(rate=rate, played=played, received=list(stats.received),
                            bad=list(stats.bad_by_topic), synced=stats.synced, fused=stats.fused,
                            dropped_by_sync=dropped, pending_in_sync=pending,
                            dropped_backpressure=stats.dropped_backpressure, rejected=dict(stats.rejected),
                            failed=dict(stats.failed), recorded=dict(recorder.counts),
                            sync_implementation=node.sync_implementation, images=node.images.name,
                            seconds=seconds)
    finally:
        if executor is not None:
            executor.shutdown(timeout_sec=5)
        for n in nodes:
            n.destroy_node()
        if recorder is not None:
            recorder.close()
        rclpy.shutdown(context=context)
