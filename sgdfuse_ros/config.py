"""Pipeline configuration: one validated dataclass shared by the node, the CLI, the bag tools and benchmarks.

``PipelineConfig`` groups the options by concern: ``input`` (thermal normalisation, registration),
``stage1`` (the initial fusion), ``masks``, ``refiner`` and ``runtime`` (backend). An option is named
``group.field`` everywhere: a section of the YAML file (``pipeline: refiner: steps: 4``), the node's
parameter ``pipeline.refiner.steps``, a CLI override ``sgdfuse:refiner.steps=4``. Each group is a dataclass
that checks its own values (``__post_init__``). All of them end in ``build_pipeline(PipelineConfig)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .diffusion.condition import NOISES
from .errors import ConfigError
from .geometry import check_homography
from .images import DEFAULT_MAX_MEGAPIXELS
from .masks import MaskConfig, build_mask_source
from .options import build_from_flat, dotted, flatten_defaults
from .pipeline import FusionPipeline
from .refiner import MAX_TIMESTEPS, REFINERS, build_refiner


@dataclass
class InputConfig:
    """How the raw pair is brought onto one grid before any fusion."""

    thermal_percentiles: tuple[float, float] = (1.0, 99.0)  # 16-bit thermal normalisation
    homography: list[float] = field(default_factory=list)  # 9 values, row-major, IR -> VIS; [] = pre-registered
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS  # larger frames are refused before any model runs; 0 = none

    def __post_init__(self) -> None:
        self.thermal_percentiles = tuple(float(v) for v in self.thermal_percentiles)  # type: ignore[assignment]
        if len(self.thermal_percentiles) != 2:
            raise ConfigError(f"input.thermal_percentiles needs 2 values (low, high), got {self.thermal_percentiles}")
        lo, hi = self.thermal_percentiles
        if not 0.0 <= lo < hi <= 100.0:
            raise ConfigError(f"input.thermal_percentiles must satisfy 0 <= low < high <= 100, got {lo}, {hi}")
        if self.homography:
            check_homography(self.homography)  # finite, non-singular, well-conditioned (geometry.py)
        if not 0.0 <= self.max_megapixels < float("inf"):
            raise ConfigError(f"input.max_megapixels must be >= 0 (0: no limit), got {self.max_megapixels}")


@dataclass
class Stage1Config:
    """The initial fusion."""

    method: str = "gff"  # a name from sgdfuse_ros.methods.available_methods()
    weights: str = ""  # weights file of a learned method; "" = the shipped file


@dataclass
class RefinerConfig:
    """Stage 2: the diffusion refiner."""

    name: str = ""  # "" (none) | student (distilled, few steps) | teacher (many steps)
    steps: int = 0  # network evaluations (DDIM steps); 0 = the checkpoint's own
    weights: str = ""  # checkpoint; "" = the shipped file of `name`
    noise: str = "seeded"  # sampler start x_T: seeded (a fixed-seed draw) | zero (the prior's mean)

    def __post_init__(self) -> None:
        if self.name not in ("", *REFINERS) or not 0 <= self.steps <= MAX_TIMESTEPS:
            raise ConfigError(f"refiner.name must be '' or one of {', '.join(REFINERS)} with refiner.steps in "
                              f"0..{MAX_TIMESTEPS}, got {self.name!r}, {self.steps}")
        if self.noise not in NOISES:
            raise ConfigError(f"refiner.noise must be one of {', '.join(NOISES)}, got {self.noise!r}")


@dataclass
class RuntimeConfig:
    """Where the learned models run."""

    backend: str = "auto"  # auto | tensorrt | cuda | onnxruntime | cpu
    engines_dir: str = ""  # TensorRT engines; "" = $SGDFUSE_ENGINES or ~/.cache/sgdfuse/engines
    frame_graph: bool = True  # a learned pipeline off the cpu backend runs as one graph, raw frames to image


@dataclass
class PipelineConfig:
    """A pipeline, grouped by concern; each key is written ``group.field`` (``refiner.steps``)."""

    input: InputConfig = field(default_factory=InputConfig)
    stage1: Stage1Config = field(default_factory=Stage1Config)
    masks: MaskConfig = field(default_factory=MaskConfig)
    refiner: RefinerConfig = field(default_factory=RefinerConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PipelineConfig:
        """From nested sections (``{"refiner": {"steps": 4}}``), dotted keys (``{"refiner.steps": 4}``) or both;
        the options not given keep their defaults."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"pipeline options must be a mapping, got {type(values).__name__}")
        flat, known = dotted(values), flatten_defaults(cls)
        for key in flat:
            if key not in known:
                hint = f" (now {RENAMED[key]!r})" if key in RENAMED else ""
                raise ConfigError(f"unknown pipeline option {key!r}{hint}; known: {', '.join(known)}")
        return build_from_flat(cls, flat)

    @classmethod
    def from_yaml(cls, path: str | Path) -> PipelineConfig:
        """Read the ``pipeline:`` section of a YAML file (or the whole file if it has none), or the
        ``pipeline.*`` parameters of a ROS parameter file (the node's config/sgdfuse.yaml)."""
        data = read_yaml_mapping(path)
        try:
            if any(isinstance(v, dict) and "ros__parameters" in v for v in data.values()):
                prefix = "pipeline."
                ros = ros_parameters(data)
                return cls.from_dict({k[len(prefix):]: v for k, v in ros.items() if k.startswith(prefix)})
            return cls.from_dict(data.get("pipeline", data))
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        """Nested sections, as in the YAML file."""
        return asdict(self)

    def replace(self, changes: Mapping[str, Any]) -> PipelineConfig:
        """A copy with some options changed, keys dotted or nested as in ``from_dict``."""
        return PipelineConfig.from_dict({**dotted(self.to_dict()), **dotted(changes)})


