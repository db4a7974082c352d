"""IR-VIS fusion quality metrics, faithful to the reference MATLAB code.

Reference: GitHub Linfeng-Tang/Evaluation-for-Image-Fusion, ``Evaluation/analysis_Reference.m``.

Every metric reproduces the reference's conventions and quirks by default (each documented where it is
implemented); golden values from the reference run under Octave are in shared/metrics_golden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from sgdfuse_ros.errors import InputError
from sgdfuse_ros.metrics._common import check_triple, to_gray_u8
from sgdfuse_ros.metrics.edges import nabf, nabf_raw, qabf
from sgdfuse_ros.metrics.fidelity import vif, vifp_mscale
from sgdfuse_ros.metrics.information import entropy, mutual_information, mutual_information_pair
from sgdfuse_ros.metrics.noise import immerkaer_sigma, noise_ratio, overshoot
from sgdfuse_ros.metrics.statistics import (
    average_gradient,
    correlation_coefficient,
    mse,
    psnr,
    scd,
    spatial_frequency,
    standard_deviation,
)
from sgdfuse_ros.metrics.structural import mef_ssim, mef_ssim_scales, ssim, ssim_pair

METRIC_NAMES: tuple[str, ...] = ("EN", "MI", "SD", "SF", "AG", "VIF", "Qabf", "SCD", "SSIM", "CC", "PSNR",
                                 "MSE", "Nabf", "MS_SSIM")
DEFAULT_METRICS: tuple[str, ...] = ("EN", "MI", "SD", "SF", "AG", "VIF", "Qabf", "SCD", "SSIM")
# Not in the reference code (noise.py): lower is cleaner, so they are reported beside the nine, never ranked.
NOISE_METRICS: tuple[str, ...] = ("NR", "OS")
MEDIAN = " med"  # suffix of a median column (the noise figures): shown in tables, never ranked

_Triple = Callable[[np.ndarray, np.ndarray, np.ndarray], float]

# name -> (wants uint8, fn(fused, ir, vis)). EN/MI get the uint8 images, the others float64 holding 0..255,
# as in the reference driver.
_METRICS: dict[str, tuple[bool, _Triple]] = {
    "EN": (True, lambda f, a, b: entropy(f)),
    "MI": (True, mutual_information),
    "SD": (False, lambda f, a, b: standard_deviation(f)),
    "SF": (False, lambda f, a, b: spatial_frequency(f)),
    "AG": (False, lambda f, a, b: average_gradient(f)),
    "VIF": (False, vif),
    "Qabf": (False, qabf),
    "SCD": (False, scd),
    "SSIM": (False, ssim),
    "CC": (False, correlation_coefficient),
    "PSNR": (False, psnr),
    "MSE": (False, mse),
    "Nabf": (False, nabf),
    "MS_SSIM": (False, mef_ssim),
    "NR": (False, noise_ratio),
    "OS": (False, overshoot),
}


def compute_metrics(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray,
                    names: Sequence[str] = DEFAULT_METRICS) -> dict[str, float]:
    """The named metrics of a fused image against its IR and VIS sources (uint8 grayscale HxW, one shape).

    Returns {name: value} in the order of ``names``; raises InputError (a ValueError) for bad inputs or
    unknown names. Degenerate inputs give what the reference gives, silently: e.g. SCD/CC are NaN when an
    image is constant, PSNR is inf when MSE is 0, VIF is NaN and MS_SSIM -inf when the image is too small.
    """
    if isinstance(names, str):
        names = (names,)
    unknown = [n for n in names if n not in _METRICS]
    if unknown:
        raise InputError(f"unknown metric(s) {unknown}; known: {', '.join(METRIC_NAMES + NOISE_METRICS)}")
    u8 = check_triple(fused, ir, vis)
    f64 = tuple(x.astype(np.float64) for x in u8) if any(not _METRICS[n][0] for n in names) else u8
    with np.errstate(divide="ignore", invalid="ignore"):
        return {n: float(_METRICS[n][1](*(u8 if _METRICS[n][0] else f64))) for n in names}


def summarise(rows: Sequence[dict[str, float]], metric_names: Sequence[str],
              noise_names: Sequence[str] = NOISE_METRICS) -> dict[str, float]:
    """One table row from per-image scores: the mean of each metric, the median of each noise figure
    (``NR med``...: a few grainy images should not hide behind many clean ones)."""
    return {**{m: float(np.mean([r[m] for r in rows])) for m in metric_names},
            **{n + MEDIAN: float(np.median([r[n] for r in rows])) for n in noise_names}}


__all__ = [
    "DEFAULT_METRICS",
    "MEDIAN",
    "METRIC_NAMES",
    "NOISE_METRICS",
    "average_gradient",
    "compute_metrics",
    "correlation_coefficient",
    "entropy",
    "immerkaer_sigma",
    "mef_ssim",
    "mef_ssim_scales",
    "mse",
    "mutual_information",
    "mutual_information_pair",
    "nabf",
    "nabf_raw",
    "noise_ratio",
    "overshoot",
    "psnr",
    "qabf",
    "scd",
    "spatial_frequency",
    "ssim",
    "ssim_pair",
    "standard_deviation",
    "summarise",
    "to_gray_u8",
    "vif",
    "vifp_mscale",
]
