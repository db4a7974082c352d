"""Masks: encodings, the offline provider, SAM loading and providers, real-time schedules, perturbations."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from sgdfuse_ros.errors import CheckpointError, ConfigError, InputError
from sgdfuse_ros.images import PreparedPair, prepare_pair, read_image
from sgdfuse_ros.masks import (
    Instance,
    MaskConfig,
    OfflineProvider,
    PairMaskSource,
    build_mask_source,
    encode_instances,
    parse_perturbations,
    validate_masks,
)
from sgdfuse_ros.masks.grid import nms_instances, stability_score, to_rgb_u8
from sgdfuse_ros.masks.perturb import dilate, erode
from sgdfuse_ros.masks.schedule import AsyncMaskSource, EveryNMaskSource, FallbackMaskSource, schedule
from sgdfuse_ros.pipeline import FusionPipeline

rng = np.random.default_rng(3)


def square(shape=(60, 80), top=20, left=30, side=16, value=1.0) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    mask[top:top + side, left:left + side] = value
    return mask


def scene(shape=(60, 80), hot=0.9, background=0.3) -> np.ndarray:
    """A smooth background with one bright square (a 'hot target') and a little noise."""
    img = np.full(shape, background, np.float32) + square(shape, value=hot - background)
    return np.clip(img + rng.normal(0, 0.01, shape).astype(np.float32), 0, 1)


def pair_of(ir: np.ndarray, vis: np.ndarray) -> PreparedPair:
    return PreparedPair(ir=ir, vis=vis, vis_cbcr=None)


# --- encodings -------------------------------------------------------------------------------------------

def test_binary_union_is_the_union_of_object_sized_instances():
    a, b = square(top=5, left=5, side=10), square(top=30, left=50, side=12)
    background = np.ones((60, 80), np.float32)  # covers everything: dropped by the area prior
    instances = [Instance.from_full(m, q) for m, q in ((a, 0.9), (b, 0.5), (background, 1.0))]
    out = encode_instances(instances, scene(), "ir", "binary-union")
    np.testing.assert_array_equal(out, np.maximum(a, b))


def test_saliency_weighting_prefers_hot_targets_and_keeps_soft_edges():
    ir = np.full((60, 80), 0.3, np.float32)
    hot, cold = square(top=5, left=5, side=12), square(top=30, left=50, side=12)
    ir[hot > 0] = 0.9
    ir[cold > 0] = 0.1
    soft_hot = np.clip(hot + 0.5 * (np.roll(hot, 1, axis=1) - hot).clip(0), 0, 1)  # a half-strength edge
    out = encode_instances([Instance.from_full(soft_hot, 1.0), Instance.from_full(cold, 1.0)], ir, "ir")
    assert out[10, 10] == pytest.approx(1.0)  # full contrast, quality 1, object-sized
    assert out[35, 55] == pytest.approx(0.25)  # colder than its surroundings: the saliency floor only
    assert 0.0 < out[10, 17] < out[10, 10]  # the soft edge stays soft
    vis_out = encode_instances([Instance.from_full(cold, 1.0)], ir, "vis")
    assert vis_out[35, 55] == pytest.approx(1.0)  # VIS counts contrast of either sign
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_quality_scales_the_weight_and_bad_encoding_is_a_config_error():
    ir = scene()
    full = encode_instances([Instance.from_full(square(), 1.0)], ir, "ir")
    half = encode_instances([Instance.from_full(square(), 0.5)], ir, "ir")
    np.testing.assert_allclose(half, 0.5 * full, atol=1e-6)
    with pytest.raises(ConfigError, match=r"masks\.encoding"):
        encode_instances([], ir, "ir", "rainbow")


def test_instance_from_full_crops_to_the_box():
    inst = Instance.from_full(square(top=20, left=30, side=16), 0.7, pad=2)
    assert inst.offset == (18, 28) and inst.mask.shape == (20, 20)
    assert Instance.from_full(np.zeros((10, 10), np.float32), 1.0) is None


# --- offline provider ------------------------------------------------------------------------------------

@pytest.mark.parametrize("modality", ["ir", "vis"])
def test_offline_provider_finds_the_salient_square(modality):
    img = scene((120, 160), hot=0.9, background=0.2)
    target = square((120, 160), top=20, left=30, side=16) > 0
    out = OfflineProvider()(img, modality)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out[target].mean() > 0.5
    assert out[~target].mean() < 0.05


def test_offline_provider_on_flat_images_gives_zeros_and_rejects_bad_input():
    provider = OfflineProvider()
    for modality in ("ir", "vis"):
        assert not provider(np.full((48, 64), 0.5, np.float32), modality).any()
    bad_inputs = [
        (np.zeros((0, 0), np.float32), "empty"),
        (np.zeros((4, 64), np.float32), "too small"),
        (np.zeros((48, 64), np.uint8), "float32"),
        (np.full((48, 64), np.nan, np.float32), r"\[0, 1\]"),
        (np.zeros((48, 64, 2), np.float32), "HxW"),
    ]
    for img, message in bad_inputs:
        with pytest.raises(InputError, match=message):
            provider(img, "ir")
    with pytest.raises(InputError, match="modality"):
        provider(np.zeros((48, 64), np.float32), "depth")


def test_offline_masks_on_a_real_pair_cover_warm_pixels(shared_data):
    root = shared_data / "ivif" / "msrs_test"
    pair = prepare_pair(read_image(root / "ir" / "00004N.png"), read_image(root / "vi" / "00004N.png"))
    masks = PairMaskSource(OfflineProvider())(pair)
    validate_masks(masks, pair.shape)
    on = masks["ir"] > 0.5
    assert 0 < on.mean() < 0.2  # some object-sized regions, not the whole frame
    assert pair.ir[on].mean() > pair.ir[~on].mean() + 0.2  # hotter inside than outside


# --- mask sources and validation -------------------------------------------------------------------------

def test_validate_masks_rejects_wrong_size_keys_dtype_and_range():
    good = {"ir": np.zeros((6, 8), np.float32), "vis": np.zeros((6, 8), np.float32)}
    assert validate_masks(good, (6, 8)) is good and validate_masks({}, (6, 8)) == {}
    with pytest.raises(InputError, match=r"expected shape \(6, 9\)"):
        validate_masks(good, (6, 9))
    with pytest.raises(InputError, match="missing vis"):
        validate_masks({"ir": good["ir"]}, (6, 8))
    with pytest.raises(InputError, match="float32"):
        validate_masks({**good, "vis": good["vis"].astype(np.float64)}, (6, 8))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        validate_masks({**good, "ir": good["ir"] + 2}, (6, 8))


def test_pair_source_checks_its_provider_and_feeds_the_pipeline():
    class WrongSize:
        name, uses_color = "wrong", False

        def __call__(self, image, modality):
            return np.zeros((3, 3), np.float32)

    pair = pair_of(scene(), scene())
    with pytest.raises(InputError, match="expected shape"):
        PairMaskSource(WrongSize())(pair)
    pipeline = FusionPipeline("average", masks=build_mask_source(MaskConfig()))
    result = pipeline(np.round(scene((48, 64)) * 255).astype(np.uint8), np.zeros((48, 64, 3), np.uint8))
    assert set(result.masks) == {"ir", "vis"} and result.masks["ir"].shape == (48, 64)
    assert result.masks["ir"].max() > 0.5 and "masks" in result.timings
    assert pipeline.masks.last_provider == "offline" and pipeline.masks.last_age_s == 0.0


def test_registry_rejects_unknown_names_options_and_modes():
    from sgdfuse_ros.config import PipelineConfig

    assert build_mask_source(MaskConfig(source="none")) is None
    with pytest.raises(ConfigError, match=r"masks\.source must be one of"):
        MaskConfig(source="magic")
    with pytest.raises(ConfigError, match=r"unknown pipeline option 'masks\.colour'"):
        PipelineConfig.from_dict({"masks": {"colour": True}})
    with pytest.raises(ConfigError, match=r"masks\.mode"):
        MaskConfig(mode="sometimes")
    with pytest.raises(CheckpointError, match="sam_checkpoint is empty"):
        build_mask_source(MaskConfig(source="sam"))
    with pytest.raises(CheckpointError, match=r"sam_checkpoint .*no such file"):
        build_mask_source(MaskConfig(source="sam", sam_checkpoint="/nonexistent/sam_vit_b.pth"))
    with pytest.raises(CheckpointError, match="sam_onnx_encoder is empty"):
        build_mask_source(MaskConfig(source="sam-onnx"))


def test_pipeline_config_builds_and_checks_the_mask_source():
    from sgdfuse_ros.config import PipelineConfig, build_pipeline

    pipeline = build_pipeline(PipelineConfig.from_dict({"stage1.method": "average"}))
    assert isinstance(pipeline.masks, FallbackMaskSource)  # the offline default, every frame
    timed = build_pipeline(PipelineConfig.from_dict({"stage1.method": "average", "masks.mode": "every_n",
                                                     "masks.every_n": 3}))
    assert isinstance(timed.masks, EveryNMaskSource) and timed.masks.every_n == 3
    assert build_pipeline(PipelineConfig.from_dict({"stage1.method": "average", "masks.source": "none"})).masks is None
    with pytest.raises(ConfigError, match=r"masks\.mode must be one of"):
        PipelineConfig.from_dict({"masks.mode": "later"})
    with pytest.raises(ConfigError, match=r"masks\.sam_model must be one of"):
        PipelineConfig.from_dict({"masks.source": "sam", "masks.sam_model": "vit_x"})
    # names are fine; the file is checked when built
    config = PipelineConfig.from_dict({"stage1.method": "average", "masks.source": "sam"})
    with pytest.raises(CheckpointError, match="sam_checkpoint is empty"):
        build_pipeline(config)


# --- schedules ---------------------------------------------------------------------------------------------

class FakeSource:
    """Masks full of the call number; can block, and can fail on chosen calls."""

    def __init__(self, fail_on=(), gate: threading.Event | None = None) -> None:
        self.calls, self.fail_on, self.gate = 0, set(fail_on), gate
        self.last_provider, self.last_age_s, self.name = "fake", 0.0, "fake"

    def __call__(self, pair):
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.calls in self.fail_on:
            raise RuntimeError("CUDA out of memory (simulated)")
        value = np.float32(self.calls / 100)
        return {k: np.full(pair.shape, value, np.float32) for k in ("ir", "vis")}


OFFLINE = PairMaskSource(OfflineProvider())


def test_every_n_reuses_masks_and_recomputes_on_a_new_size():
    fake = FakeSource()
    source = EveryNMaskSource(fake, every_n=3)
    pair = pair_of(scene(), scene())
    values = [float(source(pair)["ir"][0, 0]) for _ in range(7)]
    assert values == pytest.approx([0.01, 0.01, 0.01, 0.02, 0.02, 0.02, 0.03]) and fake.calls == 3
    source(pair)
    assert source.last_age_s >= 0.0 and source.last_provider == "fake"
    small = pair_of(scene((30, 40)), scene((30, 40)))
    assert source(small)["ir"].shape == (30, 40) and fake.calls == 4


def test_a_failing_source_degrades_to_the_fallback_with_a_warning(caplog):
    source = FallbackMaskSource(FakeSource(fail_on={2}), OFFLINE)
    pair = pair_of(scene(), scene())
    assert float(source(pair)["ir"][0, 0]) == pytest.approx(0.01)
    with caplog.at_level(logging.WARNING):
        masks = source(pair)
    assert source.failures == 1 and source.last_provider == "offline"
    assert "simulated" in caplog.text and masks["ir"].max() > 0.5  # the offline masks of the square
    without = FallbackMaskSource(FakeSource(fail_on={1}), None)
    assert without(pair) == {} and without.last_provider == "none" and without.failures == 1


def test_async_never_waits_for_the_source_and_respects_max_age():
    gate = threading.Event()
    fake = FakeSource(gate=gate)
    pair = pair_of(scene(), scene())
    with AsyncMaskSource(fake, max_age_s=30.0, fallback=OFFLINE) as source:
        start = time.perf_counter()
        first = source(pair)  # the worker is blocked: the offline masks come back at once
        assert time.perf_counter() - start < 2.0 and source.last_provider == "offline"
        assert first["ir"].max() > 0.5
        source(pair)  # queued behind the blocked one, or replacing it if the worker had not started yet
        gate.set()
        assert source.wait_idle(10)
        done = fake.calls
        assert done in (1, 2) and source.dropped == 2 - done
        fake.fail_on = {done + 1}
        masks = source(pair)  # the newest masks; the computation it starts fails
        assert source.last_provider == "fake" and 0.0 <= source.last_age_s <= 30.0
        assert float(masks["ir"][0, 0]) == pytest.approx(done / 100)
        assert source.wait_idle(10)  # the failure is counted, the last good masks stay
        assert source.failures == 1 and source.diagnostics()["failures"] == 1
        source(pair)
        assert source.last_provider == "fake"
        source.max_age_s = 1e-9  # every mask is now too old: the fallback's are used
        source(pair)
        assert source.last_provider == "offline" and source.last_age_s == 0.0
    stuck = threading.Event()
    with AsyncMaskSource(FakeSource(gate=stuck), max_age_s=0.5) as none_fallback:
        assert none_fallback(pair) == {} and none_fallback.last_age_s == float("inf")
        stuck.set()


def test_schedule_rejects_bad_modes_and_values():
    with pytest.raises(ConfigError, match=r"masks\.mode"):
        schedule(OFFLINE, "later")
    with pytest.raises(ConfigError, match=r"masks\.every_n"):
        schedule(OFFLINE, "every_n", every_n=0)
    with pytest.raises(ConfigError, match=r"masks\.max_age_s"):
        schedule(OFFLINE, "async", max_age_s=0)


# --- perturbations -----------------------------------------------------------------------------------------

def test_erode_and_dilate_move_boundaries_by_r_pixels():
    mask = square((60, 80), top=20, left=30, side=16)
    assert int((erode(mask, 3)[28] > 0.5).sum()) == 16 - 6  # the row through the centre
    assert int((dilate(mask, 3)[28] > 0.5).sum()) == 16 + 6
    soft = np.clip(mask * 0.7 + 0.1, 0, 1)
    eroded = erode(soft, 2)
    assert eroded.min() >= 0.1 - 1e-6 and eroded.max() <= 0.8 + 1e-6


def test_parse_perturbations():
    items = parse_perturbations("erode:3, dilate:5")
    assert [name for name, _ in items] == ["erode:3", "dilate:5"]
    masks = {"ir": square(), "vis": square()}
    grown = items[1][1](masks)
    assert grown["vis"].sum() > masks["vis"].sum() and items[0][1]({}) == {}
    for spec, message in (("", "empty"), ("blur:3", "unknown operation"), ("erode:x", "integer"),
                          ("dilate:999", "radius")):
        with pytest.raises(ConfigError, match=message):
            parse_perturbations(spec)


# --- SAM ---------------------------------------------------------------------------------------------------

def tiny_sam():
    """The real SAM architecture with small random weights (5.4M parameters)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("segment_anything")
    from segment_anything.build_sam import _build_sam

    torch.manual_seed(0)
    return _build_sam(encoder_embed_dim=96, encoder_depth=2, encoder_num_heads=2,
                      encoder_global_attn_indexes=[1], checkpoint=None)


