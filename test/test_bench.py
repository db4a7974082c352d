"""Benchmark plumbing: statistics, one case per stage, backends skipped with a reason, JSON + Markdown.

No timing thresholds: only the structure and the consistency of what is measured are checked.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sgdfuse_ros.bench import runner
from sgdfuse_ros.bench.cases import Case, bench_pair, run_case
from sgdfuse_ros.bench.estimate import ORIN, estimate_table, roofline_ms
from sgdfuse_ros.bench.report import to_markdown
from sgdfuse_ros.bench.stats import peak_rss_mb, summarize
from sgdfuse_ros.cli import main
from sgdfuse_ros.config import PipelineConfig, config_from_spec
from sgdfuse_ros.errors import ConfigError


def test_summarize_gives_percentiles_of_the_samples():
    stats = summarize(list(range(1, 101)))
    assert stats["n"] == 100 and stats["min"] == 1 and stats["max"] == 100 and stats["mean"] == 50.5
    assert stats["p50"] == pytest.approx(50.5) and stats["p95"] == pytest.approx(95.05)
    assert stats["p99"] == pytest.approx(99.01)
    with pytest.raises(ValueError):
        summarize([])


def test_peak_rss_grows_with_a_large_allocation():
    before = peak_rss_mb()
    block = np.ones(64 << 20, np.uint8)  # 64 MiB touched
    assert block.sum() == 64 << 20
    assert peak_rss_mb() >= before and peak_rss_mb() > 64


def test_pipeline_specs_and_the_bench_pair(samples_dir):
    assert config_from_spec("seafusion")[1].stage1.method == "seafusion"
    with pytest.raises(ConfigError):
        config_from_spec("no-such-pipeline")
    ir, vis = bench_pair(48, 64, samples_dir)
    assert ir.shape[:2] == vis.shape[:2] == (48, 64)
    ir, vis = bench_pair(48, 64, samples_dir / "absent")  # synthetic fallback
    assert ir.shape == (48, 64) and vis.shape == (48, 64, 3)


def test_a_case_times_every_stage_of_every_frame():
    config = PipelineConfig.from_dict({"stage1.method": "gff", "runtime.backend": "cpu", "masks.source": "offline"})
    result = run_case(Case("gff", config.to_dict(), 48, 64, iters=3, warmup=1))
    assert set(result["stages"]) == {"preprocess", "masks", "initial", "postprocess"}
    assert all(s["n"] == 3 for s in result["stages"].values()) and result["total"]["n"] == 3
    assert result["process_cpu_ms"]["n"] == 3 and result["process_cpu_ms"]["min"] > 0
    stage_sum = sum(s["mean"] for s in result["stages"].values())
    assert result["total"]["mean"] == pytest.approx(stage_sum)
    assert result["throughput_fps"] == pytest.approx(1e3 / result["total"]["mean"])
    assert result["size"] == "64x48" and result["peak_rss_mb"] > 0
    if torch.cuda.is_available():  # torch's CUDA peak of the process (0 when nothing was allocated there)
        assert result["cuda_peak_mb"] >= 0.0
    else:
        assert result["cuda_peak_mb"] is None


def test_benchmarks_compare_with_the_reference_and_skip_unavailable_backends(monkeypatch, tmp_path, capsys):
    status = {"tensorrt": "no tensorrt", "cuda": "no GPU", "onnxruntime": None, "cpu": None}
    monkeypatch.setattr(runner, "backend_status", lambda: status)
    result = runner.run_benchmarks(["stage1"], ["cpu", "cuda"], [(40, 56)], iters=2, warmup=1,
                                   random_weights=True, isolate=False, progress=lambda _: None)
    assert result["skipped_backends"] == {"cuda": "no GPU"}
    assert [(c["label"], c["backend"], c["backend_used"], c["models"]) for c in result["cases"]] == [
        ("stage1", "cpu", "cpu", ["stage1"]), ("seafusion", "cpu", "cpu", ["seafusion"])]
    stage1, seafusion = (c["total"]["p50"] for c in result["cases"])
    [ratio] = result["ratios_vs_reference"]
    assert ratio["pipeline"] == "stage1" and ratio["latency_ratio_p50"] == pytest.approx(stage1 / seafusion)
    for name in ("stage1", "seafusion"):
        assert result["models"][name]["params"] > 0 and result["models"][name]["gflops"]["56x40"] > 0
    markdown = to_markdown(result)
    assert "## 56x40" in markdown and "backend `cuda` not run: no GPU" in markdown
    assert f"| {ratio['latency_ratio_p50']:.2f}x |" in markdown
    table = estimate_table(result)  # Orin roofline estimate from the same JSON
    assert table.count("| stage1 (stage1) | 56x40 |") == 1 and "Jetson AGX Orin" in table
    (tmp_path / "bench.json").write_text(json.dumps(result))
    capsys.readouterr()
    assert main(["bench", "--estimate", str(tmp_path / "bench.json")]) == 0  # the same table from the CLI
    assert capsys.readouterr().out == table
    json.dumps(result)  # everything is JSON-serialisable


def test_bench_cli_writes_json_and_markdown(tmp_path):  # the CLI runs each case in a spawned process
    args = ["bench", "--pipelines", "average", "--backends", "cpu", "--sizes", "64x48,48x32", "--iters", "2",
            "--warmup", "0", "--reference", "none", "-o", str(tmp_path)]
    assert main(args) == 0
    result = json.loads((tmp_path / "bench.json").read_text())
    assert [c["label"] for c in result["cases"]] == ["average"] * 2 and result["ratios_vs_reference"] == []
    markdown = (tmp_path / "bench.md").read_text()
    assert "## 64x48" in markdown and "## 48x32" in markdown
    assert markdown.count("| average |") == 2  # one row per case: one backend, two sizes


def test_roofline_estimate_is_the_slower_bound():
    gpu = ORIN[0]
    compute_bound = roofline_ms(100.0, 1.0, gpu, efficiency=0.1)
    assert compute_bound["estimate_ms"] == compute_bound["compute_ms"] == pytest.approx(100 / (0.1 * gpu.fp16_tflops))
    memory_bound = roofline_ms(0.001, 1000.0, gpu, efficiency=0.1)
    assert memory_bound["estimate_ms"] == memory_bound["memory_ms"] == pytest.approx(1000 / (0.6 * gpu.bandwidth_gbs))


def test_bench_masks_writes_provider_latencies(tmp_path, shared_data):
    import json

    from sgdfuse_ros.cli import main

    assert main(["bench", "--masks", "offline", "--iters", "1", "--threads", "1", "-o", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "masks.json").read_text())
    assert result["sam"] == {} and result["image_hw"] == [480, 640]
    assert result["offline"] and (tmp_path / "masks.md").read_text().strip()
