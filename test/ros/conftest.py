"""DDS tests: real rclpy + Fast DDS, run only inside a private network namespace (``unshare -n``).

The guard keeps DDS discovery traffic off real networks: outside a namespace whose only interface is the
loopback, every test here is skipped. ``/sys/class/net`` is not a usable check (sysfs still shows the host's
interfaces inside ``unshare -n``); ``socket.if_nameindex()`` asks the kernel for the current namespace.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

ONLY_LOOPBACK = [name for _, name in socket.if_nameindex()] == ["lo"]


def pytest_collection_modifyitems(config, items):
    if ONLY_LOOPBACK:
        return
    skip = pytest.mark.skip(reason="DDS tests run only inside `unshare -n` (see Makefile)")
    for item in items:
        if "test/ros/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ros() -> Iterator[None]:
    rclpy = pytest.importorskip("rclpy")
    rclpy.init()
    yield
    if rclpy.ok():
        rclpy.shutdown()


class Spinner:
    """A multi-threaded executor spinning some nodes in a background thread."""

    def __init__(self, *nodes) -> None:
        from rclpy.executors import MultiThreadedExecutor

        self.executor = MultiThreadedExecutor(num_threads=4)
        for node in nodes:
            self.executor.add_node(node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.executor.shutdown(timeout_sec=5)
        self.thread.join(5)


@pytest.fixture
def spin(ros) -> Iterator[Callable[..., Spinner]]:
    spinners: list[Spinner] = []

    def start(*nodes) -> Spinner:
        spinners.append(Spinner(*nodes))
        return spinners[-1]

    yield start
    for s in spinners:
        s.stop()


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture
def wait_for() -> Callable[..., bool]:
    """``wait_for(predicate, timeout=10.0)``: poll until true; returns the last result."""
    return _wait_for


class Harness:
    """A FusionNode under test plus a peer node that feeds it and records what it publishes."""

    def __init__(self, spin, namespace: str, params: dict, pipeline_factory=None) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.parameter import Parameter
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        from sgdfuse_ros.ros.fusion_node import FusionNode

        # stale_timeout only feeds diagnostics: long by default, so a slow run cannot turn a report taken after
        # a quiet spell into "stale topic" (the staleness test sets its own)
        overrides = [Parameter(k, value=v) for k, v in {"pipeline.stage1.method": "average", "autostart": False,
                                                          "qos.input_reliability": "reliable",
                                                          "qos.input_depth": 50, "diagnostics_period": 0.2,
                                                          "sync.stale_timeout": 60.0,
                                                          # synthetic images score no alignment: tests opt in
                                                          "temporal.alignment_every_n": 0, **params}.items()]
        kwargs = {} if pipeline_factory is None else {"pipeline_factory": pipeline_factory}
        self.node = FusionNode(namespace=namespace, parameter_overrides=overrides, **kwargs)
        self.peer = rclpy.create_node("peer", namespace=namespace)
        reliable = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_thermal = self.peer.create_publisher(Image, "thermal/image", reliable)
        self.pub_rgb = self.peer.create_publisher(Image, "rgb/image", reliable)
        self.outputs: dict[str, list] = {"fused_image": [], "fused/mask_ir": [], "fused/mask_vis": []}
        for topic, store in self.outputs.items():
            self.peer.create_subscription(Image, topic, store.append, reliable)
        self.sent = [0, 0]  # messages published on thermal, RGB
        self.diagnostics: list[tuple[float, dict[str, str], int]] = []  # (arrival, values, level)
        self.peer.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        self.spinner = spin(self.node, self.peer)

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if status.name == self.node.diagnostics_name:
                values = {kv.key: kv.value for kv in status.values}
                self.diagnostics.append((time.monotonic(), values, status.level[0]))

    def publish(self, index: int, img, layout: str, stamp_ns: int, frame_id: str = "", **fields) -> None:
        """Publish ``img`` (laid out as ``layout``) on thermal (0) or RGB (1); ``fields`` override."""
        from std_msgs.msg import Header

        from sgdfuse_ros.ros.conversions import array_to_image_msg, ns_to_stamp

        msg = array_to_image_msg(img, layout, Header(stamp=ns_to_stamp(stamp_ns), frame_id=frame_id))
        for key, value in fields.items():
            setattr(msg, key, value)
        (self.pub_thermal if index == 0 else self.pub_rgb).publish(msg)
        self.sent[index] += 1

    def wait_matched(self) -> bool:
        return _wait_for(lambda: self.pub_thermal.get_subscription_count() >= 1
                         and self.pub_rgb.get_subscription_count() >= 1)

    def wait_received(self, timeout: float = 10.0) -> None:
        """Until the node has received every message published so far (DDS delivery can lag on a busy machine)."""
        def done() -> bool:
            stats = self.node.stats
            return stats is None or all(stats.received[i] >= self.sent[i] for i in range(2))
        assert _wait_for(done, timeout), f"the node received {self.node.stats.received} of {self.sent} messages"

    def diagnostics_after(self, t: float, timeout: float = 10.0,
                          where: Callable[[dict[str, str]], bool] = lambda values: True
                          ) -> tuple[dict[str, str], int]:
        """The first diagnostics values (and level) received after monotonic time ``t`` that satisfy ``where``."""
        def first() -> tuple[dict[str, str], int] | None:
            return next(((v, lvl) for a, v, lvl in self.diagnostics if a > t and where(v)), None)
        assert _wait_for(lambda: first() is not None, timeout), f"no such diagnostics; last: {self.diagnostics[-1:]}"
        return first()

    def wait_quiet(self, quiet_s: float = 0.6, timeout: float = 30.0) -> None:
        """Until no new output arrived for ``quiet_s``, the node holds no pair and every fused image it
        published has arrived here (delivery can lag on a busy machine)."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = sum(len(v) for v in self.outputs.values())
            worker, stats = self.node.worker, self.node.stats
            undelivered = stats is not None and len(self.outputs["fused_image"]) < stats.published["fused"]
            if n != last or (worker is not None and worker.in_flight) or undelivered:
                last, since = n, time.monotonic()
            elif time.monotonic() - since > quiet_s:
                return
            time.sleep(0.05)
        raise AssertionError("the node did not settle")

    def close(self) -> None:
        self.spinner.stop()
        self.node.destroy_node()
        self.peer.destroy_node()


@pytest.fixture
def harness(spin) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(namespace: str, params: dict | None = None, pipeline_factory=None) -> Harness:
        made.append(Harness(spin, namespace, params or {}, pipeline_factory))
        return made[-1]

    yield make
    for h in made:
        h.close()
