"""Runtimes: backend choice (availability monkeypatched), CPU/ONNX Runtime parity, the pipeline end to end.

Parity tolerance: max |backend - torch CPU| <= 1e-4 on the [0, 1] output for float32 backends (ONNX
Runtime CPU measures ~1e-7); CUDA fp16 and TensorRT tests run only where a GPU (and tensorrt) exist.
"""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest
import torch
from fakes import TinyFusion

from sgdfuse_ros.config import PipelineConfig, build_pipeline
from sgdfuse_ros.errors import ConfigError, InputError
from sgdfuse_ros.images import read_image
from sgdfuse_ros.models import build_model, save_checkpoint
from sgdfuse_ros.runtime import BACKENDS, FUSION_IO, create_runtime, resolve_backend
from sgdfuse_ros.runtime import select as select_mod
from sgdfuse_ros.runtime.base import luma_fuse_fn
from sgdfuse_ros.runtime.onnxrt import OnnxRuntimeRuntime, choose_providers
from sgdfuse_ros.runtime.select import backend_status
from sgdfuse_ros.runtime.torch_cpu import TorchCpuRuntime

FP32_TOLERANCE = 1e-4
HAS_CUDA = torch.cuda.is_available()
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
ALL = {"tensorrt": None, "cuda": None, "onnxruntime": None, "cpu": None}


def perturbed(name: str, seed: int = 0) -> torch.nn.Module:
    """A model with every weight moved off its initialisation (stage 1's zero head would hide the rest)."""
    torch.manual_seed(seed)
    model = build_model(name)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


@pytest.fixture(scope="module")
def models() -> dict[str, torch.nn.Module]:
    return {name: perturbed(name) for name in ("stage1", "seafusion")}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, models) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("weights")
    return {name: str(save_checkpoint(folder / f"{name}.pt", name, {}, m)) for name, m in models.items()}


# --- backend choice ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("unavailable", "expected"), [
    ((), "tensorrt"),
    (("tensorrt",), "cuda"),
    (("tensorrt", "cuda"), "onnxruntime"),
    (("tensorrt", "cuda", "onnxruntime"), "cpu"),
    (("cuda",), "tensorrt"),  # as reported; tensorrt's own status already includes "no CUDA"
])
def test_auto_takes_the_first_available_backend_and_logs_why(unavailable, expected, caplog):
    status = {**ALL, **{b: f"{b} missing here" for b in unavailable}}
    with caplog.at_level(logging.INFO, logger="sgdfuse_ros.runtime.select"):
        assert resolve_backend("auto", status) == expected
    assert f"backend auto -> {expected}" in caplog.text
    for skipped in BACKENDS[: BACKENDS.index(expected)]:  # every better backend is logged with its reason
        assert f"{skipped}: {skipped} missing here" in caplog.text


def test_an_explicit_backend_that_is_unavailable_fails_with_the_reason():
    status = {**ALL, "tensorrt": "the tensorrt Python package is not installed"}
    with pytest.raises(ConfigError, match="'tensorrt' is not available here: the tensorrt Python package"):
        resolve_backend("tensorrt", status)
    assert resolve_backend("cuda", status) == "cuda"


def test_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError, match="auto, tensorrt, cuda, onnxruntime, cpu"):
        resolve_backend("gpu", ALL)


def test_backend_status_reflects_this_machine():
    status = backend_status()
    assert status["cpu"] is None
    assert (status["cuda"] is None) == HAS_CUDA
    assert (status["tensorrt"] is None) == (HAS_TENSORRT and HAS_CUDA)
    assert (status["onnxruntime"] is None) == (importlib.util.find_spec("onnxruntime") is not None)


def test_auto_falls_back_when_a_backend_fails_to_start(monkeypatch, caplog):
    real_create = select_mod._create

    def failing_create(backend, *args):
        if backend in ("tensorrt", "cuda"):
            raise ConfigError(f"{backend} broke")
        return real_create(backend, *args)

    monkeypatch.setattr(select_mod, "backend_status", lambda: dict(ALL))
    monkeypatch.setattr(select_mod, "_create", failing_create)
    with caplog.at_level(logging.WARNING, logger="sgdfuse_ros.runtime.select"):
        runtime = create_runtime(TinyFusion(), FUSION_IO, name="tiny", backend="auto")
    assert runtime.backend == "onnxruntime"
    assert "tensorrt failed to start" in caplog.text and "cuda failed to start" in caplog.text


def test_an_explicit_backend_does_not_fall_back(monkeypatch):
    def failing_create(backend, *args):
        raise ConfigError(f"{backend} broke")

    monkeypatch.setattr(select_mod, "_create", failing_create)
    with pytest.raises(ConfigError, match="cpu broke"):
        create_runtime(TinyFusion(), FUSION_IO, name="tiny", backend="cpu")


