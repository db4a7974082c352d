"""Cost of a two-input fusion network: parameters, GFLOPs and forward latency at a given image size."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def count_gflops(model: Any, shape: tuple[int, int], device: str = "cpu") -> float:
    """FLOPs / 1e9 of one forward pass on a (1, 1, H, W) IR + VIS pair (one multiply-add = 2 FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    ir = torch.rand(1, 1, *shape, device=device)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(ir, ir.clone())
    return counter.get_total_flops() / 1e9


def profile_model(model: Any, shape: tuple[int, int] = (480, 640), runs: int = 5, warmup: int = 1,
                  device: str = "cpu") -> dict[str, Any]:
    """{params, gflops, latency_ms_p50, latency_ms} for ``model(ir, vis)`` on random (1, 1, H, W) inputs.

    ``shape`` is (H, W). Latency is wall-clock per forward under ``torch.inference_mode`` (CUDA is
    synchronised), after ``warmup`` untimed passes, with whatever ``torch.get_num_threads()`` is set.
    """
    import torch

    model = model.eval().to(device)
    ir, vis = torch.rand(1, 1, *shape, device=device), torch.rand(1, 1, *shape, device=device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            sync()
            start = time.perf_counter()
            model(ir, vis)
            sync()
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    params = sum(p.numel() for p in model.parameters())
    return {"params": params, "gflops": count_gflops(model, shape, device),
            "latency_ms_p50": float(np.median(times)), "latency_ms": [round(t, 2) for t in times],
            "shape_hw": list(shape), "threads": torch.get_num_threads(), "device": str(device)}
