"""Counters, rates and latency percentiles of the fusion stream, and the diagnostics report built from them.

Times are in seconds from a monotonic clock the caller passes in (``now``), so everything here is testable
without sleeping. Every counter is updated under one lock (the executor thread and the worker both write).

Accounting (checked by the tests):
- per input topic: ``received == bad + sync matched + sync dropped (by reason) + sync pending``;
- pairs: ``synced == fused + dropped_backpressure + rejected + failed + discarded + in_flight``.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .sync import DROP_REASONS, SyncStats

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


class RateMeter:
    """Events per second over a sliding window (the window shrinks to the time since the first event)."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()
        self.first: float | None = None
        self.last: float | None = None

    def tick(self, now: float) -> None:
        self._times.append(now)
        self.first = now if self.first is None else self.first
        self.last = now
        self._trim(now)

    def rate(self, now: float) -> float:
        self._trim(now)
        if self.first is None or not self._times:
            return 0.0
        span = min(self.window_s, now - self.first)
        return len(self._times) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()


class LatencyWindow:
    """The last ``size`` latencies (ms) and their percentiles."""

    def __init__(self, size: int = 2000) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, ms: float) -> None:
        self._values.append(ms)
        self.count += 1

    def percentiles(self, qs: Sequence[float] = (50.0, 95.0)) -> list[float] | None:
        if not self._values:
            return None
        return [float(v) for v in np.percentile(np.fromiter(self._values, float), qs)]


@dataclass
class Report:
    level: int
    message: str
    values: dict[str, str] = field(default_factory=dict)  # ordered key -> value, as DiagnosticStatus wants


class StreamStats:
    """Everything the node reports on ``/diagnostics``; thread-safe."""

    def __init__(self, topics: Sequence[str], now: float, window_s: float = 5.0) -> None:
        self._lock = threading.Lock()
        self.topics = list(topics)
        n = len(self.topics)
        self.started = now
        self.input_rates = [RateMeter(window_s) for _ in range(n)]
        self.output_rate = RateMeter(window_s)
        self.latency = LatencyWindow()
        self.received = [0] * n
        self.bad_by_topic = [0] * n
        self.bad: Counter[str] = Counter()  # message kind -> count
        self.synced = 0
        self.fused = 0
        self.dropped_backpressure = 0
        self.rejected: Counter[str] = Counter()  # pair kind (size_mismatch, rejected_by_pipeline) -> count
        self.failed: Counter[str] = Counter()  # exception type -> count
        self.discarded = 0  # pairs left unprocessed when the worker stopped
        self.published: Counter[str] = Counter()  # output name -> messages
        self._logged: set[str] = set()
        self._previous = (0, 0)  # problems and failures at the last report

    # -- events (each returns quickly; the ones with a kind return True the first time that kind is seen) --
    def on_received(self, index: int, now: float) -> None:
        with self._lock:
            self.received[index] += 1
            self.input_rates[index].tick(now)

    def on_bad(self, index: int, kind: str) -> bool:
        with self._lock:
            self.bad_by_topic[index] += 1
            self.bad[kind] += 1
            return self._first(f"bad:{kind}")

    def on_synced(self) -> None:
        with self._lock:
            self.synced += 1

    def on_backpressure_drop(self) -> None:
        with self._lock:
            self.dropped_backpressure += 1

    def on_rejected(self, kind: str) -> bool:
        with self._lock:
            self.rejected[kind] += 1
            return self._first(f"rejected:{kind}")

    def on_failed(self, kind: str) -> bool:
        with self._lock:
            self.failed[kind] += 1
            return self._first(f"failed:{kind}")

    def on_discarded(self) -> None:
        with self._lock:
            self.discarded += 1

    def on_fused(self, latency_ms: float, outputs: Sequence[str], now: float) -> None:
        with self._lock:
            self.fused += 1
            self.latency.add(latency_ms)
            self.output_rate.tick(now)
            for name in outputs:
                self.published[name] += 1

    def _first(self, key: str) -> bool:
        if key in self._logged:
            return False
        self._logged.add(key)
        return True

    # -- the report --
    def stale_topics(self, now: float, timeout_s: float) -> list[str]:
        with self._lock:
            return self._stale(now, timeout_s)

    def _stale(self, now: float, timeout_s: float) -> list[str]:
        return [t for t, meter in zip(self.topics, self.input_rates, strict=True)
                if now - (meter.last if meter.last is not None else self.started) > timeout_s]

    def report(self, now: float, sync: SyncStats, pending: Sequence[int], *, stale_timeout: float,
               in_flight: int = 0, info: dict[str, str] | None = None, warnings: Sequence[str] = ()) -> Report:
        """The diagnostics status: level, a one-line summary and every counter as strings; ``warnings`` (e.g.
        a low alignment score) raise the level to WARN."""
        with self._lock:
            v: dict[str, str] = {}
            for i, topic in enumerate(self.topics):
                meter = self.input_rates[i]
                p = f"input.{topic}."
                v[p + "rate_hz"] = f"{meter.rate(now):.2f}"
                v[p + "last_message_age_s"] = "never" if meter.last is None else f"{now - meter.last:.3f}"
                v[p + "received"] = str(self.received[i])
                v[p + "bad"] = str(self.bad_by_topic[i])
                v[p + "sync_matched"] = str(sync.matched[i])
                for reason in DROP_REASONS:
                    v[p + f"sync_dropped.{reason}"] = str(sync.dropped[reason][i])
                v[p + "sync_pending"] = str(pending[i])
                v[p + "sync_max_queue"] = str(sync.max_queue[i])
            stale = self._stale(now, stale_timeout)
            v["stale_topics"] = ",".join(stale)
            v["sync.resets"] = str(sync.resets)
            for kind, count in sorted(self.bad.items()):
                v[f"bad_messages.{kind}"] = str(count)
            v["pairs.synced"] = str(self.synced)
            v["pairs.fused"] = str(self.fused)
            v["pairs.dropped_backpressure"] = str(self.dropped_backpressure)
            for kind, count in sorted(self.rejected.items()):
                v[f"pairs.rejected.{kind}"] = str(count)
            for kind, count in sorted(self.failed.items()):
                v[f"pairs.failed.{kind}"] = str(count)
            v["pairs.discarded"] = str(self.discarded)
            v["pairs.in_flight"] = str(in_flight)
            v["output.rate_hz"] = f"{self.output_rate.rate(now):.2f}"
            for name, count in sorted(self.published.items()):
                v[f"output.{name}.published"] = str(count)
            pct = self.latency.percentiles()
            v["latency.stamp_to_publish_p50_ms"] = "n/a" if pct is None else f"{pct[0]:.1f}"
            v["latency.stamp_to_publish_p95_ms"] = "n/a" if pct is None else f"{pct[1]:.1f}"
            v["latency.samples"] = str(self.latency.count)
            v.update(info or {})

            problems = sum(self.bad.values()) + sum(self.rejected.values()) + sync.resets
            failures = sum(self.failed.values())
            new_problems, new_failures = problems - self._previous[0], failures - self._previous[1]
            self._previous = (problems, failures)
            notes = []
            if stale:
                notes.append(f"stale topic(s): {', '.join(stale)}")
            if new_failures:
                notes.append(f"{new_failures} pair(s) failed in the pipeline")
            if new_problems:
                notes.append(f"{new_problems} new bad message(s), rejected pair(s) or clock reset(s)")
            notes.extend(warnings)
            level = ERROR if new_failures else WARN if notes else OK
            return Report(level, "; ".join(notes) or "fusing", v)
