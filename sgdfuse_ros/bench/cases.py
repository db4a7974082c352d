"""One benchmark case: a pipeline on one backend at one size, timed per stage in a fresh process.

Each case runs in its own (spawned) process so that its peak RSS (``ru_maxrss``, which never goes down)
and CUDA peak belong to that case alone. The timings are ``FusionResult.timings`` of the real
``FusionPipeline`` (preprocess, masks, initial, refiner, postprocess) plus their sum per frame.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..config import PipelineConfig, build_pipeline
from .stats import cuda_peak_mb, peak_rss_mb, summarize

STAGES = ("preprocess", "masks", "initial", "refiner", "postprocess", "frame")  # frame: the frame graph
SAMPLE = ("ir/msrs_00055D.png", "vi/msrs_00055D.png")  # a real MSRS pair from samples/, resized per case


@dataclass(frozen=True)
class Case:
    label: str  # the pipeline's name in the report
    config: dict[str, Any]  # PipelineConfig.to_dict() (runtime.backend included)
    height: int
    width: int
    iters: int = 10
    warmup: int = 2
    threads: int = 2
    random_weights: bool = False  # learned models with fresh weights (same cost, meaningless images)


def bench_pair(height: int, width: int, samples: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark input: the sample MSRS pair resized to WxH, or smooth synthetic images without it."""
    samples = samples or Path(__file__).resolve().parents[2] / "samples"
    ir_path, vis_path = samples / SAMPLE[0], samples / SAMPLE[1]
    if ir_path.is_file() and vis_path.is_file():
        from ..images import read_image

        ir, vis = read_image(ir_path), read_image(vis_path)
        return cv2.resize(ir, (width, height)), cv2.resize(vis, (width, height))
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (max(height // 16, 2), max(width // 16, 2), 4), dtype=np.uint8)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return big[..., 0], big[..., 1:]


def with_random_weights(config: PipelineConfig, folder: Path) -> PipelineConfig:
    """``config`` with its learned models (initial fusion, refiner) freshly initialised: the same cost, and
    usable before trained weights exist. The refiner gets the training recipe's architecture and steps."""
    from ..methods.learned import LEARNED_METHODS
    from ..models import build_model, save_checkpoint

    changes: dict[str, Any] = {}
    method, refiner = config.stage1.method, config.refiner.name
    if method in LEARNED_METHODS:
        path = save_checkpoint(folder / f"{method}.pt", method, {}, build_model(method))
        changes["stage1.weights"] = str(path)
    if refiner:
        from ..refiner import MODEL_NAME
        from ..training.distill import DistillConfig
        from ..training.refiner import RefinerTrainConfig

        recipe = RefinerTrainConfig(out=folder)
        meta = recipe.diffusion_meta()
        if refiner == "student":
            meta["steps"] = DistillConfig.__dataclass_fields__["student_steps"].default
        net = build_model(MODEL_NAME, **recipe.model_config)
        path = save_checkpoint(folder / f"refiner_{refiner}.pt", MODEL_NAME, recipe.model_config, net,
                               {"diffusion": meta})
        changes["refiner.weights"] = str(path)
    return config.replace(changes)


def pipeline_models(config: PipelineConfig, pipeline: Any) -> list[str]:
    """Names (as in ``model_costs``) of the learned models a pipeline runs: initial fusion, refiner."""
    from ..methods.learned import LEARNED_METHODS

    names = [config.stage1.method] if config.stage1.method in LEARNED_METHODS else []
    return names + ([pipeline.refiner.model_name] if pipeline.refiner is not None else [])


def run_case(case: Case) -> dict[str, Any]:
    """Time ``case`` in this process (call through ``run_isolated`` for a clean peak memory)."""
    import torch

    torch.set_num_threads(case.threads)
    config = PipelineConfig.from_dict(case.config)
    with tempfile.TemporaryDirectory() as tmp:
        if case.random_weights:
            config = with_random_weights(config, Path(tmp))
        start = time.perf_counter()
        pipeline = build_pipeline(config)
        build_s = time.perf_counter() - start
    ir, vis = bench_pair(case.height, case.width)
    rss_before = peak_rss_mb()
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    totals: list[float] = []
    cpu_ms: list[float] = []  # CPU time of the whole process per frame (all threads): robust to other load
    for i in range(case.warmup + case.iters):
        cpu_start = time.process_time()
        timings = pipeline(ir, vis).timings
        cpu = (time.process_time() - cpu_start) * 1e3
        if i < case.warmup:
            continue
        for stage in STAGES:
            if stage in timings:
                per_stage[stage].append(timings[stage])
        totals.append(sum(timings.values()))
        cpu_ms.append(cpu)
    runtime = getattr(pipeline.fuse_fn, "runtime", None)
    frame = pipeline.frame.runtimes if pipeline.frame is not None else {}
    if frame:  # the frame graph ran: its runtime (one frame layout here)
        runtime = next(iter(frame.values()))
    described = runtime.describe() if runtime is not None else f"numpy/OpenCV ({config.stage1.method})"
    return {
        "models": pipeline_models(config, pipeline),
        **asdict(case),
        "size": f"{case.width}x{case.height}",
        "backend": config.runtime.backend,
        "backend_used": runtime.backend if runtime is not None else "cpu",
        "runtime": ("frame graph on " if frame else "") + described,
        "build_s": build_s,
        "stages": {s: summarize(v) for s, v in per_stage.items() if v},
        "total": summarize(totals),
        "process_cpu_ms": summarize(cpu_ms),
        "throughput_fps": 1e3 / float(np.mean(totals)),
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_before_frames_mb": rss_before,
        "cuda_peak_mb": cuda_peak_mb(),
    }


def run_isolated(case: Case) -> dict[str, Any]:
    """``run_case`` in a fresh spawned process (its own peak RSS); exceptions come back re-raised."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_case, case).result()
