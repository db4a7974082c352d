"""Learned initial-fusion methods: "stage1" (SGDFuse stage-1 network) and "seafusion" (the reference).

Options: ``weights`` (a checkpoint path; default: the file shipped in ``sgdfuse_ros/weights/``) and
``device`` ("cpu", "cuda", "cuda:1"...). torch is imported only when a method is built, so importing
``sgdfuse_ros.methods`` stays light. Other runtimes (ONNX Runtime, TensorRT) can replace ``run_model``
behind the same factories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError
from ..weights import WEIGHTS_DIR
from .registry import FuseFn, register_method


def run_model(model: Any, ir: np.ndarray, vis: np.ndarray, device: Any) -> np.ndarray:
    """One forward pass: IR/VIS luma (float32 HxW in [0, 1], same shape) -> fused luma (float32 HxW)."""
    import torch

    if ir.ndim != 2 or ir.shape != vis.shape:
        raise InputError(f"expected two HxW luma images of one shape, got {ir.shape} and {vis.shape}")
    with torch.inference_mode():
        x_ir = torch.from_numpy(np.ascontiguousarray(ir, np.float32))[None, None].to(device)
        x_vis = torch.from_numpy(np.ascontiguousarray(vis, np.float32))[None, None].to(device)
        return model(x_ir, x_vis)[0, 0].float().cpu().numpy()


def _torch_device(device: str) -> Any:
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"device {device!r}: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: CUDA is not available here")
    return dev


def _factory(name: str):
    def build(weights: str | Path | None = None, device: str = "cpu", backend: str | None = None,
              engines_dir: str | Path | None = None) -> FuseFn:
        from ..models import load_model

        dev = _torch_device(device)
        model, info = load_model(weights or WEIGHTS_DIR / f"{name}.pt", expected_name=name)
        model.to(dev)

        def fuse(ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
            return run_model(model, ir, vis, dev)

        if backend is not None:  # run on a sgdfuse_ros.runtime backend (auto|tensorrt|cuda|onnxruntime|cpu)
            from ..runtime import fusion_fn

            fuse = fusion_fn(model, name, backend, engines_dir)

        fuse.__name__ = name
        fuse.checkpoint = info  # type: ignore[attr-defined]
        fuse.module = model  # type: ignore[attr-defined]  (the network: frame graphs are built from it)
        return fuse

    return build


LEARNED_METHODS = ("stage1", "seafusion")  # their factories take `backend` and `engines_dir` (build_pipeline)
for _name in LEARNED_METHODS:
    register_method(_name, _factory(_name))
