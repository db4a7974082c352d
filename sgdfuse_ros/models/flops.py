"""The one FLOP counter: GFLOPs of one forward call (convolutions and matmuls, one multiply-add = 2 FLOPs).

Used by the bench's model costs, the shipped checkpoints' manifests and the refiner reports.
"""

from __future__ import annotations

from typing import Any

GFLOPS_SHAPE = (480, 640)  # (H, W) of the reported figures


def gflops(module: Any, *inputs: Any) -> float:
    """FLOPs / 1e9 of ``module(*inputs)``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        module(*inputs)
    return counter.get_total_flops() / 1e9


def fusion_gflops(model: Any, shape: tuple[int, int] = GFLOPS_SHAPE, device: str = "cpu") -> float:
    """One forward of a two-input fusion network on a (1, 1, H, W) IR + VIS pair; ``shape`` is (H, W)."""
    import torch

    ir = torch.rand(1, 1, *shape, device=device)
    return gflops(model, ir, ir.clone())


def refiner_gflops(model: Any, shape: tuple[int, int] = GFLOPS_SHAPE) -> float:
    """One refiner network evaluation (x_t, t, the 5-channel condition) at ``shape`` (H, W)."""
    import torch

    h, w = shape
    return gflops(model, torch.zeros(1, 1, h, w), torch.zeros(1), torch.zeros(1, 5, h, w))
