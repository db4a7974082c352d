"""ROS-free parts of the node: back-pressure mailbox and worker, statistics, pair fusion, parameters."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pytest
from fakes import HalfMasks

from sgdfuse_ros.config import PRESETS, PipelineConfig, read_ros_params_yaml
from sgdfuse_ros.errors import ConfigError
from sgdfuse_ros.options import build_from_flat, flatten_defaults
from sgdfuse_ros.pipeline import FusionPipeline
from sgdfuse_ros.stream.encodings import BadMessage, decode, encode
from sgdfuse_ros.stream.fusion import REJECTED_BY_PIPELINE, SIZE_MISMATCH, fuse_messages
from sgdfuse_ros.stream.mailbox import LatestMailbox, Worker
from sgdfuse_ros.stream.node_params import NodeParams, node_defaults, params_from_flat
from sgdfuse_ros.stream.stats import ERROR, OK, WARN, LatencyWindow, RateMeter, StreamStats
from sgdfuse_ros.stream.sync import SyncStats

REPO = Path(__file__).resolve().parents[1]


# -- mailbox and worker --
def test_mailbox_keeps_the_newest():
    box: LatestMailbox[int] = LatestMailbox()
    assert box.put(1) is None
    assert box.put(2) == 1  # 1 displaced unread
    assert box.get(timeout=0) == 2
    assert box.get(timeout=0.01) is None
    box.put(3)
    box.close()
    assert box.get() is None  # closed: nothing more is handed out
    assert box.take() == 3


def test_worker_under_back_pressure_drops_old_pairs_never_publishes_them():
    processed: list[int] = []
    gate = threading.Event()

    def slow(item: int) -> None:
        gate.wait(5)
        processed.append(item)

    worker: Worker[int] = Worker(slow, lambda item, exc: None)
    worker.start()
    dropped = []
    for k in range(20):  # the camera is faster than the pipeline
        displaced = worker.submit(k)
        if displaced is not None:
            dropped.append(displaced)
        time.sleep(0.002)
    gate.set()
    deadline = time.monotonic() + 5
    while worker.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.stop() is None
    assert processed == sorted(processed) and processed[-1] == 19  # newest always processed, in order
    assert sorted(processed + dropped) == list(range(20))  # every item either processed or counted dropped
    assert len(processed) <= 3


def test_worker_survives_errors_and_stop_returns_the_unprocessed_item():
    errors: list[tuple[int, str]] = []
    done = threading.Event()

    def process(item: int) -> None:
        if item == 1:
            raise RuntimeError("boom")
        if item == 2:
            done.set()
            time.sleep(0.2)

    worker: Worker[int] = Worker(process, lambda item, exc: errors.append((item, str(exc))))
    worker.start()
    worker.submit(1)
    time.sleep(0.05)
    worker.submit(2)
    assert done.wait(2)
    worker.submit(3)  # waits while 2 is being processed
    assert worker.stop() == 3
    assert errors == [(1, "boom")]
    assert not worker.running


# -- statistics --
def test_rate_meter():
    meter = RateMeter(window_s=2.0)
    for k in range(90):
        meter.tick(k / 30)
    assert meter.rate(89 / 30) == pytest.approx(30, rel=0.05)
    assert meter.rate(10.0) == 0.0  # nothing in the last 2 s


def test_latency_percentiles():
    window = LatencyWindow(size=100)
    values = np.random.default_rng(0).gamma(2.0, 10.0, 500)
    for v in values:
        window.add(float(v))
    p50, p95 = window.percentiles()
    assert p50 == pytest.approx(np.percentile(values[-100:], 50))
    assert p95 == pytest.approx(np.percentile(values[-100:], 95))
    assert window.count == 500


def sync_stats(matched: int, pending=(0, 0)) -> SyncStats:
    st = SyncStats.empty(2)
    st.matched = [matched, matched]
    st.received = [matched + pending[0], matched + pending[1]]
    return st


def test_report_counts_levels_and_stale_topics():
    stats = StreamStats(["/thermal", "/rgb"], now=0.0)
    for k in range(10):
        stats.on_received(0, k * 0.1)
        stats.on_received(1, k * 0.1)
    assert stats.on_bad(0, "unknown_encoding") is True
    assert stats.on_bad(0, "unknown_encoding") is False  # log once per kind
    for _ in range(8):
        stats.on_synced()
    stats.on_backpressure_drop()
    for k in range(6):
        stats.on_fused(20.0 + k, ["fused", "mask_ir"], 0.5 + k * 0.05)
    report = stats.report(0.95, sync_stats(8, (1, 2)), [1, 2], stale_timeout=1.0, in_flight=1)
    v = report.values
    assert v["input./thermal.received"] == "10" and v["input./thermal.bad"] == "2"
    assert v["bad_messages.unknown_encoding"] == "2"
    assert v["pairs.synced"] == "8" and v["pairs.fused"] == "6" and v["pairs.dropped_backpressure"] == "1"
    assert int(v["pairs.fused"]) + int(v["pairs.dropped_backpressure"]) + int(v["pairs.in_flight"]) == 8
    assert v["output.fused.published"] == "6" and v["output.mask_ir.published"] == "6"
    assert v["latency.stamp_to_publish_p50_ms"] == "22.5"
    assert report.level == WARN and "bad message" in report.message  # new bad messages since last report
    assert stats.report(1.0, sync_stats(8), [0, 0], stale_timeout=1.0).level == OK  # nothing new
    later = stats.report(3.0, sync_stats(8), [0, 0], stale_timeout=1.0)  # both cameras silent for 2.1 s
    assert later.level == WARN and later.values["stale_topics"] == "/thermal,/rgb"
    stats.on_failed("RuntimeError")
    assert stats.report(3.1, sync_stats(8), [0, 0], stale_timeout=10.0).level == ERROR


# -- one pair through the pipeline --


def images(h=48, w=64, ir_shape=(48, 64)):
    rng = np.random.default_rng(1)
    thermal = encode(rng.integers(20000, 30000, ir_shape).astype(np.uint16), "mono16")
    rgb = encode(rng.integers(0, 256, (h, w, 3)).astype(np.uint8), "bgr8")
    return thermal, rgb


def test_fuse_messages_resizes_ir_and_encodes_outputs():
    thermal, rgb = images(ir_shape=(24, 32))  # thermal at half resolution: resized onto the RGB grid
    pipeline = FusionPipeline("average", masks=HalfMasks())
    frame = fuse_messages(pipeline, thermal, rgb, encoding="bgr8", initial=True)
    assert set(frame.images) == {"fused", "mask_ir", "mask_vis"}  # no refiner: no initial image
    fused = frame.images["fused"]
    assert (fused.height, fused.width, fused.encoding) == (48, 64, "bgr8")
    direct = pipeline(decode(thermal), decode(rgb), "bgr").fused
    np.testing.assert_array_equal(decode(fused), direct[:, :, ::-1])
    mask = decode(frame.images["mask_ir"])
    assert frame.images["mask_ir"].encoding == "mono8" and mask[:, 0].min() == 255 and mask[:, -1].max() == 0
    assert set(fuse_messages(pipeline, thermal, rgb, masks=False).images) == {"fused"}


def test_fuse_messages_rejects_bad_pairs_with_a_kind():
    thermal, rgb = images(ir_shape=(24, 32))
    pipeline = FusionPipeline("average")
    with pytest.raises(BadMessage) as info:
        fuse_messages(pipeline, thermal, rgb, require_same_size=True)
    assert info.value.kind == SIZE_MISMATCH
    tiny_thermal, tiny_rgb = images(4, 4, (4, 4))  # below the pipeline's minimum side
    with pytest.raises(BadMessage) as info:
        fuse_messages(pipeline, tiny_thermal, tiny_rgb)
    assert info.value.kind == REJECTED_BY_PIPELINE


# -- parameters --
@dataclass
class Inner:
    gain: float = 1.0
    names: list[str] = field(default_factory=list)


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    size: tuple[float, float] = (1.0, 2.0)
    count: int = 3
    label: str | None = None


def test_generic_dataclass_mapping():
    assert flatten_defaults(Outer, "x") == {"x.inner.gain": 1.0, "x.inner.names": [], "x.size": [1.0, 2.0],
                                            "x.count": 3, "x.label": None}
    built = build_from_flat(Outer, {"x.inner.gain": 2, "x.size": [3, 4], "x.label": "a"}, "x")
    assert built == Outer(Inner(2.0, []), (3.0, 4.0), 3, "a")
    assert isinstance(built.inner.gain, float)
    with pytest.raises(ConfigError, match=r"x\.count: expected an integer"):
        build_from_flat(Outer, {"x.count": 2.5}, "x")
    with pytest.raises(ConfigError, match=r"x\.inner\.names\[1\]: expected a string"):
        build_from_flat(Outer, {"x.inner.names": ["a", 1]}, "x")


def test_every_pipeline_field_is_a_node_parameter():
    names = node_defaults()
    config = PipelineConfig()
    for group in fields(config):
        for f in fields(getattr(config, group.name)):
            assert f"pipeline.{group.name}.{f.name}" in names
    assert names["sync.slop"] == NodeParams().sync.slop and names["publish.encoding"] == "rgb8"


def test_params_validation_names_the_parameter():
    node, pipeline = params_from_flat({"pipeline.stage1.method": "average", "sync.queue_size": 4,
                                       "pipeline.input.homography": [1, 0, 0, 0, 1, 0, 0, 0, 1]})
    assert node.sync.queue_size == 4 and pipeline.stage1.method == "average" and pipeline.input.homography[0] == 1.0
    for values, match in [({"sync.slop": "fast"}, r"sync\.slop"), ({"sync.policy": "latest"}, "sync.policy"),
                          ({"publish.encoding": "mono8"}, "publish.encoding"),
                          ({"qos.input_reliability": "maybe"}, "qos.input_reliability"),
                          ({"sync.slopp": 0.1}, r"unknown parameter\(s\): sync\.slopp"),
                          ({"pipeline.input.homography": [1.0, 2.0]}, "homography"),
                          ({"publish.fused": False, "publish.masks": False}, "switched off")]:
        with pytest.raises(ConfigError, match=match):
            params_from_flat(values)


def test_shipped_config_file_is_valid():
    values = read_ros_params_yaml(REPO / "config" / "sgdfuse.yaml")
    autostart = values.pop("autostart")
    node, pipeline = params_from_flat(values)
    assert autostart is True
    assert node == NodeParams()  # the file documents the node's defaults ...
    assert pipeline == PipelineConfig.from_dict(PRESETS[next(iter(PRESETS))])  # ... and runs the default preset
    node_only = {n for n in node_defaults() if not n.startswith("pipeline.")}
    assert node_only <= set(values)  # every node parameter (pipeline fields may be added elsewhere first)


def test_ros_yaml_reader(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("/**:\n  ros__parameters:\n    sync: {slop: 0.05}\nsgdfuse:\n  ros__parameters:\n"
                    "    pipeline:\n      stage1: {method: average}\n")
    assert read_ros_params_yaml(path) == {"sync.slop": 0.05, "pipeline.stage1.method": "average"}
    path.write_text("other:\n  ros__parameters: {a: 1}\n")
    with pytest.raises(ConfigError, match="no ros__parameters"):
        read_ros_params_yaml(path)