def test_onnxruntime_providers_best_first(tmp_path):
    chosen = choose_providers(["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"],
                              tmp_path)
    assert [p if isinstance(p, str) else p[0] for p in chosen] == [
        "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert chosen[0][1]["trt_fp16_enable"] is True
    assert choose_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


# --- execution ---------------------------------------------------------------------------------------------

def test_cpu_runtime_is_the_module(models):
    runtime = TorchCpuRuntime(models["stage1"], FUSION_IO)
    inputs = FUSION_IO.example_inputs(37, 53)
    with torch.inference_mode():
        expected = models["stage1"](*inputs.values()).numpy()
    out = runtime.run({k: v.numpy() for k, v in inputs.items()})["fused"]
    assert out.dtype == np.float32 and out.shape == (1, 1, 37, 53)
    np.testing.assert_array_equal(out, expected)


def test_runtimes_reject_bad_inputs(models):
    runtime = TorchCpuRuntime(models["seafusion"], FUSION_IO)
    x = np.zeros((1, 1, 16, 16), np.float32)
    with pytest.raises(InputError, match="expected inputs"):
        runtime.run({"ir": x})
    with pytest.raises(InputError, match=r"must be \(1, 1, H, W\)"):
        runtime.run({"ir": x, "vis": np.zeros((1, 3, 16, 16), np.float32)})
    with pytest.raises(InputError, match="the others"):
        runtime.run({"ir": x, "vis": np.zeros((1, 1, 16, 18), np.float32)})
    fuse = luma_fuse_fn(runtime)
    with pytest.raises(InputError):
        fuse(np.zeros((16, 16), np.float32), np.zeros((16, 17), np.float32))


@pytest.mark.parametrize("name", ["stage1", "seafusion"])
def test_onnxruntime_matches_torch_at_several_sizes(name, models):
    from sgdfuse_ros.export.onnx import export_onnx

    runtime = OnnxRuntimeRuntime(export_onnx(models[name], FUSION_IO), FUSION_IO)
    for height, width in ((37, 53), (64, 64)):  # dynamic graph: odd sizes exercise stage 1's padding
        inputs = FUSION_IO.example_inputs(height, width, seed=height)
        with torch.inference_mode():
            expected = models[name](*inputs.values()).numpy()
        out = runtime.run(inputs)["fused"]
        assert out.shape == expected.shape
        assert float(np.abs(out - expected).max()) <= FP32_TOLERANCE


@pytest.fixture(scope="module")
def small_pair(samples_dir):
    import cv2

    pair = [read_image(samples_dir / side / "msrs_00055D.png") for side in ("ir", "vi")]
    return tuple(cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA) for img in pair)


def test_pipeline_without_backend_keeps_plain_torch(checkpoints):
    from sgdfuse_ros.methods import build_method

    fuse = build_method("seafusion", weights=checkpoints["seafusion"])
    assert not hasattr(fuse, "runtime")


# --- GPU backends (skipped without CUDA / TensorRT) --------------------------------------------------------

@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device: the cuda backend cannot run here")
def test_cuda_runtime_matches_cpu(models):
    from sgdfuse_ros.runtime.torch_cuda import TorchCudaRuntime

    inputs = FUSION_IO.example_inputs(120, 160)
    expected = TorchCpuRuntime(models["stage1"], FUSION_IO).run(inputs)["fused"]
    fp32 = TorchCudaRuntime(models["stage1"], FUSION_IO, fp16=False, cuda_graphs=False).run(inputs)["fused"]
    assert float(np.abs(fp32 - expected).max()) <= 1e-3  # cuDNN may use TF32
    graph = TorchCudaRuntime(models["stage1"], FUSION_IO)  # fp16, channels_last, CUDA graph
    first = graph.run(inputs)["fused"]
    assert float(np.abs(first - expected).max()) <= 2e-2
    other = FUSION_IO.example_inputs(120, 160, seed=5)  # a replay must see the new inputs
    expected_other = TorchCpuRuntime(models["stage1"], FUSION_IO).run(other)["fused"]
    assert float(np.abs(graph.run(other)["fused"] - expected_other).max()) <= 2e-2


@pytest.mark.skipif(not (HAS_CUDA and HAS_TENSORRT), reason="needs the tensorrt package and a CUDA device")
def test_tensorrt_runtime_builds_verifies_and_matches_cpu(models, tmp_path):
    from sgdfuse_ros.runtime.select import create_runtime as create

    inputs = FUSION_IO.example_inputs(64, 96)
    expected = TorchCpuRuntime(models["seafusion"], FUSION_IO).run(inputs)["fused"]
    runtime = create(models["seafusion"], FUSION_IO, name="seafusion", backend="tensorrt",
                     engines_dir=tmp_path, precision="fp32")
    assert float(np.abs(runtime.run(inputs)["fused"] - expected).max()) <= 5e-3  # TF32 allowed by default
    assert len(list(tmp_path.glob("seafusion_*_fp32_64x96.engine"))) == 1
    other = perturbed("seafusion", seed=1)  # other weights: the engine is stale and must not run
    refused = create(other, FUSION_IO, name="seafusion", backend="tensorrt", engines_dir=tmp_path,
                     precision="fp32", build_engines=False)
    with pytest.raises(ConfigError, match="stale"):
        refused.run(inputs)