def test_grid_helpers_score_and_suppress_duplicates():
    logits = np.full((20, 20), -5.0, np.float32)
    logits[5:15, 5:15] = 5.0
    logits[4, 5:15] = 0.5  # a fringe between the two thresholds lowers the stability
    assert stability_score(logits) == pytest.approx(100 / 110)
    shifted = np.roll(logits, 1, axis=1)
    far = np.full((20, 20), -5.0, np.float32)
    far[0:3, 0:3] = 5.0
    kept = nms_instances([(logits, 0.5), (shifted, 0.9), (far, 0.1)], iou_thresh=0.7)
    assert [inst.quality for inst in kept] == [0.9, 0.1]  # the overlapping, weaker one is suppressed
    assert kept[0].mask.max() > 0.99 and np.isclose(kept[0].mask, 1 / (1 + np.exp(-0.5))).any()  # soft fringe
    assert to_rgb_u8(np.ones((4, 4), np.float32)).shape == (4, 4, 3)


def test_sam_checkpoints_are_checked_before_use(tmp_path):
    sam = tiny_sam()
    import torch

    from sgdfuse_ros.masks.sam import load_sam, read_sam_state_dict

    good = tmp_path / "tiny.pth"
    torch.save(sam.state_dict(), good)
    with pytest.raises(CheckpointError, match=r"embed dim 96 and 2 blocks.*sam_model is vit_l"):
        load_sam("vit_l", good)
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_sam("vit_b", corrupt)
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"weights": threading.Lock}, unsafe)  # a class object: refused by weights_only loading
    with pytest.raises(CheckpointError, match="cannot be read"):
        read_sam_state_dict(unsafe)
    with pytest.raises(ConfigError, match="sam_model must be one of"):
        load_sam("vit_x", good)
    from segment_anything.build_sam import _build_sam

    def builder(checkpoint=None):
        return _build_sam(96, 2, 2, [1], checkpoint=checkpoint)

    loaded = load_sam("tiny", good, builders={"tiny": builder})
    key = "image_encoder.patch_embed.proj.weight"
    assert torch.equal(loaded.state_dict()[key], sam.state_dict()[key])
    partial = tmp_path / "partial.pth"
    state = sam.state_dict()
    state.pop("mask_decoder.iou_token.weight")
    torch.save({"model": state}, partial)  # wrapped state dicts are unwrapped, then must fit exactly
    with pytest.raises(CheckpointError, match="does not fit sam_model tiny"):
        load_sam("tiny", partial, builders={"tiny": builder})


