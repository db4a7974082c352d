"""Inference runtimes of the learned models: TensorRT, torch CUDA, ONNX Runtime and torch CPU backends.

``create_runtime(module, io, name=..., backend="auto")`` -> a ``Runtime`` with ``run({name: array})``;
see docs/runtimes.md for what each backend does and how ``auto`` chooses.
"""

from .base import BACKENDS, FUSION_IO, ModelIO, Runtime, luma_fuse_fn
from .select import CHOICES, backend_status, create_runtime, fusion_fn, resolve_backend

__all__ = ["BACKENDS", "CHOICES", "FUSION_IO", "ModelIO", "Runtime", "backend_status", "create_runtime",
           "fusion_fn", "luma_fuse_fn", "resolve_backend"]
