"""Refiner results: student vs stage 1 vs teacher on the evaluation sets, cost, latency, night-scene grid.

``compare(datasets, out_dir)`` scores stage 1 alone and stage 1 + offline masks + student on every pair,
and the teacher on the first ``teacher_limit`` pairs of each set (its tens of steps are slow on a CPU),
with the pipeline's per-stage timings collected in the same run (latency of the refiner as a ratio to the
stage-1 network). ``night_grid`` renders IR | VIS | stage 1 | teacher | student rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import Pair
from ..metrics import DEFAULT_METRICS
from ..models.flops import refiner_gflops
from ..pipeline import FusionPipeline, FusionResult
from ..refiner import DiffusionRefiner
from ..weights import WEIGHTS_DIR

GRID_COLUMNS = ("stage 1", "teacher", "student")


def refiner_pipelines(student: Path = WEIGHTS_DIR / "refiner_student.pt",
                      teacher: Path = WEIGHTS_DIR / "refiner_teacher.pt", initial: str = "stage1"
                      ) -> dict[str, FusionPipeline]:
    from ..masks import MaskConfig, build_mask_source

    masks = build_mask_source(MaskConfig())
    return {"stage 1": FusionPipeline(initial),
            "student": FusionPipeline(initial, masks=masks, refiner=DiffusionRefiner(student)),
            "teacher": FusionPipeline(initial, masks=masks, refiner=DiffusionRefiner(teacher))}


def _timing_collector(store: dict[str, dict[str, list[float]]]):
    def on_result(dataset: str, pair: Pair, method: str, result: FusionResult) -> None:
        for stage, ms in result.timings.items():
            store.setdefault(method, {}).setdefault(stage, []).append(ms)
    return on_result


def compare(datasets: Sequence[str], out_dir: str | Path, teacher_limit: int = 20,
            pipelines: dict[str, FusionPipeline] | None = None, limit: int | None = None) -> dict[str, Any]:
    """Scores (means per set), cost and latency; writes ``out_dir/{full,subset}/`` reports + compare.json.

    "full": stage 1 and the student on every pair (``limit``: the first N); "subset": stage 1, student
    and teacher on the first ``teacher_limit`` pairs of each set (0: skip the teacher).
    """
    from . import evaluate

    out_dir = Path(out_dir)
    pipes = pipelines or refiner_pipelines()
    timings: dict[str, dict[str, list[float]]] = {}
    full = evaluate({k: pipes[k] for k in ("stage 1", "student")}, list(datasets), DEFAULT_METRICS,
                    out_dir=out_dir / "full", limit=limit, on_result=_timing_collector(timings))
    subset = None
    if teacher_limit:
        subset = evaluate(pipes, list(datasets), DEFAULT_METRICS, out_dir=out_dir / "subset",
                          limit=teacher_limit if limit is None else min(limit, teacher_limit))
    student, teacher = pipes["student"].refiner, pipes["teacher"].refiner
    cost = {name: {"evaluations": r.steps, "gflops_per_evaluation": round(refiner_gflops(r.model), 2),
                   "gflops_total": round(r.steps * refiner_gflops(r.model), 2)}
            for name, r in (("student", student), ("teacher", teacher))}
    mean_ms = {m: {s: float(np.mean(v)) for s, v in stages.items()} for m, stages in timings.items()}
    latency = {"stage1_ms": mean_ms["student"]["initial"], "refiner_ms": mean_ms["student"]["refiner"],
               "masks_ms": mean_ms["student"].get("masks", 0.0),
               "refiner_over_stage1": mean_ms["student"]["refiner"] / mean_ms["student"]["initial"]}
    report = {"full": {f"{d}|{m}": v for (d, m), v in full.means().items()},
              "subset": {f"{d}|{m}": v for (d, m), v in subset.means().items()} if subset else {},
              "teacher_limit": teacher_limit, "cost": cost, "latency": latency,
              "errors": [f"{s.dataset}/{s.pair} [{s.method}]: {s.error}"
                         for s in full.errors + (subset.errors if subset else [])]}
    (out_dir / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def wins(a: dict[str, float], b: dict[str, float], metrics: Sequence[str] = DEFAULT_METRICS) -> list[str]:
    """The metrics on which ``a`` is higher than ``b``."""
    return [m for m in metrics if a[m] > b[m]]


def night_grid(pairs: Sequence[Pair], out_path: str | Path, pipelines: dict[str, FusionPipeline] | None = None,
               cell_width: int = 200) -> Path:
    """Rows of IR | VIS | stage 1 | teacher | student for ``pairs`` (RGB PNG)."""
    from ..images import write_image
    from ..visualize import image_grid
    from . import source_grays

    pipes = pipelines or refiner_pipelines()
    rows = []
    for pair in pairs:
        ir, vis, ir_gray, _ = source_grays(pair)
        rows.append([ir_gray, vis, *(pipes[k](ir, vis).fused for k in GRID_COLUMNS)])
    grid = image_grid(rows, ["IR", "VIS", *GRID_COLUMNS], cell_width=cell_width)
    return write_image(out_path, grid)
