"""The fusion node's parameters as dataclasses, mapped onto dotted parameter names (``options.build_from_flat``).

ROS parameters are flat dotted names (``sync.slop``, ``pipeline.stage1.method``); YAML nests them. Every field of a
dataclass becomes one parameter named ``<prefix>.<field>``, nested dataclasses add a level. The pipeline
section maps onto ``PipelineConfig`` the same way, so a field another developer adds there becomes a node
parameter with no change here. Values are checked and coerced against the field types (``int`` is accepted
for ``float``; lists for tuples), with errors naming the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from ..config import PipelineConfig
from ..errors import ConfigError
from ..options import build_from_flat, flatten_defaults
from .sync import SyncConfig
from .temporal import TemporalParams

RELIABILITY = ("best_effort", "reliable")
OUTPUT_ENCODINGS = ("rgb8", "bgr8")
CV_BRIDGE_CHOICES = ("auto", "true", "false")  # auto: cv_bridge when importable, else the core encodings


# ROS 2 topic names: "/"-separated tokens of letters, digits and underscores, a token not starting with a digit;
# relative, absolute ("/") or private ("~/"); no "//", no trailing "/" (substitutions such as {node} aside)
_TOKEN = r"[A-Za-z_][A-Za-z0-9_]*"
TOPIC_NAME = re.compile(rf"(~/|/)?{_TOKEN}(/{_TOKEN})*")


def check_topic_name(parameter: str, name: str) -> None:
    """ConfigError naming ``parameter`` unless ``name`` is a valid ROS 2 topic name."""
    if not TOPIC_NAME.fullmatch(name):
        raise ConfigError(f"{parameter}: {name!r} is not a valid ROS 2 topic name (tokens of letters, digits "
                          "and _ separated by /, not starting with a digit)")


@dataclass
class TopicParams:
    thermal: str = "thermal/image"
    rgb: str = "rgb/image"
    fused: str = "fused_image"
    mask_ir: str = "fused/mask_ir"
    mask_vis: str = "fused/mask_vis"
    initial: str = "fused/initial"

    def __post_init__(self) -> None:
        for f in fields(self):
            check_topic_name(f"topics.{f.name}", getattr(self, f.name))


@dataclass
class QosParams:
    input_reliability: str = "best_effort"  # sensor data: the newest frame matters, not every frame
    input_depth: int = 5
    output_reliability: str = "reliable"  # reaches both reliable and best-effort subscribers
    output_depth: int = 5

    def __post_init__(self) -> None:
        for name in ("input_reliability", "output_reliability"):
            if getattr(self, name) not in RELIABILITY:
                raise ConfigError(f"qos.{name} must be one of {', '.join(RELIABILITY)}, "
                                  f"got {getattr(self, name)!r}")
        for name in ("input_depth", "output_depth"):
            if getattr(self, name) < 1:
                raise ConfigError(f"qos.{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class PublishParams:
    fused: bool = True
    masks: bool = True  # only when the pipeline produces masks
    initial: bool = False  # the stage-1 image, only when a refiner runs after it
    encoding: str = "rgb8"  # rgb8 | bgr8 for the colour outputs

    def __post_init__(self) -> None:
        if self.encoding not in OUTPUT_ENCODINGS:
            raise ConfigError(f"publish.encoding must be one of {', '.join(OUTPUT_ENCODINGS)}, "
                              f"got {self.encoding!r}")
        if not (self.fused or self.masks or self.initial):
            raise ConfigError("publish: every output is switched off (fused, masks, initial)")


@dataclass
class NodeParams:
    topics: TopicParams = field(default_factory=TopicParams)
    qos: QosParams = field(default_factory=QosParams)
    sync: SyncConfig = field(default_factory=SyncConfig)
    publish: PublishParams = field(default_factory=PublishParams)
    temporal: TemporalParams = field(default_factory=TemporalParams)
    require_same_size: bool = False  # reject pairs whose thermal and RGB sizes differ (else IR is resized)
    diagnostics_period: float = 1.0  # seconds between /diagnostics messages
    use_cv_bridge: bool | str = "auto"  # pixels via cv_bridge: auto | true | false (stored as a string)

    def __post_init__(self) -> None:
        if not 0 < self.diagnostics_period < float("inf"):
            raise ConfigError(f"diagnostics_period must be > 0, got {self.diagnostics_period}")
        value = self.use_cv_bridge
        self.use_cv_bridge = str(value).lower() if isinstance(value, bool) else value
        if self.use_cv_bridge not in CV_BRIDGE_CHOICES:
            raise ConfigError(f"use_cv_bridge must be one of {', '.join(CV_BRIDGE_CHOICES)}, got {value!r}")


PIPELINE_PREFIX = "pipeline"


def node_defaults() -> dict[str, Any]:
    """Every node parameter with its default, the pipeline section included."""
    return {**flatten_defaults(NodeParams), **flatten_defaults(PipelineConfig, PIPELINE_PREFIX)}


# parameters every ROS node may be given, and the node's own start-up switch (not part of NodeParams)
ROS_PARAMETERS = ("autostart", "use_sim_time", "start_type_description_service")
ROS_PREFIXES = ("qos_overrides.",)


def unknown_names(values: dict[str, Any]) -> list[str]:
    """Names that match no parameter: typos in a YAML file, a misspelled section (``synch:``) included."""
    known = set(node_defaults()) | set(ROS_PARAMETERS)
    return sorted(n for n in values if n not in known and not n.startswith(ROS_PREFIXES))


def params_from_flat(values: dict[str, Any]) -> tuple[NodeParams, PipelineConfig]:
    """Validated node parameters and pipeline configuration; ``ConfigError`` names the bad parameter."""
    unknown = unknown_names(values)
    if unknown:
        raise ConfigError(f"unknown parameter(s): {', '.join(unknown)}")
    node = build_from_flat(NodeParams, values)
    pipeline = build_from_flat(PipelineConfig, values, PIPELINE_PREFIX)
    return node, pipeline
