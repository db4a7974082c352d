"""Ablations of the refiner (``run_ablations``, wired as ``sgdfuse eval --ablations``): one Markdown table.

Variants (rows), each scored with the nine headline metrics on every dataset:

- ``stage 1``: the initial fusion alone (the reference every row is compared with);
- ``full (default ...)``: stage 1 + offline masks + the distilled student at the default pipeline's steps
  and sampler start x_T; ``full, seeded x_T`` / ``full, x_T = 0``: the same with the other start;
- ``stage 1 + contrast map only``: the refiner's monotone contrast normalisation without the network;
- ``teacher N steps``: the many-step teacher sampled with 1, 2, 4 steps without distillation, and with its
  own step count; ``student N steps``: the student run with the other step counts of 1, 2, 4;
- ``no masks``: the default student with zero masks (inference-time ablation);
- ``masks eroded`` / ``masks dilated``: the offline masks eroded / dilated by ``radius`` px (robustness);
- variants trained separately (short runs under ``ablation_dir/<name>/model.pt``, all with the same budget
  as ``ablation_dir/full/model.pt``): ``no diffusion`` (``direct``: the network and head in one pass),
  ``no HFAH`` (``conv_head``: a plain output conv), ``no masks (trained)`` (``no_masks``), ``single-stage``
  (``single_stage``: refiner trained and run on the average of the raw IR/VIS, no stage 1). A variant whose
  weights are missing is listed as "not trained" instead of silently dropped.

SAM masks need SAM weights, which are not available here: the table says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..images import PreparedPair
from ..metrics import DEFAULT_METRICS
from ..models.flops import refiner_gflops
from ..refiner import DiffusionRefiner
from ..weights import WEIGHTS_DIR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    label: str
    initial: str = "stage1"  # initial-fusion method
    weights: Path | None = None  # refiner checkpoint; None: no refiner
    steps: int = 0  # 0: the checkpoint's own
    noise: str = "seeded"  # the sampler's start x_T: seeded | zero
    masks: str = "offline"  # offline | zeros | erode:R | dilate:R
    contrast_only: bool = False  # apply only the refiner's contrast map (no network)


class ContrastOnly:
    """A refiner that applies only the contrast map of a refiner checkpoint (the "no network" row)."""

    def __init__(self, refiner: DiffusionRefiner) -> None:
        self.params = refiner.stretch

    def __call__(self, pair: PreparedPair, initial: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
        from ..diffusion.contrast import ContrastStretch

        if not self.params:
            return initial
        p = self.params
        return ContrastStretch.fit(initial, p["low"], p["high"], p["knee"])(initial)


def _steps_label(steps: int) -> str:
    return "its own steps" if steps == 0 else f"{steps} step" + ("s" if steps > 1 else "")


def _noise_label(noise: str) -> str:
    return "x_T = 0" if noise == "zero" else "seeded x_T"


def default_variants(ablation_dir: Path, weights_dir: Path = WEIGHTS_DIR, radius: int = 5) -> list[Variant]:
    from ..config import config_from_spec

    student, teacher = weights_dir / "refiner_student.pt", weights_dir / "refiner_teacher.pt"
    default = config_from_spec("sgdfuse")[1].refiner
    steps, noise = default.steps, default.noise  # the default pipeline's student evaluations and sampler start
    other = "zero" if noise == "seeded" else "seeded"
    runs = Path(ablation_dir)

    def default_student(label: str, **changes: Any) -> Variant:  # the default pipeline's student, one change
        return Variant(label, **{"weights": student, "steps": steps, "noise": noise, **changes})

    return [
        Variant("stage 1"),
        default_student(f"full (default: student, {_steps_label(steps)}, {_noise_label(noise)})"),
        default_student(f"full, {_noise_label(other)}", noise=other),
        Variant("stage 1 + contrast map only", weights=student, contrast_only=True),
        *[default_student(f"student {n} steps", steps=n) for n in (1, 2, 4) if n != steps],
        *[Variant(f"teacher {n} steps", weights=teacher, steps=n) for n in (1, 2, 4)],
        Variant("teacher, its own steps", weights=teacher),
        default_student("no masks (zeros at inference)", masks="zeros"),
        default_student(f"masks eroded {radius}px", masks=f"erode:{radius}"),
        default_student(f"masks dilated {radius}px", masks=f"dilate:{radius}"),
        Variant("short run: full", weights=runs / "full" / "model.pt", steps=4),
        Variant("short run: no diffusion", weights=runs / "direct" / "model.pt"),
        Variant("short run: no HFAH", weights=runs / "conv_head" / "model.pt", steps=4),
        Variant("short run: no masks (trained)", weights=runs / "no_masks" / "model.pt", steps=4,
                masks="zeros"),
        Variant("short run: single-stage", initial="average", weights=runs / "single_stage" / "model.pt",
                steps=4),
    ]


class _MaskVariant:
    """The offline masks, perturbed (``erode:R`` / ``dilate:R``) when asked."""

    def __init__(self, spec: str) -> None:
        from ..masks import MaskConfig, build_mask_source, parse_perturbations

        self.source = build_mask_source(MaskConfig())
        self.perturb = None if spec == "offline" else parse_perturbations(spec)[0][1]

    def __call__(self, pair: PreparedPair) -> dict[str, np.ndarray]:
        masks = self.source(pair)
        return masks if self.perturb is None else self.perturb(masks)


def build_variant(v: Variant):
    """(pipeline, network evaluations, GFLOPs per evaluation) of a variant."""
    from ..pipeline import FusionPipeline

    refiner = DiffusionRefiner(v.weights, v.steps or None, noise=v.noise) if v.weights is not None else None
    if refiner is not None and v.contrast_only:
        return FusionPipeline(v.initial, refiner=ContrastOnly(refiner)), 0, 0.0
    masks = None if v.masks == "zeros" or refiner is None else _MaskVariant(v.masks)
    pipeline = FusionPipeline(v.initial, masks=masks, refiner=refiner)
    if refiner is None:
        return pipeline, 0, 0.0
    evals = 1 if refiner.mode == "direct" else refiner.steps
    return pipeline, evals, refiner_gflops(refiner.model)


def run_ablations(datasets: Sequence[str] = ("msrs_test", "roadscene"),
                  out_dir: str | Path = "out/ablations", limit: int | None = 20,
                  ablation_dir: str | Path = "runs/refiner_ablations",
                  variants: Sequence[Variant] | None = None,
                  metrics: Sequence[str] = DEFAULT_METRICS) -> tuple[Path, int]:
    """Score every variant on the first ``limit`` pairs of each dataset; writes ``out_dir/ablations.md``.

    Returns the table's path and the number of (pair, variant) runs that failed (listed in the table)."""
    from . import evaluate

    out_dir = Path(out_dir)
    variants = list(variants) if variants is not None else default_variants(Path(ablation_dir))
    pipelines, costs, missing = {}, {}, []
    for v in variants:
        if v.weights is not None and not Path(v.weights).is_file():
            missing.append(v)
            continue
        pipelines[v.label], evals, gflops = build_variant(v)
        costs[v.label] = (evals, gflops)
    result = evaluate(pipelines, list(datasets), metrics, out_dir=out_dir, limit=limit)
    means = result.means()
    noise = [n for n in result.table_names if n not in metrics]  # NR med...: shown, not counted
    header = ["variant", "set", *metrics, *noise, f"wins vs {variants[0].label}", "evals x GFLOPs (640x480)"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for dataset in dict.fromkeys(d for d, _ in means):
        ref = means.get((dataset, variants[0].label))
        for label, (evals, gflops) in costs.items():
            row = means.get((dataset, label))
            if row is None:
                continue
            better = {m for m in metrics if ref is not None and label != variants[0].label and row[m] > ref[m]}
            cells = [f"**{row[m]:.4g}**" if m in better else f"{row[m]:.4g}" for m in metrics]
            cells += [f"{row[n]:.3g}" for n in noise]
            wins = f"{len(better)}/{len(metrics)}" if label != variants[0].label else "-"
            cost = f"{evals} x {gflops:.1f} = {evals * gflops:.1f}" if evals else "-"
            lines.append(f"| {label} | {dataset} | " + " | ".join(cells) + f" | {wins} | {cost} |")
    notes = [f"Means over the first {limit} pairs of each set; **bold**: better than `{variants[0].label}` "
             f"(higher is better for every metric)." if limit else "Means over all pairs of each set."]
    notes += [f"- {v.label}: not trained ({v.weights} is missing)." for v in missing]
    notes += [f"- failed: {e.dataset}/{e.pair} [{e.method}]: {e.error}" for e in result.errors]
    notes.append("- SAM masks vs offline masks: not run (no SAM weights are available here; nothing is "
                 "downloaded).")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "ablations.md"
    path.write_text("\n".join(["# Refiner ablations", "", *lines, "", *notes, ""]))
    return path, len(result.errors)
