"""Evaluation harness: pipelines x datasets -> per-pair metric scores, summary tables, plots and grids.

Metrics are computed as the reference MATLAB code does it: on the uint8 grayscale (MATLAB ``rgb2gray``) of
the saved fused image and of the two source files, the IR source brought onto the visible grid. Every pair
is also scored with the noise figures (``metrics.NOISE_METRICS``: NR, OS); the tables show their medians
(``NR med``) beside the chosen metrics, unranked (lower is cleaner, but a blur is lower too).

The package also holds the published tables (``published``), the refiner ablations (``ablations``) and the
refiner report (``refiner_report``).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..datasets import Pair, find_pairs
from ..errors import SGDFuseError
from ..images import read_image, resize_to, thermal_to_float, to_gray_u8, visible_to_ycbcr, write_image
from ..metrics import DEFAULT_METRICS, MEDIAN, NOISE_METRICS, compute_metrics, summarise
from ..metrics import to_gray_u8 as matlab_gray
from ..pipeline import FusionPipeline, FusionResult
from ..visualize import image_grid

log = logging.getLogger(__name__)


@dataclass
class PairScore:
    dataset: str
    method: str
    pair: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""


@dataclass
class EvalResult:
    scores: list[PairScore]
    metric_names: tuple[str, ...]
    unmatched: dict[str, list[str]] = field(default_factory=dict)  # dataset -> names found on one side only
    noise_names: tuple[str, ...] = ()  # also in every PairScore; summarised by their medians

    @property
    def errors(self) -> list[PairScore]:
        return [s for s in self.scores if s.error]

    @property
    def table_names(self) -> tuple[str, ...]:
        """The columns of ``means()``: the chosen metrics, then ``NR med``... for the noise figures."""
        return (*self.metric_names, *(n + MEDIAN for n in self.noise_names))

    @property
    def score_names(self) -> tuple[str, ...]:
        """The per-pair columns (scores.csv)."""
        return (*self.metric_names, *(n for n in self.noise_names if n not in self.metric_names))

    def means(self) -> dict[tuple[str, str], dict[str, float]]:
        """(dataset, method) -> metric -> mean over the pairs that succeeded (``NR med``...: the median)."""
        groups: dict[tuple[str, str], list[dict[str, float]]] = {}
        for s in self.scores:
            if not s.error:
                groups.setdefault((s.dataset, s.method), []).append(s.metrics)
        return {key: summarise(rows, self.metric_names, self.noise_names) for key, rows in groups.items()}


def source_grays(pair: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ir, vis, ir_gray_u8 on the VIS grid, vis_gray_u8): raw arrays for fusion, grays for the metrics."""
    ir, vis = read_image(pair.ir), read_image(pair.vis)
    ir_gray = matlab_gray(ir) if ir.dtype == np.uint8 else to_gray_u8(thermal_to_float(ir))
    vis_gray = matlab_gray(vis) if vis.dtype == np.uint8 else to_gray_u8(visible_to_ycbcr(vis)[0])
    if ir_gray.shape != vis_gray.shape:
        ir_gray = resize_to(ir_gray, vis_gray.shape)
    return ir, vis, ir_gray, vis_gray


def score_result(result: FusionResult, ir_gray: np.ndarray, vis_gray: np.ndarray,
                 names: Sequence[str]) -> dict[str, float]:
    return compute_metrics(matlab_gray(result.fused), ir_gray, vis_gray, names)


