"""Tables (Markdown, CSV, JSON) and the detection figure of a detection-driven evaluation."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from ..datasets import Pair, find_pairs, resolve_dataset
from ..images import write_image
from ..visualize import image_grid
from . import CLASSES
from .boxes import Boxes
from .labels import label_folder, read_yolo_labels
from .task_eval import SOURCES, DetReport, detector_classes, source_image

DETECTOR_TITLES = {
    "hog": "HOG (OpenCV pretrained people detector, upscaled; person only)",
    "tiny": "Tiny CenterNet trained from scratch per input (k-fold cross-validation)",
}
PROTOCOL_TITLES = {
    "common": "common labels: every input scored against `fusion/`",
    "own": "own labels: IR vs `infrared/`, VIS vs `visible/`, fused vs `fusion/` (not comparable across "
           "inputs)",
}
CLASS_COLOURS = {0: (255, 60, 60), 1: (255, 220, 0), 2: (0, 200, 255)}  # RGB
DRAW_THRESHOLDS = {"hog": 0.5, "tiny": 0.3}  # for the figure only (AP uses every detection)


def _fmt(ap: float, low: float, high: float) -> str:
    return "n/a" if np.isnan(ap) else f"{ap:.3f} [{low:.2f}, {high:.2f}]"


def markdown_tables(report: DetReport) -> str:
    rows = {(r.detector, r.protocol, r.input, r.split, r.cls): r for r in report.rows}
    cfg = report.config
    lines = [f"AP50 (VOC all-point, IoU 0.5) on `{cfg.dataset}` ({report.n_images.get('day', 0)} day + "
             f"{report.n_images.get('night', 0)} night images), 95 % bootstrap intervals over images "
             f"({cfg.resamples} resamples, seed {cfg.seed}).", ""]
    for detector in cfg.detectors:
        classes = [CLASSES[c] for c in detector_classes(detector)]
        columns = [(c, s) for c in classes for s in ("all", "day", "night")]
        for protocol in cfg.protocols_of(detector):
            lines += [f"### {DETECTOR_TITLES[detector]} — {PROTOCOL_TITLES[protocol]}", "",
                      "| input | labels | " + " | ".join(f"{c} {s}" for c, s in columns) + " |",
                      "|---|---|" + "---|" * len(columns)]
            for name in cfg.inputs:
                cells = [rows.get((detector, protocol, name, s, c)) for c, s in columns]
                if not any(cells):
                    continue
                variant = next(r.labels for r in cells if r)
                lines.append(f"| {name} | {variant} | " + " | ".join(
                    _fmt(r.estimate.ap, r.estimate.low, r.estimate.high) if r else "" for r in cells) + " |")
            lines.append("")
    if report.differences:
        lines += _difference_lines(report)
    return "\n".join(lines)


def _difference_lines(report: DetReport) -> list[str]:
    common = (r for r in report.rows if r.protocol == "common")
    points = {(r.detector, r.input, r.split, r.cls): r.estimate.ap for r in common}
    diffs = {(d.detector, d.cls, d.split, d.input, d.reference): d for d in report.differences}
    reference = report.config.reference
    extra = [reference] if reference else []
    lines = ["### Fused minus single modality" + (f" and minus {reference}" if reference else "") +
             " (common labels, paired bootstrap 95 % intervals)", "",
             "`>` / `<`: the interval of the difference lies above / below 0; `≈`: it contains 0.", "",
             "| detector | class | split | fused input | AP50 | − IR | − VIS | " +
             "".join(f"− {r} | " for r in extra) + "vs better single |",
             "|---|---|---|---|---|---|---|" + "---|" * len(extra) + "---|"]
    fused = [i for i in report.config.inputs if i not in SOURCES]
    for detector in report.config.detectors:
        for cls in (CLASSES[c] for c in detector_classes(detector)):
            for split, name in ((s, n) for s in ("night", "day", "all") for n in fused):
                vs = {ref: diffs.get((detector, cls, split, name, ref)) for ref in report.config.references()}
                if not all(vs[ref] for ref in SOURCES):
                    continue
                ap = {ref: points[(detector, ref, split, cls)] for ref in (*SOURCES, name)}
                better = max(SOURCES, key=ap.__getitem__)
                d = vs[better]
                sign = ">" if d.low > 0 else "<" if d.high < 0 else "≈"
                cells = [f"{v.difference:+.3f} [{v.low:+.2f}, {v.high:+.2f}]" if v else "" for v in vs.values()]
                cells = [f"{ap[name]:.3f}", *cells, f"{sign} {better.upper()}"]
                lines.append(f"| {detector} | {cls} | {split} | {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def write_tables(report: DetReport, out_dir: Path) -> list[Path]:
    """``det_ap50.csv``, ``det_differences.csv``, ``det_ap50.json`` and ``det_summary.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ap_rows = [{"detector": r.detector, "protocol": r.protocol, "input": r.input, "labels": r.labels,
                "split": r.split, "class": r.cls, "ap50": r.estimate.ap, "ci_low": r.estimate.low,
                "ci_high": r.estimate.high, "n_images": r.estimate.n_images,
                "n_objects": r.estimate.n_ground_truth} for r in report.rows]
    diff_rows = [{"detector": d.detector, "protocol": d.protocol, "split": d.split, "class": d.cls,
                  "input": d.input, "reference": d.reference, "difference": d.difference, "ci_low": d.low,
                  "ci_high": d.high} for d in report.differences]
    paths = [out_dir / "det_ap50.csv", out_dir / "det_differences.csv", out_dir / "det_ap50.json",
             out_dir / "det_summary.md"]
    for path, rows in zip(paths[:2], (ap_rows, diff_rows), strict=True):
        with path.open("w", newline="") as f:
            if rows:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    config = asdict(report.config)
    config["cache_dir"] = str(config["cache_dir"])
    paths[2].write_text(json.dumps({"config": config, "n_images": report.n_images, "ap50": ap_rows,
                                    "differences": diff_rows}, indent=1, default=str))
    paths[3].write_text(markdown_tables(report))
    return paths


