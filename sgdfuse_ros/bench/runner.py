"""``run_benchmarks``: every pipeline x backend x size (plus the SeAFusion reference), model costs, ratios."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import config_from_spec
from ..runtime.select import backend_status
from .cases import Case, run_case, run_isolated

REFERENCE = "seafusion"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info(threads: int) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "threads": threads,
                            "load_avg_1m_at_start": os.getloadavg()[0], "python": platform.python_version(),
                            "torch": torch.__version__, "gpu": None}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        info["onnxruntime"] = None
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        info["gpu"] = f"{torch.cuda.get_device_name()} (sm {major}.{minor})"
    return info


def _cost(module: Any, io: Any, sizes: Sequence[tuple[int, int]],
          gflops: Callable[[int, int], float]) -> dict[str, Any]:
    from .estimate import conv_traffic_mb

    return {"params": sum(p.numel() for p in module.parameters()),
            "gflops": {f"{w}x{h}": gflops(h, w) for h, w in sizes},
            "conv_traffic_mb_fp16": {f"{w}x{h}": conv_traffic_mb(module, io, h, w) for h, w in sizes}}


def model_costs(specs: Sequence[str], sizes: Sequence[tuple[int, int]],
                random_weights: bool) -> dict[str, Any]:
    """Params, GFLOPs and fp16 convolution traffic per learned model of the benchmarked pipelines.

    Initial fusion: one forward. Refiner: the whole unrolled sampler graph (all steps), as it runs.
    """
    import tempfile

    from ..methods.learned import LEARNED_METHODS
    from ..models import load_model
    from ..models.flops import fusion_gflops, gflops
    from ..refiner import REFINER_IO, build_refiner
    from ..runtime.base import FUSION_IO
    from ..weights import WEIGHTS_DIR
    from .cases import with_random_weights

    costs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            config = config_from_spec(spec)[1]
            if random_weights:
                config = with_random_weights(config, Path(tmp))
            method = config.stage1.method
            if method in LEARNED_METHODS and method not in costs:
                m = load_model(config.stage1.weights or WEIGHTS_DIR / f"{method}.pt", method)[0]
                costs[method] = _cost(m, FUSION_IO, sizes, lambda h, w, m=m: fusion_gflops(m, (h, w)))
            refiner = build_refiner(config.refiner.name, config.refiner.steps, config.refiner.weights)
            if refiner is not None and refiner.model_name not in costs:
                g = refiner.graph()
                cost = _cost(g, REFINER_IO, sizes,
                             lambda h, w, g=g: gflops(g, *REFINER_IO.example_inputs(h, w).values()))
                costs[refiner.model_name] = {**cost, "steps": refiner.steps}
    return costs


def run_benchmarks(pipelines: Sequence[str], backends: Sequence[str], sizes: Sequence[tuple[int, int]], *,
                   iters: int = 10, warmup: int = 2, threads: int = 2, reference: str | None = REFERENCE,
                   random_weights: bool = False, isolate: bool = True,
                   progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Time every pipeline (and ``reference``) on every available backend at every (H, W) size."""
    status = backend_status()
    skipped = {b: status[b] for b in backends if b != "auto" and status.get(b)}
    usable = [b for b in backends if b not in skipped]
    specs = list(dict.fromkeys([*pipelines, *([reference] if reference else [])]))
    results = []
    for height, width in sizes:
        for backend in usable:
            for spec in specs:
                label, config = config_from_spec(spec)
                case = Case(label, config.replace({"runtime.backend": backend}).to_dict(), height, width, iters, warmup,
                            threads, random_weights)
                progress(f"bench: {label} on {backend} at {width}x{height} ...")
                start = time.perf_counter()
                result = run_isolated(case) if isolate else run_case(case)
                result["wall_s"] = time.perf_counter() - start
                progress(f"  total p50 {result['total']['p50']:.1f} ms ({result['runtime']})")
                results.append(result)
    ratios = []
    if reference:
        ref_label = config_from_spec(reference)[0]
        refs = {(r["size"], r["backend"]): r for r in results if r["label"] == ref_label}
        for r in results:
            ref = refs.get((r["size"], r["backend"]))
            if ref is not None and r["label"] != ref_label:
                ratios.append({"pipeline": r["label"], "backend": r["backend"], "size": r["size"],
                               "latency_ratio_p50": r["total"]["p50"] / ref["total"]["p50"]})
    return {
        "device": device_info(threads),
        "settings": {"pipelines": specs, "backends": usable, "sizes": [f"{w}x{h}" for h, w in sizes],
                     "iters": iters, "warmup": warmup, "reference": reference,
                     "random_weights": random_weights},
        "skipped_backends": skipped,
        "models": model_costs(specs, sizes, random_weights),
        "cases": results,
        "ratios_vs_reference": ratios,
    }
