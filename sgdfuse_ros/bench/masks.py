"""Latency of the mask providers at 640x480: the offline provider, and SAM's architectures (timing only).

SAM is built with *random* weights (no checkpoint is downloaded or needed): its outputs are meaningless,
but the encoder and the decoder do the same work as with trained weights, so their timings hold. The
generator runs with its IoU/stability filters off; NMS still merges the random masks, so the per-mask
post-processing (RLE, boxes) of trained weights, which keep tens of masks, is not measured.
Both wall-clock and process CPU time are recorded: on a shared machine the CPU time (1 thread) is the
better estimate of the cost on an idle one.

    sgdfuse bench --masks vit_b,vit_l,vit_h --threads 1 --iters 5 -o DIR
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..images import PreparedPair, prepare_pair, read_image, ycbcr_to_rgb_u8

SHAPE = (480, 640)


def _times_ms(fn: Callable[[], object], runs: int, warmup: int = 1) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU milliseconds of ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - start_cpu) * 1e3)
    return wall, cpu


def _summary(times: tuple[list[float], list[float]]) -> dict[str, float]:
    wall, cpu = times
    median, p90 = np.percentile(wall, [50, 90])
    return {"median_ms": round(float(median), 2), "p90_ms": round(float(p90), 2),
            "min_ms": round(min(wall), 2), "cpu_median_ms": round(float(np.median(cpu)), 2),
            "samples": len(wall)}


def evaluation_pairs(dataset: str = "msrs_test", count: int = 10) -> list[PreparedPair]:
    """The first ``count`` pairs of an evaluation set, resized to 640x480 when they are another size."""
    from ..datasets import find_pairs

    pairs = []
    for pair in find_pairs(dataset)[0][:count]:
        prepared = prepare_pair(read_image(pair.ir), read_image(pair.vis))
        if prepared.shape != SHAPE:
            size = (SHAPE[1], SHAPE[0])
            cbcr = None if prepared.vis_cbcr is None else cv2.resize(prepared.vis_cbcr, size)
            prepared = PreparedPair(cv2.resize(prepared.ir, size), cv2.resize(prepared.vis, size), cbcr)
        pairs.append(prepared)
    return pairs


def bench_offline(pairs: Sequence[PreparedPair], runs: int = 5) -> dict[str, Any]:
    """Per-image (IR, VIS) and per-pair latency of the offline provider, for each encoding."""
    from ..masks import ENCODINGS, OfflineProvider

    result: dict[str, Any] = {}
    for encoding in ENCODINGS:
        provider = OfflineProvider(encoding)
        times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("ir", "vis", "pair")}
        for pair in pairs:
            calls = {"ir": lambda f=provider, p=pair: f(p.ir, "ir"),
                     "vis": lambda f=provider, p=pair: f(p.vis, "vis"),
                     "pair": lambda f=provider, p=pair: (f(p.ir, "ir"), f(p.vis, "vis"))}
            for key, call in calls.items():
                wall, cpu = _times_ms(call, runs)
                times[key][0].extend(wall)
                times[key][1].extend(cpu)
        result[encoding] = {key: _summary(t) for key, t in times.items()}
    return result


def bench_sam(model: str, rgb: np.ndarray, points_per_side: int = 4, predictor: bool = False
              ) -> dict[str, Any]:
    """One timed run of SAM's automatic mask generator on ``rgb``, its encoder pass timed inside it."""
    import torch
    from segment_anything import SamAutomaticMaskGenerator, sam_model_registry

    from ..masks.sam import SamProvider

    torch.manual_seed(0)
    start = time.perf_counter()
    sam = sam_model_registry[model](checkpoint=None).eval()
    params_m = round(sum(p.numel() for p in sam.parameters()) / 1e6, 1)
    out: dict[str, Any] = {"weights": "random (timing only)", "params_M": params_m,
                           "build_s": round(time.perf_counter() - start, 1), "points": points_per_side**2}
    generator = SamAutomaticMaskGenerator(sam, points_per_side=points_per_side, pred_iou_thresh=0.0,
                                          stability_score_thresh=0.0)
    set_image = generator.predictor.set_image
    encoder: list[tuple[list[float], list[float]]] = []
    generator.predictor.set_image = lambda image: encoder.append(_times_ms(lambda: set_image(image), 1, 0))
    records: list[Any] = []
    with torch.inference_mode():
        (total,), (total_cpu,) = _times_ms(lambda: records.extend(generator.generate(rgb)), 1, warmup=0)
    (enc,), (enc_cpu,) = encoder[0]
    out.update({"encoder_ms": round(enc, 1), "encoder_cpu_ms": round(enc_cpu, 1),
                "generator_ms": round(total, 1), "generator_cpu_ms": round(total_cpu, 1),
                "generator_masks": len(records),
                "decode_cpu_ms_per_point": round((total_cpu - enc_cpu) / out["points"], 1)})
    if predictor:
        provider = SamProvider(sam, path="predictor", points_per_side=points_per_side, device="cpu",
                               pred_iou_thresh=0.0, stability_score_thresh=0.0)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
        (wall,), (cpu,) = _times_ms(lambda: provider(gray, "vis"), 1, warmup=0)
        out.update({"predictor_path_ms": round(wall, 1), "predictor_path_cpu_ms": round(cpu, 1)})
    return out


