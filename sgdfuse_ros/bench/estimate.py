"""Roofline *estimate* of GPU latency from a model's FLOPs and convolution traffic (no GPU needed).

    time ~ max(FLOPs / (efficiency x fp16 peak), traffic / (bandwidth efficiency x memory bandwidth))

``traffic`` counts, for every convolution, its input and output activations in fp16 (TensorRT fuses
the element-wise ops around convolutions into them, so those add no traffic of their own; weights are
negligible for these small networks). Small-channel convolutions use a small fraction of tensor-core
peak, so the efficiency is a stated assumption, not a measurement: docs/jetson.md uses this for Jetson Orin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..runtime.base import ModelIO


@dataclass(frozen=True)
class GpuSpec:
    name: str
    fp16_tflops: float  # dense tensor-core fp16 peak
    bandwidth_gbs: float  # DRAM bandwidth


# Published peaks (NVIDIA Jetson Orin technical brief / datasheets): AGX Orin 64 GB GPU 170 sparse INT8 TOPS
# -> 85 dense INT8 -> ~42.5 dense FP16; Orin Nano 8 GB "Super" 67 sparse INT8 TOPS -> ~16.8 dense FP16.
ORIN = (GpuSpec("Jetson AGX Orin 64GB (MAXN)", 42.5, 204.8),
        GpuSpec("Jetson Orin Nano 8GB Super", 16.8, 102.0))


def conv_traffic_mb(module: nn.Module, io: ModelIO, height: int, width: int,
                    bytes_per_value: int = 2) -> float:
    """MB read + written by the convolutions of one call (fp16 activations by default)."""
    total = 0

    def hook(_: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += (inputs[0].numel() + output.numel()) * bytes_per_value

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.inference_mode():
            module(*io.example_inputs(height, width).values())
    finally:
        for h in handles:
            h.remove()
    return total / 1e6


def roofline_ms(gflops: float, traffic_mb: float, gpu: GpuSpec, efficiency: float,
                bandwidth_efficiency: float = 0.6) -> dict[str, Any]:
    """Compute-bound and memory-bound times and their max, in ms, under the stated efficiencies."""
    compute = gflops / (efficiency * gpu.fp16_tflops * 1e3) * 1e3
    memory = traffic_mb / (bandwidth_efficiency * gpu.bandwidth_gbs * 1e3) * 1e3
    return {"gpu": gpu.name, "efficiency": efficiency, "bandwidth_efficiency": bandwidth_efficiency,
            "compute_ms": compute, "memory_ms": memory, "estimate_ms": max(compute, memory)}


def estimate_table(result: dict[str, Any], efficiencies: tuple[float, ...] = (0.10, 0.25)) -> str:
    """Markdown: estimated Orin latency per benchmarked pipeline and size, from a ``sgdfuse bench`` JSON."""
    models = result["models"]
    pipelines: dict[str, list[str]] = {}
    for case in result["cases"]:
        pipelines.setdefault(case["label"], case["models"])
    lines = ["| pipeline (models) | size | GFLOPs | conv traffic MB | "
             + " | ".join(f"{gpu.name} e={e:.0%}" for gpu in ORIN for e in efficiencies) + " |",
             "|---|---|---:|---:|" + "---:|" * len(ORIN) * len(efficiencies)]
    for label, names in pipelines.items():
        if not names:
            continue
        for size in result["settings"]["sizes"]:
            gflops = sum(models[n]["gflops"][size] for n in names)
            traffic = sum(models[n]["conv_traffic_mb_fp16"][size] for n in names)
            cells = " | ".join(f"{roofline_ms(gflops, traffic, gpu, e)['estimate_ms']:.1f} ms"
                               for gpu in ORIN for e in efficiencies)
            lines.append(f"| {label} ({' + '.join(names)}) | {size} | {gflops:.1f} | {traffic:.0f} | {cells} |")
    return "\n".join(lines) + "\n"


_NO_TRAFFIC = {"view", "_unsafe_view", "reshape", "expand", "permute", "slice", "select", "t", "unsqueeze",
               "squeeze", "alias", "as_strided", "detach", "lift_fresh", "transpose", "empty", "_to_copy", "to",
               "chunk", "split", "unbind", "flatten"}


def op_traffic_mb(module: nn.Module, inputs: tuple[torch.Tensor, ...], conv_bytes: int = 2) -> dict[str, float]:
    """MB read + written by one call, per kind: ``conv`` (input and output activations at ``conv_bytes`` per
    value, as ``conv_traffic_mb``) and ``other`` (every other op, unfused, at its own dtype: an upper bound
    for an engine that fuses elementwise chains). Views and dtype casts count nothing."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    totals = {"conv": 0, "other": 0}

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__
            if name in ("convolution", "conv2d"):
                totals["conv"] += (args[0].numel() + out.numel()) * conv_bytes
            elif name not in _NO_TRAFFIC:
                tensors = [t for t in tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor)]
                totals["other"] += sum(t.numel() * t.element_size() for t in tensors)
            return out

    with torch.inference_mode(), Count():
        module(*inputs)
    return {kind: value / 1e6 for kind, value in totals.items()}


def frame_estimate_rows(label: str, size: str, gflops: float, traffic: dict[str, float],
                        efficiencies: tuple[float, ...] = (0.10, 0.25)) -> list[str]:
    """Markdown rows of a frame graph's Orin estimate: conv traffic only, then with the other ops unfused."""
    rows = []
    for what, mb in (("conv", traffic["conv"]), ("conv + other ops unfused", traffic["conv"] + traffic["other"])):
        cells = " | ".join(f"{roofline_ms(gflops, mb, gpu, e)['estimate_ms']:.1f} ms" for gpu in ORIN
                           for e in efficiencies)
        rows.append(f"| {label} | {size} | {gflops:.1f} | {what}: {mb:.0f} | {cells} |")
    return rows


def frame_estimate_header(efficiencies: tuple[float, ...] = (0.10, 0.25)) -> list[str]:
    return ["| frame graph | size | GFLOPs | traffic MB | "
            + " | ".join(f"{gpu.name} e={e:.0%}" for gpu in ORIN for e in efficiencies) + " |",
            "|---|---|---:|---|" + "---:|" * len(ORIN) * len(efficiencies)]
