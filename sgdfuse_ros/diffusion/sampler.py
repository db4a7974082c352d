"""Deterministic DDIM sampling (Song et al. 2021, eta = 0) with an x0-predicting network, any step count.

Each step: x0_hat = model(x_t, t); eps_hat = (x_t - sqrt(a_t) x0_hat) / sqrt(1 - a_t);
x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev) eps_hat. The last step lands on a_prev = 1, i.e. returns
x0_hat. Timesteps are "trailing" (the first step always starts at T - 1, pure noise for the cosine
schedule), so a 1-step sampler is a single x0 prediction from noise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import ConfigError
from .schedule import NoiseSchedule

X0Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t float (N,)) -> x0_hat


def ddim_timesteps(timesteps: int, steps: int) -> list[int]:
    """``steps`` integer timesteps from T - 1 down, evenly spaced ("trailing"): 2 of 1000 -> [999, 499]."""
    if not 1 <= steps <= timesteps:
        raise ConfigError(f"sampling steps must lie in 1..{timesteps}, got {steps}")
    return [round(timesteps - k * timesteps / steps) - 1 for k in range(steps)]


def ddim_step(schedule: NoiseSchedule, x_t: torch.Tensor, x0_hat: torch.Tensor, t: int, t_prev: int
              ) -> torch.Tensor:
    """One deterministic DDIM update from timestep ``t`` to ``t_prev`` (-1: the clean sample)."""
    a_t = float(schedule.alpha_bar(torch.tensor(t)))
    a_prev = float(schedule.alpha_bar(torch.tensor(t_prev)))
    if t_prev < 0:
        return x0_hat
    eps_hat = (x_t - a_t**0.5 * x0_hat) / (1 - a_t) ** 0.5
    return a_prev**0.5 * x0_hat + (1 - a_prev) ** 0.5 * eps_hat


def ddim_sample(model: X0Model, schedule: NoiseSchedule, noise: torch.Tensor, steps: int,
                clip: float | None = 1.0) -> torch.Tensor:
    """Run ``steps`` DDIM steps from ``noise`` (x_T); x0 predictions are clamped to +-``clip`` if given."""
    ts = ddim_timesteps(schedule.timesteps, steps)
    x = noise
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        x0_hat = model(x, torch.full((x.shape[0],), float(t), device=x.device))
        if clip is not None:
            x0_hat = x0_hat.clamp(-clip, clip)
        x = ddim_step(schedule, x, x0_hat, t, t_prev)
    return x
