"""``cuda`` backend: the torch module on the GPU, fp16 + channels_last, replayed as a CUDA graph per shape.

Per input shape the runtime keeps static device buffers and captures one CUDA graph of
"channels_last inputs -> forward under fp16 autocast -> float32 outputs"; a call copies the inputs in
through pinned host memory (non-blocking, on the runtime's stream), replays the graph and copies the
outputs back. fp16 comes from ``torch.autocast`` rather than ``module.half()``: convolutions and matmuls
run in fp16 while reductions, norms, softmax and the refiner's float32 timestep embedding stay float32
(a ``.half()`` model would fail on that embedding and lose precision in the channel-attention norms).
A graph removes the per-kernel launch cost that dominates small convolution networks on Jetson-class GPUs.
A ``FixedIO`` model (a frame graph: uint8 frames in, a uint8 frame out) is captured once, on static views
of one packed device buffer (``cuda_io.PackedStaging``): one pinned copy in, one replay, one copy out.
torch.compile is not used: inductor/triton compilation is slow on Jetson and adds little over a graph
for these small networks.

Not run in the development session of this code (no GPU there); see docs/runtimes.md.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from .base import IO, Array, FixedIO, Runtime
from .cuda_io import PackedStaging, PinnedStaging

log = logging.getLogger(__name__)
WARMUP_ITERS = 3  # eager runs on a side stream before capture (cuDNN autotuning, lazy allocations)


@dataclass
class _Captured:
    inputs: dict[str, torch.Tensor]  # static device inputs (float32 NCHW, or views of the packed buffer)
    outputs: dict[str, torch.Tensor]  # static device outputs (float32, or the spec's dtype)
    graph: torch.cuda.CUDAGraph | None  # None: eager replay (cuda_graphs=False)


class TorchCudaRuntime(Runtime):
    backend = "cuda"

    def __init__(self, module: nn.Module, io: IO, *, fp16: bool = True, channels_last: bool = True,
                 cuda_graphs: bool = True, device: str = "cuda") -> None:
        super().__init__(io)
        if not torch.cuda.is_available():
            raise ConfigError("backend 'cuda': torch sees no CUDA device (torch.cuda.is_available() False)")
        self.device = torch.device(device)
        self.fp16 = fp16
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.cuda_graphs = cuda_graphs
        self.module = copy.deepcopy(module).eval().to(self.device, memory_format=self.memory_format)
        self.stream = torch.cuda.Stream(self.device)
        self.staging = PinnedStaging(self.device, self.stream)
        self.packed = PackedStaging(io, self.device, self.stream) if isinstance(io, FixedIO) else None
        self._captured: dict[tuple[int, int], _Captured] = {}
        torch.backends.cudnn.benchmark = True  # fixed shapes per graph: let cuDNN pick the fastest kernels

    def describe(self) -> str:
        name = torch.cuda.get_device_name(self.device)
        return (f"cuda ({name}, torch {torch.__version__}, {'fp16 autocast' if self.fp16 else 'float32'}, "
                f"{'channels_last' if self.memory_format is torch.channels_last else 'NCHW'}, "
                f"{'CUDA graphs' if self.cuda_graphs else 'eager'})")

    def _forward(self, static_inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        args = [static_inputs[n] if static_inputs[n].dim() != 4 else
                static_inputs[n].contiguous(memory_format=self.memory_format) for n in self.io.input_names]
        # cache_enabled=False: required when the forward is captured in a CUDA graph
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.fp16, cache_enabled=False):
            out = self.module(*args)
        outs = out if isinstance(out, tuple | list) else (out,)
        outputs = {n: o.to(getattr(torch, self.io.dtype(n).name)).contiguous()
                   for n, o in zip(self.io.outputs, outs, strict=True)}
        if self.packed is not None:
            self.packed.loop_back(outputs)  # part of the captured graph: the state never leaves the device
        return outputs

    @torch.inference_mode()
    def _capture(self, height: int, width: int) -> _Captured:
        if self.packed is not None:
            inputs = self.packed.device_inputs
            self.packed.device_buffer.zero_()
        else:
            inputs = {n: torch.zeros(shape, device=self.device)
                      for n, shape in self.io.input_shapes(height, width).items()}
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream):
            for _ in range(WARMUP_ITERS):
                outputs = self._forward(inputs)
        self.stream.synchronize()
        if not self.cuda_graphs:
            self._reset_state()
            return _Captured(inputs, outputs, None)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self.stream):
            outputs = self._forward(inputs)
        self._reset_state()
        log.info("cuda runtime: captured a CUDA graph for %dx%d", width, height)
        return _Captured(inputs, outputs, graph)

    def _reset_state(self) -> None:
        """The looped-back state starts at zeros, whatever the warm-up runs left in it."""
        if self.packed is not None:
            with torch.cuda.stream(self.stream):
                self.packed.reset_state()
            self.stream.synchronize()

    @torch.inference_mode()
    def run(self, inputs: Mapping[str, Array]) -> dict[str, np.ndarray]:
        grid = self.check_inputs(inputs)
        if grid not in self._captured:
            self._captured[grid] = self._capture(*grid)
        cap = self._captured[grid]
        if self.packed is not None:
            self.packed.upload(inputs)
        else:
            for name in self.io.input_names:
                self.staging.upload(name, inputs[name], cap.inputs[name])
        with torch.cuda.stream(self.stream):
            if cap.graph is not None:
                cap.graph.replay()
            else:
                cap.outputs = self._forward(cap.inputs)
        if self.packed is not None:
            hosts = self.packed.download(cap.outputs)
        else:
            hosts = {name: self.staging.download(name, cap.outputs[name]) for name in self.io.outputs}
        self.stream.synchronize()
        return {name: host.numpy().copy() for name, host in hosts.items()}
