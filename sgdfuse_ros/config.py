"""Pipeline configuration: one validated dataclass shared by the node, the CLI, the bag tools and benchmarks.

The ROS node reads these fields from its parameters (``config/sgdfuse.yaml``), the CLI from a YAML file
and flags; both end in ``build_pipeline(PipelineConfig)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .diffusion.condition import NOISES
from .errors import ConfigError
from .masks import build_mask_source, check_mask_options, mask_options
from .pipeline import FusionPipeline
from .refiner import REFINERS, build_refiner


@dataclass
class PipelineConfig:
    method: str = "gff"  # initial fusion: a name from sgdfuse_ros.methods.available_methods()
    weights: str = ""  # weights file of a learned method; "" = the shipped file
    backend: str = "auto"  # runtime of learned models: auto | tensorrt | cuda | onnxruntime | cpu
    frame_graph: bool = True  # learned pipelines off the cpu backend: one graph from raw frames to the image
    engines_dir: str = ""  # TensorRT engines; "" = $SGDFUSE_ENGINES or ~/.cache/sgdfuse/engines
    thermal_percentiles: tuple[float, float] = (1.0, 99.0)  # 16-bit thermal normalisation
    homography: list[float] = field(default_factory=list)  # 9 values, row-major, IR -> VIS; [] = pre-registered
    refiner: str = ""  # stage 2: "" (none) | student (distilled, few steps) | teacher (many steps)
    refiner_steps: int = 0  # refiner network evaluations (DDIM steps); 0 = the checkpoint's own
    refiner_weights: str = ""  # refiner checkpoint; "" = the shipped file of `refiner`
    refiner_noise: str = "seeded"  # sampler start x_T: seeded (a fixed-seed draw) | zero (the prior's mean)
    masks: str = "offline"  # semantic prior (docs/masks.md): none | offline | sam | sam-onnx
    mask_encoding: str = "saliency-weighted"  # many masks -> one channel: saliency-weighted | binary-union
    mask_mode: str = "every_frame"  # every_frame | every_n | async (SAM in a worker thread)
    mask_every_n: int = 5  # every_n: masks every N-th pair, reused in between
    mask_max_age_s: float = 1.0  # async: oldest masks still used, else the fallback's
    mask_fallback: str = "offline"  # when SAM fails or its masks are too old: offline | none
    sam_model: str = "vit_b"  # vit_b | vit_l | vit_h
    sam_checkpoint: str = ""  # that model's .pth (needed by masks: sam); nothing is downloaded
    sam_points_per_side: int = 16  # SAM's point grid
    sam_path: str = "generator"  # generator (automatic mask generator) | predictor (soft masks, cheaper)
    sam_onnx_encoder: str = ""  # masks: sam-onnx: SAM / MobileSAM image encoder exported to ONNX
    sam_onnx_decoder: str = ""  # masks: sam-onnx: the segment-anything ONNX decoder

    def __post_init__(self) -> None:
        self.thermal_percentiles = tuple(float(v) for v in self.thermal_percentiles)  # type: ignore[assignment]
        lo, hi = self.thermal_percentiles
        if not 0.0 <= lo < hi <= 100.0:
            raise ConfigError(f"thermal_percentiles must satisfy 0 <= low < high <= 100, got {lo}, {hi}")
        if self.homography and len(self.homography) != 9:
            raise ConfigError(f"homography needs 9 values (row-major 3x3), got {len(self.homography)}")
        if self.refiner not in ("", *REFINERS) or self.refiner_steps < 0:
            raise ConfigError(f"refiner must be '' or one of {', '.join(REFINERS)} with refiner_steps >= 0, "
                              f"got {self.refiner!r}, {self.refiner_steps}")
        if self.refiner_noise not in NOISES:
            raise ConfigError(f"refiner_noise must be one of {', '.join(NOISES)}, got {self.refiner_noise!r}")
        name, mask_opts = mask_options(self)
        check_mask_options(name, **mask_opts)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PipelineConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown pipeline option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> PipelineConfig:
        """Read the ``pipeline:`` section of a YAML file (or the whole file if it has none)."""
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read configuration: {err}") from None
        return cls.from_dict(data.get("pipeline", data))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def uses_frame_graph(config: PipelineConfig) -> bool:
    """A learned pipeline whose backend is not ``cpu`` (``auto``: resolved here) runs as a frame graph."""
    from .methods.learned import LEARNED_METHODS
    from .runtime import resolve_backend

    return config.frame_graph and config.method in LEARNED_METHODS and resolve_backend(config.backend) != "cpu"


def build_pipeline(config: PipelineConfig) -> FusionPipeline:
    """The pipeline a configuration describes (models are loaded here, once).

    With a frame graph, the stages keep their torch modules on the CPU (the graph is built from them, and
    they fuse the frames the graph does not take); otherwise the learned models run on ``backend``.
    """
    options: dict[str, Any] = {}
    if config.weights:
        options["weights"] = config.weights
    from .methods.learned import LEARNED_METHODS

    frame = uses_frame_graph(config)
    backend = None if frame else config.backend
    engines_dir = config.engines_dir or None
    if config.method in LEARNED_METHODS:
        options.update(backend=backend, engines_dir=engines_dir)
    homography = np.array(config.homography, np.float64).reshape(3, 3) if config.homography else None
    mask_name, mask_opts = mask_options(config)
    refiner = build_refiner(config.refiner, config.refiner_steps, config.refiner_weights, backend=backend,
                            engines_dir=engines_dir, noise=config.refiner_noise)
    pipeline = FusionPipeline(config.method, thermal_percentiles=config.thermal_percentiles,
                              homography=homography, masks=build_mask_source(mask_name, **mask_opts),
                              refiner=refiner, **options)
    if frame:
        from .frame.runner import FrameRunner

        name = f"frame_{pipeline.name}".replace("+", "_") + (f"_{refiner.model_name}" if refiner else "")
        pipeline.frame = FrameRunner(name, pipeline.fuse_fn.module, refiner, config.backend,  # type: ignore[attr-defined]
                                     thermal_percentiles=config.thermal_percentiles, homography=homography,
                                     engines_dir=engines_dir)
    return pipeline


# Named pipelines; the first is the shipped default (`--pipeline default`, the demo, and the node's
# config/sgdfuse.yaml): stage 1 + masks + the student (distilled for 1 network evaluation) from x_T = 0, the
# student and sampler chosen on the validation set (docs/refiner.md). PipelineConfig()'s own defaults are the
# bare classic GFF (no weights).
PRESETS: dict[str, dict[str, Any]] = {
    "sgdfuse": {"method": "stage1", "masks": "offline", "refiner": "student", "refiner_steps": 1,
                "refiner_noise": "zero"},
    "gff": {"method": "gff"},
    "sgdfuse-teacher": {"method": "stage1", "masks": "offline", "refiner": "teacher"},  # its many-step teacher
}


def config_from_spec(spec: str) -> tuple[str, PipelineConfig]:
    """A preset name, a registered method name, or a YAML config file -> (label, config).

    Options can be overridden after the name, ``:key=value`` each (values read as YAML), e.g.
    ``sgdfuse-teacher:refiner_steps=4``; the label is the whole spec (a YAML file alone: its stem).
    """
    from .methods import available_methods

    name, *overrides = spec.split(":")
    values = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"pipeline {spec!r}: overrides are written name:key=value, got {item!r}")
        values[key] = yaml.safe_load(value)
    if name == "default":
        name = next(iter(PRESETS))
    if name in PRESETS:
        base = dict(PRESETS[name])
    elif name in available_methods():  # the initial fusion alone: no masks, no refiner
        base = {"method": name, "masks": "none"}
    elif name.endswith((".yaml", ".yml")):
        base = PipelineConfig.from_yaml(name).to_dict()
    else:
        raise ConfigError(f"unknown pipeline {name!r}: use a preset ({', '.join(PRESETS)}), "
                          f"a method ({', '.join(available_methods())}) or a .yaml config")
    label = Path(name).stem if name.endswith((".yaml", ".yml")) and not overrides else spec
    return label, PipelineConfig.from_dict({**base, **values})


def pipeline_from_spec(spec: str) -> tuple[str, FusionPipeline]:
    """``config_from_spec``, built: (label, pipeline)."""
    label, config = config_from_spec(spec)
    return label, build_pipeline(config)
