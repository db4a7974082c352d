"""Real-time modes for any mask source: every frame, every N-th frame, or asynchronously.

- ``every_frame``: masks for every pair (the source as it is, behind ``FallbackMaskSource``).
- ``every_n``: masks every N-th pair; the N-1 pairs in between reuse the last ones (recomputed at once if
  the image size changes).
- ``async``: a worker thread computes masks for the newest pair it was given (older pending pairs are
  dropped); each call returns at once with the latest masks if they are at most ``max_age_s`` old, else
  the fallback's masks (the offline provider, computed in the caller's thread) or ``{}``. The initial
  fusion never waits for SAM.

A failed computation never ends the stream: it is logged as a warning, counted in ``failures``, and the
fallback's masks (or ``{}``) are used. ``last_provider`` / ``last_age_s`` say what was returned and how old
it is (seconds since the pair it was computed for arrived; ``inf`` when no masks were returned);
``diagnostics()`` gathers the counters for the node.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..images import PreparedPair
from .base import MaskSource

log = logging.getLogger(__name__)

MASK_MODES = ("every_frame", "every_n", "async")
Masks = dict[str, np.ndarray]


def _fits(masks: Masks, pair: PreparedPair) -> bool:
    return bool(masks) and masks["ir"].shape == pair.shape


class _Counters:
    """Diagnostics shared by the schedules."""

    def __init__(self) -> None:
        self.last_provider = "none"
        self.last_age_s = math.inf
        self.failures = 0
        self.computed = 0
        self.last_compute_ms = math.nan

    def diagnostics(self) -> dict[str, Any]:
        return {"provider": self.last_provider, "age_s": self.last_age_s, "failures": self.failures,
                "computed": self.computed, "compute_ms": self.last_compute_ms}

    def _compute(self, source: MaskSource, pair: PreparedPair) -> Masks | None:
        """``source(pair)``; a failure is logged and counted, and gives None."""
        start = time.perf_counter()
        try:
            masks = source(pair)
        except Exception as err:  # any failure of the segmenter degrades, never ends the stream
            self.failures += 1
            name = getattr(source, "name", type(source).__name__)
            log.warning("mask source %s failed (%d failures so far): %s: %s",
                        name, self.failures, type(err).__name__, err)
            return None
        self.computed += 1
        self.last_compute_ms = (time.perf_counter() - start) * 1e3
        return masks

    def _use_fallback(self, fallback: MaskSource | None, pair: PreparedPair) -> Masks:
        if fallback is None:
            self.last_provider, self.last_age_s = "none", math.inf
            return {}
        masks = fallback(pair)
        self.last_provider, self.last_age_s = fallback.last_provider, 0.0
        return masks


class FallbackMaskSource(_Counters):
    """``every_frame``: the source's masks, or the fallback's (or ``{}``) when the source fails."""

    def __init__(self, source: MaskSource, fallback: MaskSource | None = None) -> None:
        super().__init__()
        self.source, self.fallback = source, fallback

    def __call__(self, pair: PreparedPair) -> Masks:
        masks = self._compute(self.source, pair)
        if masks is None:
            return self._use_fallback(self.fallback, pair)
        self.last_provider, self.last_age_s = self.source.last_provider, 0.0
        return masks


class EveryNMaskSource(_Counters):
    """``every_n``: recompute every ``every_n`` pairs, reuse the last masks in between."""

    def __init__(self, source: MaskSource, every_n: int, fallback: MaskSource | None = None) -> None:
        super().__init__()
        if int(every_n) < 1:
            raise ConfigError(f"masks.every_n must be >= 1, got {every_n}")
        self.source, self.every_n, self.fallback = source, int(every_n), fallback
        self._frame = 0
        self._masks: Masks = {}
        self._stamp = 0.0
        self._provider = "none"

    def __call__(self, pair: PreparedPair) -> Masks:
        now = time.monotonic()
        due = self._frame % self.every_n == 0 or not _fits(self._masks, pair)
        self._frame += 1
        if due:
            masks = self._compute(self.source, pair)
            if masks is None:
                self._masks = {}
                return self._use_fallback(self.fallback, pair)
            self._masks, self._stamp, self._provider = masks, now, self.source.last_provider
        if not self._masks:
            self.last_provider, self.last_age_s = "none", math.inf
            return {}
        self.last_provider, self.last_age_s = self._provider, now - self._stamp
        return self._masks


class AsyncMaskSource(_Counters):
    """``async``: masks from a worker thread, used while fresh enough; the caller never waits for them."""

    def __init__(self, source: MaskSource, max_age_s: float, fallback: MaskSource | None = None) -> None:
        super().__init__()
        if not float(max_age_s) > 0:
            raise ConfigError(f"masks.max_age_s must be > 0, got {max_age_s}")
        self.source, self.max_age_s, self.fallback = source, float(max_age_s), fallback
        self.dropped = 0  # pairs replaced by a newer one before the worker took them
        self._cond = threading.Condition()
        self._pending: tuple[PreparedPair, float] | None = None
        self._latest: tuple[Masks, float, str] | None = None  # masks, arrival time of their pair, provider
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None

    def diagnostics(self) -> dict[str, Any]:
        return {**super().diagnostics(), "dropped": self.dropped}

    def __call__(self, pair: PreparedPair) -> Masks:
        now = time.monotonic()
        with self._cond:
            if self._stop:
                raise RuntimeError("AsyncMaskSource is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="sgdfuse-masks", daemon=True)
                self._thread.start()
            if self._pending is not None:
                self.dropped += 1
            self._pending = (pair, now)
            self._cond.notify()
            latest = self._latest
        if latest is not None and now - latest[1] <= self.max_age_s and _fits(latest[0], pair):
            self.last_provider, self.last_age_s = latest[2], now - latest[1]
            return latest[0]
        return self._use_fallback(self.fallback, pair)

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Block until the worker has nothing pending (for tests and benchmarks); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    return self._pending is None and not self._busy
        return True

    def close(self) -> None:
        """Stop the worker (the computation in progress finishes first)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def __enter__(self) -> AsyncMaskSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _work(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                pair, stamp = self._pending  # type: ignore[misc]
                self._pending, self._busy = None, True
            masks = self._compute(self.source, pair)
            with self._cond:
                if masks is not None:
                    self._latest = (masks, stamp, self.source.last_provider)
                self._busy = False
                self._cond.notify_all()


def schedule(
    source: MaskSource,
    mode: str = "every_frame",
    *,
    every_n: int = 5,
    max_age_s: float = 1.0,
    fallback: MaskSource | None = None,
) -> MaskSource:
    """Wrap ``source`` in the real-time mode ``mode`` (see the module doc)."""
    if mode == "every_frame":
        return FallbackMaskSource(source, fallback)
    if mode == "every_n":
        return EveryNMaskSource(source, every_n, fallback)
    if mode == "async":
        return AsyncMaskSource(source, max_age_s, fallback)
    raise ConfigError(f"masks.mode must be one of {', '.join(MASK_MODES)}, got {mode!r}")