def machine_info() -> dict[str, Any]:
    import torch

    cpu = platform.processor()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "opencv": cv2.__version__,
            "torch_threads": torch.get_num_threads(), "opencv_threads": cv2.getNumThreads(),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def notes(runs: int) -> list[str]:
    return [
        "offline: per image and per pair (IR + VIS), over the first pairs of the evaluation set, "
        f"{runs} timed runs each after one warm-up.",
        "sam: one timed run per stage, per image (a pair needs two). Random weights: only the timing is "
        "meaningful. generator_ms includes one encoder pass; the generator ran with its IoU/stability "
        "filters off, and NMS merged the random masks (generator_masks), so the per-mask post-processing "
        "of trained weights (tens of masks) is not included.",
        "*_cpu_ms = process CPU time with torch and OpenCV on 1 thread; *_ms = wall-clock. On a shared "
        "machine (see load_average_1min) the CPU time is the better estimate of the cost on an idle one.",
    ]


def run(out_path: Path, models: Sequence[str], points_per_side: int, threads: int, dataset: str,
        count: int, runs: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    pairs = evaluation_pairs(dataset, count)
    result: dict[str, Any] = {
        "image_hw": list(SHAPE),
        "machine_before": machine_info(),
        "notes": notes(runs),
        "dataset": dataset,
        "offline": bench_offline(pairs, runs),
        "sam": {},
    }
    rgb = ycbcr_to_rgb_u8(pairs[0].vis, pairs[0].vis_cbcr)
    for model in models:
        result["sam"][model] = bench_sam(model, rgb, points_per_side, predictor=(model == models[0]))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=2) + "\n")  # partial results survive a long vit_h run
    result["machine_after"] = machine_info()
    out_path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def markdown_table(result: dict[str, Any]) -> str:
    """The Markdown tables of docs/masks.md from a benchmark result (CPU ms, then wall-clock ms)."""
    lines = ["| offline provider, ms: CPU median (wall median / p90) | IR image | VIS image | pair |",
             "|---|---|---|---|"]
    for encoding, r in result["offline"].items():
        cells = [f"{r[k]['cpu_median_ms']:.1f} ({r[k]['median_ms']:.1f} / {r[k]['p90_ms']:.1f})"
                 for k in ("ir", "vis", "pair")]
        lines.append(f"| {encoding} | " + " | ".join(cells) + " |")
    points = next(iter(result["sam"].values()), {}).get("points", 0)
    side = round(points**0.5)
    lines += ["", f"| SAM, random weights (timing only), s per image: CPU (wall) | params (M) | encoder | "
              f"generator, {side}x{side} points | decoder per point | predictor path |",
              "|---|---|---|---|---|---|"]
    for model, r in result["sam"].items():
        predictor = (f"{r['predictor_path_cpu_ms'] / 1e3:.1f} ({r['predictor_path_ms'] / 1e3:.1f})"
                     if "predictor_path_ms" in r else "-")
        encoder = f"{r['encoder_cpu_ms'] / 1e3:.1f} ({r['encoder_ms'] / 1e3:.1f})"
        generator = f"{r['generator_cpu_ms'] / 1e3:.1f} ({r['generator_ms'] / 1e3:.1f})"
        lines.append(f"| {model} | {r['params_M']} | {encoder} | {generator} | "
                     f"{r['decode_cpu_ms_per_point'] / 1e3:.2f} | {predictor} |")
    return "\n".join(lines)
