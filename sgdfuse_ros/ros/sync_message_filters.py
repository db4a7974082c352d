"""Pairing by ROS ``message_filters`` (Python), with the core synchroniser's accounting.

The node subscribes through ``message_filters.Subscriber``s (``sources`` here: anything with
``registerCallback``). On each the adapter registers one callback, which counts the message, lets the node
check its fields (``accept``: bad messages never reach the synchroniser, as with the core one) and forwards
it through a gate to message_filters' ``ApproximateTimeSynchronizer(gates, queue_size, slop)`` or, for the
exact policy, ``TimeSynchronizer(gates, queue_size)`` (the signatures of Humble, Jazzy and Kilted).

Every call into message_filters goes through one lock, with the synchroniser's queue lengths read before and
after it (``queues``: one dict per input, keyed by stamp in ns, in every distribution), so the counters are
exact: ``received == matched + dropped + pending`` per topic, drops attributed by what message_filters did:
- ``out_of_order``: the message's stamp equals one still queued on its topic, which it replaced;
- ``queue_overflow``: the topic's queue went over ``queue_size`` and lost its oldest message;
- ``unmatched``: removed otherwise (newer releases drop what is older than an emitted set).
message_filters does not detect clock jumps (``resets`` stays 0) and has no ``min_interval``/``age_penalty``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from ..stream.sync import END_OF_STREAM, OUT_OF_ORDER, QUEUE_OVERFLOW, UNMATCHED, SyncConfig, SyncStats


class _Gate:
    """A message_filters input (``registerCallback``) that the adapter feeds."""

    def __init__(self) -> None:
        self._callbacks: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def registerCallback(self, callback: Callable[..., None], *args: Any) -> int:  # message_filters' name
        self._callbacks.append((callback, args))
        return len(self._callbacks) - 1

    def signal(self, msg: Any) -> None:
        for callback, args in self._callbacks:
            callback(msg, *args)


class MessageFiltersSync:
    """message_filters' synchroniser over ``sources``; ``callback(*msgs)`` gets each set in source order."""

    def __init__(self, message_filters: ModuleType, sources: Sequence[Any], config: SyncConfig,
                 callback: Callable[..., None], *, accept: Callable[[int, Any], bool],
                 stamp_ns: Callable[[Any], int]) -> None:
        self.n = len(sources)
        if self.n < 2:
            raise ValueError("synchronising needs at least 2 topics")
        self.callback = callback
        self.accept = accept  # (topic index, message) -> usable; the node counts and logs the bad ones
        self.stamp_ns = stamp_ns
        self.queue_size = config.queue_size
        self._lock = threading.RLock()
        self._stats = SyncStats.empty(self.n)
        gates = [_Gate() for _ in range(self.n)]
        self._gates = gates
        if config.policy == "exact":
            self.synchronizer = message_filters.TimeSynchronizer(gates, config.queue_size)
        else:
            self.synchronizer = message_filters.ApproximateTimeSynchronizer(gates, config.queue_size, config.slop)
        self.synchronizer.registerCallback(self._on_set)
        self.sources = list(sources)
        for index, source in enumerate(self.sources):
            source.registerCallback(self.add, index)

    @property
    def stats(self) -> SyncStats:
        with self._lock:
            return self._stats.copy()

    def pending(self) -> list[int]:
        return [len(q) for q in self.synchronizer.queues]

    def snapshot(self) -> tuple[SyncStats, list[int]]:
        with self._lock:
            return self._stats.copy(), self.pending()

    def add(self, msg: Any, index: int) -> None:
        """A message of topic ``index`` from its source (message_filters' callback order: message first)."""
        if not self.accept(index, msg):
            return
        with self._lock:
            queues = self.synchronizer.queues
            before = self.pending()
            replaces = self.stamp_ns(msg) in queues[index]
            sets = self._stats.sets
            self._stats.received[index] += 1
            self._gates[index].signal(msg)
            emitted = self._stats.sets - sets
            for j, (was, now) in enumerate(zip(before, self.pending(), strict=True)):
                lost = was + (j == index) - emitted - now
                if j == index:
                    replaced = min(lost, int(replaces))
                    overflow = min(lost - replaced, max(0, was + 1 - replaced - self.queue_size))
                    self._stats.dropped[OUT_OF_ORDER][j] += replaced
                    self._stats.dropped[QUEUE_OVERFLOW][j] += overflow
                    lost -= replaced + overflow
                self._stats.dropped[UNMATCHED][j] += lost
                self._stats.max_queue[j] = max(self._stats.max_queue[j], now)

    def close(self) -> None:
        """End of input: messages still queued are counted as ``end_of_stream``."""
        with self._lock:
            for i, queue in enumerate(self.synchronizer.queues):
                self._stats.dropped[END_OF_STREAM][i] += len(queue)
                queue.clear()

    def _on_set(self, *msgs: Any) -> None:
        self._stats.sets += 1
        for i in range(self.n):
            self._stats.matched[i] += 1
        self.callback(*msgs)
