"""Per-model training recipes: architecture config, loss weights and default hyper-parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .losses import FusionLoss


@dataclass(frozen=True)
class Recipe:
    model_config: dict[str, Any] = field(default_factory=dict)
    loss: FusionLoss = field(default_factory=FusionLoss)
    steps: int = 2000
    batch: int = 8
    crop: int = 128
    lr: float = 1e-3


RECIPES: dict[str, Recipe] = {
    # SeAFusion's content loss (intensity + 10 x texture), Adam 1e-3 as in the authors' train.py;
    # the semantic loss is left out: no segmentation labels in the train split.
    "seafusion": Recipe(loss=FusionLoss(intensity=1.0, gradient=10.0), steps=1000, batch=6, crop=96, lr=1e-3),
    # texture_gain chosen on the validation set among 1.0 / 1.3 / 1.6 (docs/stage1.md)
    "stage1": Recipe(loss=FusionLoss(intensity=1.0, gradient=10.0, texture_gain=1.3), steps=800, batch=8, crop=96,
                     lr=1e-3),
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ConfigError(f"no training recipe for {name!r}; available: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]
