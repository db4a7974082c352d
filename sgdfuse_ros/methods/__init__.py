"""Registry of initial-fusion methods: ``build_method(name, **options)`` -> ``(ir, vis) -> fused`` luma.

A fusion function takes the IR and VIS luma (float32 HxW in [0, 1], same grid) and returns the fused
luma (float32 HxW in [0, 1]). Classic methods register here on import; learned ones register a factory
that loads weights and a runtime only when built.
"""

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


# The registering modules import the registry above, so they come last.
from . import classic, learned  # noqa: E402,F401  (classic baselines; "stage1"/"seafusion": torch loads on build)
