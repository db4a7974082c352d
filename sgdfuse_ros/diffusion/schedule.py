"""DDPM noise schedules: betas -> alphas_cumprod, and the forward (noising) process q(x_t | x_0).

``cosine`` is Nichol & Dhariwal 2021 (betas clipped at 0.999); ``linear`` is Ho et al. 2020
(1e-4 .. 0.02 over 1000 steps, rescaled for other lengths). Timesteps are integers 0 .. T-1;
``alphas_cumprod[t]`` is the signal fraction of x_t = sqrt(a) x_0 + sqrt(1 - a) eps.
"""

from __future__ import annotations

import math

import torch

from ..errors import ConfigError

SCHEDULES = ("cosine", "linear")


def cosine_betas(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    def f(t: float) -> float:
        return math.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2

    return torch.tensor([min(1 - f(i + 1) / f(i), max_beta) for i in range(timesteps)], dtype=torch.float64)


def linear_betas(timesteps: int) -> torch.Tensor:
    scale = 1000 / timesteps
    return torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)


class NoiseSchedule:
    """Betas and cumulative alphas of a ``kind`` schedule over ``timesteps`` training steps (float32)."""

    def __init__(self, kind: str = "cosine", timesteps: int = 1000) -> None:
        if kind not in SCHEDULES:
            raise ConfigError(f"noise schedule must be one of {', '.join(SCHEDULES)}, got {kind!r}")
        if timesteps < 2:
            raise ConfigError(f"a noise schedule needs >= 2 timesteps, got {timesteps}")
        self.kind, self.timesteps = kind, int(timesteps)
        betas = cosine_betas(timesteps) if kind == "cosine" else linear_betas(timesteps)
        self.betas = betas.float()
        self.alphas_cumprod = torch.cumprod(1.0 - betas, dim=0).float()

    def alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """alphas_cumprod at integer timesteps ``t`` (any shape); t = -1 means "clean" (1.0)."""
        padded = torch.cat([torch.ones(1), self.alphas_cumprod])
        return padded[t.long() + 1]

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t for a batch: x0, noise (N, ...); t (N,) integer timesteps."""
        a = self.alpha_bar(t).to(x0).view(-1, *([1] * (x0.dim() - 1)))
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "timesteps": self.timesteps}
