"""Exceptions with messages meant for the user."""


class SGDFuseError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(SGDFuseError, ValueError):
    """An image, message or file that cannot be used (missing, empty, wrong encoding, NaN...)."""


class CheckpointError(SGDFuseError):
    """A weights file that is missing, corrupt or made for another model."""


class ConfigError(SGDFuseError, ValueError):
    """A parameter or configuration value that is invalid."""


class ModelError(SGDFuseError):
    """A model that runs but produces unusable output (NaN or inf)."""
