"""ONNX export of the fusion models: TorchScript-based ``torch.onnx.export(..., dynamo=False)``, opset 17.

``ModelIO`` inputs are (1, C, H, W) float32; with ``shape=None`` H and W are free (axes named
``height``/``width``), otherwise the graph is fixed to the traced size. A ``FixedIO`` graph (a frame
graph) has the fixed shapes and dtypes of its spec. The export is deterministic (same weights and torch
version -> same bytes), so the sha256 of the ONNX bytes identifies the model that TensorRT engines are
built from (see ``engines.py``).
"""

from __future__ import annotations

import hashlib
import warnings
from io import BytesIO
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from .spec import IO

OPSET = 17
TRACE_SIZE = (64, 96)  # (H, W) traced for a dynamic graph: small, and not a multiple of any stride


def export_onnx(module: nn.Module, io: IO, *, shape: tuple[int, int] | None = None,
                path: str | Path | None = None) -> bytes:
    """ONNX bytes of ``module`` (also written to ``path`` if given); ``shape=None`` -> dynamic H/W."""
    height, width = shape or TRACE_SIZE
    example = io.example_inputs(height, width)
    dynamic_axes = io.dynamic_axes() if shape is None else None
    out = _export_bytes(module.eval(), tuple(example.values()), io, dynamic_axes)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(out)
        tmp.replace(path)
    return out


def _export_bytes(module: nn.Module, args: tuple[torch.Tensor, ...], model_io: IO,
                  dynamic_axes: dict[str, dict[int, str]] | None) -> bytes:
    buffer = BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is deprecated upstream
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape arithmetic traced as dynamic ops
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")  # strided slices stay ops
        try:
            torch.onnx.export(module, args, buffer, input_names=list(model_io.input_names),
                              output_names=list(model_io.outputs), opset_version=OPSET,
                              dynamic_axes=dynamic_axes, do_constant_folding=True, dynamo=False)
        except Exception as err:  # unsupported op, tracing failure
            what = type(module).__name__
            raise ConfigError(f"ONNX export of {what} failed: {type(err).__name__}: {err}") from err
    return buffer.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_hash(onnx_bytes: bytes) -> str:
    """The model identity used in engine names: first 12 hex digits of the ONNX file's sha256."""
    return sha256_hex(onnx_bytes)[:12]