# the flat names of the options before they were grouped, for the error message
RENAMED = {"method": "stage1.method", "weights": "stage1.weights", "backend": "runtime.backend",
           "engines_dir": "runtime.engines_dir", "thermal_percentiles": "input.thermal_percentiles",
           "homography": "input.homography", "refiner": "refiner.name", "refiner_steps": "refiner.steps",
           "refiner_weights": "refiner.weights", "refiner_noise": "refiner.noise", "masks": "masks.source",
           **{f"mask_{k}": f"masks.{k}" for k in ("encoding", "mode", "every_n", "max_age_s", "fallback")},
           **{f"sam_{k}": f"masks.sam_{k}" for k in ("model", "checkpoint", "points_per_side", "path",
                                                     "onnx_encoder", "onnx_decoder")}}


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping (an empty file: {}); ConfigError naming the file otherwise."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def ros_parameters(data: Mapping[str, Any], node_name: str | None = None) -> dict[str, Any]:
    """Flat parameters from a ROS 2 parameter file's ``<node>: ros__parameters:`` sections: for ``node_name``
    the wildcard ``/**`` first, then the node's own sections; for None every section, in file order."""
    keys = list(data) if node_name is None else ["/**", node_name, f"/{node_name}", f"/**/{node_name}"]
    values: dict[str, Any] = {}
    for key in keys:
        section = data.get(key)
        if isinstance(section, dict) and isinstance(section.get("ros__parameters"), dict):
            values.update(dotted(section["ros__parameters"]))
    return values


def read_ros_params_yaml(path: str | Path, node_name: str = "sgdfuse") -> dict[str, Any]:
    """Flat parameters for ``node_name`` from a ROS 2 parameter file, read without ROS (bag tools, tests)."""
    values = ros_parameters(read_yaml_mapping(path), node_name)
    if not values:
        raise ConfigError(f"{path}: no ros__parameters for '/**' or {node_name!r}")
    return values


# SAM runs on CUDA when the backend is cuda or tensorrt, on the CPU for cpu or onnxruntime, wherever CUDA is
# available for auto
SAM_DEVICES = {"cuda": "cuda", "tensorrt": "cuda", "cpu": "cpu", "onnxruntime": "cpu"}


def uses_frame_graph(config: PipelineConfig) -> bool:
    """A learned pipeline whose backend is not ``cpu`` (``auto``: resolved here) runs as a frame graph."""
    from .methods.learned import LEARNED_METHODS
    from .runtime import resolve_backend

    runtime = config.runtime
    return (runtime.frame_graph and config.stage1.method in LEARNED_METHODS
            and resolve_backend(runtime.backend) != "cpu")


