"""Registration (``sgdfuse calibrate``): a known warp of a bundled pair is recovered, hopeless input is refused
and nothing is written then; the alignment score separates aligned from misaligned pairs. CPU, a few seconds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from sgdfuse_ros.cli import main
from sgdfuse_ros.config import read_ros_params_yaml
from sgdfuse_ros.images import read_image
from sgdfuse_ros.registration import RegistrationError, calibrate, estimate
from sgdfuse_ros.registration.estimate import corners, estimate_pair, project
from sgdfuse_ros.registration.score import alignment_score, ir_to_grid
from sgdfuse_ros.stream.node_params import params_from_flat

REPO = Path(__file__).resolve().parents[1]
PAIR = "roadscene_FLIR_06307.jpg"  # well registered, with structure in both images


def _pair(name: str = PAIR) -> tuple[np.ndarray, np.ndarray]:
    return read_image(REPO / "samples" / "ir" / name), read_image(REPO / "samples" / "vi" / name)


def _warp(angle: float, scale: float, shift: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    m[:, 2] += shift
    return np.vstack([m, [0, 0, 1]])


def test_a_known_warp_is_recovered():
    ir, vis = _pair()
    own = estimate_pair(ir, vis)  # the pair's own registration by this method (close to a plain resize)
    assert not own.reason
    c = corners(ir.shape[:2])
    assert np.linalg.norm(project(own.homography, c) - c, axis=1).mean() < 3.0
    warp = _warp(4.0, 1.07, (15.0, -12.0), ir.shape[:2])
    warped = cv2.warpPerspective(ir, warp, (ir.shape[1], ir.shape[0]))
    got = estimate_pair(warped, vis)
    assert not got.reason
    err = np.linalg.norm(project(got.homography, c) - project(own.homography @ np.linalg.inv(warp), c), axis=1)
    assert err.mean() < 1.5  # scripts/registration_synthetic.py measures this over 64 trials


def test_hopeless_input_is_refused():
    ir, vis = _pair()
    with pytest.raises(RegistrationError, match="structure"):
        calibrate([(np.full_like(ir, 90), vis)])
    far = cv2.warpPerspective(ir, _warp(0.0, 1.0, (0.7 * ir.shape[1], 0.0), ir.shape[:2]), (ir.shape[1], ir.shape[0]))
    with pytest.raises(RegistrationError):
        calibrate([(far, vis)])


def test_an_ambiguous_lone_pair_is_refused(monkeypatch):
    ir, vis = _pair()
    real = estimate.estimate_pair
    assert real(ir, vis).margin >= estimate.MIN_MARGIN
    # as if another candidate warp fitted the edges nearly as well
    monkeypatch.setattr(estimate, "estimate_pair", lambda *a: dataclasses.replace(real(*a), margin=0.01))
    with pytest.raises(RegistrationError, match="ambiguous"):
        calibrate([(ir, vis)])
    assert calibrate([(ir, vis), (ir, vis)]).pairs_used == 2  # agreeing pairs corroborate each other


def test_alignment_score_drops_when_misaligned():
    ir, vis = _pair()
    gray_ir = ir.astype(np.float32) / 255
    gray_vis = cv2.cvtColor(vis, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    good = alignment_score(*ir_to_grid(gray_ir, gray_vis.shape, None)[:1], gray_vis,
                           ir_to_grid(gray_ir, gray_vis.shape, None)[1])
    shifted, valid = ir_to_grid(gray_ir, gray_vis.shape, _warp(6.0, 1.0, (25.0, 10.0), gray_ir.shape))
    bad = alignment_score(shifted, gray_vis, valid)
    assert good > 0.2 and bad < good / 2


def test_calibrate_cli_writes_params_only_on_success(tmp_path, capsys):
    folder = tmp_path / "pairs"
    ir, vis = _pair()
    warp = _warp(-3.0, 0.95, (10.0, 8.0), ir.shape[:2])
    for sub, img in (("ir", cv2.warpPerspective(ir, warp, (ir.shape[1], ir.shape[0]))), ("vi", vis[..., ::-1])):
        (folder / sub).mkdir(parents=True)
        cv2.imwrite(str(folder / sub / "a.png"), img)
    out = tmp_path / "params.yaml"
    assert main(["calibrate", str(folder), "-o", str(out), "--min-pairs", "1"]) == 0
    assert "alignment score" in capsys.readouterr().out
    _, config = params_from_flat({k: v for k, v in read_ros_params_yaml(out).items() if k != "autostart"})
    h = np.array(config.input.homography).reshape(3, 3)
    assert config.stage1.method == "stage1"  # the rest of the shipped file is kept
    c = corners(ir.shape[:2])
    assert np.linalg.norm(project(h, c) - project(np.linalg.inv(warp), c), axis=1).mean() < 4.0

    (folder / "ir" / "a.png").unlink()
    cv2.imwrite(str(folder / "ir" / "a.png"), np.full(ir.shape, 100, np.uint8))
    bad = tmp_path / "bad.yaml"
    assert main(["calibrate", str(folder), "-o", str(bad)]) == 2
    assert "no pair could be registered" in capsys.readouterr().err
    assert not bad.exists()


def test_checkerboard_target_mode():
    from sgdfuse_ros.registration.target import calibrate_target

    board = np.kron((np.indices((7, 10)).sum(axis=0) % 2).astype(np.uint8) * 255, np.ones((30, 30), np.uint8))
    vis = np.full((480, 640), 128, np.uint8)
    vis[30:240, 20:320] = board
    warp = _warp(3.0, 1.05, (12.0, -8.0), vis.shape)
    ir = 255 - cv2.warpPerspective(vis, np.linalg.inv(warp), (640, 480), borderValue=128)  # heated: inverted
    cal = calibrate_target([(ir, np.dstack([vis] * 3))], (9, 6))
    c = corners(vis.shape)
    assert np.linalg.norm(project(cal.homography, c) - project(warp, c), axis=1).mean() < 1.0
    assert cal.residual_px < 0.5
    with pytest.raises(RegistrationError, match="board was found in no pair"):
        calibrate_target([(np.full_like(ir, 128), np.dstack([vis] * 3))], (9, 6))


def test_a_result_covering_too_little_is_refused_by_the_shared_check(monkeypatch):
    ir, vis = _pair()
    real = estimate.estimate_pair
    shrink = np.diag([0.5, 0.5, 1.0])  # the thermal image onto a quarter of the RGB image: below MIN_OVERLAP
    monkeypatch.setattr(estimate, "estimate_pair",
                        lambda *a: dataclasses.replace(real(*a), homography=shrink, margin=1.0))
    with pytest.raises(RegistrationError, match=r"too little overlap.*25"):
        calibrate([(ir, vis)])


def test_pairs_that_disagree_alone_are_registered_together_unless_the_camera_moved(monkeypatch):
    ir, vis = _pair()
    shape = ir.shape[:2]
    warp = _warp(3.0, 1.05, (12.0, -8.0), shape)
    warped = cv2.warpPerspective(ir, warp, (shape[1], shape[0]))
    real = estimate.estimate_pair
    signs = iter([1.0, -1.0])

    def loose(*a):  # as if each sparse scene left the warp loose: the pairs' estimates 10 % apart in scale
        e = real(*a)
        return dataclasses.replace(e, homography=e.homography @ _warp(0.0, 1.0 + 0.05 * next(signs), (0, 0), shape))

    monkeypatch.setattr(estimate, "estimate_pair", loose)
    cal = calibrate([(warped, vis), (warped, vis)])  # the joint estimate (estimate_joint) aligns both
    assert cal.pairs_used == 2
    c = corners(shape)
    own = real(ir, vis).homography
    assert np.linalg.norm(project(cal.homography, c) - project(own @ np.linalg.inv(warp), c), axis=1).mean() < 1.5
    monkeypatch.undo()

    moved = cv2.warpPerspective(ir, _warp(0.0, 1.0, (40.0, 0.0), shape) @ warp, (shape[1], shape[0]))
    with pytest.raises(RegistrationError, match=r"disagree.*joint estimate aligns [01]"):
        calibrate([(warped, vis), (moved, vis)])  # the camera moved between the pairs
