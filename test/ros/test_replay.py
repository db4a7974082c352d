"""End to end: the 0111_1716 replay clip -> ``bag make`` -> ``sgdfuse bag play`` (a separate process) -> node.

The node's output is checked against ``bag fuse`` on the same bag (the offline reference): the same pairs,
bit-identical images, the RGB headers; and its final diagnostics against what this test observed.

By default a 30-frame prefix is played slowly enough that the pipeline has time for every pair (the rate is
chosen from the pipeline's speed measured here, at most a quarter of real time), so each synchronised pair
must be published exactly once. ``SGDFUSE_REPLAY_FRAMES`` (151 = the whole clip) and ``SGDFUSE_REPLAY_RATE``
(1 = real time) override that; then pairs may be dropped by back-pressure, which is only checked to be
accounted for. ``SGDFUSE_REPLAY_REPORT=path.json`` writes the figures.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402

from sgdfuse_ros.bag.fuse import fuse_bag, seconds_per_pair  # noqa: E402
from sgdfuse_ros.bag.io import open_reader, stamp_ns, typestore  # noqa: E402
from sgdfuse_ros.bag.make import BagSpec, make_bag  # noqa: E402
from sgdfuse_ros.config import PipelineConfig, build_pipeline  # noqa: E402
from sgdfuse_ros.ros.conversions import stamp_ns as msg_stamp_ns  # noqa: E402
from sgdfuse_ros.ros.fusion_node import start  # noqa: E402
from sgdfuse_ros.stream.node_params import NodeParams  # noqa: E402
from sgdfuse_ros.stream.sync import SyncConfig  # noqa: E402
from sgdfuse_ros.stream.temporal import PER_FRAME  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FRAMES = int(os.environ.get("SGDFUSE_REPLAY_FRAMES", "30"))
FORCED_RATE = float(os.environ.get("SGDFUSE_REPLAY_RATE", "0"))
SLOP, MIN_INTERVAL = 0.02, 0.02  # seconds of recorded time
FPS = 30.0


def fused_outputs(path: Path) -> list[tuple[int, bytes]]:
    store = typestore()
    with open_reader(path) as reader:
        conns = [c for c in reader.connections if c.topic == "/fused_image"]
        msgs = [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages(connections=conns)]
    return [(stamp_ns(m.header), bytes(m.data)) for m in msgs]


def test_replay_clip_through_the_node(shared_data, tmp_path, harness):
    video = shared_data / "video" / "m3svd"
    bag = tmp_path / "clip"
    spec = BagSpec(max_frames=FRAMES, jitter=0.003, thermal_offset=0.005, thermal_encoding="mono16",
                   rgb_encoding="bgr8")
    made = make_bag(video / "ir" / "0111_1716.mp4", video / "vi" / "0111_1716.mp4", bag, spec)
    assert made.frames == FRAMES

    pipeline = build_pipeline(PipelineConfig.from_dict({"stage1.method": "average"}))  # as the node builds it
    # outputs are compared one by one: no state carried between pairs (a pair the node drops under back-pressure
    # would change it), but the alignment score is measured (it never changes an output)
    temporal = dataclasses.replace(PER_FRAME, alignment_every_n=5)
    reference = fuse_bag(bag, tmp_path / "offline", pipeline,
                         NodeParams(sync=SyncConfig(slop=SLOP, min_interval=MIN_INTERVAL), temporal=temporal))
    assert reference.balanced and reference.pairs_synced == FRAMES  # min_interval releases the last pair too
    expected = fused_outputs(tmp_path / "offline")

    # a frame period of at least 8 times the work of a pair (transport and the test's own subscriber share
    # this process and the CPUs), unless a rate is forced
    rate = FORCED_RATE or min(0.25, (1 / FPS) / (8 * seconds_per_pair(bag, pipeline)))
    # the node sees stamps replayed at that rate; its time constants are scaled alike: it must pair the same
    h = harness("/replay", {"sync.slop": SLOP / rate, "sync.min_interval": MIN_INTERVAL / rate,
                            "qos.input_depth": 100, "publish.encoding": "rgb8", "diagnostics_period": 0.5,
                            **{f"temporal.{k}": v for k, v in dataclasses.asdict(temporal).items()}})
    assert start(h.node)
    play = subprocess.run(
        [sys.executable, "-m", "sgdfuse_ros", "bag", "play", str(bag), "--rate", str(rate), "--restamp",
         "--wait-subscribers", "1", "--depth", "100", "--remap", "/thermal/image:=/replay/thermal/image",
         "/rgb/image:=/replay/rgb/image"],
        cwd=REPO, capture_output=True, text=True, timeout=FRAMES / FPS / rate + 60)
    assert play.returncode == 0, play.stderr
    assert f"/replay/thermal/image {FRAMES}, /replay/rgb/image {FRAMES}" in play.stdout
    h.wait_quiet(quiet_s=1.0)
    before = time.monotonic()
    assert h.node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    values, _ = h.diagnostics_after(before)  # the final report, sent while deactivating

    got = h.outputs["fused_image"]
    n = len(got)
    dropped = int(values["pairs.dropped_backpressure"])
    synced = int(values["pairs.synced"])
    # diagnostics tell the truth: what was sent, what was received here, and every message accounted for
    for topic in ("thermal", "rgb"):
        p = f"input./replay/{topic}/image."
        assert values[p + "received"] == str(FRAMES) and values[p + "bad"] == "0"
        dropped_sync = sum(int(v) for k, v in values.items() if k.startswith(p + "sync_dropped."))
        assert int(values[p + "sync_matched"]) + dropped_sync + int(values[p + "sync_pending"]) == FRAMES
        assert int(values[p + "sync_matched"]) == synced
    assert values["pairs.fused"] == values["output.fused.published"] == values["latency.samples"] == str(n)
    assert n + dropped == synced and values["pairs.in_flight"] == "0" and values["pairs.discarded"] == "0"
    # every synchronised pair published at most once; a pair is dropped by back-pressure only when DDS hands
    # the node two pairs while it is busy (reliable transport can deliver late, in bursts, on a loaded host)
    assert synced == reference.pairs_synced and n >= 1
    # the cameras of the clip are registered: the alignment score shows, above the warning threshold
    assert int(values["alignment.samples"]) >= 1 and reference.alignment_score is not None
    assert float(values["alignment.score"]) >= temporal.alignment_warn_below
    assert reference.alignment_score >= temporal.alignment_warn_below

    # the same pairs as offline, bit-identical, with the RGB header
    assert {m.header.frame_id for m in got} == {"rgb_camera"}
    assert {(m.encoding, m.width, m.height) for m in got} == {("rgb8", 640, 480)}
    stamps = [msg_stamp_ns(m.header.stamp) for m in got]
    assert stamps == sorted(set(stamps))
    last = expected[-1][0]  # the newest pair is never dropped: anchor the replayed clock on it
    by_stamp = {stamps[-1] + round((s - last) / rate): data for s, data in expected}
    for m, s in zip(got, stamps, strict=True):
        match = [k for k in by_stamp if abs(k - s) <= 2]  # restamping rounds to the nanosecond
        assert len(match) == 1, s
        assert bytes(m.data) == by_stamp[match[0]]
    for topic in ("fused/mask_ir", "fused/mask_vis"):  # masks, when the pipeline makes them: same pairs
        assert [msg_stamp_ns(m.header.stamp) for m in h.outputs[topic]] in ([], stamps)

    figures = {"frames": FRAMES, "rate": rate, "pairs_in": FRAMES,
               "pairs_synced": int(values["pairs.synced"]), "published": n, "dropped_backpressure": dropped,
               "dropped_by_sync": {k.split(".", 1)[1]: int(v) for k, v in values.items()
                                   if ".sync_dropped." in k and v != "0"},
               "latency_p50_ms": float(values["latency.stamp_to_publish_p50_ms"]),
               "latency_p95_ms": float(values["latency.stamp_to_publish_p95_ms"]),
               "output_rate_hz": float(values["output.rate_hz"])}
    print(json.dumps(figures))
    if os.environ.get("SGDFUSE_REPLAY_REPORT"):
        Path(os.environ["SGDFUSE_REPLAY_REPORT"]).write_text(json.dumps(figures, indent=2))


def test_a_wrong_homography_raises_the_alignment_warning(shared_data, tmp_path, harness, wait_for):
    """The same clip with pipeline.input.homography set to a rotated and shifted warp: /diagnostics WARNs."""
    import cv2
    import numpy as np

    from sgdfuse_ros.bag.pairs import video_pairs

    pairs = video_pairs("0111_1716", 3)
    m = cv2.getRotationMatrix2D((320, 240), 8.0, 1.0)
    m[:, 2] += (40.0, -30.0)
    wrong = np.vstack([m, [0, 0, 1]]).ravel().tolist()
    for name, homography in (("/aligned", []), ("/misaligned", wrong)):
        h = harness(name, {"pipeline.input.homography": homography, "temporal.alignment_every_n": 1,
                           "diagnostics_period": 0.2})
        assert start(h.node) and h.wait_matched()
        t0 = time.monotonic()
        for k, (ir, vis) in enumerate(pairs):
            stamp = 1_700_000_000_000_000_000 + k * 33_000_000
            h.publish(0, cv2.cvtColor(ir, cv2.COLOR_RGB2GRAY), "mono8", stamp)
            h.publish(1, vis, "rgb8", stamp)
        values, level = h.diagnostics_after(t0, timeout=20.0,
                                            where=lambda v: v.get("alignment.samples", "0") not in ("0", None))
        score = float(values["alignment.score"])
        if name == "/aligned":
            assert score >= float(values["alignment.warn_below"]), values
        else:
            assert score < float(values["alignment.warn_below"]) and level == 1, (score, level)
