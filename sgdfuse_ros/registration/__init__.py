"""Thermal -> RGB camera registration: estimate a homography from image pairs, and score an alignment."""

from .estimate import MODELS, Calibration, RegistrationError, calibrate, estimate_pair
from .score import alignment_score

__all__ = ["MODELS", "Calibration", "RegistrationError", "alignment_score", "calibrate", "estimate_pair"]
