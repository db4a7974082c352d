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

    def base_only(self, x: np.ndarray, radius: int) -> np.ndarray:
        """The map on the base layer only: map(box(x)) + (x - box(x)), box a (2r+1)^2 mean (replicate
        border). Contrast comes from the base; the detail layer (and the sensor grain in it) keeps gain 1."""
        import cv2

        size = 2 * radius + 1
        base = cv2.blur(np.asarray(x, np.float32), (size, size), borderType=cv2.BORDER_REPLICATE)
        return (self(base) + (x - base)).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        u = np.maximum((x - self.lo) * self.gain, 0.0)
        k = self.knee
        shoulder = k + (1 - k) * np.tanh((u - k) / (1 - k))
        return np.where(u <= k, u, shoulder).astype(np.float32)
