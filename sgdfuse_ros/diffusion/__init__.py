"""Diffusion machinery of the stage-2 refiner, kept apart from the networks (as diffusers' ``schedulers/``):
the noise schedule, the deterministic DDIM sampler and the conditioning (``condition``, ``contrast``).
Training (pseudo-target, losses, distillation) lives in ``training/``, ablations and reports in ``evaluation/``.
"""

from .sampler import ddim_sample, ddim_timesteps
from .schedule import NoiseSchedule

__all__ = ["NoiseSchedule", "ddim_sample", "ddim_timesteps"]
