"""The ``Runtime`` interface: one model, loaded once, run on named NCHW float32 tensors.

Every backend (``cpu``: torch on the CPU, ``cuda``: torch on the GPU, ``onnxruntime``, ``tensorrt``) takes
``{input name: array}`` (numpy or torch, any device) and returns ``{output name: float32 numpy array}``;
the names are the model's ONNX/TensorRT tensor names and, in order, the arguments of its ``forward``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError

BACKENDS = ("tensorrt", "cuda", "onnxruntime", "cpu")  # the order ``backend: auto`` tries them in
Array = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class ModelIO:
    """A model's image inputs (name, channels), all (1, C, H, W) on one grid, and its output names."""

    inputs: tuple[tuple[str, int], ...]
    outputs: tuple[str, ...]

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.inputs)

    def example_inputs(self, height: int, width: int, seed: int = 0) -> dict[str, torch.Tensor]:
        """Random inputs in [0, 1] of the given size (export tracing, parity tests, benchmarks)."""
        gen = torch.Generator().manual_seed(seed)
        return {name: torch.rand(1, ch, height, width, generator=gen) for name, ch in self.inputs}


FUSION_IO = ModelIO(inputs=(("ir", 1), ("vis", 1)), outputs=("fused",))  # stage 1, SeAFusion


class Runtime(ABC):
    """One loaded model on one backend."""

    backend: str = ""

    def __init__(self, io: ModelIO) -> None:
        self.io = io

    @abstractmethod
    def run(self, inputs: Mapping[str, Array]) -> dict[str, np.ndarray]:
        """``{input name: (1, C, H, W) float array}`` -> ``{output name: float32 numpy array}``."""

    def describe(self) -> str:
        return self.backend

    def check_inputs(self, inputs: Mapping[str, Array]) -> tuple[int, int]:
        """Raise InputError unless ``inputs`` holds exactly the model's inputs, (1, C, H, W) on one grid."""
        names = set(self.io.input_names)
        if set(inputs) != names:
            raise InputError(f"{self.backend} runtime: expected inputs {sorted(names)}, got {sorted(inputs)}")
        grid: tuple[int, int] | None = None
        for name, channels in self.io.inputs:
            shape = tuple(inputs[name].shape)
            if len(shape) != 4 or shape[:2] != (1, channels):
                raise InputError(f"{self.backend} runtime: input {name!r} must be (1, {channels}, H, W), "
                                 f"got {shape}")
            if grid is not None and shape[2:] != grid:
                raise InputError(f"{self.backend} runtime: input {name!r} is {shape[2:]}, the others {grid}")
            grid = shape[2:]  # type: ignore[assignment]
        assert grid is not None
        return grid


def to_numpy(x: Array) -> np.ndarray:
    """A C-contiguous float32 numpy array (copied from the GPU if needed)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float32).numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


def to_cpu_tensor(x: Array) -> torch.Tensor:
    """A float32 CPU tensor (no copy for a float32 numpy array or CPU tensor)."""
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return x.detach().to("cpu", torch.float32)


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
