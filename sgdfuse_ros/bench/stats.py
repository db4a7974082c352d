"""Latency statistics and peak-memory readings (no psutil: ``resource`` on the CPU, torch on CUDA)."""

from __future__ import annotations

import resource
import sys
from collections.abc import Sequence

import numpy as np

PERCENTILES = (50, 95, 99)


def summarize(samples_ms: Sequence[float]) -> dict[str, float]:
    """n, mean, min, max and p50/p95/p99 (linear interpolation) of latencies in milliseconds."""
    if len(samples_ms) == 0:
        raise ValueError("no samples to summarize")
    x = np.asarray(samples_ms, np.float64)
    out = {"n": int(x.size), "mean": float(x.mean()), "min": float(x.min()), "max": float(x.max())}
    out.update({f"p{q}": float(v) for q, v in zip(PERCENTILES, np.percentile(x, PERCENTILES), strict=True)})
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def cuda_peak_mb() -> float | None:
    """``torch.cuda.max_memory_allocated`` in MiB, None without CUDA (TensorRT's own allocations excluded)."""
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.max_memory_allocated() / (1 << 20)
