"""The exportable graphs built from models: initial fusion (stage1, seafusion), the refiners (the unrolled
sampler graph) and a pipeline's frame graph (``pipeline_frame_graph``)."""

from __future__ import annotations

import re
from pathlib import Path

from torch import nn

from ..errors import ConfigError
from ..runtime.base import FUSION_IO, FixedIO, ModelIO

FUSION_MODELS = ("stage1", "seafusion")
REFINER_MODELS = ("refiner_student", "refiner_teacher")
EXPORTABLE = FUSION_MODELS + REFINER_MODELS


def load_exportable(name: str, weights: str | Path | None = None,
                    refiner_steps: int = 0) -> tuple[nn.Module, ModelIO, str]:
    """(module in eval mode on the CPU, its io, its model name in engine files) of an exportable model.

    ``weights`` defaults to the shipped ``{name}.pt``; ``refiner_steps`` (0: the checkpoint's own) fixes the
    refiner's sampler length, as ``PipelineConfig.refiner_steps`` does at run time.
    """
    from ..methods.learned import WEIGHTS_DIR

    if name not in EXPORTABLE:
        raise ConfigError(f"no exportable model {name!r}; available: {', '.join(EXPORTABLE)}")
    path = weights or WEIGHTS_DIR / f"{name}.pt"
    if name in FUSION_MODELS:
        from ..models import load_model

        return load_model(path, expected_name=name)[0].cpu().eval(), FUSION_IO, name
    from ..refiner import REFINER_IO, DiffusionRefiner

    refiner = DiffusionRefiner(path, refiner_steps or None)
    return refiner.graph().cpu(), REFINER_IO, refiner.model_name


def pipeline_frame_graph(spec: str, height: int, width: int) -> tuple[nn.Module, FixedIO, str]:
    """(frame graph, its io, its model name) of the pipeline ``spec`` (a preset, method or .yaml) for
    HxW uint8 thermal and RGB frames; ConfigError for a pipeline that has no frame graph."""
    from dataclasses import replace

    from ..config import build_pipeline, config_from_spec
    from ..methods.learned import LEARNED_METHODS
    from .graph import FrameSpec
    from .runner import frame_graph

    label, config = config_from_spec(spec)
    if config.method not in LEARNED_METHODS:
        raise ConfigError(f"pipeline {spec!r}: its initial fusion {config.method!r} is not a network, so it "
                          f"has no frame graph (learned: {', '.join(LEARNED_METHODS)})")
    pipeline = build_pipeline(replace(config, backend="cpu"))
    frame_spec = FrameSpec((height, width), (height, width), masks=pipeline.masks is not None)
    graph = frame_graph(frame_spec, pipeline.fuse_fn.module, pipeline.refiner,  # type: ignore[attr-defined]
                        pipeline.thermal_percentiles, pipeline.homography)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"frame_{label}_{frame_spec.name}")
    return graph, frame_spec.io(), name
