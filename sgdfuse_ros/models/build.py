"""Model registry and checkpoints: ``build_model(name, **config)``, ``save_checkpoint``, ``load_model``.

A checkpoint is a plain dict ``{format_version, model, config, state_dict, meta}`` saved with
``torch.save`` and read back with ``torch.load(..., weights_only=True)`` (no pickled code).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from .seafusion import SeAFusionNet
from .stage1 import Stage1Net
from .unet import RefinerUNet

FORMAT_VERSION = 1
MODELS: dict[str, Callable[..., nn.Module]] = {"stage1": Stage1Net, "seafusion": SeAFusionNet,
                                               "refiner_unet": RefinerUNet}


def build_model(name: str, **config: Any) -> nn.Module:
    """A freshly initialised model of a registered architecture."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](**config)
    except TypeError as err:
        raise ConfigError(f"model {name!r}: bad config {config}: {err}") from None


def checkpoint_dict(model_name: str, config: dict[str, Any], model: nn.Module,
                    meta: dict[str, Any] | None = None) -> dict[str, Any]:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {"format_version": FORMAT_VERSION, "model": model_name, "config": dict(config),
            "state_dict": state, "meta": dict(meta or {})}


def save_checkpoint(path: str | Path, model_name: str, config: dict[str, Any], model: nn.Module,
                    meta: dict[str, Any] | None = None) -> Path:
    """Write the weights of ``model`` (built as ``build_model(model_name, **config)``); atomic replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint_dict(model_name, config, model, meta), tmp)
    tmp.replace(path)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict, checked for its keys; CheckpointError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, not a torch file, pickled objects...
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    keys = {"format_version", "model", "config", "state_dict", "meta"}
    if not isinstance(ckpt, dict) or not keys <= ckpt.keys():
        got = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: not an sgdfuse checkpoint (expected keys {sorted(keys)}, got {got})")
    if ckpt["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {ckpt['format_version']}, "
                              f"this code reads {FORMAT_VERSION}")
    return ckpt


def load_model(path: str | Path, expected_name: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode, checkpoint dict without the state dict) from a checkpoint file."""
    ckpt = read_checkpoint(path)
    name = ckpt["model"]
    if expected_name is not None and name != expected_name:
        raise CheckpointError(f"{path}: holds a {name!r} model, expected {expected_name!r}")
    try:
        model = build_model(name, **ckpt["config"])
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit model {name!r}: {err}") from None
    info = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model.eval(), info
