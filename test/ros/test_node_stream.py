"""The fusion node over real DDS: outputs, headers, masks, bad messages, back-pressure, stale topics, jumps.

Diagnostics are checked against what the test itself sent and received. A pair may legitimately be dropped
by back-pressure when this shared machine stalls the worker; the tests check the accounting, not luck.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from fakes import HalfMasks

from sgdfuse_ros.config import build_pipeline
from sgdfuse_ros.pipeline import FusionPipeline

rclpy = pytest.importorskip("rclpy")
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402

from sgdfuse_ros.ros.conversions import stamp_ns  # noqa: E402
from sgdfuse_ros.ros.fusion_node import start  # noqa: E402

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000
RNG = np.random.default_rng(0)
IR = RNG.integers(0, 256, (24, 32), np.uint8)
VIS = RNG.integers(0, 256, (24, 32, 3), np.uint8)




def with_masks(config):
    return FusionPipeline(config.stage1.method, masks=HalfMasks())


def send_pairs(h, n: int, start: int = T0, period_ms: int = 50, offset_ms: int = 3, sleep: float = 0.02):
    """n thermal + RGB frames; thermal stamps ``offset_ms`` after RGB; returns the RGB stamps."""
    stamps = []
    for k in range(n):
        t = start + k * period_ms * MS
        h.publish(0, IR, "mono8", t + offset_ms * MS, "thermal_camera")
        h.publish(1, VIS, "rgb8", t, "rgb_camera")
        stamps.append(t)
        time.sleep(sleep)
    return stamps


def test_pairs_are_fused_once_with_the_rgb_header_and_masks(harness, ros):
    h = harness("/s1", {"sync.min_interval": 0.02}, pipeline_factory=with_masks)
    assert start(h.node) and h.wait_matched()
    stamps = send_pairs(h, 15, sleep=0.04)
    h.wait_quiet()
    fused, mask_ir = h.outputs["fused_image"], h.outputs["fused/mask_ir"]
    values, level = h.diagnostics_after(time.monotonic() + 0.05)
    n = len(fused)
    assert values["input./s1/thermal/image.received"] == values["input./s1/rgb/image.received"] == "15"
    assert values["pairs.synced"] == "15"  # min_interval: even the last pair is released at once
    assert values["pairs.fused"] == values["output.fused.published"] == values["latency.samples"] == str(n)
    assert n + int(values["pairs.dropped_backpressure"]) == 15
    got = [stamp_ns(m.header.stamp) for m in fused]
    assert got == [s for s in stamps if s in got] and got[-1] == stamps[-1]  # once each, in order, newest
    assert {m.header.frame_id for m in fused} == {"rgb_camera"}
    assert (fused[0].encoding, fused[0].width, fused[0].height) == ("rgb8", 32, 24)
    assert [stamp_ns(m.header.stamp) for m in mask_ir] == got and mask_ir[0].encoding == "mono8"
    mask = np.frombuffer(bytes(mask_ir[0].data), np.uint8).reshape(24, 32)
    assert mask[:, :16].min() == 255 and mask[:, 16:].max() == 0
    assert values["output.mask_vis.published"] == str(n)
    assert float(values["latency.stamp_to_publish_p95_ms"]) > 0
    assert values["masks.provider"] == "half" and values["masks.age_s"] == "0.250"
    assert values["pipeline"] == "average" and level == 0


def test_bad_messages_are_counted_logged_once_and_the_node_keeps_running(harness, ros, capfd, wait_for):
    h = harness("/s2", {"require_same_size": True})
    assert start(h.node) and h.wait_matched()
    good = send_pairs(h, 3)
    bad = [dict(encoding="yuv422"), dict(data=b""), dict(step=10), dict(data=b"\0" * 7),
           dict(width=0, height=0)]
    for k in range(2):  # each kind twice
        for j, fields in enumerate(bad):
            t = T0 + (10 + k * 10 + j) * 100 * MS
            h.publish(0, IR, "mono8", t + 3 * MS, **fields)
            h.publish(1, VIS, "rgb8", t)
            time.sleep(0.02)
    t = T0 + 40 * 100 * MS  # sizes differ: rejected as a pair (require_same_size)
    h.publish(0, IR[:12, :16].copy(), "mono8", t + 3 * MS)
    h.publish(1, VIS, "rgb8", t)
    time.sleep(0.02)
    more = send_pairs(h, 1, start=T0 + 50 * 100 * MS)  # its frames release the mismatched pair from the sync
    # rejected before the next pair is released: a newer pair must not replace it at a stalled worker
    assert wait_for(lambda: h.node.stats.rejected["size_mismatch"] == 1)
    more += send_pairs(h, 3, start=more[0] + 50 * MS)
    h.wait_received()
    h.wait_quiet()
    fused = [stamp_ns(m.header.stamp) for m in h.outputs["fused_image"]]
    values, level = h.diagnostics_after(time.monotonic() + 0.05)
    expected = good + more[:-1]  # the last good pair waits for a next frame (no min_interval)
    assert fused == [s for s in expected if s in fused]
    assert len(fused) + int(values["pairs.dropped_backpressure"]) == len(expected)
    for kind in ("unknown_encoding", "empty_data", "step_too_small", "data_size_mismatch", "zero_size"):
        assert values[f"bad_messages.{kind}"] == "2", kind
    assert values["input./s2/thermal/image.bad"] == "10" and values["input./s2/rgb/image.bad"] == "0"
    assert values["pairs.rejected.size_mismatch"] == "1"
    assert values["input./s2/rgb/image.received"] == str(3 + 10 + 1 + 4)
    assert int(values["input./s2/rgb/image.sync_dropped.unmatched"]) == 10  # partners of bad thermal frames
    log = capfd.readouterr().err
    for kind in ("unknown_encoding", "empty_data", "step_too_small", "data_size_mismatch", "zero_size"):
        assert len(re.findall(rf"bad message on /s2/thermal/image \({kind}\)", log)) == 1, kind
    assert len(re.findall(r"pair rejected \(size_mismatch\)", log)) == 1
    assert level == 0 and values["stale_topics"] == ""  # nothing new since the previous report


def test_back_pressure_keeps_the_newest_pair_and_counts_the_dropped(harness, ros):
    def slow(config):
        pipeline = build_pipeline(config)
        fuse = pipeline.fuse_fn

        def slow_fuse(ir, vis):
            time.sleep(0.15)
            return fuse(ir, vis)

        pipeline.fuse_fn = slow_fuse
        return pipeline

    h = harness("/s3", {"sync.min_interval": 0.02}, pipeline_factory=slow)
    assert start(h.node) and h.wait_matched()
    stamps = send_pairs(h, 20, sleep=0.02)  # ~50 pairs/s into a ~6 pairs/s pipeline
    h.wait_quiet()
    fused = [stamp_ns(m.header.stamp) for m in h.outputs["fused_image"]]
    assert fused == sorted(set(fused)) and set(fused) <= set(stamps)  # never a stale or repeated pair
    assert fused[-1] == stamps[-1]  # the newest pair is always processed
    values, _ = h.diagnostics_after(time.monotonic() + 0.05)
    dropped = int(values["pairs.dropped_backpressure"])
    assert dropped > 0 and len(fused) + dropped == 20 == int(values["pairs.synced"])
    assert values["pairs.fused"] == str(len(fused))


def test_stale_topic_and_clock_jump_are_reported(harness, ros, capfd):
    h = harness("/s4", {"sync.stale_timeout": 0.5, "sync.min_interval": 0.02})
    assert start(h.node) and h.wait_matched()
    send_pairs(h, 3)
    for k in range(16):  # the thermal camera stops for 0.8 s; RGB goes on
        h.publish(1, VIS, "rgb8", T0 + (10 + k) * 50 * MS)
        time.sleep(0.05)
    h.wait_received()
    values, level = h.diagnostics_after(time.monotonic())
    assert values["stale_topics"] == "/s4/thermal/image" and level == 1
    before = time.monotonic()
    send_pairs(h, 3, start=T0 - 60 * 1_000_000_000)  # stamps one minute back: a clock jump
    h.wait_received()
    h.diagnostics_after(before, where=lambda v: v["stale_topics"] == "")  # both cameras are back
    h.wait_quiet()
    values, _ = h.diagnostics_after(time.monotonic() + 0.05)
    assert values["sync.resets"] == "1"
    assert values["pairs.synced"] == "6"  # the pairs after the jump are synchronised again
    assert len(h.outputs["fused_image"]) + int(values["pairs.dropped_backpressure"]) == 6
    assert "jumped back by" in capfd.readouterr().err


def test_deactivate_stops_outputs_and_reports_final_counts(harness, ros, wait_for):
    h = harness("/s5", {"sync.min_interval": 0.02})
    assert start(h.node) and h.wait_matched()
    send_pairs(h, 4)
    h.wait_quiet()
    before = time.monotonic()
    assert h.node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    values, _ = h.diagnostics_after(before)  # the last report, sent while deactivating
    n = len(h.outputs["fused_image"])
    assert values["pairs.fused"] == str(n) and values["pairs.synced"] == "4"
    assert values["pairs.in_flight"] == "0"
    send_pairs(h, 3, start=T0 + 10_000 * MS)
    time.sleep(0.5)
    assert len(h.outputs["fused_image"]) == n  # unsubscribed: nothing more is fused
    assert h.node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    assert h.wait_matched()
    later = send_pairs(h, 3, start=T0 + 20_000 * MS)
    assert wait_for(lambda: stamp_ns(h.outputs["fused_image"][-1].header.stamp) == later[-1])  # fusing again


def test_pipeline_failures_are_counted_logged_once_and_reported_as_errors(harness, ros, capfd, wait_for):
    def flaky(config):
        pipeline = build_pipeline(config)
        fuse, calls = pipeline.fuse_fn, [0]

        def sometimes(ir, vis):
            calls[0] += 1
            if calls[0] % 2 == 0:
                raise RuntimeError("flaky model")
            return fuse(ir, vis)

        pipeline.fuse_fn = sometimes
        return pipeline

    h = harness("/s6", {"sync.min_interval": 0.02}, pipeline_factory=flaky)
    assert start(h.node) and h.wait_matched()
    send_pairs(h, 6, sleep=0.05)
    h.wait_received()

    def settled(v: dict[str, str]) -> bool:  # every synced pair fused, failed or dropped (delivery can lag)
        done = sum(int(v.get(k, 0)) for k in ("pairs.fused", "pairs.failed.RuntimeError", "pairs.dropped_backpressure"))
        return v.get("pairs.synced") == "6" and v.get("pairs.in_flight") == "0" and done == 6

    values, _ = h.diagnostics_after(time.monotonic(), where=settled)
    failed, fused = int(values["pairs.failed.RuntimeError"]), int(values["pairs.fused"])
    assert failed >= 1 and fused >= 1
    assert wait_for(lambda: len(h.outputs["fused_image"]) == fused)  # every fused pair published and received
    levels = [lvl for _, _, lvl in h.diagnostics]
    assert 2 in levels  # ERROR while new failures come in
    assert capfd.readouterr().err.count("fusion failed") == 1
