"""Stage-1 network, SeAFusion, checkpoints, losses and the learned fusion methods."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from sgdfuse_ros.errors import CheckpointError, ConfigError
from sgdfuse_ros.methods import build_method
from sgdfuse_ros.models import build_model, load_model, save_checkpoint
from sgdfuse_ros.models.cross_attention import CrossModalFusion
from sgdfuse_ros.models.msfem import MSFEM
from sgdfuse_ros.models.transformer_block import TransformerBlock
from sgdfuse_ros.training.losses import FusionLoss, gradient_loss, intensity_loss, sobel_gradient, ssim

MODELS = ("stage1", "seafusion")


def _pair(n: int, h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, h, w, generator=g), torch.rand(n, 1, h, w, generator=g)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", [(8, 8), (37, 53), (30, 19)])
def test_output_shape_and_range_at_odd_sizes(name: str, shape: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = build_model(name).eval()
    if name == "stage1":  # random head: the output is not just the max of the inputs
        torch.nn.init.normal_(model.head.weight, std=0.5)
    ir, vis = _pair(2, *shape)
    with torch.inference_mode():
        out = model(ir * 4 - 2, vis)  # out-of-range input must still give [0, 1]
        assert out.shape == (2, 1, *shape)
        assert out.min() >= 0.0 and out.max() <= 1.0
        assert torch.isfinite(out).all()


def test_untrained_stage1_starts_from_the_pixelwise_max() -> None:
    ir, vis = _pair(1, 24, 40)
    with torch.inference_mode():
        out = build_model("stage1").eval()(ir, vis)
    assert torch.allclose(out, torch.maximum(ir, vis))


@pytest.mark.parametrize("name", MODELS)
def test_gradients_reach_every_parameter(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name).train()
    if name == "stage1":
        torch.nn.init.normal_(model.head.weight, std=0.1)
    ir, vis = _pair(2, 32, 32)
    total, _ = FusionLoss()(model(ir * 0.5 + 0.25, vis * 0.5 + 0.25), ir, vis)
    total.backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead


def test_components_keep_shape() -> None:
    x, y = torch.rand(1, 16, 9, 13), torch.rand(1, 16, 9, 13)
    assert MSFEM(16)(x).shape == x.shape
    assert TransformerBlock(16, heads=2)(x).shape == x.shape
    assert CrossModalFusion(16, heads=2)(x, y).shape == x.shape


def test_transformer_attention_cost_is_linear_in_pixels() -> None:
    from sgdfuse_ros.models.flops import fusion_gflops

    class Wrap(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = TransformerBlock(16)

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return self.block(a.expand(-1, 16, -1, -1))

    small, big = fusion_gflops(Wrap(), (32, 32)), fusion_gflops(Wrap(), (64, 64))
    assert big == pytest.approx(4 * small, rel=0.01)


def test_stage1_flops_budget_at_640x480() -> None:
    from sgdfuse_ros.models.flops import fusion_gflops

    gflops = fusion_gflops(build_model("stage1").eval(), (480, 640))
    assert 1.0 < gflops <= 30.0
    assert sum(p.numel() for p in build_model("seafusion").parameters()) == 166_883  # the original's count


@pytest.mark.parametrize("name", MODELS)
def test_checkpoint_round_trip(tmp_path, name: str) -> None:
    torch.manual_seed(1)
    model = build_model(name).eval()
    for p in model.parameters():  # move away from the initial values
        torch.nn.init.normal_(p, std=0.05)
    path = save_checkpoint(tmp_path / f"{name}.pt", name, {}, model, {"note": "test"})
    loaded, info = load_model(path, expected_name=name)
    assert info["model"] == name and info["meta"] == {"note": "test"}
    ir, vis = _pair(1, 20, 28)
    with torch.inference_mode():
        assert torch.equal(model(ir, vis), loaded(ir, vis))


def test_checkpoint_errors_name_the_file(tmp_path) -> None:
    model = build_model("seafusion")
    good = save_checkpoint(tmp_path / "sea.pt", "seafusion", {}, model)
    with pytest.raises(CheckpointError, match=r"missing\.pt"):
        load_model(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match=r"corrupt\.pt"):
        load_model(corrupt)
    with pytest.raises(CheckpointError, match="expected 'stage1'"):
        load_model(good, expected_name="stage1")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not an sgdfuse checkpoint"):
        load_model(foreign)
    mismatched = save_checkpoint(tmp_path / "mismatch.pt", "stage1", {"dim": 8}, build_model("stage1", dim=8))
    ckpt = torch.load(mismatched, weights_only=True)
    ckpt["config"] = {}  # weights of a dim-8 net announced as the default dim-16 one
    torch.save(ckpt, mismatched)
    with pytest.raises(CheckpointError, match=r"mismatch\.pt.*do not fit"):
        load_model(mismatched)
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("nope")


def test_losses() -> None:
    x = torch.rand(2, 1, 24, 24)
    flat = torch.full((1, 1, 24, 24), 0.3)
    assert sobel_gradient(flat).abs().max() == 0.0
    ir, vis = x[:1], x[1:]
    assert intensity_loss(torch.maximum(ir, vis), ir, vis) == 0.0
    assert gradient_loss(ir, ir, torch.zeros_like(ir)) == 0.0
    assert gradient_loss(flat, ir, vis) > 0.0
    assert ssim(ir, ir).item() == pytest.approx(1.0, abs=1e-5)
    total, terms = FusionLoss(intensity=1.0, gradient=10.0, ssim=0.5)(vis, ir, vis)
    expected = terms["intensity"] + 10 * terms["gradient"] + 0.5 * terms["ssim"]
    assert total.item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ConfigError):
        FusionLoss(gradient=-1.0)


def test_learned_methods_run_on_numpy(tmp_path) -> None:
    path = save_checkpoint(tmp_path / "s1.pt", "stage1", {}, build_model("stage1"))
    fuse = build_method("stage1", weights=str(path))
    rng = np.random.default_rng(0)
    ir, vis = rng.random((31, 45), np.float32), rng.random((31, 45), np.float32)
    out = fuse(ir, vis)
    assert out.dtype == np.float32 and out.shape == (31, 45)
    np.testing.assert_allclose(out, np.maximum(ir, vis), atol=1e-6)
    with pytest.raises(CheckpointError, match="expected 'seafusion'"):
        build_method("seafusion", weights=str(path))
    with pytest.raises(ConfigError, match="device"):
        build_method("stage1", weights=str(path), device="nonsense")


@pytest.mark.parametrize("name", MODELS)
def test_shipped_weights_load(name: str) -> None:
    from sgdfuse_ros.weights import WEIGHTS_DIR

    if not (WEIGHTS_DIR / f"{name}.pt").exists():
        pytest.fail(f"shipped weights {WEIGHTS_DIR / name}.pt missing")
    fuse = build_method(name)
    out = fuse(np.full((16, 16), 0.2, np.float32), np.full((16, 16), 0.6, np.float32))
    assert out.shape == (16, 16) and out.min() >= 0.0 and out.max() <= 1.0
    assert fuse.checkpoint["meta"]["validation"]  # trained, with validation results recorded


def test_blend_output_starts_at_the_average_and_stays_within_its_bounds() -> None:
    from sgdfuse_ros.models.stage1 import MAX_DETAIL_GAIN

    ir, vis = _pair(1, 24, 40)
    model = build_model("stage1", output="blend").eval()
    with torch.inference_mode():
        assert torch.allclose(model(ir, vis), (ir + vis) / 2, atol=1e-6)
        torch.manual_seed(1)
        torch.nn.init.normal_(model.head.weight, std=2.0)  # any head: a convex base, a bounded detail gain
        flat_ir, flat_vis = torch.full_like(ir, 0.2), torch.full_like(vis, 0.6)
        out = model(flat_ir, flat_vis)  # flat sources: no detail, so only a blend of 0.2 and 0.6
        assert out.min() >= 0.2 - 1e-6 and out.max() <= 0.6 + 1e-6
        noise = 0.5 + 0.05 * torch.randn(1, 1, 64, 64)
        detail = model(noise, torch.full_like(noise, 0.5)) - 0.5
        assert detail.std() <= MAX_DETAIL_GAIN * (noise - 0.5).std()  # grain at most 1.5x the source's
    with pytest.raises(ConfigError, match="output"):
        build_model("stage1", output="free")


def test_saliency_prior_starts_as_a_choice_of_the_salient_source() -> None:
    model = build_model("stage1", output="blend", base_radius=7, detail_radius=1, prior="saliency").eval()
    g = torch.Generator().manual_seed(0)
    texture = 0.1 * torch.randn(1, 1, 64, 96, generator=g)
    ir, vis = torch.full((1, 1, 64, 96), 0.3), torch.full((1, 1, 64, 96), 0.5)
    ir[..., :40] += texture[..., :40]  # IR has the texture on the left, VIS on the right
    vis[..., 56:] += texture[..., 56:]
    with torch.inference_mode():
        fused = model(ir, vis)
    left, right = (slice(8, 32), slice(64, 88))
    # untrained, the detail is (almost all) the textured source's, at its full gain, not the average's half
    for side in (left, right):
        gain = (fused[..., side] - fused[..., side].mean()).std() / texture[..., side].std()
        assert 0.85 < gain <= 1.0
    with pytest.raises(ConfigError, match="prior"):
        build_model("stage1", output="blend", prior="gff")
    with pytest.raises(ConfigError, match="detail_radius"):
        build_model("stage1", output="blend", base_radius=2, detail_radius=2)


def test_fixed_detail_gains_and_source_bound() -> None:
    """Fixed gains replace the learned per-pixel gains; the bound keeps every pixel within the sources'
    local range (a mid-layer gain above 1 alone would overshoot a step edge: a halo no source explains)."""
    config = {"output": "blend", "base_radius": 7, "detail_radius": 1, "prior": "saliency"}
    torch.manual_seed(0)
    learned = build_model("stage1", **config).eval()
    with torch.no_grad():
        learned.head.bias.normal_()  # learned gains far from the fixed ones
    ir = torch.full((1, 1, 48, 64), 0.2)
    ir[..., 24:, 20:40] = 0.9  # a hot target on a cool background
    vis = 0.4 + 0.02 * torch.randn(1, 1, 48, 64)
    outputs = {}
    for name, extra in {"fixed": {"detail_gains": [0.5, 1.5]}, "bounded": {"detail_gains": [0.5, 1.5],
                                                                           "bound_radius": 3}}.items():
        model = build_model("stage1", **config, **extra).eval()
        model.load_state_dict(learned.state_dict())
        other = build_model("stage1", **config, **extra).eval()  # other learned gain logits, same otherwise
        state = learned.state_dict()
        state["head.bias"] = state["head.bias"].clone()
        state["head.bias"][2::2] += 3.0
        other.load_state_dict(state)
        with torch.inference_mode():
            outputs[name] = model(ir, vis)
            assert torch.equal(outputs[name], other(ir, vis))  # the s logits no longer matter
    high = torch.nn.functional.max_pool2d(torch.cat([ir, vis], 1), 7, 1, 3).amax(1, keepdim=True)
    low = -torch.nn.functional.max_pool2d(-torch.cat([ir, vis], 1), 7, 1, 3).amax(1, keepdim=True)
    beyond = lambda f: (f - high).clamp(min=0) + (low - f).clamp(min=0)  # noqa: E731
    assert beyond(outputs["fixed"]).max() > 0.02  # the mid gain overshoots at the target's edge
    assert beyond(outputs["bounded"]).max() < 1e-6
    with pytest.raises(ConfigError, match="detail_gains"):
        build_model("stage1", **config, detail_gains=[0.5])
    with pytest.raises(ConfigError, match="bound_radius"):
        build_model("stage1", **config, bound_radius=-1)
    with pytest.raises(ConfigError, match="output='blend'"):
        build_model("stage1", bound_radius=3)


def test_objective_options_against_noise_and_wash_out() -> None:
    from sgdfuse_ros.training.losses import guided_smooth, saliency_target

    torch.manual_seed(0)
    step = torch.zeros(1, 1, 40, 40)
    step[..., 20:] = 0.6
    noisy = step + 0.01 * torch.randn_like(step)
    smooth = guided_smooth(noisy)
    assert (smooth - step)[..., 4:16].std() < 0.4 * (noisy - step)[..., 4:16].std()  # grain goes
    assert (smooth[..., 22:].mean() - smooth[..., :18].mean()).item() == pytest.approx(0.6, abs=0.02)  # edge stays
    # the noisy source earns no gradient target the clean one would not give
    clean = gradient_loss(step, noisy, step, clean=True)
    assert clean < 0.5 * gradient_loss(step, noisy, step)
    # two bright sources: the saliency target stays between them (max would take the brighter everywhere)
    bright_ir = 0.7 + 0.1 * torch.rand(1, 1, 32, 32)
    bright_vis = 0.6 + 0.2 * (torch.arange(32.0) / 31).expand(1, 1, 32, 32)
    target = saliency_target(bright_ir, bright_vis)
    assert (target <= torch.maximum(bright_ir, bright_vis) + 1e-6).all()
    assert (target >= torch.minimum(bright_ir, bright_vis) - 1e-6).all()
    assert target.mean() < torch.maximum(bright_ir, bright_vis).mean() - 0.01
    assert intensity_loss(target, bright_ir, bright_vis, "saliency") == 0.0
    with pytest.raises(ConfigError, match="intensity_target"):
        FusionLoss(intensity_target="min")


def test_box_mean_is_the_2d_box_with_replicate_border():
    from sgdfuse_ros.models.layers import box_mean

    x = torch.rand(1, 2, 23, 31, generator=torch.Generator().manual_seed(0))
    for radius in (1, 4, 15):
        padded = torch.nn.functional.pad(x, (radius,) * 4, mode="replicate")
        reference = torch.nn.functional.avg_pool2d(padded, 2 * radius + 1, stride=1)
        torch.testing.assert_close(box_mean(x, radius), reference, atol=1e-5, rtol=0)  # float rounding


def test_weight_sharpness_sets_the_base_weight_apart() -> None:
    """A sharper base-weight prior moves the base toward the more salient source (a hot IR target) and leaves
    the detail choices alone; unset, it is the detail choices' sharpness."""
    config = {"output": "blend", "base_radius": 7, "detail_radius": 1, "prior": "saliency", "prior_sharpness": 2.0,
              "detail_gains": [0.0, 0.0]}  # base layer only
    ir = torch.full((1, 1, 48, 64), 0.2)
    ir[..., 16:40, 20:44] = 0.9  # a hot target: IR is the salient source there
    vis = torch.full((1, 1, 48, 64), 0.5)
    vis[..., :, 32:] = 0.6
    with torch.inference_mode():
        out = {s: build_model("stage1", **config, weight_sharpness=s).eval()(ir, vis) for s in (None, 2.0, 16.0)}
    assert torch.equal(out[None], out[2.0])
    centre = (..., 28, 32)
    assert abs(out[16.0][centre] - ir[centre]) < 0.5 * abs(out[2.0][centre] - ir[centre])
    with pytest.raises(ConfigError, match="weight_sharpness"):
        build_model("stage1", **config, weight_sharpness=-1.0)
    with pytest.raises(ConfigError, match="output='blend'"):
        build_model("stage1", weight_sharpness=4.0)
