"""Refiner network (U-Net + HFAH), the DiffusionRefiner through FusionPipeline, checkpoints and errors."""

import json

import numpy as np
import pytest
import torch

from sgdfuse_ros.diffusion.condition import condition, initial_noise, refine_residual, refined_image
from sgdfuse_ros.diffusion.schedule import NoiseSchedule
from sgdfuse_ros.errors import CheckpointError, ConfigError, InputError
from sgdfuse_ros.images import prepare_pair
from sgdfuse_ros.models import build_model, save_checkpoint
from sgdfuse_ros.models.hfah import HFAHead
from sgdfuse_ros.pipeline import FusionPipeline
from sgdfuse_ros.refiner import DiffusionRefiner, build_refiner
from sgdfuse_ros.weights import WEIGHTS_DIR

SMALL = {"widths": [4, 8, 8], "time_dim": 16, "head_dim": 4}
DIFFUSION = {"schedule": "cosine", "timesteps": 1000, "residual_mu": 255.0, "mode": "diffusion", "steps": 2}
rng = np.random.default_rng(0)


@pytest.mark.parametrize("head", ["hfah", "conv"])
@pytest.mark.parametrize("size", [(37, 53), (16, 16), (9, 30)])
def test_unet_keeps_odd_sizes_and_stays_in_tanh_range(head, size):
    net = build_model("refiner_unet", head=head, **SMALL).eval()
    x = torch.randn(2, 1, *size) * 10
    cond = torch.rand(2, 5, *size) * 10  # far outside the training range: Tanh still bounds the output
    with torch.no_grad():
        out = net(x, torch.tensor([0.0, 999.0]), cond)
    assert out.shape == (2, 1, *size) and float(out.abs().max()) <= 1.0


def test_unet_output_depends_on_the_timestep_and_the_condition():
    net = build_model("refiner_unet", **SMALL).eval()
    x, cond = torch.randn(1, 1, 24, 24), torch.rand(1, 5, 24, 24)
    with torch.no_grad():
        a = net(x, torch.tensor([10.0]), cond)
        b = net(x, torch.tensor([900.0]), cond)
        c = net(x, torch.tensor([10.0]), cond * 0)
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_hfah_aggregates_every_level_to_full_resolution():
    head = HFAHead([8, 16, 32], out_channels=3, dim=4)
    feats = [torch.randn(1, 8, 21, 33), torch.randn(1, 16, 11, 17), torch.randn(1, 32, 6, 9)]
    out = head(feats)
    assert out.shape == (1, 3, 21, 33) and float(out.detach().abs().max()) <= 1.0
    out.sum().backward()
    assert all(r.weight.grad is not None and r.weight.grad.abs().sum() > 0 for r in head.reduce)


def test_bad_unet_config_is_a_config_error():
    with pytest.raises(ConfigError):
        build_model("refiner_unet", head="mlp")
    with pytest.raises(ConfigError):
        build_model("refiner_unet", widths=[8])


@pytest.mark.parametrize("steps", [1, 2])
def test_student_one_and_two_step_outputs(steps):
    net = build_model("refiner_unet", **SMALL).eval()
    cond = torch.rand(1, 5, 30, 41)
    with torch.no_grad():
        x0 = refine_residual(net, NoiseSchedule(), cond, steps, initial_noise((1, 1, 30, 41)))
        direct = refine_residual(net, NoiseSchedule(), cond, steps, initial_noise((1, 1, 30, 41)), "direct")
    assert x0.shape == direct.shape == (1, 1, 30, 41) and float(x0.abs().max()) <= 1.0
    with pytest.raises(ConfigError):
        refine_residual(net, NoiseSchedule(), cond, steps, initial_noise((1, 1, 30, 41)), "gan")


@pytest.fixture()
def small_checkpoint(tmp_path):
    torch.manual_seed(0)
    net = build_model("refiner_unet", **SMALL)
    return save_checkpoint(tmp_path / "refiner.pt", "refiner_unet", SMALL, net, {"diffusion": DIFFUSION})


def _pair(h=40, w=56):
    ir = rng.integers(0, 256, (h, w), dtype=np.uint8)
    vis = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return ir, vis


