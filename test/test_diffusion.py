"""Noise schedule, DDIM sampler, pseudo-target and refiner losses (no network training, fast)."""

import itertools

import numpy as np
import pytest
import torch

from sgdfuse_ros.diffusion import NoiseSchedule, ddim_sample, ddim_timesteps
from sgdfuse_ros.errors import ConfigError
from sgdfuse_ros.training.distill import unrolled_sample
from sgdfuse_ros.training.refiner_losses import RefinerLoss
from sgdfuse_ros.training.target import forward_gradient, pseudo_target, screened_poisson

rng = np.random.default_rng(0)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_alphas_cumprod_decrease_strictly_inside_0_1(kind):
    s = NoiseSchedule(kind, 1000)
    a = s.alphas_cumprod
    assert a.shape == (1000,) and bool((a[1:] < a[:-1]).all())
    assert 0.0 < float(a[-1]) < 1e-2 and 0.99 < float(a[0]) < 1.0
    assert float(s.alpha_bar(torch.tensor(-1))) == 1.0  # "clean" end of the sampler


def test_bad_schedule_is_a_config_error():
    with pytest.raises(ConfigError, match="noise schedule"):
        NoiseSchedule("sigmoid")
    with pytest.raises(ConfigError, match="timesteps"):
        NoiseSchedule("cosine", 1)


def test_ddim_timesteps_are_trailing_and_checked():
    assert ddim_timesteps(1000, 1) == [999]
    assert ddim_timesteps(1000, 2) == [999, 499]
    ts = ddim_timesteps(1000, 20)
    assert len(ts) == 20 and ts[0] == 999 and all(a > b for a, b in itertools.pairwise(ts))
    with pytest.raises(ConfigError):
        ddim_timesteps(1000, 0)


def _toy_model():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    return lambda x, t: torch.tanh(conv(x) + t[:, None, None, None] / 1000)