def build_pipeline(config: PipelineConfig) -> FusionPipeline:
    """The pipeline a configuration describes (models are loaded here, once).

    With a frame graph (``uses_frame_graph``) the stages keep their torch modules on the CPU (the graph is
    built from them, and they fuse the frames the graph does not take); otherwise the learned models run on
    ``runtime.backend``.
    """
    from .methods.learned import LEARNED_METHODS

    stage1, runtime, refiner_config = config.stage1, config.runtime, config.refiner
    frame = uses_frame_graph(config)
    backend = None if frame else runtime.backend
    engines_dir = runtime.engines_dir or None
    options: dict[str, Any] = {}
    if stage1.weights:
        options["weights"] = stage1.weights
    if stage1.method in LEARNED_METHODS:
        options.update(backend=backend, engines_dir=engines_dir)
    homography = np.array(config.input.homography, np.float64).reshape(3, 3) if config.input.homography else None
    refiner = build_refiner(refiner_config.name, refiner_config.steps, refiner_config.weights, backend=backend,
                            engines_dir=engines_dir, noise=refiner_config.noise)
    pipeline = FusionPipeline(
        stage1.method,
        thermal_percentiles=config.input.thermal_percentiles,
        homography=homography,
        max_megapixels=config.input.max_megapixels,
        masks=build_mask_source(config.masks, device=SAM_DEVICES.get(runtime.backend, "auto")),
        refiner=refiner,
        **options,
    )
    if frame:
        from .frame.runner import FrameRunner

        name = f"frame_{pipeline.name}".replace("+", "_") + (f"_{refiner.model_name}" if refiner else "")
        pipeline.frame = FrameRunner(name, pipeline.fuse_fn.module, refiner,  # type: ignore[attr-defined]
                                     runtime.backend, thermal_percentiles=config.input.thermal_percentiles,
                                     homography=homography, engines_dir=engines_dir)
    return pipeline


# Named pipelines; the first is the shipped default (`--pipeline default`, the demo, and the node's
# config/sgdfuse.yaml): stage 1 + masks + the student (distilled for 1 network evaluation) from x_T = 0, the
# student and sampler chosen on the validation set (docs/refiner.md). PipelineConfig()'s own defaults are the
# bare classic GFF (no weights).
PRESETS: dict[str, dict[str, Any]] = {
    "sgdfuse": {"stage1.method": "stage1", "masks.source": "offline", "refiner.name": "student",
                "refiner.steps": 1, "refiner.noise": "zero"},
    "gff": {"stage1.method": "gff"},
    "sgdfuse-teacher": {"stage1.method": "stage1", "masks.source": "offline",
                        "refiner.name": "teacher"},  # its many-step teacher
}


def config_from_spec(spec: str) -> tuple[str, PipelineConfig]:
    """A preset name, a registered method name, or a YAML config file -> (label, config).

    Options can be overridden after the name, ``:group.key=value`` each (values read as YAML), e.g.
    ``sgdfuse-teacher:refiner.steps=4``; the label is the whole spec (a YAML file alone: its stem).
    """
    from .methods import available_methods

    name, *overrides = spec.split(":")
    values = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"pipeline {spec!r}: overrides are written name:group.key=value, got {item!r}")
        values[key] = yaml.safe_load(value)
    if name == "default":
        name = next(iter(PRESETS))
    if name in PRESETS:
        base = dict(PRESETS[name])
    elif name in available_methods():  # the initial fusion alone: no masks, no refiner
        base = {"stage1.method": name, "masks.source": "none"}
    elif name.endswith((".yaml", ".yml")):
        base = PipelineConfig.from_yaml(name).to_dict()
    else:
        raise ConfigError(f"unknown pipeline {name!r}: use a preset ({', '.join(PRESETS)}), "
                          f"a method ({', '.join(available_methods())}) or a .yaml config")
    label = Path(name).stem if name.endswith((".yaml", ".yml")) and not overrides else spec
    return label, PipelineConfig.from_dict({**dotted(base), **values})


def pipeline_from_spec(spec: str) -> tuple[str, FusionPipeline]:
    """``config_from_spec``, built: (label, pipeline)."""
    label, config = config_from_spec(spec)
    return label, build_pipeline(config)