def draw_boxes(image: np.ndarray, detections: Boxes, ground_truth: Boxes, threshold: float) -> np.ndarray:
    """Ground truth in thin white, detections with score >= threshold in class colours (RGB uint8)."""
    out = image.copy()
    scale = max(1, round(image.shape[1] / 320))
    for x0, y0, x1, y1 in ground_truth.xyxy.round().astype(int):
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 255, 255), scale)
    keep = detections.scores >= threshold
    for (x0, y0, x1, y1), cls in zip(detections.xyxy[keep].round().astype(int), detections.classes[keep],
                                     strict=True):
        cv2.rectangle(out, (x0, y0), (x1, y1), CLASS_COLOURS.get(int(cls), (255, 0, 255)), 2 * scale)
    return out


def detection_figure(report: DetReport, detector: str, pair: str, images: Mapping[str, np.ndarray],
                     ground_truth: Boxes, inputs: Sequence[str], path: Path, cell_width: int = 320) -> Path:
    """One row IR | VIS | fused ...: detections of ``detector`` on night image ``pair`` (common labels)."""
    rows = {(r.detector, r.protocol, r.input, r.split, r.cls): r for r in report.rows}
    cells, titles = [], []
    for name in inputs:
        dets = report.figure_detections[(detector, name)][pair]
        cells.append(draw_boxes(images[name], dets, ground_truth, DRAW_THRESHOLDS[detector]))
        night = rows.get((detector, "common", name, "night", "person"))
        titles.append(f"{name}: person AP50 night {night.estimate.ap:.2f}" if night else name)
    return write_image(path, image_grid([cells], titles, cell_width=cell_width))


FIGURE_PREFERENCE = ("sgdfuse", "stage1", "seafusion", "gff")  # the fused input shown, first one present


def night_figure(report: DetReport, fusers: Mapping[str, Callable[[Pair], np.ndarray]], pair_name: str,
                 path: Path) -> Path:
    """IR | VIS | one fused input on a night scene, with the tiny detector's (else HOG's) detections."""
    detector = "tiny" if "tiny" in report.config.detectors else "hog"
    fused = next((n for n in FIGURE_PREFERENCE if n in fusers), next(iter(fusers), None))
    shown = ["ir", "vis", *([fused] if fused else [])]
    pair = next(p for p in find_pairs(report.config.dataset)[0] if p.name == pair_name)
    images = {n: fusers[n](pair) if n in fusers else source_image(pair, n) for n in shown}
    h, w = images["vis"].shape[:2]
    labels = label_folder(resolve_dataset(report.config.dataset), "fusion") / f"{pair_name}.txt"
    return detection_figure(report, detector, pair_name, images, read_yolo_labels(labels, w, h), shown, path)
