"""``cpu`` backend: the torch module itself, float32, under ``torch.inference_mode``."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from .base import IO, Array, Runtime, to_cpu_tensor


class TorchCpuRuntime(Runtime):
    backend = "cpu"

    def __init__(self, module: nn.Module, io: IO) -> None:
        super().__init__(io)
        self.module = copy.deepcopy(module).to("cpu", torch.float32).eval()

    def describe(self) -> str:
        return f"cpu (torch {torch.__version__}, {torch.get_num_threads()} threads, float32)"

    def run(self, inputs: Mapping[str, Array]) -> dict[str, np.ndarray]:
        inputs = self.with_state(inputs)
        self.check_inputs(inputs)
        args = [to_cpu_tensor(inputs[name], self.io.dtype(name)) for name in self.io.input_names]
        with torch.inference_mode():
            out = self.module(*args)
        outs = out if isinstance(out, tuple | list) else (out,)
        return self.keep_state({name: o.numpy().astype(self.io.dtype(name), copy=False)
                                for name, o in zip(self.io.outputs, outs, strict=True)})
