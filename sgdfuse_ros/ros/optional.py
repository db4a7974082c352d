"""Optional ROS packages (``message_filters``, ``cv_bridge``): used when importable, the core otherwise.

Neither is on PyPI; a sourced ROS 2 installation provides them. A setting is ``None`` (auto: use it when it
imports), ``True`` (required: a ``ConfigError`` naming the parameter when it does not) or ``False`` (never).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import ConfigError


def optional_module(name: str) -> ModuleType | None:
    """The module, or None when it cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def use_optional(param: str, wanted: bool | None, module: ModuleType | None, package: str) -> bool:
    """Whether to use an optional package; ``package`` is its ROS package name, for the error message."""
    if wanted is False:
        return False
    if module is not None:
        return True
    if wanted:
        raise ConfigError(f"{param} asks for {package}, which cannot be imported here (install "
                          f"ros-$ROS_DISTRO-{package.replace('_', '-')} and source ROS 2, or set {param} to auto)")
    return False
