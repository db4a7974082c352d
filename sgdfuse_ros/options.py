"""Parsing of option values shared by the CLI, the training tools and the configs (no heavy imports), and the
mapping between dataclasses and flat dotted names."""

from __future__ import annotations

import array
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, asdict, fields, is_dataclass
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


# -- dataclass <-> flat dotted names (``refiner.steps``): the pipeline config, the node's parameters --
def dotted(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"refiner": {"steps": 4}}`` -> ``{"refiner.steps": 4}`` (dataclasses as their fields); dotted keys
    pass through."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if is_dataclass(value) and not isinstance(value, type):
            value = asdict(value)
        if isinstance(value, Mapping):
            out.update(dotted(value, name))
        else:
            out[name] = value
    return out


def _default(f: Any) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def flatten_defaults(cls: type, prefix: str = "") -> dict[str, Any]:
    """``{"sync.slop": 0.02, ...}``: every (nested) field's default, tuples as lists."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        name = f"{prefix}.{f.name}" if prefix else f.name
        default = _default(f)
        if is_dataclass(default):
            out.update(flatten_defaults(type(default), name))
        else:
            out[name] = list(default) if isinstance(default, tuple) else default
    return out


def build_from_flat(cls: type, values: Mapping[str, Any], prefix: str = "") -> Any:
    """Instance of dataclass ``cls`` from dotted names, each value checked against its field's type
    (``coerce_value``); missing names (and None values) keep their defaults."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        name = f"{prefix}.{f.name}" if prefix else f.name
        default = _default(f)
        if is_dataclass(default):
            kwargs[f.name] = build_from_flat(type(default), values, name)
        elif name in values and values[name] is not None:
            kwargs[f.name] = coerce_value(name, values[name], hints[f.name])
    return cls(**kwargs)
