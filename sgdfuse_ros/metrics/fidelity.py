"""VIF: pixel-domain multiscale visual information fidelity (Sheikh & Bovik, ``vifp_mscale``)."""

from __future__ import annotations

import numpy as np

from sgdfuse_ros.metrics._common import as_f64, filter_valid, gaussian_1d

SIGMA_NSQ = 2.0
_WINDOWS = tuple(gaussian_1d(n, n / 5.0) for n in (17, 9, 5, 3))  # scales 1..4


_Level = tuple[np.ndarray, np.ndarray, np.ndarray]  # (image, local mean, local variance) at one scale


def _levels(img: np.ndarray) -> list[_Level]:
    """Per scale: the image (low-passed 'valid' then every 2nd row/column from scale 2 on), mean, variance."""
    x = as_f64(img)
    out = []
    for scale, win in enumerate(_WINDOWS):
        if scale > 0:
            x = filter_valid(x, win)[::2, ::2]
        mu = filter_valid(x, win)
        var = filter_valid(x * x, win) - mu * mu
        var[var < 0] = 0.0
        out.append((x, mu, var))
    return out


def _vif_from_levels(ref: list[_Level], dist: list[_Level]) -> float:
    num = 0.0
    den = 0.0
    for win, (x1, mu1, var1), (x2, mu2, s2) in zip(_WINDOWS, ref, dist, strict=True):
        s1 = var1.copy()
        s12 = filter_valid(x1 * x2, win) - mu1 * mu2
        # The reference's fixes, in its order (negative variances were set to 0 in _levels).
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        low1 = s1 < 1e-10
        g[low1] = 0.0
        sv[low1] = s2[low1]
        s1[low1] = 0.0
        low2 = s2 < 1e-10
        g[low2] = 0.0
        sv[low2] = 0.0
        neg = g < 0
        sv[neg] = s2[neg]
        g[neg] = 0.0
        sv[sv <= 1e-10] = 1e-10
        num += float(np.sum(np.log10(1.0 + g * g * s1 / (sv + SIGMA_NSQ))))
        den += float(np.sum(np.log10(1.0 + s1 / SIGMA_NSQ)))
    return num / den if den else float("nan")  # 0/0 (image too small for 4 scales) -> NaN


def vifp_mscale(ref: np.ndarray, dist: np.ndarray) -> float:
    """VIF of ``dist`` against ``ref`` over 4 scales, num/den over the totals of all scales."""
    return _vif_from_levels(_levels(ref), _levels(dist))


def vif(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """VIF: vifp_mscale(IR, F) + vifp_mscale(VIS, F), a sum (range about 0..2), sources as reference."""
    f = _levels(fused)
    return _vif_from_levels(_levels(ir), f) + _vif_from_levels(_levels(vis), f)
