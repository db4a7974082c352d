"""rosbag2 tools without ROS: ``bag make`` (stamps, encodings, frame ids) and ``bag fuse`` (accounting)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rosbags")

from sgdfuse_ros.bag.fuse import UNDECODABLE, fuse_bag
from sgdfuse_ros.bag.io import (
    IMAGE_TYPE,
    cdr_stamp_ns,
    image_message,
    open_reader,
    open_writer,
    stamp_ns,
    typestore,
)
from sgdfuse_ros.bag.make import MONO16_GAIN, MONO16_OFFSET, BagSpec, make_bag
from sgdfuse_ros.cli import main as cli_main
from sgdfuse_ros.errors import InputError
from sgdfuse_ros.pipeline import FusionPipeline
from sgdfuse_ros.stream.encodings import (
    DATA_SIZE_MISMATCH,
    EMPTY_DATA,
    STEP_TOO_SMALL,
    UNKNOWN_ENCODING,
    ZERO_SIZE,
    EncodedImage,
    decode,
    encode,
)
from sgdfuse_ros.stream.fusion import SIZE_MISMATCH
from sgdfuse_ros.stream.node_params import NodeParams
from sgdfuse_ros.stream.sync import SyncConfig
from sgdfuse_ros.stream.temporal import PER_FRAME

FRAMES = 6


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path, list[np.ndarray], list[np.ndarray]]:
    """Small IR (gray) and VIS (colour) image folders with distinct frames."""
    root = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    irs, viss = [], []
    for k in range(FRAMES):
        ir = rng.integers(0, 256, (24, 32), np.uint8)
        vis = rng.integers(0, 256, (24, 32, 3), np.uint8)  # BGR, as OpenCV stores it
        for sub, img in (("ir", ir), ("vi", vis)):
            (root / sub).mkdir(exist_ok=True)
            cv2.imwrite(str(root / sub / f"{k:03d}.png"), img)
        irs.append(ir)
        viss.append(vis)
    return root / "ir", root / "vi", irs, viss


def read_bag(path: Path) -> dict[str, list[tuple[int, object]]]:
    store = typestore()
    out: dict[str, list[tuple[int, object]]] = {}
    with open_reader(path) as reader:
        for conn, log_time, raw in reader.messages():
            out.setdefault(conn.topic, []).append((log_time, store.deserialize_cdr(raw, conn.msgtype)))
    return out


def test_make_bag_stamps_encodings_and_frames(folders, tmp_path):
    ir_dir, vis_dir, irs, viss = folders
    spec = BagSpec(fps=10.0, jitter=0.01, thermal_offset=0.004, thermal_encoding="mono16",
                   rgb_encoding="rgb8", thermal_frame="ir_optical", rgb_frame="rgb_optical", seed=3)
    made = make_bag(ir_dir, vis_dir, tmp_path / "bag", spec)
    assert made.frames == FRAMES
    msgs = read_bag(tmp_path / "bag")
    thermal, rgb = msgs["/thermal/image"], msgs["/rgb/image"]
    assert len(thermal) == len(rgb) == FRAMES
    for k, ((t_log, ir_msg), (v_log, vis_msg)) in enumerate(zip(thermal, rgb, strict=True)):
        base = spec.start_ns + k * 100_000_000
        assert abs(stamp_ns(vis_msg.header) - base) <= 10_000_000
        assert abs(stamp_ns(ir_msg.header) - base - 4_000_000) <= 10_000_000
        assert (t_log, v_log) == (stamp_ns(ir_msg.header), stamp_ns(vis_msg.header))  # received at its stamp
        assert (ir_msg.header.frame_id, vis_msg.header.frame_id) == ("ir_optical", "rgb_optical")
        assert (ir_msg.encoding, vis_msg.encoding) == ("mono16", "rgb8")
        np.testing.assert_array_equal(decode(ir_msg), MONO16_OFFSET + MONO16_GAIN * irs[k].astype(np.uint16))
        np.testing.assert_array_equal(decode(vis_msg), viss[k][:, :, ::-1])  # BGR file -> rgb8
    assert made.thermal_stamps == [stamp_ns(m.header) for _, m in thermal]
    jitters = np.diff([stamp_ns(m.header) for _, m in rgb]) - 100_000_000
    assert np.abs(jitters).max() > 0  # jitter applied, reproducibly (seeded)
    assert make_bag(ir_dir, vis_dir, tmp_path / "again", spec).rgb_stamps == made.rgb_stamps


def test_make_bag_rejects_bad_options(folders, tmp_path):
    ir_dir, vis_dir, _, _ = folders
    with pytest.raises(InputError, match="jitter"):
        make_bag(ir_dir, vis_dir, tmp_path / "a", BagSpec(fps=30.0, jitter=0.02))
    with pytest.raises(InputError, match="thermal encoding"):
        make_bag(ir_dir, vis_dir, tmp_path / "b", BagSpec(thermal_encoding="rgb8"))
    with pytest.raises(InputError, match="not a video"):
        make_bag(tmp_path / "missing.mp4", vis_dir, tmp_path / "c")
    (tmp_path / "exists").mkdir()
    with pytest.raises(InputError, match="already exists"):
        make_bag(ir_dir, vis_dir, tmp_path / "exists")


def test_make_bag_from_the_replay_clip(shared_data, tmp_path):
    video = shared_data / "video" / "m3svd"
    made = make_bag(video / "ir" / "0111_1716.mp4", video / "vi" / "0111_1716.mp4", tmp_path / "clip",
                    BagSpec(max_frames=4, rgb_encoding="bgr8"))
    assert made.fps == pytest.approx(30.0) and made.frames == 4
    msgs = read_bag(tmp_path / "clip")
    _, vis = msgs["/rgb/image"][0]
    assert (vis.width, vis.height, vis.encoding) == (640, 480, "bgr8")
    assert np.diff(made.rgb_stamps).tolist() == [33_333_333, 33_333_334, 33_333_333]


def test_fuse_bag_is_deterministic_and_carries_rgb_headers(folders, tmp_path):
    ir_dir, vis_dir, _, _ = folders
    make_bag(ir_dir, vis_dir, tmp_path / "in", BagSpec(fps=10.0, jitter=0.005, thermal_offset=0.003))
    pipeline = FusionPipeline("average")
    # per frame (no temporal state), so that each output equals the pipeline's own result for its pair
    params = NodeParams(sync=SyncConfig(slop=0.02, min_interval=0.05), temporal=PER_FRAME)
    report = fuse_bag(tmp_path / "in", tmp_path / "out1", pipeline, params)
    assert report.balanced
    assert report.pairs_synced == report.pairs_fused == FRAMES  # min_interval releases the last pair too
    assert report.outputs == {"/fused_image": FRAMES}
    inputs, outputs = read_bag(tmp_path / "in"), read_bag(tmp_path / "out1")
    fused = outputs["/fused_image"]
    for (_, ir_msg), (_, vis_msg), (_, out) in zip(inputs["/thermal/image"], inputs["/rgb/image"], fused,
                                                   strict=True):
        assert out.header.frame_id == vis_msg.header.frame_id == "rgb_camera"
        assert stamp_ns(out.header) == stamp_ns(vis_msg.header)
        np.testing.assert_array_equal(decode(out), pipeline(decode(ir_msg), decode(vis_msg), "rgb").fused)
    fuse_bag(tmp_path / "in", tmp_path / "out2", pipeline, params)
    again = read_bag(tmp_path / "out2")["/fused_image"]
    assert [(t, stamp_ns(m.header), bytes(m.data)) for t, m in again] == \
        [(t, stamp_ns(m.header), bytes(m.data)) for t, m in fused]


def bad(image: EncodedImage, **changes) -> EncodedImage:
    return EncodedImage(**{**image.__dict__, **changes})


def test_fuse_bag_accounts_for_bad_messages(tmp_path):
    """Every kind of bad message is counted; the good pairs around them are still fused."""
    store = typestore()
    rng = np.random.default_rng(0)
    ir = encode(rng.integers(0, 256, (24, 32), np.uint8), "mono8")
    ir_small = encode(rng.integers(0, 256, (12, 16), np.uint8), "mono8")
    vis = encode(rng.integers(0, 256, (24, 32, 3), np.uint8), "bgr8")
    period = 100_000_000
    thermal_faults = {1: bad(ir, encoding="yuv422"), 2: bad(ir, data=b""), 3: bad(ir, step=10),
                      4: bad(ir, data=ir.data[:-1]), 5: bad(ir, height=0, width=0, step=0, data=b""),
                      6: ir_small}
    with open_writer(tmp_path / "in") as writer:
        c_ir = writer.add_connection("/thermal/image", IMAGE_TYPE, typestore=store)
        c_vis = writer.add_connection("/rgb/image", IMAGE_TYPE, typestore=store)
        c_other = writer.add_connection("/rgb/camera_info_like", IMAGE_TYPE, typestore=store)
        c_wrong = writer.add_connection("/thermal/image", "std_msgs/msg/String", typestore=store)
        for k in range(10):
            t = 10 * period + k * period
            thermal = image_message(store, thermal_faults.get(k, ir), t + 1000, "ir")
            writer.write(c_ir, t, store.serialize_cdr(thermal, IMAGE_TYPE))
            writer.write(c_vis, t + 1, store.serialize_cdr(image_message(store, vis, t, "rgb"), IMAGE_TYPE))
            writer.write(c_other, t + 2, store.serialize_cdr(image_message(store, vis, t, "x"), IMAGE_TYPE))
        string = store.types["std_msgs/msg/String"](data="not an image")
        writer.write(c_wrong, 30 * period, store.serialize_cdr(string, "std_msgs/msg/String"))
    params = NodeParams(sync=SyncConfig(slop=0.01, min_interval=0.05), require_same_size=True)
    report = fuse_bag(tmp_path / "in", tmp_path / "out", FusionPipeline("average"), params)
    assert report.thermal.bad == {UNKNOWN_ENCODING: 1, EMPTY_DATA: 1, STEP_TOO_SMALL: 1,
                                  DATA_SIZE_MISMATCH: 1, ZERO_SIZE: 1, UNDECODABLE: 1}
    assert report.thermal.received == 11 and report.rgb.received == 10 and report.other_messages == 10
    assert report.pairs_synced == 5  # frames 0, 6 (rejected: sizes differ), 7, 8, 9
    assert report.pairs_rejected == {SIZE_MISMATCH: 1} and report.pairs_fused == 4
    assert report.rgb.dropped["unmatched"] == 5  # the RGB frames whose thermal partner was bad
    assert report.balanced
    assert report.outputs == {"/fused_image": 4}


def test_cli_make_and_fuse(folders, tmp_path, capsys):
    ir_dir, vis_dir, _, _ = folders
    assert cli_main(["bag", "make", "--ir", str(ir_dir), "--vis", str(vis_dir), "-o", str(tmp_path / "b"),
                     "--fps", "10", "--thermal-encoding", "mono16", "--thermal-offset", "0.003"]) == 0
    params = tmp_path / "params.yaml"
    params.write_text("/**:\n  ros__parameters:\n    sync: {slop: 0.01}\n    pipeline: {stage1: {method: average}}\n"
                      "    topics: {fused: out/fused}\n")
    assert cli_main(["bag", "fuse", str(tmp_path / "b"), str(tmp_path / "f"), "--params", str(params),
                     "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["balanced"] and result["pairs_fused"] == FRAMES  # the last pair too (flushed at the end)
    assert result["thermal"]["dropped"]["end_of_stream"] == 0
    assert result["outputs"]["/out/fused"] == FRAMES  # topics from the params file
    assert set(result["outputs"].values()) == {FRAMES}  # masks too, when the pipeline makes them
    assert "every input message accounted for" in capsys.readouterr().out
    assert cli_main(["bag", "fuse", str(tmp_path / "b"), str(tmp_path / "f")]) == 2  # output exists: error


def test_header_stamp_is_read_from_the_serialised_bytes():
    store = typestore()
    for stamp in (0, 1_700_000_000_123_456_789, 5 * 1_000_000_000 - 1):
        msg = image_message(store, encode(np.zeros((4, 6), np.uint8), "mono8"), stamp, "ir")
        for little in (True, False):
            raw = bytes(store.serialize_cdr(msg, IMAGE_TYPE, little_endian=little))
            assert cdr_stamp_ns(raw) == stamp == stamp_ns(store.deserialize_cdr(raw, IMAGE_TYPE).header)
    with pytest.raises(InputError, match="not a CDR"):
        cdr_stamp_ns(b"\x01\x02")


def test_bag_pairs_spread_over_the_bag_match_their_frames(folders, tmp_path):
    from sgdfuse_ros.bag.pairs import bag_pairs

    ir_dir, vis_dir, irs, viss = folders
    make_bag(ir_dir, vis_dir, tmp_path / "bag", BagSpec(fps=10.0, jitter=0.0, thermal_offset=0.004,
                                                         thermal_encoding="mono8", rgb_encoding="bgr8"))
    pairs = bag_pairs(tmp_path / "bag", 3)
    chosen = [next(k for k in range(FRAMES) if np.array_equal(vis, viss[k][:, :, ::-1])) for _, vis in pairs]
    assert len(chosen) == 3 and chosen == sorted(set(chosen))  # distinct frames, in stamp order, RGB order
    for (ir, _), k in zip(pairs, chosen, strict=True):
        np.testing.assert_array_equal(ir, irs[k])  # each with its own thermal frame
    with pytest.raises(InputError, match="no topic /nope"):
        bag_pairs(tmp_path / "bag", 3, rgb_topic="/nope")
