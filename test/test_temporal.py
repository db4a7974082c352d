"""Temporal state of a stream (thermal AGC, mask and output smoothing, alignment monitor) and the temporal
metrics (flicker in static regions, flow-warped error). CPU, synthetic frames, fast."""

from __future__ import annotations

import numpy as np
import pytest

from sgdfuse_ros.errors import ConfigError
from sgdfuse_ros.images import PreparedPair
from sgdfuse_ros.metrics.temporal import temporal_metrics
from sgdfuse_ros.stream.temporal import (
    AlignmentMonitor,
    MaskSmoother,
    OutputSmoother,
    TemporalParams,
    ThermalAGC,
)


def _frame(hot: bool, rng: np.random.Generator) -> np.ndarray:
    img = (30000 + rng.normal(0, 50, (60, 80))).astype(np.uint16)
    if hot:
        img[:8, :8] = 40000  # a small hot object moves the 99th percentile of this frame
    return img


def test_agc_smooths_the_range_and_restarts_on_a_scene_change():
    rng = np.random.default_rng(0)
    agc = ThermalAGC(smoothing=0.1, scene_change=0.5)
    per_frame = ThermalAGC(smoothing=1.0)
    lows, highs, raw_highs = [], [], []
    for k in range(20):
        f = _frame(k % 2 == 1, rng)
        lo, hi = agc(f)
        lows.append(lo)
        highs.append(hi)
        raw_highs.append(per_frame(f)[1])
    # per frame the top of the range jumps with the object; smoothed it moves by a tenth of that
    assert np.ptp(np.diff(raw_highs)) > 5 * np.ptp(np.diff(highs[5:]))
    assert agc.resets == 0
    state = agc.state
    lo, hi = agc((_frame(False, rng) + 20000).astype(np.uint16))  # the camera now looks at a much hotter scene
    assert agc.resets == 1 and lo > state[1]  # restarted from this frame's own percentiles
    assert (lo, hi) == agc.state


def test_mask_and_output_smoothing():
    masks = MaskSmoother(0.5)
    assert masks({"ir": np.zeros((4, 4), np.float32)})["ir"].max() == 0
    assert masks({"ir": np.ones((4, 4), np.float32)})["ir"].max() == pytest.approx(0.5)
    assert masks({"ir": np.ones((2, 2), np.float32)})["ir"].max() == 1  # a new size restarts

    out = OutputSmoother(0.8, noise=0.02)
    still = np.full((8, 8), 0.5, np.float32)
    pair = PreparedPair(ir=still, vis=still, vis_cbcr=None)
    out(pair, still)
    flicker = still + 0.1  # the fusion changed its mind while neither input changed: mostly held back
    assert abs(out(pair, flicker) - still).max() < 0.021
    moved = still.copy()
    moved[:4] = 0.9  # an input changed there (motion): the new fused value passes unchanged, no trail
    got = out(PreparedPair(ir=moved, vis=still, vis_cbcr=None), moved)
    assert got[:4] == pytest.approx(0.9, abs=1e-3) and abs(got[4:] - 0.5).max() < 0.021


def test_temporal_params_are_checked():
    with pytest.raises(ConfigError, match="thermal_smoothing"):
        TemporalParams(thermal_smoothing=0.0)
    with pytest.raises(ConfigError, match="output_smoothing"):
        TemporalParams(output_smoothing=1.0)


def test_flicker_counts_static_changes_and_not_motion():
    rng = np.random.default_rng(1)
    scene = (rng.random((64, 96)) * 255).astype(np.float32)
    scene = np.clip(np.kron(scene[::8, ::8], np.ones((8, 8))), 0, 255)  # blocks: texture the flow can follow
    frames = []
    for k in range(4):
        vis = np.roll(scene, k, axis=1).astype(np.uint8)  # the whole view pans by 1 px a frame
        steady = vis.copy()
        flicker = np.clip(vis.astype(int) + (8 if k % 2 else -8), 0, 255).astype(np.uint8)
        frames.append({"vis": vis, "ir": steady, "fused": flicker})
    m = temporal_metrics(frames)
    assert m["vis"]["warp_error"] < 4.0 and m["ir"]["warp_error"] < 4.0  # motion compensated: little error
    assert m["fused"]["warp_error"] > 10.0  # +-8 gain flicker every frame: ~16
    still = [{"vis": scene.astype(np.uint8), "ir": scene.astype(np.uint8), "fused": f["fused"]} for f in frames]
    s = temporal_metrics(still)
    assert s["vis"]["flicker"] == 0 and s["fused"]["flicker"] > 10.0


