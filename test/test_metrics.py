"""Fusion metrics against golden values of the reference MATLAB code (run under Octave), plus behaviour."""

from __future__ import annotations

import csv
import functools
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from sgdfuse_ros.metrics import (
    DEFAULT_METRICS,
    METRIC_NAMES,
    compute_metrics,
    entropy,
    mef_ssim,
    mef_ssim_scales,
    mutual_information,
    nabf,
    ssim_pair,
    to_gray_u8,
)

RTOL = 1e-6  # README: an independent numpy implementation reached <= 5e-9 (VIF) and 1e-11 (SSIM)


def _golden_dir() -> Path | None:
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "metrics_golden"]
    if os.environ.get("SGDFUSE_SHARED"):
        candidates.append(Path(os.environ["SGDFUSE_SHARED"]) / "metrics_golden")
    return next((c for c in candidates if (c / "golden.csv").is_file()), None)


GOLDEN = _golden_dir()
NO_GOLDEN = "shared/metrics_golden is absent (beside the checkout or under $SGDFUSE_SHARED)"
ROWS: list[dict[str, str]] = list(csv.DictReader((GOLDEN / "golden.csv").open())) if GOLDEN else []
HALVES = ("SSIM_ir", "SSIM_vi")  # ssim(F, IR) and ssim(F, VIS), the two halves of SSIM


def _golden_cases() -> list:
    if GOLDEN is None:
        return [pytest.param("", "", "", marks=pytest.mark.skip(reason=NO_GOLDEN))]
    return [pytest.param(r["pair"], r["fused_kind"], name, id=f"{r['pair']}-{r['fused_kind']}-{name}")
            for r in ROWS for name in (*METRIC_NAMES, *HALVES) if r[name].strip()]


@functools.cache
def _image(name: str) -> np.ndarray:
    assert GOLDEN is not None
    img = cv2.imread(str(GOLDEN / "images" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    assert img is not None and img.dtype == np.uint8 and img.ndim == 2, name
    return img


def _triple(pair: str, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _image(f"{pair}_fused_{kind}"), _image(f"{pair}_ir"), _image(f"{pair}_vi")


@functools.cache
def _computed(pair: str, kind: str) -> dict[str, float]:
    """Every metric with a golden value for this row, computed once through compute_metrics."""
    row = next(r for r in ROWS if r["pair"] == pair and r["fused_kind"] == kind)
    f, a, b = _triple(pair, kind)
    out = compute_metrics(f, a, b, [n for n in METRIC_NAMES if row[n].strip()])
    out["SSIM_ir"] = ssim_pair(f, a)
    out["SSIM_vi"] = ssim_pair(f, b)
    return out


@pytest.mark.parametrize(("pair", "kind", "name"), _golden_cases())
def test_golden(pair: str, kind: str, name: str) -> None:
    row = next(r for r in ROWS if r["pair"] == pair and r["fused_kind"] == kind)
    assert _computed(pair, kind)[name] == pytest.approx(float(row[name]), rel=RTOL, abs=0)


def _need_golden() -> None:
    if GOLDEN is None:
        pytest.skip(NO_GOLDEN)


def test_mef_ssim_per_scale_values() -> None:
    _need_golden()
    q = mef_ssim_scales(*_triple("roadscene_FLIR_00018", "mean"))
    # README: Q1, Q2, Q3 of the reference for roadscene_FLIR_00018/mean.
    assert q == pytest.approx([0.86958140852269661, 0.83624807677192758, 0.79294258239833126], rel=RTOL)


def test_mi_254_255_quirk_matters() -> None:
    _need_golden()
    f, a, b = _triple("roadscene_FLIR_00018", "max")
    assert mutual_information(f, a, b) == pytest.approx(7.3612200, abs=1e-7)
    assert mutual_information(f, a, b, merge_254_255=False) == pytest.approx(7.3495227, abs=1e-7)


def test_nabf_argument_order_quirk() -> None:
    _need_golden()
    f, a, b = _triple("roadscene_FLIR_00018", "mean")
    assert nabf(f, a, b) == pytest.approx(0.1334873, abs=1e-7)  # reference order: (IR, VIS, F)
    assert nabf(f, a, b, reference_order=False) == pytest.approx(1.74e-7, rel=1e-2)  # intended: (F, IR, VIS)


def test_constant_image_has_zero_entropy() -> None:
    const = np.full((40, 50), 77, np.uint8)
    assert entropy(const) == 0.0
    assert str(entropy(const)) == "0.0"  # not -0.0
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    assert compute_metrics(const, src, src, ["EN", "SD", "SF", "AG"]) == {"EN": 0.0, "SD": 0.0, "SF": 0.0,
                                                                          "AG": 0.0}
    assert entropy(src) > 7.0


def test_names_and_order() -> None:
    assert len(METRIC_NAMES) == 14 and set(DEFAULT_METRICS) <= set(METRIC_NAMES)
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (64, 80), dtype=np.uint8) for _ in range(2))
    f = ((a.astype(np.uint16) + b + 1) // 2).astype(np.uint8)
    assert list(compute_metrics(f, a, b)) == list(DEFAULT_METRICS)
    assert list(compute_metrics(f, a, b, ["SSIM", "EN"])) == ["SSIM", "EN"]
    assert compute_metrics(a, a, a, ["SSIM"])["SSIM"] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("fused", "ir", "message"),
    [
        (np.zeros((8, 8), np.float64), np.zeros((8, 8), np.uint8), "fused: expected a uint8"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint16), "ir: expected a uint8"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), "fused: expected a 2-D"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8), "same shape"),
        (np.zeros((0, 8), np.uint8), np.zeros((0, 8), np.uint8), "empty"),
        (np.zeros((1, 8), np.uint8), np.zeros((1, 8), np.uint8), "at least 2x2"),
    ],
)
def test_bad_inputs_raise(fused: np.ndarray, ir: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(fused, ir, np.zeros(np.shape(ir), np.uint8))


def test_unknown_metric_raises() -> None:
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match="unknown metric"):
        compute_metrics(img, img, img, ["EN", "FMI_pixel"])


