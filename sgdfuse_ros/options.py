"""Parsing of option values shared by the CLI, the training tools and the configs (no heavy imports)."""

from __future__ import annotations

import array
import math
import types
import typing
from typing import Any

from .errors import ConfigError


def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``: a comma-separated option's items, stripped, empties dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def coerce_value(name: str, value: Any, hint: Any) -> Any:
    """Check ``value`` against a field type hint, errors naming ``name``: int -> float and sequence ->
    list/tuple conversions only; numbers must be finite."""
    if isinstance(value, array.array):
        value = value.tolist()
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(hint)):
            return None
        for option in options[:-1]:  # the first type that accepts the value; the last one reports the error
            try:
                return coerce_value(name, value, option)
            except ConfigError:
                pass
        hint, origin = options[-1], typing.get_origin(options[-1])
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"parameter {name}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"parameter {name}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"parameter {name}: expected a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"parameter {name}: expected a string, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"parameter {name}: expected a list, got {value!r}")
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        item = args[0] if args else Any
        items = [v if item is Any else coerce_value(f"{name}[{k}]", v, item) for k, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    return value