def test_alignment_monitor_scores_off_the_path_and_warns():
    rng = np.random.default_rng(2)
    edges = np.kron((rng.random((12, 16)) > 0.5).astype(np.float32), np.ones((10, 10), np.float32))
    aligned = PreparedPair(ir=edges, vis=edges, vis_cbcr=None)
    shifted = PreparedPair(ir=np.roll(edges, (5, 5), axis=(0, 1)), vis=edges, vis_cbcr=None)
    monitor = AlignmentMonitor(every_n=2, warn_below=0.3)
    assert monitor.values() == ({"alignment.score": "n/a", "alignment.warn_below": "0.300",
                                 "alignment.samples": "0"}, "")
    monitor.offer(aligned, edges.shape)  # pair 1: scored
    assert monitor.wait()
    values, warning = monitor.values()
    assert float(values["alignment.score"]) > 0.9 and warning == ""
    monitor.offer(shifted, edges.shape)  # pair 2: skipped (every 2nd)
    assert monitor.wait() and monitor.samples == 1
    monitor.offer(shifted, edges.shape)  # pair 3: scored
    assert monitor.wait()
    values, warning = monitor.values()
    assert float(values["alignment.score"]) < 0.3 and "below" in warning
    assert AlignmentMonitor(every_n=0, warn_below=0.3).values() == ({}, "")


def test_bag_fuse_with_temporal_state_flickers_less_and_eval_measures_it(tmp_path):
    """A static scene whose 16-bit thermal gains a small hot object every other frame: per frame, the
    percentile normalisation rescales the whole thermal image each time (flicker); with the temporal
    defaults it does not. ``sgdfuse eval --task temporal`` reports both beside the sources."""
    import json

    import cv2

    from sgdfuse_ros.cli import main

    rng = np.random.default_rng(3)
    texture = cv2.resize(rng.integers(0, 200, (12, 16), np.uint8), (96, 72), interpolation=cv2.INTER_NEAREST)
    for k in range(12):
        ir = texture.copy()
        if k % 2:
            ir[:10, :10] = 255  # 100 of 6912 pixels: the 99th percentile jumps
        for sub, img in (("ir", ir), ("vi", np.dstack([texture] * 3))):
            (tmp_path / sub).mkdir(exist_ok=True)
            cv2.imwrite(str(tmp_path / sub / f"{k:03d}.png"), img)
    assert main(["bag", "make", "--ir", str(tmp_path / "ir"), "--vis", str(tmp_path / "vi"), "-o",
                 str(tmp_path / "in"), "--fps", "10", "--thermal-encoding", "mono16"]) == 0
    for name, temporal in (("before", "{thermal_smoothing: 1.0, mask_smoothing: 1.0, output_smoothing: 0.0}"),
                           ("after", "{}")):
        params = tmp_path / f"{name}.yaml"
        params.write_text("/**:\n  ros__parameters:\n    pipeline: {stage1: {method: average}}\n"
                          f"    sync: {{min_interval: 0.05}}\n    temporal: {temporal}\n")
        assert main(["bag", "fuse", str(tmp_path / "in"), str(tmp_path / name), "--params", str(params)]) == 0
    assert main(["eval", "--task", "temporal", "--bags", str(tmp_path / "in"), str(tmp_path / "before"),
                 str(tmp_path / "after"), "-o", str(tmp_path / "eval")]) == 0
    m = json.loads((tmp_path / "eval" / "temporal.json").read_text())
    assert m["vis"]["flicker"] == 0 and m["ir"]["flicker"] < 3.0  # only the hot corner changes
    assert m["before"]["flicker"] > 5.0  # the whole thermal half of the average jumps
    assert m["after"]["flicker"] < m["before"]["flicker"] / 4
    assert m["after"]["flicker"] <= max(m["ir"]["flicker"], m["vis"]["flicker"])
