"""Classic fusion baselines: output contract, reconstruction, detail preservation, guided filter, pipeline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sgdfuse_ros.errors import ConfigError, InputError
from sgdfuse_ros.methods import available_methods, build_method
from sgdfuse_ros.methods.classic import laplacian, pyramid_depth
from sgdfuse_ros.methods.gff import guided_filter
from sgdfuse_ros.pipeline import FusionPipeline

CLASSIC = ("average", "maxabs", "laplacian", "gff")
DETAIL_KEEPING = ("maxabs", "laplacian", "gff")


def textured(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Fine random texture around 0.5 (std ~0.25), float32 in [0, 1]."""
    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.clip(0.5 + 0.9 * cv2.GaussianBlur(noise, (0, 0), 1.0), 0.0, 1.0)


def mean_gradient(img: np.ndarray) -> float:
    gy, gx = np.gradient(img.astype(np.float64))
    return float(np.hypot(gx, gy).mean())


def test_all_classic_methods_registered() -> None:
    assert set(CLASSIC) <= set(available_methods())


@pytest.mark.parametrize("method", CLASSIC)
@pytest.mark.parametrize("shape", [(8, 8), (37, 51), (64, 48), (9, 200)])
def test_output_contract(method: str, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    ir, vis = rng.random(shape, np.float32), rng.random(shape, np.float32)
    fused = build_method(method)(ir, vis)
    assert fused.dtype == np.float32
    assert fused.shape == shape
    assert np.isfinite(fused).all()
    assert fused.min() >= 0.0 and fused.max() <= 1.0


@pytest.mark.parametrize("method", CLASSIC)
@pytest.mark.parametrize("shape", [(8, 8), (37, 51)])
def test_identical_inputs_come_back(method: str, shape: tuple[int, int]) -> None:
    img = textured(shape)
    np.testing.assert_allclose(build_method(method)(img, img), img, atol=1e-5)


@pytest.mark.parametrize("flat_value", [0.5, 0.2])
@pytest.mark.parametrize("texture_is_ir", [True, False])
@pytest.mark.parametrize("method", CLASSIC)
def test_details_survive_a_flat_partner(method: str, texture_is_ir: bool, flat_value: float) -> None:
    tex = textured((96, 128))
    flat = np.full_like(tex, flat_value)
    fused = build_method(method)(tex, flat) if texture_is_ir else build_method(method)(flat, tex)
    kept = mean_gradient(fused) / mean_gradient(tex)
    if method == "average":
        assert 0.45 < kept < 0.55  # the floor: averaging with a flat image halves every gradient
    else:
        assert kept > 0.85, f"{method} kept only {kept:.2f} of the gradient"


@pytest.mark.parametrize("method", DETAIL_KEEPING)
def test_complementary_halves_are_both_kept(method: str) -> None:
    """IR textured on the left, VIS on the right: the fusion must take each half from its own source."""
    ir, vis = textured((96, 128), seed=2), textured((96, 128), seed=3)
    ir[:, 64:] = 0.4
    vis[:, :64] = 0.6
    fused = build_method(method)(ir, vis)
    assert mean_gradient(fused[:, :56]) > 0.85 * mean_gradient(ir[:, :56])
    assert mean_gradient(fused[:, 72:]) > 0.85 * mean_gradient(vis[:, 72:])


def test_pyramid_depth_follows_image_size() -> None:
    assert pyramid_depth((480, 640)) == 5
    assert pyramid_depth((37, 51)) == 2
    assert pyramid_depth((8, 8)) == 1
    img = textured((16, 16))
    np.testing.assert_allclose(laplacian(img, img, levels=4), img, atol=1e-5)  # perfect reconstruction
    with pytest.raises(ConfigError):
        laplacian(img, img, levels=5)


def _naive_guided_filter(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s equations with explicit windows (mirrored borders, as cv2.BORDER_REFLECT)."""

    def box(x: np.ndarray) -> np.ndarray:
        padded = np.pad(x.astype(np.float64), r, mode="symmetric")
        out = np.empty(x.shape)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = padded[i : i + 2 * r + 1, j : j + 2 * r + 1].mean()
        return out

    mean_i, mean_p = box(guide), box(src)
    a = (box(guide * src) - mean_i * mean_p) / (box(guide * guide) - mean_i**2 + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


@pytest.mark.parametrize(("radius", "eps"), [(2, 0.01), (3, 1e-6), (20, 0.3)])
def test_guided_filter_matches_its_definition(radius: int, eps: float) -> None:
    rng = np.random.default_rng(4)
    guide, src = textured((12, 15), seed=5), (rng.random((12, 15)) > 0.5).astype(np.float32)
    expected = _naive_guided_filter(guide.astype(np.float64), src.astype(np.float64), radius, eps)
    np.testing.assert_allclose(guided_filter(guide, src, radius, eps), expected, atol=2e-4)


def test_guided_filter_keeps_the_guide_edges() -> None:
    step = np.zeros((32, 32), np.float32)
    step[:, 16:] = 1.0
    noisy = step + np.random.default_rng(6).normal(0.0, 0.05, step.shape).astype(np.float32)
    out = guided_filter(step, noisy, radius=4, eps=1e-3)
    assert out[:, 15].mean() < 0.1 and out[:, 16].mean() > 0.9  # a box blur would give ~0.5 at both
    assert np.abs(out - step).std() < 0.5 * np.abs(noisy - step).std()  # and the noise is smoothed


def test_options_reach_the_method() -> None:
    ir, vis = textured((64, 64), seed=7), textured((64, 64), seed=8)
    assert not np.allclose(build_method("gff", r1=5)(ir, vis), build_method("gff")(ir, vis))
    with pytest.raises(ConfigError):
        build_method("laplacian", no_such_option=1)
    with pytest.raises(ConfigError):
        build_method("laplacian", window=2)(ir, vis)


@pytest.mark.parametrize(
    ("ir", "vis"),
    [
        (np.zeros((16, 16), np.float32), np.zeros((16, 17), np.float32)),
        (np.full((16, 16), np.nan, np.float32), np.zeros((16, 16), np.float32)),
        (np.zeros((16, 16), np.float32), np.full((16, 16), 2.0, np.float32)),
        (np.zeros((16, 16), np.uint8), np.zeros((16, 16), np.float32)),
        (np.zeros((4, 16), np.float32), np.zeros((4, 16), np.float32)),
        (np.zeros((16, 16, 3), np.float32), np.zeros((16, 16, 3), np.float32)),
    ],
)
def test_bad_luma_input_is_refused(ir: np.ndarray, vis: np.ndarray) -> None:
    with pytest.raises(InputError):
        build_method("gff")(ir, vis)


@pytest.mark.parametrize("method", CLASSIC)
def test_through_the_pipeline(method: str) -> None:
    rng = np.random.default_rng(9)
    vis = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    ir = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    result = FusionPipeline(method)(ir, vis)
    assert result.fused.dtype == np.uint8
    assert result.fused.shape == (48, 64, 3)
    assert "initial" in result.timings
