"""``onnxruntime`` backend: an ONNX model (file or bytes) in an ONNX Runtime session.

Execution providers, best first, among those this onnxruntime build offers: TensorRT EP (fp16, engine
cache in ``engines_dir``), CUDA EP, CPU. The session is created once; inputs are fed as numpy arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .base import IO, Array, Runtime, to_numpy

log = logging.getLogger(__name__)
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as err:
        raise ConfigError(f"backend 'onnxruntime': onnxruntime does not import ({err})") from None
    return onnxruntime


Provider = str | tuple[str, dict[str, Any]]


def choose_providers(available: Sequence[str], engines_dir: Path | None = None) -> list[Provider]:
    """The providers to ask for, best first, with their options (TensorRT EP: fp16 + engine cache)."""
    chosen: list[Provider] = []
    for name in PREFERRED_PROVIDERS:
        if name not in available:
            continue
        if name == "TensorrtExecutionProvider" and engines_dir is not None:
            chosen.append((name, {"trt_fp16_enable": True, "trt_engine_cache_enable": True,
                                  "trt_engine_cache_path": str(engines_dir / "ort_trt_cache"),
                                  "trt_timing_cache_enable": True}))
        else:
            chosen.append(name)
    return chosen


class OnnxRuntimeRuntime(Runtime):
    backend = "onnxruntime"

    def __init__(self, model: bytes | str | Path, io: IO, *, engines_dir: Path | None = None,
                 threads: int = 0, providers: Sequence[str] | None = None) -> None:
        super().__init__(io)
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads  # 0: onnxruntime's default (one per physical core)
        # No busy-waiting between runs: the pipeline interleaves two sessions (stage 1, refiner) with numpy/
        # OpenCV stages and the mask worker, which spinning onnxruntime threads would otherwise slow down.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        available = ort.get_available_providers() if providers is None else list(providers)
        source = model if isinstance(model, bytes) else str(model)
        providers_ = choose_providers(available, engines_dir)
        self.session = ort.InferenceSession(source, options, providers=providers_)
        self.providers = self.session.get_providers()
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(io.input_names):
            raise ConfigError(f"ONNX model inputs {names} do not match the expected {list(io.input_names)}")
        log.info("onnxruntime %s: providers %s", ort.__version__, ", ".join(self.providers))

    def describe(self) -> str:
        return f"onnxruntime ({', '.join(p.removesuffix('ExecutionProvider') for p in self.providers)})"

    def run(self, inputs: Mapping[str, Array]) -> dict[str, np.ndarray]:
        inputs = self.with_state(inputs)
        self.check_inputs(inputs)
        feeds = {name: to_numpy(inputs[name], self.io.dtype(name)) for name in self.io.input_names}
        outs = self.session.run(list(self.io.outputs), feeds)
        return self.keep_state({name: np.asarray(o, self.io.dtype(name))
                                for name, o in zip(self.io.outputs, outs, strict=True)})
