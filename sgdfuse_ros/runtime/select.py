"""Backend choice: ``auto`` takes the first available of TensorRT -> CUDA -> ONNX Runtime -> CPU.

``backend_status()`` says, per backend, why it is unavailable (``None``: available); ``resolve_backend``
turns a requested name into a backend, logging the choice for ``auto`` and raising ConfigError with the
reason for an explicit backend that is not available. ``create_runtime`` builds the runtime of one model.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from .base import BACKENDS, FUSION_IO, ModelIO, Runtime, luma_fuse_fn

log = logging.getLogger(__name__)
CHOICES = ("auto", *BACKENDS)
DEFAULT_ENGINES_DIR = Path("~/.cache/sgdfuse/engines")


def _cuda_reason() -> str | None:
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA device"
    return None


def backend_status() -> dict[str, str | None]:
    """Backend -> ``None`` if usable here, else the reason it is not (nothing is initialised)."""
    cuda = _cuda_reason()
    trt = None if importlib.util.find_spec("tensorrt") else "the tensorrt Python package is not installed"
    ort = None if importlib.util.find_spec("onnxruntime") else "onnxruntime is not installed"
    return {"tensorrt": trt or cuda, "cuda": cuda, "onnxruntime": ort, "cpu": None}


_REPORTED: set[str] = set()


def resolve_backend(requested: str, status: dict[str, str | None] | None = None) -> str:
    """The backend to use for ``requested`` (one of CHOICES)."""
    if requested not in CHOICES:
        raise ConfigError(f"backend must be one of {', '.join(CHOICES)}, got {requested!r}")
    status = backend_status() if status is None else status
    if requested != "auto":
        if status[requested] is not None:
            raise ConfigError(f"backend {requested!r} is not available here: {status[requested]}")
        return requested
    chosen = next(b for b in BACKENDS if status[b] is None)
    skipped = [f"{b}: {status[b]}" for b in BACKENDS[: BACKENDS.index(chosen)]]
    message = f"backend auto -> {chosen}" + (f" ({'; '.join(skipped)})" if skipped else "")
    if message not in _REPORTED:  # every model of a pipeline resolves it: say it once per process
        _REPORTED.add(message)
        log.info("%s", message)
    return chosen


def engines_dir_or_default(engines_dir: str | Path | None) -> Path:
    """``engines_dir``, else $SGDFUSE_ENGINES, else ~/.cache/sgdfuse/engines."""
    chosen = engines_dir or os.environ.get("SGDFUSE_ENGINES") or DEFAULT_ENGINES_DIR
    return Path(chosen).expanduser()


def create_runtime(module: nn.Module, io: ModelIO, *, name: str, backend: str = "auto",
                   engines_dir: str | Path | None = None, precision: str = "fp16",
                   build_engines: bool = True) -> Runtime:
    """The runtime of ``module`` on ``backend``; ``auto`` falls back to the next backend if one fails.

    ``name`` names the model in engine files; ``precision`` applies to TensorRT (fp32|fp16|int8) and CUDA
    (fp16 or fp32); ``build_engines=False`` refuses (instead of building) a missing or unusable engine.
    """
    chosen = resolve_backend(backend)
    module = copy.deepcopy(module).to("cpu", torch.float32).eval()  # backends start from a CPU fp32 copy
    candidates = [chosen] if backend != "auto" else [b for b in BACKENDS[BACKENDS.index(chosen):]
                                                     if backend_status()[b] is None]
    for index, candidate in enumerate(candidates):
        try:
            runtime = _create(candidate, module, io, name, engines_dir_or_default(engines_dir), precision,
                              build_engines)
        except Exception as err:
            if index + 1 == len(candidates):
                raise
            log.warning("backend %s failed to start for %s (%s: %s); trying %s", candidate, name,
                        type(err).__name__, err, candidates[index + 1])
            continue
        log.info("%s runs on %s", name, runtime.describe())
        return runtime
    raise AssertionError("unreachable: the cpu backend is always a candidate")


def _create(backend: str, module: nn.Module, io: ModelIO, name: str, engines_dir: Path, precision: str,
            build_engines: bool) -> Runtime:
    if backend == "cpu":
        from .torch_cpu import TorchCpuRuntime

        return TorchCpuRuntime(module, io)
    if backend == "cuda":
        from .torch_cuda import TorchCudaRuntime

        return TorchCudaRuntime(module, io, fp16=precision != "fp32")
    from ..export.onnx import export_onnx

    onnx_bytes = export_onnx(module, io)  # dynamic H/W; its hash identifies the model's engines
    if backend == "onnxruntime":
        from .onnxrt import OnnxRuntimeRuntime

        return OnnxRuntimeRuntime(onnx_bytes, io, engines_dir=engines_dir)
    return _create_tensorrt(onnx_bytes, io, name, engines_dir, precision, build_engines)


def _create_tensorrt(onnx_bytes: bytes, io: ModelIO, name: str, engines_dir: Path, precision: str,
                     build_engines: bool) -> Runtime:
    from ..export.engines import EngineSpec, build_engine, current_device, locate_engine, parse_onnx
    from ..export.onnx import model_hash
    from .tensorrt import TensorRTRuntime, import_tensorrt

    trt = import_tensorrt()
    parse_onnx(trt, onnx_bytes, name)  # an op TensorRT cannot parse fails here, where `auto` can fall back
    device, digest = current_device(trt), model_hash(onnx_bytes)
    build = None
    if build_engines and precision != "int8":  # INT8 needs calibration data: `sgdfuse export engines`
        def build(spec: EngineSpec) -> Path:
            return build_engine(onnx_bytes, spec, engines_dir, io)

    def locate(height: int, width: int) -> Path:
        return locate_engine(engines_dir, EngineSpec(name, digest, device, precision, height, width), build)

    return TensorRTRuntime(locate, io, label=f", {name} {digest} {precision}")


def fusion_fn(module: nn.Module, name: str, backend: str = "auto",
              engines_dir: str | Path | None = None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A fusion function ``(ir, vis) -> fused`` luma running an IR/VIS model on ``backend``."""
    runtime = create_runtime(module, FUSION_IO, name=name, backend=backend, engines_dir=engines_dir)
    return luma_fuse_fn(runtime)
