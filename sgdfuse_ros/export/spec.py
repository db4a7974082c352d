"""I/O specs of the graphs that are exported and run: names, shapes and dtypes of their tensors.

``ModelIO``: NCHW float32 images on one grid of any size (the networks: stage 1, SeAFusion, the refiner's
sampler graph). ``FixedIO``: tensors of fixed shapes and dtypes (a frame graph: uint8 frames in, a uint8
frame out). Both check a call's inputs, make example inputs (export tracing, tests, benchmarks) and say
which axes of an exported graph are dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError

Array = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class ModelIO:
    """A model's image inputs (name, channels), all (1, C, H, W) on one grid, and its output names."""

    inputs: tuple[tuple[str, int], ...]
    outputs: tuple[str, ...]

    state: tuple[tuple[str, str], ...] = ()  # networks carry no state from call to call

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.inputs)

    def example_inputs(self, height: int, width: int, seed: int = 0) -> dict[str, torch.Tensor]:
        """Random inputs in [0, 1] of the given size (export tracing, parity tests, benchmarks)."""
        gen = torch.Generator().manual_seed(seed)
        return {name: torch.rand(1, ch, height, width, generator=gen) for name, ch in self.inputs}

    def input_shapes(self, height: int, width: int) -> dict[str, tuple[int, ...]]:
        return {name: (1, ch, height, width) for name, ch in self.inputs}

    def dtype(self, name: str) -> np.dtype:
        return np.dtype(np.float32)

    def dynamic_axes(self) -> dict[str, dict[int, str]] | None:
        return {name: {2: "height", 3: "width"} for name in (*self.input_names, *self.outputs)}

    def check(self, inputs: Mapping[str, Array], who: str) -> tuple[int, int]:
        """(H, W) of ``inputs``; InputError unless they are exactly the model's, (1, C, H, W) on one grid."""
        names = set(self.input_names)
        if set(inputs) != names:
            raise InputError(f"{who} runtime: expected inputs {sorted(names)}, got {sorted(inputs)}")
        grid: tuple[int, int] | None = None
        for name, channels in self.inputs:
            shape = tuple(inputs[name].shape)
            if len(shape) != 4 or shape[:2] != (1, channels):
                raise InputError(f"{who} runtime: input {name!r} must be (1, {channels}, H, W), got {shape}")
            if grid is not None and shape[2:] != grid:
                raise InputError(f"{who} runtime: input {name!r} is {shape[2:]}, the others {grid}")
            grid = shape[2:]  # type: ignore[assignment]
        assert grid is not None
        return grid


TensorSpec = tuple[str, tuple[int, ...], str]  # (name, shape, numpy dtype name)


@dataclass(frozen=True)
class FixedIO:
    """Inputs and outputs of fixed shapes and dtypes (a frame graph: uint8 frames in, a uint8 frame out).

    ``state`` pairs (input name, output name) that a runtime loops back: the output of one call is that input
    of the next (a video filter's state), kept by the runtime (on the device where it runs on one), zeros
    before the first call. A caller may still pass a state input (it replaces the kept one); a state output
    is not returned.
    """

    inputs: tuple[TensorSpec, ...]
    output_specs: tuple[TensorSpec, ...]
    state: tuple[tuple[str, str], ...] = ()

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.output_specs)

    @property
    def grid(self) -> tuple[int, int]:
        """(H, W) of the first output (what engine files are named by)."""
        return self.output_specs[0][1][:2]  # type: ignore[return-value]

    def example_inputs(self, height: int = 0, width: int = 0, seed: int = 0) -> dict[str, torch.Tensor]:
        """Random inputs of the fixed shapes (the size arguments are ignored): full range for integers."""
        gen = torch.Generator().manual_seed(seed)
        out = {}
        for name, shape, dtype in self.inputs:
            if np.dtype(dtype).kind == "u":
                out[name] = torch.randint(0, 256, shape, generator=gen).to(getattr(torch, dtype))
            else:
                out[name] = torch.rand(shape, generator=gen)
        return out

    def input_shapes(self, height: int = 0, width: int = 0) -> dict[str, tuple[int, ...]]:
        return {name: shape for name, shape, _ in self.inputs}

    def dtype(self, name: str) -> np.dtype:
        return np.dtype(next(d for n, _, d in (*self.inputs, *self.output_specs) if n == name))

    def dynamic_axes(self) -> dict[str, dict[int, str]] | None:
        return None

    def check(self, inputs: Mapping[str, Array], who: str) -> tuple[int, int]:
        """``grid``; InputError unless ``inputs`` are exactly the spec's names (state inputs optional), shapes
        and dtypes."""
        state = {name for name, _ in self.state}
        if not set(self.input_names) - state <= set(inputs) <= set(self.input_names):
            raise InputError(f"{who} runtime: expected inputs {sorted(self.input_names)}, got {sorted(inputs)}")
        for name, shape, dtype in self.inputs:
            if name not in inputs:
                continue
            x = inputs[name]
            got = str(x.dtype).removeprefix("torch.")
            if tuple(x.shape) != shape or got != dtype:
                raise InputError(f"{who} runtime: input {name!r} must be {dtype} {shape}, got {got} "
                                 f"{tuple(x.shape)}")
        return self.grid


IO = ModelIO | FixedIO


FUSION_IO = ModelIO(inputs=(("ir", 1), ("vis", 1)), outputs=("fused",))  # stage 1, SeAFusion