def test_sam_generator_end_to_end_on_a_small_image():
    sam = tiny_sam()
    from sgdfuse_ros.masks.sam import SamProvider

    provider = SamProvider(sam, points_per_side=2, path="generator", device="cpu",
                           encoding="binary-union", pred_iou_thresh=0.0, stability_score_thresh=0.0,
                           min_area_frac=0.0, max_area_frac=1.01)
    recorded = []
    generate = provider.generate
    provider.generate = lambda rgb: recorded.append(generate(rgb)) or recorded[-1]
    img = scene((48, 64))
    out = provider(img, "ir")
    assert out.shape == (48, 64) and out.dtype == np.float32
    assert recorded[0] and provider.last_instance_count == len(recorded[0])
    expected = encode_instances(recorded[0], img, "ir", "binary-union", min_area_frac=0.0, max_area_frac=1.01)
    np.testing.assert_array_equal(out, expected)


def test_sam_predictor_path_and_its_onnx_export_agree(tmp_path):
    sam = tiny_sam()
    pytest.importorskip("onnxruntime")
    from sgdfuse_ros.masks.sam import SamProvider
    from sgdfuse_ros.masks.sam_onnx import OnnxSamProvider, export_sam_onnx

    export_sam_onnx(sam, tmp_path / "enc.onnx", tmp_path / "dec.onnx")
    options = {"points_per_side": 1, "pred_iou_thresh": -1.0, "stability_score_thresh": 0.0,
               "min_area_frac": 0.0, "max_area_frac": 1.01}
    rgb = to_rgb_u8(np.stack([scene((40, 72))] * 3, axis=-1))  # not the 3:4 used at export time
    torch_instances = SamProvider(sam, path="predictor", device="cpu", **options).predict_grid(rgb)
    onnx_provider = OnnxSamProvider(tmp_path / "enc.onnx", tmp_path / "dec.onnx", **options)
    onnx_instances = onnx_provider.predict_grid(rgb)
    assert len(torch_instances) == len(onnx_instances) == 1
    a, b = torch_instances[0], onnx_instances[0]
    assert a.quality == pytest.approx(b.quality, abs=0.02)
    full_a, full_b = np.zeros((40, 72), np.float32), np.zeros((40, 72), np.float32)
    for full, inst in ((full_a, a), (full_b, b)):
        (y, x), (h, w) = inst.offset, inst.mask.shape
        full[y:y + h, x:x + w] = inst.mask
    assert np.abs(full_a - full_b).mean() < 0.02  # only the image resize differs (PIL vs OpenCV)
    out = onnx_provider(rgb.astype(np.float32) / 255, "vis")
    assert out.shape == (40, 72) and out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(CheckpointError, match=r"sam_onnx_decoder .*not a loadable ONNX model"):
        bad = tmp_path / "bad.onnx"
        bad.write_bytes(b"garbage")
        OnnxSamProvider(tmp_path / "enc.onnx", bad)


def test_offline_benchmark_reports_both_encodings(shared_data):
    from sgdfuse_ros.bench.masks import bench_offline, evaluation_pairs, markdown_table

    pairs = evaluation_pairs("msrs_test", 1)
    assert pairs[0].shape == (480, 640)
    result = bench_offline(pairs, runs=2)
    for encoding in ("saliency-weighted", "binary-union"):
        pair = result[encoding]["pair"]
        assert pair["samples"] == 2 and 0 < pair["min_ms"] <= pair["median_ms"] <= pair["p90_ms"]
    sam = {"vit_b": {"params_M": 93.7, "points": 16, "encoder_ms": 2.0, "encoder_cpu_ms": 1.0, "generator_ms": 4.0,
                     "generator_cpu_ms": 3.0, "decode_cpu_ms_per_point": 0.1}}
    table = markdown_table({"offline": result, "sam": sam})
    assert "| binary-union |" in table and "generator, 4x4 points" in table and "| vit_b | 93.7 |" in table
