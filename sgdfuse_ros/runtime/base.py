"""The ``Runtime`` interface: one model, loaded once, run on named tensors described by an I/O spec.

Every backend (``cpu``: torch on the CPU, ``cuda``: torch on the GPU, ``onnxruntime``, ``tensorrt``) takes
``{input name: array}`` (numpy or torch, any device) and returns ``{output name: numpy array}``; the names
are the model's ONNX/TensorRT tensor names and, in order, the arguments of its ``forward``, described by an
I/O spec (``export.spec``: ``ModelIO`` for the networks, ``FixedIO`` for the frame graphs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

import numpy as np
import torch

from ..export.spec import FUSION_IO, IO, Array, FixedIO, ModelIO, TensorSpec

BACKENDS = ("tensorrt", "cuda", "onnxruntime", "cpu")  # the order ``backend: auto`` tries them in
__all__ = ["BACKENDS", "FUSION_IO", "IO", "Array", "FixedIO", "ModelIO", "Runtime", "TensorSpec", "luma_fuse_fn",
           "to_cpu_tensor", "to_numpy"]


class Runtime(ABC):
    """One loaded model on one backend."""

    backend: str = ""

    def __init__(self, io: IO) -> None:
        self.io = io
        self.state: dict[str, np.ndarray] = {}  # the looped-back state inputs (``FixedIO.state``), host side

    def with_state(self, inputs: Mapping[str, Array]) -> dict[str, Array]:
        """``inputs`` with every state input the caller left out: the last call's output, or zeros at first."""
        feeds = dict(inputs)
        for name, _ in self.io.state:
            if name not in feeds:
                if name not in self.state:
                    shape = self.io.input_shapes()[name]
                    self.state[name] = np.zeros(shape, self.io.dtype(name))
                feeds[name] = self.state[name]
        return feeds

    def keep_state(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``outputs`` less the state outputs, which become the next call's state inputs."""
        for name, output in self.io.state:
            self.state[name] = outputs.pop(output)
        return outputs

    @abstractmethod
    def run(self, inputs: Mapping[str, Array]) -> dict[str, np.ndarray]:
        """``{input name: (1, C, H, W) float array}`` -> ``{output name: float32 numpy array}``."""

    def describe(self) -> str:
        return self.backend

    def check_inputs(self, inputs: Mapping[str, Array]) -> tuple[int, int]:
        """(H, W) of the inputs; InputError unless they match the model's I/O spec."""
        return self.io.check(inputs, self.backend)


def to_numpy(x: Array, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """A C-contiguous numpy array of ``dtype`` (copied from the GPU if needed)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=dtype)


def to_cpu_tensor(x: Array, dtype: np.dtype | type = np.float32) -> torch.Tensor:
    """A CPU tensor of ``dtype`` (no copy for a numpy array or CPU tensor of that dtype)."""
    if isinstance(x, torch.Tensor) and not x.is_cuda:
        return x.detach().to(getattr(torch, np.dtype(dtype).name))
    return torch.from_numpy(to_numpy(x, dtype))


def luma_fuse_fn(runtime: Runtime) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Wrap a FUSION_IO runtime as a fusion function ``(ir HxW, vis HxW) -> fused HxW`` (float32 [0, 1])."""
    if runtime.io != FUSION_IO:
        raise ValueError(f"luma_fuse_fn needs a model with io {FUSION_IO}, got {runtime.io}")

    def fuse(ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
        out = runtime.run({"ir": ir[None, None], "vis": vis[None, None]})["fused"]
        return out[0, 0]

    fuse.__name__ = f"fuse_{runtime.backend}"
    fuse.runtime = runtime  # type: ignore[attr-defined]  (what ran: benchmarks and diagnostics report it)
    fuse.backend = runtime.backend  # type: ignore[attr-defined]
    return fuse
