"""Structural similarity: SSIM (MATLAB ``ssim`` defaults) and multi-scale MEF-SSIM (reported as MS_SSIM)."""

from __future__ import annotations

import numpy as np

from sgdfuse_ros.metrics._common import (
    as_f64,
    box_sum_valid,
    filter_same_replicate,
    filter_valid,
    gaussian_1d,
)

_SSIM_WIN = gaussian_1d(11, 1.5)  # MATLAB ssim: sigma 1.5, size 2*ceil(3*sigma)+1

# ----------------------------------------------------------------------------------------------- SSIM


def _ssim_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = filter_same_replicate(x, _SSIM_WIN)
    return mu, filter_same_replicate(x * x, _SSIM_WIN) - mu * mu


def _ssim_from_stats(x: np.ndarray, mu_x: np.ndarray, var_x: np.ndarray, y: np.ndarray, mu_y: np.ndarray,
                     var_y: np.ndarray, dynamic_range: float) -> float:
    c1 = (0.01 * dynamic_range) ** 2
    c2 = (0.03 * dynamic_range) ** 2
    mu_xy = mu_x * mu_y
    cov = filter_same_replicate(x * y, _SSIM_WIN) - mu_xy
    num = (2.0 * mu_xy + c1) * (2.0 * cov + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return float(np.mean(num / den))


def ssim_pair(img: np.ndarray, ref: np.ndarray, dynamic_range: float = 1.0) -> float:
    """MATLAB ``ssim(img, ref)``: Gaussian 11x11 sigma 1.5, replicate padding, mean of the map.

    Quirk (default): the reference passes doubles holding 0..255, so MATLAB's DynamicRange is 1, giving
    C1 = 1e-4 and C2 = 9e-4 instead of (0.01*255)^2 and (0.03*255)^2 (use dynamic_range=255 for those).
    """
    x, y = as_f64(img), as_f64(ref)
    return _ssim_from_stats(x, *_ssim_stats(x), y, *_ssim_stats(y), dynamic_range)


def ssim(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, dynamic_range: float = 1.0) -> float:
    """SSIM: 0.5*ssim(F, IR) + 0.5*ssim(F, VIS), DynamicRange 1 by default (see ssim_pair)."""
    f, a, b = as_f64(fused), as_f64(ir), as_f64(vis)
    f_stats = _ssim_stats(f)
    return (0.5 * _ssim_from_stats(f, *f_stats, a, *_ssim_stats(a), dynamic_range)
            + 0.5 * _ssim_from_stats(f, *f_stats, b, *_ssim_stats(b), dynamic_range))


# ------------------------------------------------------------------------------------------- MEF-SSIM

_MEF_WIN = gaussian_1d(11, 1.5)
_MEF_SIZE = 11
_MEF_WEIGHTS = np.array([0.0448, 0.2856, 0.3001]) / (0.0448 + 0.2856 + 0.3001)
_EPS = np.finfo(np.float64).eps


def _mef_ssim_scale(x1: np.ndarray, x2: np.ndarray, f: np.ndarray, k: float = 0.03) -> float:
    """One scale of ``mef_ssim({x1, x2}, f)``: mean of the 'valid' quality map.

    The reference loops over patches; here every patch statistic is written with window sums. Box sums
    of data on a dyadic grid (integers, then quarters, sixteenths) are exact, so the patch norms are too.
    """
    n = _MEF_SIZE * _MEF_SIZE
    s1, s2 = box_sum_valid(x1, _MEF_SIZE), box_sum_valid(x2, _MEF_SIZE)
    # Centred sums of products over each patch, sum((x_j - mean_j) * (x_k - mean_k)), exact numerators.
    v11 = np.maximum(n * box_sum_valid(x1 * x1, _MEF_SIZE) - s1 * s1, 0.0) / n
    v22 = np.maximum(n * box_sum_valid(x2 * x2, _MEF_SIZE) - s2 * s2, 0.0) / n
    v12 = (n * box_sum_valid(x1 * x2, _MEF_SIZE) - s1 * s2) / n
    norm1, norm2 = np.sqrt(v11), np.sqrt(v22)
    ed1, ed2 = norm1 + 0.001, norm2 + 0.001  # signal strength
    # Structure consistency R = ||sum_k x_k - mean|| / sum_k ||x_k - mean_k||, clamped, mapped to p.
    norm_sum = np.sqrt(np.maximum(v11 + 2.0 * v12 + v22, 0.0))
    r = (norm_sum + _EPS) / (norm1 + norm2 + _EPS)
    r[r > 1] = 1 - _EPS
    r[r < 0] = _EPS
    p = np.minimum(np.tan(np.pi / 2 * r), 10.0)
    w1 = (ed1 / _MEF_SIZE) ** p + _EPS
    w2 = (ed2 / _MEF_SIZE) ** p + _EPS
    wsum = w1 + w2
    c1, c2 = w1 / wsum / ed1, w2 / wsum / ed2
    # Desired patch r = c1 (x1 - m1) + c2 (x2 - m2), rescaled to the largest strength where nonzero.
    r_norm = np.sqrt(np.maximum(c1 * c1 * v11 + 2.0 * c1 * c2 * v12 + c2 * c2 * v22, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(r_norm > 0, np.maximum(ed1, ed2) / r_norm, 0.0)
    a1, a2 = scale * c1, scale * c2
    # Gaussian-weighted (co)variances; a shift by a constant leaves them unchanged and reduces cancellation.
    shift = float(np.round(np.mean(f)))
    x1, x2, f = x1 - shift, x2 - shift, f - shift
    g1, g2, gf = (filter_valid(x, _MEF_WIN) for x in (x1, x2, f))

    def cov(x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
        return filter_valid(x * y, _MEF_WIN) - gx * gy

    var_r = (a1 * a1 * cov(x1, x1, g1, g1) + 2.0 * a1 * a2 * cov(x1, x2, g1, g2)
             + a2 * a2 * cov(x2, x2, g2, g2))
    cov_rf = a1 * cov(x1, f, g1, gf) + a2 * cov(x2, f, g2, gf)
    c = (k * 255.0) ** 2
    return float(np.mean((2.0 * cov_rf + c) / (var_r + cov(f, f, gf, gf) + c)))  # no luminance term


def _downsample(x: np.ndarray) -> np.ndarray:
    """imfilter(x, ones(2)/4, 'symmetric') then x(1:2:end, 1:2:end); exact on a dyadic grid."""
    p = np.pad(x, ((0, 1), (0, 1)), mode="symmetric")
    return (p[:-1:2, :-1:2] + p[1::2, :-1:2] + p[:-1:2, 1::2] + p[1::2, 1::2]) * 0.25


def mef_ssim_scales(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> list[float]:
    """The per-scale MEF-SSIM values Q_1..Q_3 (finest first), or [] when the image is too small."""
    f, a, b = as_f64(fused), as_f64(ir), as_f64(vis)
    if min(f.shape) / 2 ** (len(_MEF_WEIGHTS) - 1) < _MEF_SIZE:
        return []
    out = []
    for level in range(len(_MEF_WEIGHTS)):
        if level:
            f, a, b = _downsample(f), _downsample(a), _downsample(b)
        out.append(_mef_ssim_scale(a, b, f))
    return out


def mef_ssim(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """MS_SSIM: multi-scale MEF-SSIM (Ma, Zeng & Wang 2015) of F against {IR, VIS}, not Wang's MS-SSIM.

    Product of Q_l^w_l over 3 scales; like the reference, -inf when min(H, W)/4 < 11.
    """
    q = mef_ssim_scales(fused, ir, vis)
    if not q:
        return float("-inf")
    return float(np.prod(np.asarray(q) ** _MEF_WEIGHTS))
