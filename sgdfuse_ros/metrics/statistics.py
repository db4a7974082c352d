"""Statistical metrics on data 0..255 (float64): SD, SF, AG, SCD, CC, PSNR, MSE."""

from __future__ import annotations

import numpy as np

from sgdfuse_ros.metrics._common import as_f64, pearson


def standard_deviation(fused: np.ndarray) -> float:
    """SD: population standard deviation (divides by M*N)."""
    f = as_f64(fused)
    d = f - f.mean()
    return float(np.sqrt(np.sum(d * d) / f.size))


def spatial_frequency(fused: np.ndarray) -> float:
    """SF: sqrt(RF^2 + CF^2), RF/CF = RMS of vertical/horizontal first differences (no padding)."""
    f = as_f64(fused)
    dv = np.diff(f, axis=0)
    dh = np.diff(f, axis=1)
    return float(np.sqrt(np.sum(dv * dv) / dv.size + np.sum(dh * dh) / dh.size))


def average_gradient(fused: np.ndarray) -> float:
    """AG: MATLAB ``gradient``; quirk: the sum over all M*N pixels is divided by (M-1)*(N-1)."""
    f = as_f64(fused)
    m, n = f.shape
    gy, gx = np.gradient(f)  # central inside, one-sided at the border, like MATLAB
    s = np.sqrt((gx * gx + gy * gy) / 2.0)
    return float(np.sum(s) / ((m - 1) * (n - 1)))


def scd(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """SCD: corr2(F - VIS, IR) + corr2(F - IR, VIS) (a sum)."""
    f, a, b = as_f64(fused), as_f64(ir), as_f64(vis)
    return pearson(f - b, a) + pearson(f - a, b)


def correlation_coefficient(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """CC: mean(r_AF, r_BF); quirk: r_BF's numerator centres VIS with mean(IR) (same value up to rounding)."""
    f, a, b = as_f64(fused), as_f64(ir), as_f64(vis)
    fc = f - f.mean()
    ac = a - a.mean()
    bc = b - b.mean()
    sff = np.sum(fc * fc)
    r_af = np.sum(ac * fc) / np.sqrt(np.sum(ac * ac) * sff)
    r_bf = np.sum((b - a.mean()) * fc) / np.sqrt(np.sum(bc * bc) * sff)
    return float((r_af + r_bf) / 2.0)


def mse(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """MSE: 0.5*MSE(IR, F) + 0.5*MSE(VIS, F) on data divided by 255 (0..1 scale)."""
    f, a, b = (as_f64(x) / 255.0 for x in (fused, ir, vis))
    da = a - f
    db = b - f
    return float(0.5 * np.mean(da * da) + 0.5 * np.mean(db * db))


def psnr(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """PSNR: 20*log10(255/sqrt(MSE)) with MSE on the 0..1 scale; quirk: about +48.13 dB over standard PSNR."""
    return float(20.0 * np.log10(255.0 / np.sqrt(mse(fused, ir, vis))))
