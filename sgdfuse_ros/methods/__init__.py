"""Registry of initial-fusion methods: ``build_method(name, **options)`` -> ``(ir, vis) -> fused`` luma.

A fusion function takes the IR and VIS luma (float32 HxW in [0, 1], same grid) and returns the fused
luma (float32 HxW in [0, 1]). Classic methods register here on import; learned ones register a factory
that loads weights and a runtime only when built.
"""

from __future__ import annotations

# importing them registers the classic and the learned methods
from . import classic, learned  # noqa: F401  (classic baselines; "stage1"/"seafusion": torch loads on build)
from .registry import FuseFn, available_methods, build_method, register_method

__all__ = ["FuseFn", "available_methods", "build_method", "register_method"]
