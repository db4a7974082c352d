"""The exportable graphs built from models: initial fusion (stage1, seafusion) and the refiners (the unrolled
sampler graph)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..errors import ConfigError
from ..export.spec import FUSION_IO, ModelIO

FUSION_MODELS = ("stage1", "seafusion")
REFINER_MODELS = ("refiner_student", "refiner_teacher")
EXPORTABLE = FUSION_MODELS + REFINER_MODELS


def load_exportable(name: str, weights: str | Path | None = None,
                    refiner_steps: int = 0) -> tuple[nn.Module, ModelIO, str]:
    """(module in eval mode on the CPU, its io, its model name in engine files) of an exportable model.

    ``weights`` defaults to the shipped ``{name}.pt``; ``refiner_steps`` (0: the checkpoint's own) fixes the
    refiner's sampler length, as ``PipelineConfig.refiner.steps`` does at run time.
    """
    from ..weights import WEIGHTS_DIR

    if name not in EXPORTABLE:
        raise ConfigError(f"no exportable model {name!r}; available: {', '.join(EXPORTABLE)}")
    path = weights or WEIGHTS_DIR / f"{name}.pt"
    if name in FUSION_MODELS:
        from ..models import load_model

        return load_model(path, expected_name=name)[0].cpu().eval(), FUSION_IO, name
    from ..refiner import REFINER_IO, DiffusionRefiner

    refiner = DiffusionRefiner(path, refiner_steps or None)
    return refiner.graph().cpu(), REFINER_IO, refiner.model_name

