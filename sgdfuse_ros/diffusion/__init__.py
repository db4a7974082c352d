"""Diffusion machinery of the stage-2 refiner, kept apart from the networks (as diffusers' ``schedulers/``):
the noise schedule, the deterministic DDIM sampler, the pseudo-target, the refiner losses and distillation.
"""

from .sampler import ddim_sample, ddim_timesteps
from .schedule import NoiseSchedule

__all__ = ["NoiseSchedule", "ddim_sample", "ddim_timesteps"]
