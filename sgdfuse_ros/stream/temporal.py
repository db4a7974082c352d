"""Temporal state of a fused video stream (node and ``bag fuse``; no ROS imports).

- ``ThermalAGC``: the 16-bit thermal normalisation range (low, high) smoothed over frames. Per-frame
  percentiles jump when a hot object enters the view (the whole image changes brightness: flicker); here each
  frame's percentiles move the range by ``smoothing`` of the difference (an exponential moving average); a frame
  whose median lies more than ``scene_change`` times the range outside the range restarts it (a new scene).
  The state is two scalars, ``state = (low, high)``, so a GPU frame graph can take them as inputs.
- ``MaskSmoother``: the mask channels averaged over frames the same way (reset with the AGC and on a size change).
- ``OutputSmoother``: a source-guided recursive filter on the fused luma: where neither input changed (by more
  than about ``output_noise``) the fused pixel keeps up to ``output_smoothing`` of its previous output, where an
  input changed (motion, a new object) the new value passes unchanged: the fusion's own flicker is damped
  without trails behind moving objects.
- ``AlignmentMonitor``: the IR-VIS alignment score (``registration.alignment_score``) of every N-th pair,
  computed in a background thread, never on the fusion path; the diagnostics warn below a threshold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..images import THERMAL_PERCENTILES, PreparedPair


@dataclass
class TemporalParams:
    thermal_smoothing: float = 0.1  # weight of a new frame's 16-bit thermal percentiles; 1 = per frame (no smoothing)
    scene_change: float = 0.5  # a frame median this fraction of the range outside the range restarts the smoothing
    mask_smoothing: float = 0.5  # weight of a new frame's masks; 1 = per frame (no smoothing)
    output_smoothing: float = 0.9  # weight of the previous fused output where neither input changed; 0 = off
    output_noise: float = 0.03  # input change (0..1) still counted as noise: the filter fades out above it
    alignment_every_n: int = 30  # alignment score of every N-th pair (0 = off), off the fusion path
    alignment_warn_below: float = 0.08  # /diagnostics warns when the score falls below this (cameras drifted)

    def __post_init__(self) -> None:
        for name in ("thermal_smoothing", "mask_smoothing"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"temporal.{name} must lie in (0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.output_smoothing < 1.0 or not self.output_noise > 0:
            raise ConfigError(f"temporal.output_smoothing must lie in [0, 1) and output_noise be > 0, got "
                              f"{self.output_smoothing}, {self.output_noise}")
        if not self.scene_change > 0:
            raise ConfigError(f"temporal.scene_change must be > 0, got {self.scene_change}")
        if self.alignment_every_n < 0:
            raise ConfigError(f"temporal.alignment_every_n must be >= 0, got {self.alignment_every_n}")


PER_FRAME = TemporalParams(thermal_smoothing=1.0, mask_smoothing=1.0, output_smoothing=0.0,
                           alignment_every_n=0)  # no temporal state: every pair fused on its own


class ThermalAGC:
    """Smoothed percentile range of 16-bit thermal frames; call it with a frame to get (low, high)."""

    def __init__(self, smoothing: float = 0.1, scene_change: float = 0.5,
                 percentiles: tuple[float, float] = THERMAL_PERCENTILES) -> None:
        self.smoothing, self.scene_change, self.percentiles = smoothing, scene_change, percentiles
        self.state: tuple[float, float] | None = None
        self.resets = 0  # restarts on a scene change (the first frame not counted)

    def reset(self) -> None:
        self.state = None

    def advance(self, low: float, high: float, restarted: bool) -> None:
        """Take over the state a frame graph computed with the same step (``frame.ops.agc_step``)."""
        self.state = (low, high)
        self.resets += restarted

    def __call__(self, gray: np.ndarray) -> tuple[float, float]:
        lo, median, hi = (float(v) for v in np.percentile(gray, (self.percentiles[0], 50.0, self.percentiles[1])))
        if self.state is None or self.smoothing >= 1.0:
            self.state = (lo, hi)
            return self.state
        s_lo, s_hi = self.state
        margin = self.scene_change * max(s_hi - s_lo, 1.0)
        if not s_lo - margin <= median <= s_hi + margin:  # the bulk of the scene left the range: a new scene
            self.resets += 1
            self.state = (lo, hi)
        else:  # a hot object entering or leaving moves one end of the range: gradually
            a = self.smoothing
            self.state = (s_lo + a * (lo - s_lo), s_hi + a * (hi - s_hi))
        return self.state


class MaskSmoother:
    """Exponential moving average of the mask channels ({"ir": HxW, "vis": HxW} float32 in [0, 1])."""

    def __init__(self, smoothing: float = 0.5) -> None:
        self.smoothing = smoothing
        self.state: dict[str, np.ndarray] = {}

    def reset(self) -> None:
        self.state = {}

    def __call__(self, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.smoothing >= 1.0:
            return masks
        out = {}
        for name, mask in masks.items():
            prev = self.state.get(name)
            out[name] = mask if prev is None or prev.shape != mask.shape else \
                (prev + self.smoothing * (mask - prev)).astype(np.float32)
        self.state = out
        return out


class OutputSmoother:
    """Source-guided recursive filter of the fused luma (float32 HxW in [0, 1]).

    Where neither input changed since the previous pair (IR and VIS on the visible grid, largest change about
    ``noise`` or less), a change of the fused image is the fusion's own flicker (weights switching between the
    inputs, refiner texture): the output keeps up to ``smoothing`` of its previous value there. Where an input
    changed (motion, a new object), the new fused value passes unchanged.
    """

    def __init__(self, smoothing: float = 0.8, noise: float = 0.03) -> None:
        self.smoothing, self.noise = smoothing, noise
        # previous IR, VIS, output; or the frame graph runtime that holds them (``continues``)
        self.state: tuple[np.ndarray, np.ndarray, np.ndarray] | object | None = None

    def reset(self) -> None:
        self.state = None

    def continues(self, holder: object) -> bool:
        """For a frame fused by a frame graph that runs this filter on the state its runtime ``holder`` keeps:
        whether that state continues this stream (False on the first frame, after a reset, after frames fused
        another way or by another graph). From this frame on ``holder`` holds the state."""
        held = self.state is holder
        self.state = holder
        return held

    def __call__(self, pair: PreparedPair, luma: np.ndarray) -> np.ndarray:
        if self.smoothing <= 0.0:
            return luma
        prev, out = self.state, luma
        if isinstance(prev, tuple) and prev[2].shape == luma.shape:
            change = np.maximum(np.abs(pair.ir - prev[0]), np.abs(pair.vis - prev[1]))
            keep = self.smoothing * np.exp(-np.square(change / self.noise))
            out = (luma + keep * (prev[2] - luma)).astype(np.float32)
        self.state = (pair.ir, pair.vis, out)
        return out


class AlignmentMonitor:
    """Alignment score of every N-th pair, computed in a daemon thread (a pair arriving while one is being
    scored is skipped); ``score`` is the latest value, None until the first one is done."""

    def __init__(self, every_n: int, warn_below: float, homography: np.ndarray | None = None) -> None:
        self.every_n, self.warn_below, self.homography = every_n, warn_below, homography
        self.score: float | None = None
        self.samples = 0
        self._count = 0
        self._busy = threading.Event()
        self._lock = threading.Lock()

    def offer(self, pair: PreparedPair | Callable[[], PreparedPair], ir_shape: tuple[int, int]) -> None:
        """Called for every fused pair (cheap): starts a scoring every N-th pair when none is running. ``pair``
        may be a function that prepares it (a frame graph prepares none): called in the scoring thread."""
        self._count += 1
        if not self.every_n or (self._count - 1) % self.every_n or self._busy.is_set():
            return
        self._busy.set()
        threading.Thread(target=self._score, args=(pair, ir_shape), daemon=True, name="alignment-score").start()

    def _score(self, pair: PreparedPair | Callable[[], PreparedPair], ir_shape: tuple[int, int]) -> None:
        from ..registration.score import alignment_score, ir_to_grid

        try:
            if callable(pair):
                pair = pair()
            valid = ir_to_grid(np.ones(ir_shape, np.float32), pair.shape, self.homography)[1]
            value = alignment_score(pair.ir, pair.vis, valid)
            with self._lock:
                self.score, self.samples = value, self.samples + 1
        finally:
            self._busy.clear()

    def wait(self, timeout: float = 5.0) -> bool:
        """Until no scoring is running (tests, the end of a bag)."""
        import time

        end = time.monotonic() + timeout
        while self._busy.is_set() and time.monotonic() < end:
            time.sleep(0.005)
        return not self._busy.is_set()

    def values(self) -> tuple[dict[str, str], str]:
        """Diagnostics key/values and a warning ('' when fine or not measured yet)."""
        with self._lock:
            score, samples = self.score, self.samples
        if not self.every_n:
            return {}, ""
        values = {"alignment.score": "n/a" if score is None else f"{score:.3f}",
                  "alignment.warn_below": f"{self.warn_below:.3f}", "alignment.samples": str(samples)}
        warning = "" if score is None or score >= self.warn_below else \
            f"IR-VIS alignment score {score:.3f} below {self.warn_below:.3f}: cameras misregistered or drifted"
        return values, warning


class StreamTemporal:
    """The temporal state of one stream: thermal AGC, mask smoothing and the alignment monitor."""

    def __init__(self, params: TemporalParams, percentiles: tuple[float, float] = THERMAL_PERCENTILES,
                 homography: np.ndarray | None = None) -> None:
        self.params = params
        self.agc = ThermalAGC(params.thermal_smoothing, params.scene_change, percentiles)
        self.masks = MaskSmoother(params.mask_smoothing)
        self.output = OutputSmoother(params.output_smoothing, params.output_noise)
        self.alignment = AlignmentMonitor(params.alignment_every_n, params.alignment_warn_below, homography)
        self._resets = 0

    @property
    def smooths(self) -> bool:
        """Whether any state is carried from frame to frame (False for ``PER_FRAME``)."""
        p = self.params
        return p.thermal_smoothing < 1.0 or p.mask_smoothing < 1.0 or p.output_smoothing > 0.0

    def thermal_range(self, gray: np.ndarray) -> tuple[float, float]:
        value = self.agc(gray)
        if self.agc.resets != self._resets:  # a new scene: the masks and the output restart too
            self._resets = self.agc.resets
            self.masks.reset()
            self.output.reset()
        return value

    def graph_agc(self, low: float, high: float, restarted: bool) -> None:
        """The AGC step a frame graph took (it restarted its own output filter on a new scene)."""
        self.agc.advance(low, high, restarted)
        if restarted:
            self._resets = self.agc.resets
            self.masks.reset()