# --- the diffusion refiner as one unrolled graph ---------------------------------------------------------

REFINER_SMALL = {"widths": [4, 8, 8], "time_dim": 16, "head_dim": 4}


@pytest.fixture(scope="module")
def refiner_checkpoint(tmp_path_factory) -> str:
    torch.manual_seed(0)
    net = build_model("refiner_unet", **REFINER_SMALL)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    diffusion = {"schedule": "cosine", "timesteps": 1000, "residual_mu": 255.0, "mode": "diffusion",
                 "steps": 3}
    path = tmp_path_factory.mktemp("refiner") / "refiner_student.pt"
    return str(save_checkpoint(path, "refiner_unet", REFINER_SMALL, net, {"diffusion": diffusion}))


def test_unrolled_refiner_on_onnxruntime_matches_the_torch_sampler(refiner_checkpoint):
    from sgdfuse_ros.images import prepare_pair
    from sgdfuse_ros.refiner import DiffusionRefiner

    rng = np.random.default_rng(0)
    pair = prepare_pair(rng.integers(0, 256, (37, 53), np.uint8), rng.integers(0, 256, (37, 53, 3), np.uint8))
    initial = (pair.ir + pair.vis) / 2
    masks = {"ir": (pair.ir > 0.5).astype(np.float32), "vis": rng.random((37, 53)).astype(np.float32)}
    torch_out = DiffusionRefiner(refiner_checkpoint)(pair, initial, masks)
    onnx_refiner = DiffusionRefiner(refiner_checkpoint, backend="onnxruntime")
    assert onnx_refiner.runner.runtime.backend == "onnxruntime"
    onnx_out = onnx_refiner(pair, initial, masks)
    assert onnx_out.shape == (37, 53) and float(np.abs(onnx_out - initial).max()) > 1e-3  # it did refine
    assert float(np.abs(onnx_out - torch_out).max()) <= FP32_TOLERANCE
    no_masks = DiffusionRefiner(refiner_checkpoint)(pair, initial, {})
    assert float(np.abs(onnx_refiner(pair, initial, {}) - no_masks).max()) <= FP32_TOLERANCE
    zero = DiffusionRefiner(refiner_checkpoint, noise="zero")(pair, initial, masks)
    onnx_zero = DiffusionRefiner(refiner_checkpoint, noise="zero", backend="onnxruntime")
    assert float(np.abs(onnx_zero(pair, initial, masks) - zero).max()) <= FP32_TOLERANCE
    assert not onnx_zero.runner._noise[(37, 53)].any() and onnx_refiner.runner._noise[(37, 53)].any()  # x_T fed


def test_the_refiner_graph_has_no_per_step_inputs(refiner_checkpoint):
    import onnx

    from sgdfuse_ros.export.onnx import export_onnx
    from sgdfuse_ros.refiner import REFINER_IO, DiffusionRefiner

    def exported(steps: int) -> onnx.ModelProto:
        graph = DiffusionRefiner(refiner_checkpoint, steps=steps).graph()
        return onnx.load_from_string(export_onnx(graph, REFINER_IO))

    graph = exported(3)
    assert [i.name for i in graph.graph.input] == ["initial", "ir", "vis", "mask_ir", "mask_vis", "noise"]
    convs = sum(node.op_type == "Conv" for node in graph.graph.node)
    assert convs == 3 * sum(node.op_type == "Conv" for node in exported(1).graph.node)  # 3 steps unrolled


def test_pipeline_gives_the_same_image_on_cpu_and_onnxruntime(checkpoints, refiner_checkpoint, small_pair):
    """End to end through FusionPipeline's per-stage path: stage 1 and the refiner both on the backend."""
    results = {}
    for backend in ("cpu", "onnxruntime"):
        config = PipelineConfig.from_dict({"stage1.method": "stage1", "stage1.weights": checkpoints["stage1"],
                                           "refiner.name": "student", "refiner.weights": refiner_checkpoint,
                                           "runtime.backend": backend, "runtime.frame_graph": False})
        pipeline = build_pipeline(config)
        assert pipeline.fuse_fn.runtime.backend == pipeline.refiner.runner.runtime.backend == backend
        result = pipeline(*small_pair)
        assert "refiner" in result.timings
        results[backend] = result.fused
    assert results["cpu"].shape == (120, 160, 3)
    diff = np.abs(results["cpu"].astype(int) - results["onnxruntime"].astype(int))
    assert diff.max() <= 1  # 1e-7 float differences can flip one rounding step of the uint8 output