def evaluate(
    pipelines: Mapping[str, FusionPipeline],
    datasets: Sequence[str],
    metric_names: Sequence[str] = DEFAULT_METRICS,
    out_dir: Path | None = None,
    limit: int | None = None,
    grid_pairs: int = 4,
    save_fused: bool = False,
    on_result: Callable[[str, Pair, str, FusionResult], None] | None = None,
) -> EvalResult:
    """Run every pipeline on every pair; a failing pair is recorded with its error and the rest go on."""
    metric_names = tuple(metric_names)
    score_names = (*metric_names, *(n for n in NOISE_METRICS if n not in metric_names))
    scores: list[PairScore] = []
    unmatched: dict[str, list[str]] = {}
    for dataset in datasets:
        pairs, unmatched[dataset] = find_pairs(dataset)
        for name in unmatched[dataset]:
            log.warning("%s: %s has no partner; skipped", dataset, name)
        label = Path(dataset).name
        grid_rows: list[list[np.ndarray]] = []
        for pair in tqdm(pairs[:limit], desc=f"eval {label}", unit="pair"):
            try:
                ir, vis, ir_gray, vis_gray = source_grays(pair)
            except SGDFuseError as err:
                scores += [PairScore(label, m, pair.name, error=str(err)) for m in pipelines]
                log.error("%s", err)
                continue
            row = [ir_gray, vis]
            for method, pipeline in pipelines.items():
                try:
                    result = pipeline(ir, vis)
                    metrics = score_result(result, ir_gray, vis_gray, score_names)
                except SGDFuseError as err:
                    scores.append(PairScore(label, method, pair.name, error=f"{pair.ir}: {err}"))
                    log.error("%s / %s: %s", method, pair.name, err)
                    row.append(np.zeros_like(vis))
                    continue
                scores.append(PairScore(label, method, pair.name, metrics))
                row.append(result.fused)
                if out_dir is not None and save_fused:
                    write_image(out_dir / "fused" / label / method / f"{pair.name}.png", result.fused)
                if on_result is not None:
                    on_result(label, pair, method, result)
            if len(grid_rows) < grid_pairs:
                grid_rows.append(row)
        if out_dir is not None and grid_rows:
            grid = image_grid(grid_rows, ["IR", "VIS", *pipelines], cell_width=256)
            write_image(out_dir / f"grid_{label}.jpg", grid)
    result = EvalResult(scores, metric_names, unmatched, NOISE_METRICS)
    if out_dir is not None:
        write_reports(result, out_dir)
    return result


def write_reports(result: EvalResult, out_dir: Path) -> list[Path]:
    """scores.csv (per pair), summary.csv + summary.md (means), metrics.png (a bar chart per metric)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = result.score_names
    with open(out_dir / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "method", "pair", *names, "error"])
        for s in result.scores:
            values = [f"{s.metrics[m]:.6g}" if m in s.metrics else "" for m in names]
            writer.writerow([s.dataset, s.method, s.pair, *values, s.error])
    means, names = result.means(), result.table_names
    with open(out_dir / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "method", *names])
        for (dataset, method), row in means.items():
            writer.writerow([dataset, method, *(f"{row[m]:.6g}" for m in names)])
    (out_dir / "summary.md").write_text(markdown_table(means, names))
    plot_means(means, names, out_dir / "metrics.png")
    return [out_dir / n for n in ("scores.csv", "summary.csv", "summary.md", "metrics.png")]


def markdown_table(means: dict[tuple[str, str], dict[str, float]], names: Sequence[str]) -> str:
    """One table per dataset; the best value of each ranked column in bold (higher is better; the median
    columns of the noise figures are not ranked); a value a row lacks shows as a dash."""
    lines: list[str] = []
    for dataset in dict.fromkeys(d for d, _ in means):
        rows = {m: v for (d, m), v in means.items() if d == dataset}
        best = {n: max((v[n] for v in rows.values() if n in v), default=None) for n in names
                if not n.endswith(MEDIAN)}
        header = "| method | " + " | ".join(names) + " |"
        lines += [f"### {dataset}", "", header, "|---" * (len(names) + 1) + "|"]
        for method, vals in rows.items():
            cells = ["–" if n not in vals else f"**{vals[n]:.4g}**" if vals[n] == best.get(n) and len(rows) > 1
                     else f"{vals[n]:.4g}" for n in names]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_means(means: dict[tuple[str, str], dict[str, float]], names: Sequence[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(d for d, _ in means))
    methods = list(dict.fromkeys(m for _, m in means))
    cols = min(3, len(names))
    nrows = -(-len(names) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.0 * nrows), squeeze=False)
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(datasets))
    for ax, metric in zip(axes.flat, names, strict=False):
        for i, method in enumerate(methods):
            vals = [means.get((d, method), {}).get(metric, np.nan) for d in datasets]
            ax.bar(x + i * width, vals, width, label=method)
        ax.set_title(metric)
        ax.set_xticks(x + width * (len(methods) - 1) / 2, datasets, fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(methods), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
