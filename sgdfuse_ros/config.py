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

from .errors import ConfigError
from .pipeline import FusionPipeline


@dataclass
class PipelineConfig:
    method: str = "gff"  # initial fusion: a name from sgdfuse_ros.methods.available_methods()
    weights: str = ""  # weights file of a learned method; "" = the shipped file
    backend: str = "auto"  # runtime of learned models: auto | tensorrt | cuda | onnxruntime | cpu
    thermal_percentiles: tuple[float, float] = (1.0, 99.0)  # 16-bit thermal normalisation
    homography: list[float] = field(default_factory=list)  # 9 values, row-major, IR -> VIS; [] = pre-registered

    def __post_init__(self) -> None:
        self.thermal_percentiles = tuple(float(v) for v in self.thermal_percentiles)  # type: ignore[assignment]
        lo, hi = self.thermal_percentiles
        if not 0.0 <= lo < hi <= 100.0:
            raise ConfigError(f"thermal_percentiles must satisfy 0 <= low < high <= 100, got {lo}, {hi}")
        if self.homography and len(self.homography) != 9:
            raise ConfigError(f"homography needs 9 values (row-major 3x3), got {len(self.homography)}")

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


def build_pipeline(config: PipelineConfig) -> FusionPipeline:
    """The pipeline a configuration describes (models are loaded here, once)."""
    options: dict[str, Any] = {}
    if config.weights:
        options["weights"] = config.weights
    homography = np.array(config.homography, np.float64).reshape(3, 3) if config.homography else None
    return FusionPipeline(
        config.method,
        thermal_percentiles=config.thermal_percentiles,
        homography=homography,
        **options,
    )


# Named pipelines for the CLI, best first: the demo and `--pipeline default` take the first one available.
PRESETS: dict[str, dict[str, Any]] = {
    "gff": {"method": "gff"},
}


def pipeline_from_spec(spec: str) -> tuple[str, FusionPipeline]:
    """A preset name, a registered method name, or a YAML config file -> (label, pipeline)."""
    from .methods import available_methods

    if spec == "default":
        spec = next(iter(PRESETS))
    if spec in PRESETS:
        return spec, build_pipeline(PipelineConfig.from_dict(PRESETS[spec]))
    if spec in available_methods():
        return spec, build_pipeline(PipelineConfig(method=spec))
    if spec.endswith((".yaml", ".yml")):
        return Path(spec).stem, build_pipeline(PipelineConfig.from_yaml(spec))
    raise ConfigError(f"unknown pipeline {spec!r}: use a preset ({', '.join(PRESETS)}), "
                      f"a method ({', '.join(available_methods())}) or a .yaml config")
