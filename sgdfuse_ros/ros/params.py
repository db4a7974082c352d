"""Declare and read the node's ROS parameters (node-only sections and the ``pipeline.`` section).

Every parameter is declared with ``dynamic_typing`` and checked by the core (``stream.node_params``) at
configure time, so a wrong type or value makes ``configure`` fail with a message naming the parameter,
instead of an exception in the constructor (what a statically typed declaration would raise).
"""

from __future__ import annotations

from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from ..config import PipelineConfig
from ..errors import ConfigError
from ..stream.node_params import NodeParams, node_defaults, params_from_flat, unknown_names


def declare_node_parameters(node: Node) -> None:
    for name, default in node_defaults().items():
        node.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True))


def read_node_parameters(node: Node) -> tuple[NodeParams, PipelineConfig]:
    values: dict[str, Any] = {name: node.get_parameter(name).value for name in node_defaults()}
    # overrides that match no declared parameter (a typo in the YAML) would be ignored silently by ROS
    overrides = getattr(node, "_parameter_overrides", {})  # private but present from Humble to Kilted
    typos = unknown_names(dict.fromkeys(overrides))
    if typos:
        raise ConfigError(f"unknown parameter(s): {', '.join(typos)}")
    return params_from_flat(values)
