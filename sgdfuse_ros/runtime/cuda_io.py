"""Host <-> GPU transfers shared by the ``cuda`` and ``tensorrt`` backends (torch only, no pycuda).

Host arrays are staged through page-locked (pinned) buffers, reused per input name and shape, so the
copies to and from the GPU are asynchronous (``non_blocking``) on the runtime's own stream.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Array


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
