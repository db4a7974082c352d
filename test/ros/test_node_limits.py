"""The node's limits over DDS (issue 26): an oversized frame is refused and counted, and the node's memory
returns to its baseline; a singular homography fails ``configure`` with the reason logged.

The node runs in its own process (``python -m sgdfuse_ros.ros.fusion_node``), so its resident memory is its
own (``/proc/PID/status``), not the test driver's, which builds and publishes the large messages.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

REPO = Path(__file__).resolve().parents[2]
NORMAL = (480, 640)  # a VGA pair
HUGE = (3000, 4000)  # 12 MP: over the default limit of 5 MP


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of process ``pid`` in MB: VmRSS (all), or RssAnon / RssFile / RssShmem."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for pid {pid}")


def node_process(namespace: str, *params: str) -> subprocess.Popen:
    """The node as shipped (config/sgdfuse.yaml: stage 1 + offline masks + the student), ``params`` changed."""
    args = [sys.executable, "-m", "sgdfuse_ros.ros.fusion_node", "--ros-args", "-r", f"__ns:={namespace}",
            "--params-file", str(REPO / "config" / "sgdfuse.yaml"),
            "-p", "sync.min_interval:=0.02", "-p", "qos.input_reliability:=reliable", "-p", "qos.input_depth:=50",
            "-p", "diagnostics_period:=0.2"]
    for p in params:
        args += ["-p", p]
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class Driver:
    """Publishes pairs to the node process and records its diagnostics."""

    def __init__(self, namespace: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        self.node = rclpy.create_node("limits_driver", namespace=namespace)
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)  # no loss while the node is busy
        self.pubs = [self.node.create_publisher(Image, topic, reliable) for topic in ("thermal/image", "rgb/image")]
        self.diag: dict[str, str] = {}
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.stamp = time.time_ns()

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if "sgdfuse" in status.name:
                self.diag = {kv.key: kv.value for kv in status.values}

    def counters(self) -> dict[str, str]:
        """The non-zero counters of the last report (for failure messages)."""
        return {k: v for k, v in self.diag.items() if v not in ("0", "", "0.00") and "rate" not in k}

    def settled(self, pairs: int) -> bool:
        """The node has synchronised ``pairs`` pairs and holds none in its worker."""
        return self.diag.get("pairs.synced") == str(pairs) and self.diag.get("pairs.in_flight") == "0"

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.01)

    def wait(self, predicate, timeout: float = 180.0) -> bool:
        """Spin until ``predicate()``; generous, as the shipped pipeline on a busy CPU can starve the node."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and not predicate():
            self.spin(0.05)
        return predicate()

    def send(self, shape: tuple[int, int], count: int) -> None:
        from std_msgs.msg import Header

        from sgdfuse_ros.ros.conversions import array_to_image_msg, ns_to_stamp

        rng = np.random.default_rng(0)
        ir, rgb = rng.integers(0, 256, shape, np.uint8), rng.integers(0, 256, (*shape, 3), np.uint8)
        for _ in range(count):
            self.stamp += 50_000_000
            header = Header(stamp=ns_to_stamp(self.stamp), frame_id="cam")
            self.pubs[0].publish(array_to_image_msg(ir, "mono8", header))
            self.pubs[1].publish(array_to_image_msg(rgb, "rgb8", header))
            self.spin(0.1)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.stdout.read() if proc.stdout else ""


def test_oversized_frames_are_refused_counted_and_memory_returns(ros):
    proc = node_process("/limits", "publish.masks:=false")
    driver = Driver("/limits")
    try:
        assert driver.wait(lambda: all(p.get_subscription_count() for p in driver.pubs)), stop(proc)
        driver.send(NORMAL, 20)
        assert driver.wait(lambda: driver.settled(20)), driver.counters()
        driver.spin(1.0)
        baseline = rss_mb(proc.pid)
        for k in range(1, 4):  # one at a time
            driver.send(HUGE, 1)  # 12 MB + 36 MB
            assert driver.wait(lambda k=k: driver.diag.get("bad_messages.oversized") == str(2 * k)), driver.diag
        key = "input./limits/{}/image.bad"
        peak = rss_mb(proc.pid)
        driver.send(NORMAL, 20)
        assert driver.wait(lambda: driver.settled(40)), driver.counters()
        driver.spin(2.0)
        after = rss_mb(proc.pid)
        values = driver.diag
        assert values[key.format("thermal")] == values[key.format("rgb")] == "3"
        assert values["pairs.synced"] == "40"  # the oversized frames never reached the synchroniser
        assert int(values["pairs.fused"]) + int(values["pairs.dropped_backpressure"]) == 40  # none failed
        print(f"node RSS: baseline {baseline:.0f} MB, after the oversized frames {peak:.0f} MB, "
              f"after 20 more pairs {after:.0f} MB")
        assert after <= 1.10 * baseline, (baseline, peak, after)
        assert proc.poll() is None
    finally:
        driver.close()
        stop(proc)


@pytest.mark.parametrize(("homography", "reason"), [
    ("[0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0]", "homography is singular"),
    ("[1.0,2.0,3.0,2.0,4.0,6.0,0.0,0.0,1.0]", "homography is singular"),
    ("[1.0,0.0,0.0,0.0,1.0,0.0,0.0,0.0,.nan]", "expected a finite number"),
])
def test_unusable_homography_fails_configure_with_the_reason(homography, reason):
    proc = node_process("/limits_h", "pipeline.stage1.method:=average", f"pipeline.input.homography:={homography}")
    try:
        code = proc.wait(60)
    finally:
        log = stop(proc)
    assert code == 1 and "configure failed" in log and reason in log, log


def test_undeserialisable_messages_are_counted(ros):
    """Bytes that are no sensor_msgs/Image reach /diagnostics as bad messages of kind ``undecodable``."""
    proc = node_process("/limits_raw", "pipeline.stage1.method:=average", "pipeline.masks.source:=none")
    driver = Driver("/limits_raw")
    try:
        assert driver.wait(lambda: all(p.get_subscription_count() for p in driver.pubs)), stop(proc)
        for _ in range(3):
            driver.pubs[0].publish(b"\x00\x01\x00\x00 not an image")  # a serialized message, malformed
            driver.spin(0.1)
        driver.send(NORMAL, 2)
        assert driver.wait(lambda: driver.diag.get("bad_messages.undecodable") == "3"
                           and driver.diag.get("pairs.synced") == "2"), driver.diag
        assert driver.diag["input./limits_raw/thermal/image.received"] == "5"
    finally:
        driver.close()
        log = stop(proc)
    assert "(undecodable)" in log  # logged once
