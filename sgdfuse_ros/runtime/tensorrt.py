"""``tensorrt`` backend: serialized TensorRT engines run on torch CUDA tensors (no pycuda, no cuda-python).

One engine per input shape (see ``sgdfuse_ros.export.engines``: engines are built for fixed resolutions
and verified against the model, GPU and TensorRT version before they are loaded). TensorRT >= 8.5 (JetPack
5.1+, 6.x) runs through the name-based tensor API (``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``); older versions through the bindings API (``execute_async_v2``).

Not run in the development session of this code (no GPU and no TensorRT there); its tests skip unless
``tensorrt`` imports and CUDA is available.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError
from ..export.engines import import_tensorrt
from .base import IO, Array, FixedIO, Runtime
from .cuda_io import PackedStaging, PinnedStaging

log = logging.getLogger(__name__)


def trt_torch_dtype(trt: Any, dtype: Any) -> torch.dtype:
    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
             trt.int8: torch.int8}
    if hasattr(trt, "uint8"):  # TensorRT >= 8.6: uint8 network inputs and outputs (frame graphs)
        table[trt.uint8] = torch.uint8
    if dtype not in table:
        raise ConfigError(f"TensorRT tensor type {dtype} is not supported by this runtime")
    return table[dtype]


class TensorRTEngine:
    """One deserialized engine and its execution context, run on ``stream``."""

    def __init__(self, path: Path, io: IO, device: torch.device, stream: torch.cuda.Stream) -> None:
        self.trt = trt = import_tensorrt()
        self.io, self.device, self.stream = io, device, stream
        self.logger = trt.Logger(trt.Logger.WARNING)
        trt.init_libnvinfer_plugins(self.logger, "")
        self.trt_runtime = trt.Runtime(self.logger)  # kept alive as long as the engine
        self.engine = self.trt_runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise CheckpointError(f"{path}: TensorRT could not deserialize this engine (see the log above)")
        self.context = self.engine.create_execution_context()
        self.name_api = hasattr(self.context, "execute_async_v3")  # TensorRT >= 8.5
        names = (self._tensor_names() if self.name_api
                 else [self.engine.get_binding_name(i) for i in range(self.engine.num_bindings)])
        missing = sorted((set(io.input_names) | set(io.outputs)) - set(names))
        if missing:
            raise CheckpointError(f"{path}: engine has tensors {names}, the model needs {sorted(missing)}")

    def _tensor_names(self) -> list[str]:
        return [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]

    def dtype(self, name: str) -> torch.dtype:
        if self.name_api:
            return trt_torch_dtype(self.trt, self.engine.get_tensor_dtype(name))
        return trt_torch_dtype(self.trt, self.engine.get_binding_dtype(self.engine.get_binding_index(name)))

    def __call__(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Device inputs (contiguous, engine dtype) -> device outputs; enqueued on the stream, not synced."""
        if self.name_api:
            return self._run_v3(inputs)
        return self._run_v2(inputs)

    def _run_v3(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        for name, tensor in inputs.items():
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in self.io.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            outputs[name] = torch.empty(shape, dtype=self.dtype(name), device=self.device)
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the TensorRT log)")
        return outputs

    def _run_v2(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        bindings = [0] * self.engine.num_bindings
        for name, tensor in inputs.items():
            index = self.engine.get_binding_index(name)
            self.context.set_binding_shape(index, tuple(tensor.shape))
            bindings[index] = tensor.data_ptr()
        outputs = {}
        for name in self.io.outputs:
            index = self.engine.get_binding_index(name)
            outputs[name] = torch.empty(tuple(self.context.get_binding_shape(index)), dtype=self.dtype(name),
                                        device=self.device)
            bindings[index] = outputs[name].data_ptr()
        if not self.context.execute_async_v2(bindings, self.stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v2 failed (see the TensorRT log)")
        return outputs


EngineLocator = Callable[[int, int], Path]  # (height, width) -> verified engine file for that input shape


class TensorRTRuntime(Runtime):
    backend = "tensorrt"

    def __init__(self, locate_engine: EngineLocator, io: IO, *, device: str = "cuda",
                 label: str = "") -> None:
        super().__init__(io)
        import_tensorrt()
        if not torch.cuda.is_available():
            raise ConfigError("backend 'tensorrt': torch sees no CUDA device")
        self.locate_engine, self.label = locate_engine, label
        self.device = torch.device(device)
        self.stream = torch.cuda.Stream(self.device)
        self.staging = PinnedStaging(self.device, self.stream)
        self.packed = PackedStaging(io, self.device, self.stream) if isinstance(io, FixedIO) else None
        self._engines: dict[tuple[int, int], TensorRTEngine] = {}
        self._inputs: dict[tuple[int, int], dict[str, torch.Tensor]] = {}

    def describe(self) -> str:
        trt = import_tensorrt()
        return f"tensorrt ({torch.cuda.get_device_name(self.device)}, TensorRT {trt.__version__}{self.label})"

    def engine(self, height: int, width: int) -> TensorRTEngine:
        if (height, width) not in self._engines:
            path = self.locate_engine(height, width)
            log.info("tensorrt runtime: loading %s", path)
            engine = TensorRTEngine(path, self.io, self.device, self.stream)
            self._engines[height, width] = engine
            if self.packed is not None:  # static views of one packed buffer: one copy in per frame
                self._inputs[height, width] = self.packed.device_inputs
            else:
                self._inputs[height, width] = {
                    n: torch.empty(shape, dtype=engine.dtype(n), device=self.device)
                    for n, shape in self.io.input_shapes(height, width).items()}
        return self._engines[height, width]

    @torch.inference_mode()
    def run(self, inputs: Mapping[str, Array]) -> dict[str, np.ndarray]:
        grid = self.check_inputs(inputs)
        with torch.cuda.stream(self.stream):  # this call's allocations and kernels
            engine = self.engine(*grid)
            device_inputs = self._inputs[grid]
            if self.packed is not None:
                self.packed.upload(inputs)
                outputs = engine(device_inputs)
                self.packed.loop_back(outputs)  # the state stays on the device
                hosts = self.packed.download(outputs)
            else:
                for name in self.io.input_names:
                    self.staging.upload(name, inputs[name], device_inputs[name])
                outputs = {n: t.float() for n, t in engine(device_inputs).items()}
                hosts = {name: self.staging.download(name, outputs[name]) for name in self.io.outputs}
        self.stream.synchronize()
        return {name: host.numpy().copy() for name, host in hosts.items()}
