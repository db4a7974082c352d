"""The registry of initial-fusion methods: ``register_method(name, factory)``, ``build_method(name, **options)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ConfigError

FuseFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
_FACTORIES: dict[str, Callable[..., FuseFn]] = {}


def register_method(name: str, factory: Callable[..., FuseFn]) -> None:
    """Make ``build_method(name, **options)`` call ``factory(**options)``."""
    if name in _FACTORIES:
        raise ValueError(f"fusion method {name!r} registered twice")
    _FACTORIES[name] = factory


def available_methods() -> list[str]:
    return sorted(_FACTORIES)


def build_method(name: str, **options: object) -> FuseFn:
    if name not in _FACTORIES:
        raise ConfigError(f"unknown fusion method {name!r}; available: {', '.join(available_methods())}")
    return _FACTORIES[name](**options)