def test_ddim_with_eta_0_is_deterministic_and_depends_on_the_noise():
    s, model = NoiseSchedule(), _toy_model()
    noise = torch.randn(2, 1, 9, 11, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a, b = ddim_sample(model, s, noise, 4), ddim_sample(model, s, noise.clone(), 4)
        c = ddim_sample(model, s, noise + 0.5, 4)
    assert torch.equal(a, b) and not torch.allclose(a, c)


@pytest.mark.parametrize("steps", [1, 2, 7, 50])
def test_ddim_returns_x0_when_the_model_predicts_it(steps):
    s = NoiseSchedule("cosine", 1000)
    x0 = torch.rand(1, 1, 8, 8) * 2 - 1
    out = ddim_sample(lambda x, t: x0, s, torch.randn(1, 1, 8, 8), steps)
    assert torch.allclose(out, x0, atol=1e-6)


def test_forward_noising_keeps_unit_variance():
    s = NoiseSchedule()
    x0 = torch.randn(4096)
    for t in (0, 500, 999):
        xt = s.q_sample(x0[None], torch.tensor([t]), torch.randn(1, 4096))
        assert abs(float(xt.std()) - 1.0) < 0.08


def test_unrolled_student_sample_matches_the_sampler_and_has_gradients():
    s = NoiseSchedule()
    net = torch.nn.Conv2d(2, 1, 3, padding=1)
    cond = torch.rand(1, 1, 10, 10)
    model = lambda x, t, c: torch.tanh(net(torch.cat([x, c], 1)))  # noqa: E731
    noise = torch.randn(1, 1, 10, 10)
    out = unrolled_sample(model, s, cond, noise, 2)
    out.abs().mean().backward()
    with torch.no_grad():
        ref = ddim_sample(lambda x, t: model(x, t, cond), s, noise, 2)
    assert torch.allclose(out, ref, atol=1e-6) and net.weight.grad is not None



def test_student_loss_adds_the_pseudo_target_term_only_when_weighted():
    from sgdfuse_ros.training.distill import DistillConfig, _student_loss

    torch.manual_seed(0)
    net = torch.nn.Conv2d(6, 1, 3, padding=1)
    student = lambda x, t, c: torch.tanh(net(torch.cat([x, c], 1)))  # noqa: E731
    b = {k: torch.rand(2, 1, 12, 12) for k in ("initial", "ir", "vis", "m_ir", "m_vis", "target")}
    b["noise"], b["teacher"] = torch.randn(2, 1, 12, 12), torch.zeros(2, 1, 12, 12)
    plain_total, plain = _student_loss(student, NoiseSchedule(), DistillConfig("o", "t"), 255.0, b)
    total, terms = _student_loss(student, NoiseSchedule(), DistillConfig("o", "t", target_weight=2.0), 255.0, b)
    total, plain_total = total.detach(), plain_total.detach()
    assert "target" not in plain and terms["target"] > 0
    assert total.item() == pytest.approx(plain_total.item() + 2.0 * terms["target"], rel=1e-5)
    with pytest.raises(ConfigError, match="target_weight"):
        DistillConfig("o", "t", target_weight=-1.0)

def test_screened_poisson_rebuilds_an_image_from_its_own_gradients():
    img = rng.random((23, 31)).astype(np.float32)
    gx, gy = forward_gradient(img)
    assert np.abs(screened_poisson(img, gx, gy, 0.1) - img).max() < 1e-5
    shifted = screened_poisson(img + 0.2, gx, gy, 0.1)  # the anchor sets the mean, gradients the details
    assert abs(float((shifted - img).mean()) - 0.2) < 1e-4


def test_pseudo_target_keeps_the_initial_where_it_already_matches_and_follows_ir_in_masks():
    ir = np.zeros((40, 40), np.float32)
    ir[10:20, 10:20] = 0.9  # a hot target on a cold background
    vis = np.full((40, 40), 0.3, np.float32)
    zeros = np.zeros_like(ir)
    plain = pseudo_target(ir, vis, vis, zeros, zeros, lam=0.05, mask_gain=0.0)
    assert plain.min() >= 0.0 and plain.max() <= 1.0
    m_ir = np.zeros_like(ir)
    m_ir[8:22, 8:22] = 1.0
    guided = pseudo_target(ir, vis, vis, m_ir, zeros, lam=0.05, mask_gain=0.5)
    assert guided[12:18, 12:18].mean() > plain[12:18, 12:18].mean() + 0.1  # never darker than the IR in its mask
    assert abs(guided[30:, 30:].mean() - 0.3) < 0.05  # background stays close to the initial fusion


def test_refiner_loss_is_smallest_at_its_target_and_checks_weights():
    ir = torch.rand(1, 1, 16, 16)
    vis = torch.rand(1, 1, 16, 16)
    m = torch.zeros(1, 1, 16, 16)
    x0 = torch.zeros(1, 1, 16, 16)
    loss = RefinerLoss(denoise=1.0, intensity=1.0, gradient=0.0)
    at_target, terms = loss(x0, x0, torch.maximum(ir, vis), ir, vis, m, m)
    off, _ = loss(x0 + 0.3, x0, torch.maximum(ir, vis) * 0.5, ir, vis, m, m)
    assert float(at_target) < 1e-6 and float(off) > 0.3 and set(terms) == {"denoise", "intensity", "gradient"}
    with pytest.raises(ConfigError):
        RefinerLoss(gradient=-1.0)


def test_refiner_task_losses_outside_the_masks_follow_outside_weight():
    ir, vis, fused = (torch.rand(1, 1, 16, 16) for _ in range(3))
    m = torch.zeros(1, 1, 16, 16)
    m[..., 4:8, 4:8] = 1.0
    x0 = torch.zeros(1, 1, 16, 16)
    _, everywhere = RefinerLoss()(x0, x0, fused, ir, vis, m, m)
    _, inside = RefinerLoss(outside_weight=0.0)(x0, x0, fused, ir, vis, m, m)
    _, no_mask = RefinerLoss(outside_weight=0.0)(x0, x0, fused, ir, vis, m * 0, m * 0)
    assert everywhere["intensity"] > inside["intensity"] > 0 and everywhere["gradient"] > inside["gradient"] > 0
    assert no_mask["intensity"] == no_mask["gradient"] == 0.0  # only the denoising term is left


def test_mu_law_residual_round_trip_and_range():
    from sgdfuse_ros.diffusion.condition import decode_residual, encode_residual

    r = torch.linspace(-1, 1, 201)
    x = encode_residual(r, 255.0)
    assert float(x.abs().max()) <= 1.0 + 1e-6 and bool((x[1:] > x[:-1]).all())
    assert torch.allclose(decode_residual(x, 255.0), r, atol=1e-5)
    assert float(encode_residual(torch.tensor(0.004), 255.0)) > 0.1  # one grey level: 10x the linear value


def test_contrast_stretch_is_monotone_with_a_soft_shoulder():
    from sgdfuse_ros.diffusion.contrast import ContrastStretch

    img = rng.random((50, 60)).astype(np.float32) * 0.5 + 0.2
    s = ContrastStretch.fit(img, 0.5, 99.5, 0.9)
    x = np.linspace(0, 1, 501, dtype=np.float32)
    y = s(x)
    assert np.all(np.diff(y) >= 0) and y.min() == 0.0 and y.max() < 1.0  # monotone, never clips at white
    lo, hi = np.percentile(img, [0.5, 99.5])
    assert abs(float(s(np.float32(lo)))) < 1e-6 and abs(float(s(np.float32((lo + hi) / 2))) - 0.5) < 1e-5
    flat = ContrastStretch.fit(np.full((10, 10), 0.4, np.float32))
    assert (flat.lo, flat.hi) == (0.0, 1.0)
    with pytest.raises(ConfigError):
        ContrastStretch.fit(img, 50, 10)
