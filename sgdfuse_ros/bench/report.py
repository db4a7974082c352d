"""Markdown rendering of a ``run_benchmarks`` result (the JSON holds every number; this is the summary)."""

from __future__ import annotations

from typing import Any

from .cases import STAGES


def _ms(stats: dict[str, float] | None) -> str:
    return "–" if stats is None else f"{stats['p50']:.1f}"


def to_markdown(result: dict[str, Any]) -> str:
    dev, settings = result["device"], result["settings"]
    lines = [
        "# sgdfuse bench",
        "",
        f"- CPU: {dev['cpu']} ({dev['cpu_count']} cores), {dev['threads']} threads; "
        f"GPU: {dev['gpu'] or 'none'}; load average at start {dev['load_avg_1m_at_start']:.1f}",
        f"- torch {dev['torch']}, onnxruntime {dev['onnxruntime'] or '–'}, Python {dev['python']}",
        f"- {settings['iters']} timed frames after {settings['warmup']} warm-up frames per case; "
        "latencies in ms (wall clock, `FusionResult.timings`); each case in a fresh process",
        "- CPU time: the process's CPU time per frame (all threads, ms): unlike wall time, it hardly "
        "depends on other processes competing for the cores",
    ]
    if settings["random_weights"]:
        lines.append("- learned models with freshly initialised weights (same cost as trained ones)")
    for backend, reason in result["skipped_backends"].items():
        lines.append(f"- backend `{backend}` not run: {reason}")
    if result["models"]:
        sizes = settings["sizes"]
        header = " | ".join([*(f"GFLOPs {s}" for s in sizes), *(f"conv traffic MB {s}" for s in sizes)])
        note = ("GFLOPs: convolutions and matmuls (2 per multiply-add) of one call (the refiner: all its "
                "steps). Conv traffic: input + output activations of every convolution, fp16.")
        lines += ["", "## Models", "", note, "", f"| model | params | {header} |",
                  "|---|---:|" + "---:|" * 2 * len(sizes)]
        for name, cost in result["models"].items():
            values = [f"{cost['gflops'][s]:.2f}" for s in sizes]
            values += [f"{cost['conv_traffic_mb_fp16'][s]:.0f}" for s in sizes]
            lines.append(f"| {name} | {cost['params']:,} | {' | '.join(values)} |")
    ratios = {(r["pipeline"], r["backend"], r["size"]): r["latency_ratio_p50"]
              for r in result["ratios_vs_reference"]}
    for size in settings["sizes"]:
        lines += ["", f"## {size}", "",
                  "| pipeline | backend | " + " | ".join(f"{s} p50" for s in STAGES)
                  + " | total p50 / p95 / p99 | frames/s | CPU time p50 | peak RSS MiB | CUDA peak MiB"
                  + " | vs SeAFusion |",
                  "|---|---|" + "---:|" * (len(STAGES) + 6)]
        for case in (c for c in result["cases"] if c["size"] == size):
            total = case["total"]
            ratio = ratios.get((case["label"], case["backend"], size))
            cuda = "–" if case["cuda_peak_mb"] is None else f"{case['cuda_peak_mb']:.0f}"
            stages = " | ".join(_ms(case["stages"].get(s)) for s in STAGES)
            totals = f"{total['p50']:.1f} / {total['p95']:.1f} / {total['p99']:.1f}"
            vs_ref = "–" if ratio is None else f"{ratio:.2f}x"
            cpu_time = f"{case['process_cpu_ms']['p50']:.0f}"
            lines.append(f"| {case['label']} | {case['runtime']} | {stages} | {totals} | "
                         f"{case['throughput_fps']:.2f} | {cpu_time} | {case['peak_rss_mb']:.0f} | {cuda} | {vs_ref} |")
    return "\n".join(lines) + "\n"
