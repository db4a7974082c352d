"""Training loop: data sampling, loss decrease, exact resume, the JSONL log and the train split."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from sgdfuse_ros.errors import CheckpointError, ConfigError
from sgdfuse_ros.models import load_model
from sgdfuse_ros.training.data import VALIDATION, Sample, TrainData
from sgdfuse_ros.training.loop import LOG_FILE, MODEL_FILE, STATE_FILE, TrainConfig, learning_rate, train
from sgdfuse_ros.training.losses import FusionLoss


def _synthetic_sample(i: int, size: int = 48) -> Sample:
    """A warm blob on a dark background (IR) and a textured scene without it (VIS)."""
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(10, size - 10, 2)
    ir = 40 + 180 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 40.0)
    texture = np.sin(xx / rng.uniform(1.5, 4)) * np.cos(yy / rng.uniform(1.5, 4))
    vis = 100 + 60 * texture + rng.normal(0, 8, ir.shape)
    u8 = [np.clip(a, 0, 255).astype(np.uint8) for a in (ir, vis)]
    return Sample(f"synthetic/{i}", "synthetic" if i % 2 else "other", *u8)


@pytest.fixture(scope="module")
def data() -> TrainData:
    return TrainData([_synthetic_sample(i) for i in range(6)], [_synthetic_sample(100, 40)])


def test_batches_are_seeded_crops(data: TrainData) -> None:
    a = data.batch(np.random.default_rng(3), 4, 24)
    b = data.batch(np.random.default_rng(3), 4, 24)
    assert a[0].shape == (4, 1, 24, 24) and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].min() >= 0.0 and a[0].max() <= 1.0
    with pytest.raises(ConfigError, match="larger than"):
        data.batch(np.random.default_rng(0), 1, 64)


def test_learning_rate_schedule() -> None:
    cfg = TrainConfig(model="stage1", out="unused", steps=100, lr=1e-3, warmup=10)
    assert learning_rate(cfg, 0) == pytest.approx(1e-4)
    assert learning_rate(cfg, 10) == pytest.approx(1e-3)
    assert learning_rate(cfg, 100) == pytest.approx(1e-3 * cfg.min_lr_ratio)
    with pytest.raises(ConfigError):
        TrainConfig(model="stage1", out="unused", steps=0)


def test_training_decreases_the_loss(tmp_path, data: TrainData) -> None:
    torch.manual_seed(0)
    cfg = TrainConfig(model="stage1", out=tmp_path, steps=20, batch=4, crop=32, lr=2e-3, warmup=3,
                      val_every=0, log_every=5, loss=FusionLoss(1.0, 10.0, texture_gain=1.5))
    summary = train(cfg, data, progress=False)
    _, info = load_model(tmp_path / MODEL_FILE, expected_name="stage1")
    records = [json.loads(ln) for ln in (tmp_path / LOG_FILE).read_text().splitlines()]
    train_losses = [r["loss"] for r in records if r["kind"] == "train"]
    assert len(train_losses) == 4 and train_losses[-1] < 0.7 * train_losses[0]
    assert info["meta"]["validation"] == summary["validation"]
    assert {"loss", "intensity", "gradient", "EN", "SD", "Qabf"} <= summary["validation"].keys()


def test_resume_reproduces_an_uninterrupted_run(tmp_path, data: TrainData) -> None:
    common = dict(model="stage1", steps=6, batch=2, crop=24, lr=1e-3, warmup=2, val_every=0, log_every=2)
    straight = TrainConfig(out=tmp_path / "a", **common)
    train(straight, data, progress=False)
    first = TrainConfig(out=tmp_path / "b", stop_at=3, **common)
    assert train(first, data, progress=False) == {"stopped_at": 3}
    assert not (tmp_path / "b" / MODEL_FILE).exists()
    resumed = TrainConfig(out=tmp_path / "b", resume=True, **common)
    train(resumed, data, progress=False)
    a, _ = load_model(tmp_path / "a" / MODEL_FILE)
    b, _ = load_model(tmp_path / "b" / MODEL_FILE)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "b" / LOG_FILE).read_text().splitlines()]
    assert steps == [2, 4, 6, 6]  # train records, then the final validation; none duplicated


def test_resume_refuses_another_model(tmp_path, data: TrainData) -> None:
    first = TrainConfig(model="stage1", out=tmp_path, steps=1, batch=1, crop=16, val_every=0)
    train(first, data, progress=False)
    with pytest.raises(CheckpointError, match=STATE_FILE):
        train(TrainConfig(model="seafusion", out=tmp_path, steps=2, batch=1, crop=16, resume=True), data,
              progress=False)


def test_validation_pairs_are_in_the_train_split(shared_data) -> None:
    from sgdfuse_ros.datasets import EVAL_SETS, find_pairs

    assert not set(VALIDATION) & set(EVAL_SETS)
    for name, stems in VALIDATION.items():
        pairs, _ = find_pairs(shared_data / "ivif" / name)
        assert set(stems) <= {p.name for p in pairs}


def test_selection_rule_counts_wins_per_group_and_breaks_ties_by_rank() -> None:
    from sgdfuse_ros.metrics import DEFAULT_METRICS
    from sgdfuse_ros.training.select import choose, mean_rank, wins

    def row(value: float, **overrides: float) -> dict[str, float]:
        return {k: overrides.get(k, value) for k in DEFAULT_METRICS}

    table = {
        "average": {"pairs": row(1.0), "video": row(1.0)},
        "gff": {"pairs": row(2.0), "video": row(2.0)},
        "a": {"pairs": row(3.0), "video": row(1.5)},  # beats average 18, gff 9
        "b": {"pairs": row(3.0, EN=2.0), "video": row(2.5)},  # ties with gff on pairs EN: not a win
        "c": {"pairs": row(4.0, EN=2.0), "video": row(2.5)},  # same wins as b, better rank
    }
    assert wins(table["a"], table["average"]) == 18 and wins(table["a"], table["gff"]) == 9
    assert wins(table["b"], table["gff"]) == 17
    assert mean_rank("c", table) < mean_rank("b", table)
    scores, best = choose(table, ["a", "b", "c"])
    assert scores["b"]["wins"] == {"average": 18, "gff": 17} and best == "c"


def test_selection_noise_gate_takes_a_noisy_groups_wins_away() -> None:
    from sgdfuse_ros.metrics import DEFAULT_METRICS
    from sgdfuse_ros.training.select import choose, wins

    def row(value: float, nr: float) -> dict[str, float]:
        return {**{k: value for k in DEFAULT_METRICS}, "NR gate med": nr}

    table = {
        "average": {"pairs": row(1.0, 0.7), "video": row(1.0, 0.7)},
        "gff": {"pairs": row(2.0, 1.1), "video": row(2.0, 1.1)},  # a baseline is never gated
        "grainy": {"pairs": row(5.0, 1.6), "video": row(5.0, 0.9)},  # beats everything, grainy on pairs
        "clean": {"pairs": row(3.0, 0.9), "video": row(3.0, 1.0)},  # NR exactly at the gate passes
    }
    assert wins(table["grainy"], table["gff"]) == 9 and wins(table["grainy"], table["gff"], float("inf")) == 18
    scores, best = choose(table, ["grainy", "clean"])
    assert scores["grainy"]["wins"] == {"average": 9, "gff": 9} and scores["grainy"]["gated_out"] == ["pairs"]
    assert scores["clean"]["wins"] == {"average": 18, "gff": 18} and best == "clean"
    assert choose(table, ["grainy", "clean"], max_nr=float("inf"))[1] == "grainy"  # without the gate
    table["grainy"]["video"]["NR gate med"] = 1.2
    assert choose(table, ["grainy"])[1] is None  # grainier than the sources everywhere: nothing is selected


def test_selection_candidates_are_checkpoints_or_pipeline_specs_and_agree() -> None:
    from sgdfuse_ros.training.select import candidate_fuse

    rng = np.random.default_rng(0)
    ir, vis = (rng.integers(0, 256, (48, 64), dtype=np.uint8) for _ in range(2))
    direct = candidate_fuse("sgdfuse_ros/weights/stage1.pt")(ir, vis)
    through_pipeline = candidate_fuse("stage1:runtime.backend=cpu")(ir, vis)
    assert direct.dtype == np.uint8 and direct.shape == (48, 64)
    np.testing.assert_array_equal(direct, through_pipeline)
    overridden = candidate_fuse("stage1:runtime.backend=cpu:stage1.weights=sgdfuse_ros/weights/stage1.pt")(ir, vis)
    np.testing.assert_array_equal(direct, overridden)  # a spec ending in .pt is still a spec
    average = candidate_fuse("average")(ir, vis).astype(float)
    assert np.abs(average - (ir.astype(float) + vis) / 2).max() <= 0.5


def test_group_sizes_count_frames_in_the_order_of_group_means() -> None:
    from sgdfuse_ros.training.select import group_means, group_sizes

    samples = [_synthetic_sample(i, 32) for i in (1, 2, 3, 5)]  # groups: synthetic, other, synthetic, synthetic
    sizes = group_sizes(samples)
    assert sizes == {"synthetic": 3, "other": 1}
    assert list(sizes) == list(group_means(lambda ir, vis: ir, samples))


def test_augment_draws_bright_ir_and_known_noise_with_clean_targets(data: TrainData) -> None:
    from sgdfuse_ros.training.data import augment

    ir, vis = data.batch(np.random.default_rng(0), 64, 32)
    ir_in, vis_in, ir_clean, vis_clean = augment(ir, vis, np.random.default_rng(1))
    again = augment(ir, vis, np.random.default_rng(1))
    assert all(torch.equal(a, b) for a, b in zip((ir_in, vis_in, ir_clean, vis_clean), again, strict=True))
    assert all(t.min() >= 0.0 and t.max() <= 1.0 for t in (ir_in, vis_in, ir_clean, vis_clean))
    brightened = ir_clean.mean(dim=(1, 2, 3)) > ir.mean(dim=(1, 2, 3)) * 1.2
    assert brightened.sum() >= 8  # gamma < 1 lifts the dark IR of the train split
    residual = (ir_in - ir_clean).std(dim=(1, 2, 3))
    assert (residual == 0).sum() >= 16 and (residual > 0.005).sum() >= 16  # half the crops get noise


def test_training_with_augment_and_the_blend_output(tmp_path, data: TrainData) -> None:
    cfg = TrainConfig(model="stage1", out=tmp_path, steps=4, batch=2, crop=32, warmup=1, val_every=0,
                      model_config={"output": "blend"}, augment=True,
                      loss=FusionLoss(ssim=1.0, intensity_target="saliency", clean_gradient=True))
    summary = train(cfg, data, progress=False)
    model, info = load_model(tmp_path / MODEL_FILE, expected_name="stage1")
    assert info["config"] == {"output": "blend"} and model.output == "blend"
    assert summary["train_config"]["augment"] and summary["train_config"]["loss"]["clean_gradient"]


def test_gate_noise_ratio_allows_for_uint8_rounding() -> None:
    """Sources whose only texture is one grey level, here and there: rounding their average up keeps both
    sources' steps, and plain NR calls it grainier than either source; the gate's ratio does not. On noisy
    sources the two agree."""
    from sgdfuse_ros.metrics import noise_ratio
    from sgdfuse_ros.training.select import gate_noise_ratio

    rng = np.random.default_rng(0)
    ramp = np.mgrid[0:240, 0:320][1] // 40

    def camera(sigma: float) -> np.ndarray:
        if sigma == 0:  # one grey level up at a tenth of the pixels
            return (80 + ramp + (rng.random(ramp.shape) < 0.1)).astype(np.uint8)
        return np.clip(np.rint(80 + ramp + rng.normal(0, sigma, ramp.shape)), 0, 255).astype(np.uint8)

    for sigma in (0.0, 6.0):
        ir, vis = camera(sigma), camera(sigma)
        average = np.floor((ir.astype(float) + vis) / 2 + 0.5).astype(np.uint8)
        plain, gate = noise_ratio(average, ir, vis), gate_noise_ratio(average, ir, vis)
        if sigma == 0:
            assert plain > 1.2 and gate < 1.0
        else:
            assert plain < 0.8 and abs(gate - plain) < 0.01 * plain
