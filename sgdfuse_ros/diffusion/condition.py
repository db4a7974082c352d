"""What the refiner's diffusion generates and what it is conditioned on (shared by training and inference).

- generated sample x_0: the residual r = target - initial (luma, in [-1, 1]) companded with the mu-law,
  x_0 = sign(r) log(1 + mu |r|) / log(1 + mu), so that the many small detail corrections and the few
  large ones (IR targets) share the unit range and stand out of the noise (linear scaling leaves the
  median residual, ~0.002, far below the noise of every timestep but the last few); the refined image is
  ``initial + decode(x0_hat)``. Near r = 0 a given error in x_0 costs the image little, which keeps the
  refiner close to the initial fusion where no change is asked for.
- condition (5 channels, full resolution): [initial fusion luma, IR luma, VIS luma, IR mask, VIS mask].

``refine_residual`` runs the network either as a diffusion model (DDIM from seeded noise, any number of
steps) or, for a "direct" model (the no-diffusion ablation), as one pass on a zero x_t at t = T - 1.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from .sampler import ddim_sample
from .schedule import NoiseSchedule

COND_CHANNELS = 5
NOISES = ("seeded", "zero")  # the sampler's start x_T: a fixed-seed draw, or the prior's mean
MODES = ("diffusion", "direct")


def condition(initial: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, m_ir: torch.Tensor,
              m_vis: torch.Tensor) -> torch.Tensor:
    """(N, 5, H, W) condition from (N, 1, H, W) tensors."""
    return torch.cat([initial, ir, vis, m_ir, m_vis], dim=1)


def encode_residual(r: torch.Tensor, mu: float) -> torch.Tensor:
    """mu-law companding of a residual in [-1, 1] (clipped) to [-1, 1]."""
    r = r.clamp(-1.0, 1.0)
    return torch.sign(r) * torch.log1p(mu * r.abs()) / math.log1p(mu)


def decode_residual(x0: torch.Tensor, mu: float) -> torch.Tensor:
    """Inverse of ``encode_residual``."""
    return torch.sign(x0) * (torch.exp(x0.abs() * math.log1p(mu)) - 1.0) / mu


def residual_sample(target: torch.Tensor, initial: torch.Tensor, mu: float) -> torch.Tensor:
    """x_0 for training: the companded residual of the pseudo-target over the initial fusion."""
    return encode_residual(target - initial, mu)


def refined_image(initial: torch.Tensor, x0: torch.Tensor, mu: float) -> torch.Tensor:
    return (initial + decode_residual(x0, mu)).clamp(0.0, 1.0)


def bound_to_sources(refined: torch.Tensor, sources: torch.Tensor, radius: int) -> torch.Tensor:
    """``refined`` (N, 1, H, W) clamped to [min, max] of ``sources`` (N, C, H, W) over a (2r+1)^2 window:
    the refiner may move a pixel anywhere between the darkest and brightest source value nearby, never
    beyond (no dark rim around a hot target, no halo or overshoot that no source explains)."""
    size = 2 * radius + 1
    padded = nn.functional.pad(sources, (radius,) * 4, mode="replicate")
    high = nn.functional.max_pool2d(padded, size, stride=1).amax(dim=1, keepdim=True)
    low = -nn.functional.max_pool2d(-padded, size, stride=1).amax(dim=1, keepdim=True)
    return torch.minimum(torch.maximum(refined, low), high)


def initial_noise(shape: tuple[int, ...], noise: str = "seeded", seed: int = 0) -> torch.Tensor:
    """x_T for inference, the same for the same size (a deterministic refiner).

    ``seeded``: a draw from N(0, 1) with a fixed seed; ``zero``: x_T = 0, the prior's mean, so that nothing
    in the output depends on a particular draw (no seed-dependent texture; docs/refiner.md).
    """
    if noise not in NOISES:
        raise ConfigError(f"refiner noise must be one of {', '.join(NOISES)}, got {noise!r}")
    if noise == "zero":
        return torch.zeros(shape)
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def refine_residual(model: nn.Module, schedule: NoiseSchedule, cond: torch.Tensor, steps: int,
                    noise: torch.Tensor, mode: str = "diffusion") -> torch.Tensor:
    """x0_hat (N, 1, H, W) in [-1, 1] for a condition batch."""
    if mode not in MODES:
        raise ConfigError(f"refiner mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "direct":
        t = torch.full((cond.shape[0],), float(schedule.timesteps - 1))
        return model(torch.zeros_like(noise), t, cond)
    return ddim_sample(lambda x, t: model(x, t, cond), schedule, noise, steps)