def test_degenerate_inputs_follow_the_reference_silently() -> None:
    const = np.full((60, 70), 77, np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = compute_metrics(const, const, const, METRIC_NAMES)
    assert np.isnan(got["SCD"]) and np.isnan(got["CC"]) and got["PSNR"] == float("inf")
    assert got["SSIM"] == 1.0 and got["MSE"] == 0.0 and got["MI"] == 0.0


def test_mef_ssim_too_small_is_minus_inf() -> None:
    img = np.zeros((40, 60), np.uint8)  # min(H, W)/4 < 11, as in the reference
    assert mef_ssim(img, img, img) == float("-inf")


def test_to_gray_u8() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 20, 30]]], np.uint8)
    # round(c . rgb) with MATLAB's exact coefficients; R comes first.
    assert to_gray_u8(rgb).tolist() == [[76, 150, 29, 255, 18]]
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert to_gray_u8(gray) is gray
    with pytest.raises(ValueError, match="uint8"):
        to_gray_u8(rgb.astype(np.float32))
    with pytest.raises(ValueError, match="HxWx3"):
        to_gray_u8(np.zeros((2, 2, 4), np.uint8))


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
@pytest.mark.parametrize("background", ["flat", "smooth"])
def test_immerkaer_recovers_known_noise(sigma: float, background: str) -> None:
    from sgdfuse_ros.metrics import immerkaer_sigma

    rng = np.random.default_rng(int(sigma * 10))
    y, x = np.mgrid[0:240, 0:320].astype(np.float64)
    clean = np.full(y.shape, 120.0) if background == "flat" else 60.0 + 0.3 * x + 40.0 * np.sin(y / 40.0)
    noisy = clean + rng.normal(0.0, sigma, clean.shape)
    assert immerkaer_sigma(noisy) == pytest.approx(sigma, rel=0.05)
    u8 = np.clip(np.round(noisy), 0, 255).astype(np.uint8)  # quantised as `sgdfuse eval` scores it
    assert immerkaer_sigma(u8) == pytest.approx(np.sqrt(sigma**2 + 1 / 12), rel=0.05)


def test_noise_ratio_and_overshoot() -> None:
    rng = np.random.default_rng(3)
    _, x = np.mgrid[0:120, 0:160].astype(np.float64)
    ir = np.clip(80 + 0.5 * x + rng.normal(0, 4, x.shape), 0, 255).astype(np.uint8)
    vis = np.clip(100 + 40 * (x > 80) + rng.normal(0, 2, x.shape), 0, 255).astype(np.uint8)
    blend = ((ir.astype(np.uint16) + vis) // 2).astype(np.uint8)
    names = ["NR", "OS"]
    same = compute_metrics(ir, ir, vis, names)
    assert same["NR"] == pytest.approx(1.0) and same["OS"] == 0.0
    mixed = compute_metrics(blend, ir, vis, names)
    assert mixed["NR"] < 1.0 and mixed["OS"] == 0.0  # averaging independent noise lowers it; no halo
    smooth = cv2.GaussianBlur(ir.astype(np.float64), (0, 0), 2.0)
    grainy = np.clip(smooth + 3.0 * (ir - smooth), 0, 255).astype(np.uint8)  # detail (and noise) x3
    assert compute_metrics(grainy, ir, vis, ["NR"])["NR"] == pytest.approx(3.0, rel=0.15)
    step = vis.astype(np.float64)
    sharpened = np.clip(step + 2.0 * (step - cv2.GaussianBlur(step, (0, 0), 3.0)), 0, 255).astype(np.uint8)
    assert compute_metrics(sharpened, vis, vis, ["OS"])["OS"] > 0.5  # unsharp-mask rims at the step
