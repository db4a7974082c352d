"""The diffusion refiner as one graph: every DDIM step of the fixed schedule unrolled, for any backend.

    (initial, ir, vis, mask_ir, mask_vis, noise) -> condition -> step 1 .. step N -> refined luma

Why unrolled rather than one graph per step (one small engine reused N times): the student runs a few
steps (2-4), and the sampler (``diffusion.sampler.ddim_sample``) is a Python loop whose coefficients are
Python floats of the fixed schedule, so tracing it yields the whole sampler as plain graph ops. Unrolled,
a frame is one launch (one TensorRT enqueue / one CUDA graph replay, no host round trip per step, which
matters on Jetson where launch and sync overheads are large next to these small convolutions), the
timestep embeddings and their MLPs become constants folded at export, the condition is built once, and
TensorRT fuses the DDIM update arithmetic into neighbouring kernels. The costs: the engine holds the
weights N times (the student is small, so this is little) and a different step count is another graph
(hence another model hash and engine). Activation memory does not grow with N: the steps run one after
the other and TensorRT reuses their buffers. The noise x_T is an input (made on the host, cached per size),
so every backend gives the same image for the same frame.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..diffusion.condition import condition, initial_noise, refine_residual, refined_image
from ..diffusion.schedule import NoiseSchedule
from .base import ModelIO
from .select import create_runtime

if TYPE_CHECKING:
    from ..refiner import DiffusionRefiner

REFINER_IO = ModelIO(
    inputs=(("initial", 1), ("ir", 1), ("vis", 1), ("mask_ir", 1), ("mask_vis", 1), ("noise", 1)),
    outputs=("refined",))


class RefinerGraph(nn.Module):
    """The refiner network and its fixed-step sampler as one module (what is exported and run)."""

    def __init__(self, net: nn.Module, schedule: NoiseSchedule, steps: int, mode: str, scale: float) -> None:
        super().__init__()
        self.net, self.schedule, self.steps, self.mode, self.scale = net, schedule, steps, mode, scale

    def forward(self, initial: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, mask_ir: torch.Tensor,
                mask_vis: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        cond = condition(initial, ir, vis, mask_ir, mask_vis)
        x0 = refine_residual(self.net, self.schedule, cond, self.steps, noise, self.mode)
        return refined_image(initial, x0, self.scale)


def refiner_graph(refiner: DiffusionRefiner) -> RefinerGraph:
    return RefinerGraph(refiner.model, refiner.schedule, refiner.steps, refiner.mode, refiner.mu).eval()


def refiner_model_name(refiner: DiffusionRefiner) -> str:
    """The model name in engine files: checkpoint stem + step count (another step count, another graph)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{refiner.name}_{refiner.steps}steps")


class RefinerRunner:
    """Runs a ``DiffusionRefiner``'s whole sampler on a runtime backend: arrays in, refined luma out."""

    def __init__(self, refiner: DiffusionRefiner, backend: str,
                 engines_dir: str | Path | None = None) -> None:
        self.noise = refiner.noise
        self.runtime = create_runtime(refiner_graph(refiner), REFINER_IO, name=refiner_model_name(refiner),
                                      backend=backend, engines_dir=engines_dir)
        self._noise: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, initial: np.ndarray, ir: np.ndarray, vis: np.ndarray, mask_ir: np.ndarray,
                 mask_vis: np.ndarray) -> np.ndarray:
        """float32 HxW arrays (one grid) -> refined luma float32 HxW."""
        shape = initial.shape
        if shape not in self._noise:
            self._noise[shape] = initial_noise((1, 1, *shape), self.noise).numpy()
        arrays = (initial, ir, vis, mask_ir, mask_vis)
        inputs = {name: np.ascontiguousarray(a, np.float32)[None, None]
                  for (name, _), a in zip(REFINER_IO.inputs, arrays, strict=False)}
        inputs["noise"] = self._noise[shape]
        return self.runtime.run(inputs)["refined"][0, 0]