def test_refiner_runs_in_the_pipeline_and_is_deterministic(small_checkpoint):
    refiner = DiffusionRefiner(small_checkpoint)
    assert refiner.steps == 2
    masks = lambda pair: {"ir": (pair.ir > 0.5).astype(np.float32), "vis": np.zeros_like(pair.vis)}  # noqa: E731
    pipeline = FusionPipeline("average", masks=masks, refiner=refiner)
    ir, vis = _pair()
    a, b = pipeline(ir, vis), pipeline(ir, vis)
    assert a.fused.shape == (40, 56, 3) and a.fused.dtype == np.uint8 and "refiner" in a.timings
    assert a.initial is not None and np.array_equal(a.fused, b.fused)
    assert not np.array_equal(a.fused, a.initial)  # the refiner changed the image


def test_refiner_accepts_no_masks_and_checks_the_initial_shape(small_checkpoint):
    refiner = DiffusionRefiner(small_checkpoint, steps=1)
    pair = prepare_pair(*_pair(24, 24))
    out = refiner(pair, pair.vis, {})
    assert out.shape == (24, 24) and out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(InputError, match="initial"):
        refiner(pair, pair.vis[:20], {})


def test_zero_noise_starts_the_sampler_at_the_prior_mean(small_checkpoint):
    pair = prepare_pair(*_pair(24, 32))
    initial = (pair.ir + pair.vis) / 2
    zero = DiffusionRefiner(small_checkpoint, steps=1, noise="zero")
    seeded = DiffusionRefiner(small_checkpoint, steps=1)
    assert not np.array_equal(zero(pair, initial, {}), seeded(pair, initial, {}))  # x_T matters to the network
    assert torch.equal(initial_noise((1, 1, 4, 4), "zero"), torch.zeros(1, 1, 4, 4))
    with torch.no_grad():  # what the refiner runs with noise="zero": x_T = 0
        cond = condition(*(torch.from_numpy(a)[None, None] for a in (initial, pair.ir, pair.vis)),
                         torch.zeros(1, 1, 24, 32), torch.zeros(1, 1, 24, 32))
        x0 = refine_residual(zero.model, zero.schedule, cond, 1, torch.zeros(1, 1, 24, 32))
    expected = refined_image(torch.from_numpy(initial)[None, None], x0, zero.mu)[0, 0].numpy()
    assert np.allclose(zero(pair, initial, {}), expected, atol=1e-6)
    with pytest.raises(ConfigError, match="noise"):
        DiffusionRefiner(small_checkpoint, noise="pink")


