"""Model registry and checkpoints: ``build_model(name, **config)``, ``save_checkpoint``, ``load_model``.

A checkpoint is a plain dict ``{format_version, model, config, state_dict, meta}`` saved with
``torch.save`` and read back with ``torch.load(..., weights_only=True)`` (no pickled code).
"""

from __future__ import annotations

import math
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
MAX_CONFIG_NUMBER = 4096  # largest number in a checkpoint's model config (widths, heads, blocks...)
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


def check_model_config(name: str, config: Any, state_dict: dict[str, Any]) -> None:
    """Bounds of a checkpoint's model ``config``, checked before anything is allocated: a mapping of names to
    finite numbers (or lists of them) in [0, MAX_CONFIG_NUMBER], booleans or short names, describing a model
    whose parameter count equals the weights stored beside it (counted on torch's "meta" device, which
    allocates no memory)."""
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise ConfigError(f"config must be a mapping of option names, got {type(config).__name__}")
    for key, value in config.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, bool) or (isinstance(item, str) and len(item) <= 64):
                continue
            if not isinstance(item, (int, float)) or not math.isfinite(item) or not 0 <= item <= MAX_CONFIG_NUMBER:
                raise ConfigError(f"config {key}={value!r}: expected numbers in 0..{MAX_CONFIG_NUMBER} or names")
    with torch.device("meta"):
        shape_only = build_model(name, **config)
    expected = sum(v.numel() for v in state_dict.values() if isinstance(v, torch.Tensor))
    built = sum(v.numel() for v in shape_only.state_dict().values())
    if built != expected:
        raise ConfigError(f"weights do not fit config {config}: it describes {built} values, the file holds "
                          f"{expected}")


def load_model(path: str | Path, expected_name: str | None = None,
               check_meta: Callable[[dict[str, Any]], None] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode, checkpoint dict without the state dict) from a checkpoint file.

    The config is bounded (``check_model_config``) and ``check_meta(meta)`` runs before the model is built.
    """
    ckpt = read_checkpoint(path)
    name = ckpt["model"]
    if expected_name is not None and name != expected_name:
        raise CheckpointError(f"{path}: holds a {name!r} model, expected {expected_name!r}")
    if not isinstance(ckpt["state_dict"], dict) or not isinstance(ckpt["meta"], dict):
        raise CheckpointError(f"{path}: state_dict and meta must be mappings")
    try:
        check_model_config(name, ckpt["config"], ckpt["state_dict"])
        if check_meta is not None:
            check_meta(ckpt["meta"])
        model = build_model(name, **ckpt["config"])
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit model {name!r}: {err}") from None
    info = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model.eval(), info
