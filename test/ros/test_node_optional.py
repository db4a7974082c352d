"""The node with message_filters pairing and cv_bridge conversions (working fakes of both, over real DDS),
and the configure-time choice: auto takes what is importable, an explicit choice that is missing fails."""

from __future__ import annotations

import re
import sys
import time

import numpy as np
import pytest
from ros_fakes import fake_cv_bridge, fake_message_filters

rclpy = pytest.importorskip("rclpy")
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from sgdfuse_ros.ros.conversions import stamp_ns  # noqa: E402
from sgdfuse_ros.ros.fusion_node import FusionNode, start  # noqa: E402

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000
RNG = np.random.default_rng(5)
IR = RNG.integers(0, 65535, (24, 32), np.uint16)
VIS = RNG.integers(0, 256, (24, 32, 3), np.uint8)


@pytest.fixture
def fakes(monkeypatch):
    mf, bridge = fake_message_filters(), fake_cv_bridge()
    monkeypatch.setitem(sys.modules, "message_filters", mf)
    monkeypatch.setitem(sys.modules, "cv_bridge", bridge)
    return mf, bridge


def test_node_pairs_with_message_filters_and_converts_with_cv_bridge(harness, ros, fakes, capfd):
    _, bridge = fakes
    h = harness("/opt1", {"sync.implementation": "message_filters", "use_cv_bridge": True})
    assert start(h.node) and h.wait_matched()
    assert h.node.sync_implementation == "message_filters" and h.node.images.name == "cv_bridge"
    stamps = []
    for k in range(8):
        t = T0 + k * 50 * MS
        h.publish(1, VIS, "rgb8", t, "rgb_camera")
        h.publish(0, IR, "mono16", t + 4 * MS, "thermal_camera")
        stamps.append(t)
        time.sleep(0.03)
    h.publish(0, IR, "mono16", T0 + 900 * MS, "thermal_camera", step=10)  # bad: never reaches the sync
    h.wait_quiet()
    values, _ = h.diagnostics_after(time.monotonic() + 0.05)
    fused = h.outputs["fused_image"]
    got = [stamp_ns(m.header.stamp) for m in fused]
    assert values["pairs.synced"] == "8"  # message_filters releases a pair when its second message arrives
    assert got == [s for s in stamps if s in got] and got[-1] == stamps[-1]
    assert len(fused) + int(values["pairs.dropped_backpressure"]) == 8
    assert {m.header.frame_id for m in fused} == {"rgb_camera"} and fused[0].encoding == "rgb8"
    assert bridge.CvBridge.calls["imgmsg_to_cv2"] == 2 * len(fused)
    assert bridge.CvBridge.calls["cv2_to_imgmsg"] >= len(fused)
    p = "input./opt1/thermal/image."
    assert values[p + "received"] == "9" and values[p + "bad"] == "1"
    assert values[p + "sync_matched"] == "8" and values[p + "sync_pending"] == "0"
    assert sum(int(v) for k, v in values.items() if k.startswith(p + "sync_dropped.")) == 0
    assert values["sync.implementation"] == "message_filters" and values["images.conversion"] == "cv_bridge"
    assert "sync approximate by message_filters" in capfd.readouterr().err


def test_auto_takes_what_is_importable(ros, fakes, monkeypatch):
    node = FusionNode(namespace="/opt2", parameter_overrides=[Parameter("pipeline.stage1.method", value="average")])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.sync_implementation == "message_filters" and node.images.name == "cv_bridge"
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        monkeypatch.setitem(sys.modules, "message_filters", None)  # not importable
        monkeypatch.setitem(sys.modules, "cv_bridge", None)
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.sync_implementation == "core" and node.images.name == "core"
    finally:
        node.destroy_node()


@pytest.mark.parametrize(("param", "value", "module", "reason"), [
    ("sync.implementation", "message_filters", "message_filters", "sync.implementation asks for message_filters"),
    ("use_cv_bridge", True, "cv_bridge", "use_cv_bridge asks for cv_bridge"),
])
def test_an_explicit_choice_that_is_missing_fails_configure(ros, monkeypatch, capfd, param, value, module, reason):
    monkeypatch.setitem(sys.modules, module, None)
    node = FusionNode(namespace="/opt3", parameter_overrides=[Parameter("pipeline.stage1.method", value="average"),
                                                              Parameter(param, value=value)])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node.pipeline is None
        assert re.search(f"configure failed: {reason}", capfd.readouterr().err)
    finally:
        node.destroy_node()