def test_refiner_checkpoint_errors(tmp_path, small_checkpoint):
    with pytest.raises(CheckpointError, match="no such"):
        DiffusionRefiner(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        DiffusionRefiner(tmp_path / "junk.pt")
    stage1 = save_checkpoint(tmp_path / "s1.pt", "stage1", {}, build_model("stage1"))
    with pytest.raises(CheckpointError, match="expected 'refiner_unet'"):
        DiffusionRefiner(stage1)
    bare = save_checkpoint(tmp_path / "bare.pt", "refiner_unet", SMALL, build_model("refiner_unet", **SMALL))
    with pytest.raises(CheckpointError, match="diffusion settings"):
        DiffusionRefiner(bare)
    other = save_checkpoint(tmp_path / "other.pt", "refiner_unet", {**SMALL, "widths": [4, 8]},
                            build_model("refiner_unet", **SMALL), {"diffusion": DIFFUSION})
    with pytest.raises(CheckpointError, match="do not fit"):
        DiffusionRefiner(other)


def test_build_refiner_names():
    assert build_refiner("") is None
    with pytest.raises(ConfigError, match="refiner must be"):
        build_refiner("sharpen")


def test_condition_stacks_five_channels():
    parts = [torch.full((1, 1, 4, 4), float(i)) for i in range(5)]
    cond = condition(*parts)
    assert cond.shape == (1, 5, 4, 4) and [float(cond[0, i, 0, 0]) for i in range(5)] == [0, 1, 2, 3, 4]


@pytest.mark.skipif(not (WEIGHTS_DIR / "refiner_student.pt").exists(), reason="student weights not shipped")
def test_shipped_student_refines_a_sample_pair(samples_dir):
    refiner = build_refiner("student")
    assert refiner is not None and refiner.steps <= 4
    ir, vis = _pair(48, 64)
    out = FusionPipeline("average", refiner=refiner)(ir, vis)
    assert out.fused.shape == (48, 64, 3)
    plain = FusionPipeline("average")(ir, vis).fused
    assert np.abs(out.fused.astype(int) - plain.astype(int)).mean() > 0.5  # it refines, not a copy
    np.testing.assert_array_equal(FusionPipeline("average", refiner=refiner)(ir, vis).fused, out.fused)


def test_pipeline_config_builds_the_refiner(small_checkpoint):
    from sgdfuse_ros.config import PipelineConfig, build_pipeline

    pipeline = build_pipeline(PipelineConfig.from_dict({"stage1.method": "average", "refiner.name": "student",
                                                        "refiner.steps": 1, "refiner.weights": str(small_checkpoint)}))
    assert isinstance(pipeline.refiner, DiffusionRefiner) and pipeline.refiner.steps == 1
    assert build_pipeline(PipelineConfig.from_dict({"stage1.method": "average"})).refiner is None
    with pytest.raises(ConfigError, match="refiner"):
        PipelineConfig.from_dict({"refiner.name": "sharpen"})
    with pytest.raises(ConfigError, match="refiner"):
        PipelineConfig.from_dict({"refiner.name": "student", "refiner.steps": -1})


def test_one_teacher_training_step_on_synthetic_arrays(tmp_path):
    from sgdfuse_ros.training.refiner import FIELDS, RefinerData, RefinerTrainConfig, training_loss

    def sample():
        arrays = {k: rng.random((40, 48)).astype(np.float16) for k in FIELDS}
        return {**arrays, "stretch": np.array([0.1, 0.8, 0.9, 1.0], np.float32)}

    data = RefinerData([sample(), sample()], [sample()], ["a", "b"], {})
    batch = data.batch(np.random.default_rng(0), 3, 32)
    assert batch["ir"].shape == (3, 1, 32, 32) and {"ir_raw", "vis_raw", "target"} <= batch.keys()
    assert not torch.allclose(batch["ir"], batch["ir_raw"])  # the network sees the contrast-normalised images
    cfg = RefinerTrainConfig(out=tmp_path, model_config=SMALL)
    net = build_model("refiner_unet", **SMALL)
    total, terms = training_loss(net, NoiseSchedule(), cfg, batch)
    total.backward()
    assert set(terms) == {"denoise", "intensity", "gradient"} and net.stem.weight.grad is not None
    assert data.val_crops()["initial"].shape == (1, 1, 40, 40)


def test_target_changes_parse_numbers_and_flags_and_reject_unknown_fields():
    from sgdfuse_ros.training.refiner import TargetConfig

    base = TargetConfig()
    changed = base.with_changes("stretch_low=0.5, stretch_high=99.5,stretch=0")
    assert (changed.stretch_low, changed.stretch_high, changed.stretch) == (0.5, 99.5, False)
    assert changed.fit_stretch(np.ones((4, 4), np.float32)) is None and base.with_changes("") == base
    for bad in ("gamma=1", "lam", "lam=high"):
        with pytest.raises(ConfigError, match="target change"):
            base.with_changes(bad)


def test_ablation_table_has_a_row_per_variant_and_set_and_names_missing_weights(tmp_path, small_checkpoint):
    from sgdfuse_ros.evaluation.ablations import Variant, run_ablations
    from sgdfuse_ros.images import write_image

    data = tmp_path / "tiny_set"
    for name in ("a.png", "b.png"):
        ir, vis = _pair()
        write_image(data / "ir" / name, ir)
        write_image(data / "vi" / name, vis)
    variants = [Variant("initial", initial="average"),
                Variant("refined", initial="average", weights=small_checkpoint),
                Variant("refined, zero masks", initial="average", weights=small_checkpoint, masks="zeros"),
                Variant("refined, eroded masks", initial="average", weights=small_checkpoint, masks="erode:1"),
                Variant("never trained", initial="average", weights=tmp_path / "missing.pt")]
    path, failed = run_ablations([str(data)], out_dir=tmp_path / "out", limit=None, variants=variants,
                                 metrics=("EN", "SD", "SF"))
    assert failed == 0
    rows = [line.split(" | ") for line in path.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    assert [r[0].lstrip("| ") for r in rows[1:]] == ["initial", "refined", "refined, zero masks",
                                                      "refined, eroded masks"]
    values = {r[0].lstrip("| "): [float(c.strip("*")) for c in r[2:5]] for r in rows[1:]}
    assert values["refined"] != values["initial"]  # the refiner changed the images
    assert rows[2][-1].startswith("2 x ") and rows[1][-1].strip(" |") == "-"  # cost: evaluations x GFLOPs
    assert rows[1][-2] == "-" and rows[2][-2] == f"{sum(c.startswith('**') for c in rows[2][2:5])}/3"
    assert "never trained: not trained" in path.read_text() and "over all pairs" in path.read_text()


def test_ship_command_ships_a_refiner_with_its_cost(tmp_path, small_checkpoint, capsys):
    from sgdfuse_ros.cli import main

    dest = tmp_path / "weights" / "refiner_student.pt"
    assert main(["ship", str(small_checkpoint), str(dest)]) == 0
    entry = json.loads((dest.parent / "manifest.json").read_text())["refiner_student.pt"]
    assert dest.read_bytes() == small_checkpoint.read_bytes()
    assert entry["model"] == "refiner_unet" and entry["evaluations"] == DIFFUSION["steps"]
    assert entry["gflops_640x480_total"] == pytest.approx(entry["gflops_640x480"] * DIFFUSION["steps"], rel=1e-3)
    assert f"shipped {dest}" in capsys.readouterr().out


def test_bounded_output_stays_within_the_local_range_of_its_sources(tmp_path):
    from sgdfuse_ros.diffusion.condition import bound_to_sources

    torch.manual_seed(0)
    sources = torch.rand(1, 3, 20, 24)
    wild = torch.randn(1, 1, 20, 24) * 3
    out = bound_to_sources(wild, sources, 1)
    padded = torch.nn.functional.pad(sources, (1, 1, 1, 1), mode="replicate")
    windows = padded.unfold(2, 3, 1).unfold(3, 3, 1)  # (1, 3, 20, 24, 3, 3)
    low, high = windows.amin(dim=(1, 4, 5)), windows.amax(dim=(1, 4, 5))
    assert torch.equal(out[:, 0], torch.minimum(torch.maximum(wild[:, 0], low), high))
    inside = (low + high)[:, None] / 2
    assert torch.equal(bound_to_sources(inside, sources, 1), inside)  # within range: untouched
    # in the refiner: a checkpoint asking for it gives an output inside the range of its condition images
    net = build_model("refiner_unet", **SMALL)
    meta = {"diffusion": {**DIFFUSION, "bound_radius": 2}}
    ckpt = save_checkpoint(tmp_path / "b.pt", "refiner_unet", SMALL, net, meta)
    pair = prepare_pair(*_pair(24, 24))
    initial = (pair.ir + pair.vis) / 2
    out = DiffusionRefiner(ckpt, steps=1)(pair, initial, {})
    stack = np.stack([initial, pair.ir, pair.vis])
    assert out.min() >= stack.min() - 1e-6 and out.max() <= stack.max() + 1e-6


def test_base_only_stretch_keeps_the_detail_gain_at_one():
    from sgdfuse_ros.diffusion.contrast import ContrastStretch

    _, x = np.mgrid[0:60, 0:80].astype(np.float32)
    base = 0.3 + 0.2 * x / 80
    grain = 0.01 * np.random.default_rng(5).standard_normal(base.shape).astype(np.float32)
    s = ContrastStretch.fit(base + grain, 1, 99, 0.9)
    assert s.gain > 2.0
    full = (s(base + grain) - s(base))[5:-5, 5:-5]  # what each map makes of the grain
    based = (s.base_only(base + grain, 3) - s.base_only(base, 3))[5:-5, 5:-5]
    assert full.std() > 1.8 * grain.std()  # a global stretch multiplies it
    assert based.std() < 1.25 * grain.std()  # the base-only map does not (the 7x7 mean of it is stretched)


def test_noise_aware_detail_gain_stretches_structure_and_keeps_grain():
    """``base_only(x, r, floor)``: a step edge well above the floor gets the map's slope, as the global stretch
    gives it; the base-only map's rims beside it shrink; grain at the noise level gets far less than the gain."""
    from sgdfuse_ros.diffusion.contrast import ContrastStretch
    from sgdfuse_ros.metrics.noise import immerkaer_sigma

    _, x = np.mgrid[0:60, 0:80].astype(np.float32)
    clean = np.where(x < 40, 0.3, 0.5).astype(np.float32)
    grain = 0.005 * np.random.default_rng(6).standard_normal(clean.shape).astype(np.float32)
    s = ContrastStretch(0.25, 0.6, 0.9)
    floor = 3 * immerkaer_sigma(clean + grain)
    assert 0.012 < floor < 0.018
    step = lambda img: (img[:, 40] - img[:, 39]).mean()  # noqa: E731  (the jump across the edge)
    full, based, aware = s(clean), s.base_only(clean, 3), s.base_only(clean, 3, floor)
    assert step(full) == pytest.approx(0.2 * s.gain, rel=1e-3)
    assert step(based) < 0.8 * step(full)  # base-only: the edge's detail keeps gain 1
    assert step(aware) == pytest.approx(step(full), rel=0.05)
    halo = lambda img: max(img[:, 30:40].max() - img[:, 30].max(), img[:, 40].min() - img[:, 40:50].min())  # noqa: E731
    assert halo(full) < 1e-6 and halo(aware) < 0.3 * halo(based)  # the rims beside the edge shrink
    noisy = (s.base_only(clean + grain, 3, floor) - aware)[5:-5, 5:30]
    assert noisy.std() < 0.6 * s.gain * grain[5:-5, 5:30].std()  # the global map multiplies it by the gain


def test_masked_detail_gain_stretches_only_the_targets_outline():
    """``base_only(x, r, detail_mask=target_mask(m_ir, R))``: an edge inside the grown IR mask gets the map's
    slope, one outside keeps the base-only map's gain 1, and grain outside the mask is untouched."""
    from sgdfuse_ros.diffusion.contrast import ContrastStretch, target_mask

    _, x = np.mgrid[0:60, 0:80].astype(np.float32)
    clean = np.where((x >= 20) & (x < 60), 0.5, 0.3).astype(np.float32)  # a bright "target" between two edges
    m_ir = np.zeros_like(clean)
    m_ir[:, 22:40] = 1.0  # the target's left part only, inside its left edge
    mask = target_mask(m_ir, 3)
    assert mask[:, 19:43].min() == 1.0 and mask[:, 44:].max() == 0.0  # grown across the left edge only
    s = ContrastStretch(0.25, 0.6, 0.9)
    full, based, masked = s(clean), s.base_only(clean, 3), s.base_only(clean, 3, detail_mask=mask)
    left = lambda img: (img[:, 20] - img[:, 19]).mean()  # noqa: E731
    right = lambda img: (img[:, 59] - img[:, 60]).mean()  # noqa: E731
    assert left(masked) == pytest.approx(left(full), rel=1e-4) and left(based) < 0.8 * left(full)
    assert right(masked) == pytest.approx(right(based), rel=1e-6)
    grain = 0.005 * np.random.default_rng(7).standard_normal(clean.shape).astype(np.float32)
    outside = (s.base_only(clean + grain, 3, detail_mask=mask) - s.base_only(clean + grain, 3))[:, 50:]
    assert np.abs(outside).max() == 0.0


def test_source_bound_keeps_the_refined_luma_within_the_raw_sources_local_range(tmp_path):
    """``source_bound_radius``: the contrast map alone (a zero residual) pushes the darkest pixels of a
    low-contrast frame to 0 and the brightest towards 1, beyond both raw sources; with the bound each pixel
    stays within [min, max] of raw IR and VIS over its (2r+1)^2 window, so OS (radius 3) is 0."""
    from sgdfuse_ros.metrics.noise import overshoot, overshoot_map

    net = build_model("refiner_unet", **SMALL)
    with torch.no_grad():
        net.head.out.weight.zero_()
        net.head.out.bias.zero_()
    stretch = {"low": 1.0, "high": 99.0, "knee": 0.9}
    ir = (rng.random((32, 40)) * 0.2 + 0.4).astype(np.float32)
    vis = (rng.random((32, 40)) * 0.2 + 0.4).astype(np.float32)
    pair = prepare_pair((ir * 255).astype(np.uint8), (vis * 255).astype(np.uint8))
    initial = (pair.ir + pair.vis) / 2
    outputs = {}
    for radius in (0, 3):
        meta = {"diffusion": {**DIFFUSION, "stretch": stretch, "source_bound_radius": radius}}
        ckpt = save_checkpoint(tmp_path / f"sb{radius}.pt", "refiner_unet", SMALL, net, meta)
        outputs[radius] = DiffusionRefiner(ckpt, steps=1, noise="zero")(pair, initial, {})
    u8 = lambda x: np.round(x * 255).astype(np.uint8)  # noqa: E731
    sources = (u8(pair.ir), u8(pair.vis))
    assert overshoot(u8(outputs[0]), *sources) > 5.0  # the stretch leaves the sources' range
    assert overshoot(u8(outputs[3]), *sources) == 0.0
    assert np.abs(outputs[3] - outputs[0]).max() > 0.1  # the bound moved pixels, within the range: untouched
    assert np.array_equal(outputs[3] == outputs[0], overshoot_map(outputs[0], pair.ir, pair.vis) == 0)
    bad = {"diffusion": {**DIFFUSION, "source_bound_radius": -1}}
    with pytest.raises(CheckpointError, match="source_bound_radius"):
        DiffusionRefiner(save_checkpoint(tmp_path / "bad.pt", "refiner_unet", SMALL, net, bad))
    bad = {"diffusion": {**DIFFUSION, "stretch": {**stretch, "base_radius": 7, "detail_snr": "3"}}}
    with pytest.raises(CheckpointError, match="detail_snr"):
        DiffusionRefiner(save_checkpoint(tmp_path / "bad_snr.pt", "refiner_unet", SMALL, net, bad))


def test_training_maps_the_base_layer_as_inference_does():
    """``TargetConfig.base_radius``: the checkpoint meta asks inference for the base-only map, training crops
    get the same values as the whole frame mapped (a margin of the radius around each crop), and the cache
    key of a configuration without it is unchanged."""
    from sgdfuse_ros.diffusion.contrast import ContrastStretch
    from sgdfuse_ros.training.refiner import FIELDS, RefinerData, TargetConfig

    base = TargetConfig()
    based = base.with_changes("base_radius=7")
    assert based.base_radius == 7 and isinstance(based.base_radius, int)
    assert based.stretch_meta() == {**base.stretch_meta(), "base_radius": 7}
    assert "base_radius" not in base.stretch_meta()
    assert base.cache_key() == "17a290acf3" and based.cache_key() != base.cache_key()
    with pytest.raises(ConfigError, match="base_radius"):
        base.with_changes("base_radius=-1")
    frame = {k: rng.random((40, 48)).astype(np.float16) for k in FIELDS}
    frame["stretch"] = np.array([0.1, 0.8, 0.9, 1.0], np.float32)
    stretch = ContrastStretch(0.1, 0.8, 0.9)
    for radius in (0, 3):
        data = RefinerData([frame], [frame], ["a"], {}, base_radius=radius)
        for y, x in ((0, 0), (5, 9), (8, 16)):
            crop = data._crop(frame, y, x, 32)
            whole = frame["ir"].astype(np.float32)
            mapped = stretch.base_only(whole, radius) if radius else stretch(whole)
            assert np.allclose(crop[0], mapped[y:y + 32, x:x + 32], atol=1e-6)
    assert not np.allclose(RefinerData([frame], [frame], ["a"], {}, 3)._crop(frame, 5, 9, 32)[0],
                           RefinerData([frame], [frame], ["a"], {}, 0)._crop(frame, 5, 9, 32)[0])
    aware = based.with_changes("detail_snr=3")
    with pytest.raises(ConfigError, match="detail_snr"):
        base.with_changes("detail_snr=3")
    assert aware.stretch_meta() == {**based.stretch_meta(), "detail_snr": 3.0}
    assert aware.cache_key() != based.cache_key()
    floors = [0.02, 0.03, 0.04]  # of ir, vis, initial: measured on the whole frame, stored with the map
    frame["stretch"] = np.array([0.1, 0.8, 0.9, 1.0, *floors], np.float32)
    crop = RefinerData([frame], [frame], ["a"], {}, 3)._crop(frame, 5, 9, 32)
    for i, key in enumerate(FIELDS[:3]):
        mapped = stretch.base_only(frame[key].astype(np.float32), 3, floors[i])
        assert np.allclose(crop[i], mapped[5:37, 9:41], atol=1e-6)
