"""The refiner network and its fixed-step sampler as one module: what every backend runs and exports.

    (initial, ir, vis, mask_ir, mask_vis, noise) -> condition -> step 1 .. step N -> refined luma
      -> (``bound_radius`` > 0) clamped to the local range of [initial, ir, vis] (``condition.bound_to_sources``)

Why unrolled rather than one graph per step (one small engine reused N times): the student runs a few
steps (1-4), and the sampler (``sampler.ddim_sample``) is a Python loop whose coefficients are Python
floats of the fixed schedule, so tracing it yields the whole sampler as plain graph ops. Unrolled, a frame
is one launch (one TensorRT enqueue / one CUDA graph replay, no host round trip per step, which matters on
Jetson where launch and sync overheads are large next to these small convolutions), the timestep
embeddings and their MLPs become constants folded at export, the condition is built once, and TensorRT
fuses the DDIM update arithmetic into neighbouring kernels. The costs: the engine holds the weights N
times (the student is small) and a different step count is another graph (another model hash and engine).
"""

from __future__ import annotations

import torch
from torch import nn

from .condition import bound_to_sources, condition, refine_residual, refined_image
from .schedule import NoiseSchedule


class RefinerGraph(nn.Module):
    """The refiner network, its fixed-step sampler and the output bound as one module (what is exported and run)."""

    def __init__(self, net: nn.Module, schedule: NoiseSchedule, steps: int, mode: str, scale: float,
                 bound_radius: int = 0) -> None:
        super().__init__()
        self.net, self.schedule, self.steps, self.mode, self.scale = net, schedule, steps, mode, scale
        self.bound_radius = bound_radius  # 0: the refined luma is not clamped to the sources

    def forward(self, initial: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, mask_ir: torch.Tensor,
                mask_vis: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        cond = condition(initial, ir, vis, mask_ir, mask_vis)
        x0 = refine_residual(self.net, self.schedule, cond, self.steps, noise, self.mode)
        refined = refined_image(initial, x0, self.scale)
        if self.bound_radius:
            refined = bound_to_sources(refined, torch.cat([initial, ir, vis], dim=1), self.bound_radius)
        return refined
