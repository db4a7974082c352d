"""Host <-> GPU transfers shared by the ``cuda`` and ``tensorrt`` backends (torch only, no pycuda).

Host arrays are staged through page-locked (pinned) buffers, reused per input name and shape, so the
copies to and from the GPU are asynchronous (``non_blocking``) on the runtime's own stream. A ``FixedIO``
model (a frame graph) packs all its inputs into one buffer: one copy in and one copy out per call; its
looped-back state (``FixedIO.state``) stays on the device, copied from output to input there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .base import Array, FixedIO


class PinnedStaging:
    """Pinned host buffers keyed by (name, shape); copies run on ``stream``."""

    def __init__(self, device: torch.device, stream: torch.cuda.Stream) -> None:
        self.device, self.stream = device, stream
        self._host: dict[tuple[str, tuple[int, ...]], torch.Tensor] = {}

    def _buffer(self, name: str, shape: tuple[int, ...]) -> torch.Tensor:
        key = (name, shape)
        if key not in self._host:
            self._host[key] = torch.empty(shape, dtype=torch.float32, pin_memory=True)
        return self._host[key]

    def upload(self, name: str, x: Array, dst: torch.Tensor) -> None:
        """Copy ``x`` (numpy, CPU or CUDA tensor) into the device tensor ``dst`` (enqueued on the stream)."""
        with torch.cuda.stream(self.stream):
            if isinstance(x, torch.Tensor) and x.is_cuda:
                dst.copy_(x)  # device to device (dtype converted on the GPU)
                return
            host = self._buffer(name, tuple(x.shape))
            host.copy_(torch.from_numpy(np.asarray(x, np.float32)) if isinstance(x, np.ndarray) else x)
            dst.copy_(host, non_blocking=True)

    def download(self, name: str, src: torch.Tensor) -> torch.Tensor:
        """Enqueue a copy of the float32 device tensor ``src`` into a pinned buffer; valid after a sync."""
        host = self._buffer("out:" + name, tuple(src.shape))
        with torch.cuda.stream(self.stream):
            host.copy_(src, non_blocking=True)
        return host


class PackedStaging:
    """All inputs of a ``FixedIO`` in one pinned host buffer and one device buffer: one copy in per call.

    Each input is a byte range of the buffers (256-byte aligned, as TensorRT wants its tensors), viewed
    with its dtype and shape on both sides; ``device_inputs`` are static views a CUDA graph can be captured
    on. The outputs come back into pinned buffers, one copy each (a frame graph has one output: the frame).
    State inputs (``FixedIO.state``) are device tensors of their own, outside the packed buffer: ``loop_back``
    copies the state outputs into them on the device (inside a captured CUDA graph), they are uploaded only
    when a caller passes them (a reset), and the state outputs are never downloaded.
    """

    ALIGN = 256

    def __init__(self, io: FixedIO, device: torch.device, stream: torch.cuda.Stream) -> None:
        self.io, self.stream = io, stream
        state = dict(io.state)  # input -> output
        packed = [spec for spec in io.inputs if spec[0] not in state]
        offsets, total = {}, 0
        for name, shape, dtype in packed:
            offsets[name] = total
            total += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // self.ALIGN) * self.ALIGN
        self.host_buffer = torch.empty(total, dtype=torch.uint8, pin_memory=True)
        self.device_buffer = torch.empty(total, dtype=torch.uint8, device=device)
        self.host_inputs: dict[str, np.ndarray] = {}
        self.device_inputs: dict[str, torch.Tensor] = {}
        for name, shape, dtype in packed:
            size = int(np.prod(shape)) * np.dtype(dtype).itemsize
            start = offsets[name]
            self.host_inputs[name] = self.host_buffer[start:start + size].numpy().view(dtype).reshape(shape)
            self.device_inputs[name] = self.device_buffer[start:start + size].view(getattr(torch, dtype)).view(shape)
        self.state = {name: torch.zeros(shape, dtype=getattr(torch, dtype), device=device)
                      for name, shape, dtype in io.inputs if name in state}
        self.device_inputs.update(self.state)
        self.outputs = {name: torch.empty(shape, dtype=getattr(torch, dtype), pin_memory=True)
                        for name, shape, dtype in io.output_specs if name not in state.values()}

    def upload(self, inputs: Mapping[str, Array]) -> None:
        """Host copies into the pinned buffer, then one non-blocking copy to the device (on the stream); a
        state input the caller passes replaces the kept state (one more copy)."""
        for name, host in self.host_inputs.items():
            x = inputs[name]
            host[...] = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
        with torch.cuda.stream(self.stream):
            self.device_buffer.copy_(self.host_buffer, non_blocking=True)
            for name, tensor in self.state.items():
                if name in inputs:
                    x = inputs[name]
                    tensor.copy_(x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x)))

    def loop_back(self, outputs: Mapping[str, torch.Tensor]) -> None:
        """Copy the state outputs into the state inputs, on the device (enqueued on the current stream)."""
        for name, output in self.io.state:
            self.state[name].copy_(outputs[output])

    def reset_state(self) -> None:
        """Zeros in every state input (what a runtime starts from)."""
        for tensor in self.state.values():
            tensor.zero_()

    def download(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Enqueue one copy per output into its pinned buffer; valid after a sync of the stream."""
        with torch.cuda.stream(self.stream):
            for name, host in self.outputs.items():
                host.copy_(outputs[name], non_blocking=True)
        return self.outputs
