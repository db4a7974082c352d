"""Contrast normalisation of the initial fusion before the refiner (a fixed, per-frame intensity map).

    u = (x - lo) / (hi - lo),  lo / hi = the ``low`` / ``high`` percentiles of the initial fusion
    y = u                                          for u <= knee
    y = knee + (1 - knee) tanh((u - knee) / (1 - knee))   above (a soft shoulder: the brightest pixels,
                                                    often hot targets, keep their texture instead of
                                                    clipping at white), and y = 0 below lo

The map is monotone, so no texture is created; the refiner's network then only adds the local, mask-guided
corrections (``training.target``). It is the display-range normalisation many fusion pipelines apply to
their output (SeAFusion's test script min-max stretches every fused image).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class ContrastStretch:
    lo: float
    hi: float
    knee: float = 0.9

    @classmethod
    def fit(cls, img: np.ndarray, low: float = 0.5, high: float = 99.5, knee: float = 0.9) -> ContrastStretch:
        """The map for ``img`` (float HxW in [0, 1]); a flat image gets the identity."""
        if not (0.0 <= low < high <= 100.0 and 0.0 < knee < 1.0):
            raise ConfigError(f"contrast stretch needs 0 <= low < high <= 100 and 0 < knee < 1, "
                              f"got {low}, {high}, {knee}")
        lo, hi = (float(v) for v in np.percentile(img, [low, high]))
        if hi - lo < 1e-3:
            return cls(0.0, 1.0, knee)
        return cls(lo, hi, knee)

    @property
    def gain(self) -> float:
        """Slope of the linear part (what intensity differences are multiplied by)."""
        return 1.0 / (self.hi - self.lo)

    def slope(self, x: np.ndarray) -> np.ndarray:
        """d map / dx at ``x``: the gain on the linear part, less on the shoulder, 0 below lo."""
        u = (x - self.lo) * self.gain
        k = self.knee
        shoulder = 1.0 - np.tanh((u - k) / (1 - k)) ** 2
        return (self.gain * np.where(u < 0, 0.0, np.where(u <= k, 1.0, shoulder))).astype(np.float32)

    def base_only(self, x: np.ndarray, radius: int, detail_floor: float | None = None,
                  detail_mask: np.ndarray | None = None) -> np.ndarray:
        """The map on the base layer only: map(box(x)) + g * (x - box(x)), box a (2r+1)^2 mean (replicate
        border). Contrast comes from the base; the detail layer keeps gain g = 1 (sensor grain included).
        With a ``detail_floor`` f (>= 0) the detail gain is noise-aware: g = 1 + max(slope(base) - 1, 0) d^2 / (d^2 +
        f^2), d the detail, so structure well above f (f = k * the image's noise sigma) gets the map's slope
        like the base, and grain (|d| ~ sigma) gets little of it. On the linear part a strong edge then gets what the
        global map gives it, without the base-only map's rims beside it (dark on its bright side, bright on its
        dark side); g d is monotone in d. A ``detail_mask`` (HxW in [0, 1]) multiplies that share: only the
        masked structure (e.g. the thermal targets) gets the slope; alone, the share is the mask."""
        import cv2

        size = 2 * radius + 1
        x = np.asarray(x, np.float32)
        base = cv2.blur(x, (size, size), borderType=cv2.BORDER_REPLICATE)
        detail = x - base
        share = None if detail_mask is None else np.asarray(detail_mask, np.float32)
        if detail_floor is not None:
            noise_share = detail**2 / (detail**2 + detail_floor**2 + 1e-12)  # 0 for grain .. 1 for structure
            share = noise_share if share is None else share * noise_share
        if share is not None:
            detail = detail * (1.0 + np.maximum(self.slope(base) - 1.0, 0.0) * share)
        return (self(base) + detail).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        u = np.maximum((x - self.lo) * self.gain, 0.0)
        k = self.knee
        shoulder = k + (1 - k) * np.tanh((u - k) / (1 - k))
        return np.where(u <= k, u, shoulder).astype(np.float32)


def target_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """The IR mask grown by a (2r+1)^2 maximum, so a target's outline (both sides of its edge) is inside it."""
    import cv2

    size = 2 * radius + 1
    return cv2.dilate(np.asarray(mask, np.float32), np.ones((size, size), np.uint8), borderType=cv2.BORDER_REPLICATE)
