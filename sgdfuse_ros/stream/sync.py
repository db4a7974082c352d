"""Time synchronisation of N message streams (thermal + RGB), pure Python over ``(stamp_ns, payload)``.

Semantics of ROS ``message_filters``:
- ``ExactTimeSynchronizer``: a set is emitted when every topic has a message with the same stamp.
- ``ApproximateTimeSynchronizer``: the adaptive *ApproximateTime* policy of message_filters (C++): each
  message is used at most once, sets come out in time order, a set's spread never exceeds ``slop`` (the
  policy's max interval duration), and among the sets sharing the latest-arriving ("pivot") message the
  one with the smallest spread (with an age penalty favouring older sets) is chosen, as soon as no future
  message can produce a better one.

Robustness beyond message_filters, with every message accounted for in ``stats``:
- a message not newer than the previous one of its topic is dropped as ``out_of_order``;
- a stamp more than ``jump_back`` seconds behind its topic's previous one is a clock jump (bag loop, sim
  time reset): all queues are cleared (``clock_reset``), ``stats.resets`` counts it, ``on_reset`` is called;
- queues hold at most ``queue_size`` messages per topic (``queue_overflow`` drops the oldest).

Invariant: ``received[i] == matched[i] + sum(dropped[reason][i]) + pending()[i]`` for every topic ``i``.
The callback runs synchronously inside ``add`` with the payloads in topic order, like message_filters'.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

OUT_OF_ORDER = "out_of_order"
CLOCK_RESET = "clock_reset"
QUEUE_OVERFLOW = "queue_overflow"
UNMATCHED = "unmatched"  # no partner within slop, or superseded by a better set
END_OF_STREAM = "end_of_stream"  # left in a queue when ``close`` was called
DROP_REASONS = (OUT_OF_ORDER, CLOCK_RESET, QUEUE_OVERFLOW, UNMATCHED, END_OF_STREAM)

POLICIES = ("approximate", "exact")
# who pairs in the node: auto = ROS message_filters when importable, else this module (sync_message_filters.py)
IMPLEMENTATIONS = ("auto", "message_filters", "core")

Item = tuple[int, Any]  # (stamp_ns, payload)


@dataclass
class SyncConfig:
    policy: str = "approximate"  # approximate | exact
    queue_size: int = 10  # messages kept per topic while waiting for partners
    slop: float = 0.02  # seconds: largest stamp spread of a set (approximate policy)
    age_penalty: float = 0.1  # approximate policy: >0 favours emitting older sets sooner
    # approximate policy: no two messages of one topic are closer than this (s); 0 = unknown. A bound lets a
    # set be published as soon as its last message arrives instead of when the next frame shows it optimal.
    min_interval: float = 0.0
    jump_back: float = 1.0  # seconds: a stamp this far behind its topic's last one is a clock jump
    stale_timeout: float = 1.0  # seconds without a message before diagnostics call a topic stale
    implementation: str = "auto"  # the node's pairing: auto | message_filters | core (offline tools: core)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ConfigError(f"sync.policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if self.implementation not in IMPLEMENTATIONS:
            raise ConfigError(f"sync.implementation must be one of {', '.join(IMPLEMENTATIONS)}, "
                              f"got {self.implementation!r}")
        if int(self.queue_size) != self.queue_size or self.queue_size < 1:
            raise ConfigError(f"sync.queue_size must be an integer >= 1, got {self.queue_size}")
        self.queue_size = int(self.queue_size)
        for name in ("slop", "age_penalty", "min_interval"):
            if not float(getattr(self, name)) >= 0.0:
                raise ConfigError(f"sync.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("jump_back", "stale_timeout"):
            if not float(getattr(self, name)) > 0.0:
                raise ConfigError(f"sync.{name} must be > 0, got {getattr(self, name)}")


@dataclass
class SyncStats:
    received: list[int]
    matched: list[int]
    dropped: dict[str, list[int]]
    sets: int = 0
    resets: int = 0
    max_queue: list[int] = field(default_factory=list)  # largest number of messages held per topic

    @classmethod
    def empty(cls, n: int) -> SyncStats:
        return cls([0] * n, [0] * n, {r: [0] * n for r in DROP_REASONS}, max_queue=[0] * n)

    def copy(self) -> SyncStats:
        dropped = {k: list(v) for k, v in self.dropped.items()}
        return SyncStats(list(self.received), list(self.matched), dropped, self.sets, self.resets,
                         list(self.max_queue))

    def dropped_total(self, index: int) -> int:
        return sum(v[index] for v in self.dropped.values())


class Synchronizer:
    """Stamp bookkeeping shared by both policies: order checks, clock jumps, stats, locking."""

    def __init__(self, n_topics: int, queue_size: int, callback: Callable[..., None], jump_back_s: float,
                 on_reset: Callable[[int, int], None] | None) -> None:
        if n_topics < 2:
            raise ValueError("synchronising needs at least 2 topics")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.n = n_topics
        self.queue_size = queue_size
        self.callback = callback
        self.jump_back_ns = round(jump_back_s * 1e9)
        self.on_reset = on_reset  # (topic index, backwards jump in ns)
        self._lock = threading.RLock()
        self._last: list[int | None] = [None] * n_topics
        self._stats = SyncStats.empty(n_topics)

    @property
    def stats(self) -> SyncStats:
        """A copy of the counters (safe to read from another thread)."""
        with self._lock:
            return self._stats.copy()

    def snapshot(self) -> tuple[SyncStats, list[int]]:
        """Counters and queue lengths read together (consistent with each other)."""
        with self._lock:
            return self._stats.copy(), self.pending()

    def add(self, index: int, stamp_ns: int, payload: Any) -> None:
        """Offer a message of topic ``index``; may call ``callback(*payloads)`` for completed sets."""
        if not 0 <= index < self.n:
            raise IndexError(f"topic index {index} out of range 0..{self.n - 1}")
        with self._lock:
            self._stats.received[index] += 1
            last = self._last[index]
            if last is not None and stamp_ns <= last:
                if last - stamp_ns >= self.jump_back_ns:
                    self.reset()
                    if self.on_reset is not None:
                        self.on_reset(index, last - stamp_ns)
                else:
                    self._stats.dropped[OUT_OF_ORDER][index] += 1
                    return
            self._last[index] = stamp_ns
            self._insert(index, (stamp_ns, payload))
            self._stats.max_queue[index] = max(self._stats.max_queue[index], self.pending()[index])

    def reset(self) -> None:
        """Forget every queued message (counted as ``clock_reset``) and every topic's last stamp."""
        with self._lock:
            for i, count in enumerate(self.pending()):
                self._stats.dropped[CLOCK_RESET][i] += count
            self._clear()
            self._last = [None] * self.n
            self._stats.resets += 1

    def close(self) -> None:
        """End of input: messages still waiting are counted as ``end_of_stream``."""
        with self._lock:
            for i, count in enumerate(self.pending()):
                self._stats.dropped[END_OF_STREAM][i] += count
            self._clear()

    def _emit(self, items: list[Item]) -> None:
        self._stats.sets += 1
        for i in range(self.n):
            self._stats.matched[i] += 1
        self.callback(*(payload for _, payload in items))

    def _drop(self, index: int, reason: str, count: int = 1) -> None:
        self._stats.dropped[reason][index] += count

    # policy-specific
    def pending(self) -> list[int]:
        raise NotImplementedError

    def _insert(self, index: int, item: Item) -> None:
        raise NotImplementedError

    def _clear(self) -> None:
        raise NotImplementedError


class ExactTimeSynchronizer(Synchronizer):
    """Emit a set when every topic holds a message with the same stamp."""

    def __init__(self, n_topics: int, queue_size: int, callback: Callable[..., None], *,
                 jump_back_s: float = 1.0, on_reset: Callable[[int, int], None] | None = None) -> None:
        super().__init__(n_topics, queue_size, callback, jump_back_s, on_reset)
        self._queues: list[dict[int, Any]] = [{} for _ in range(n_topics)]  # stamp -> payload, in stamp order

    def pending(self) -> list[int]:
        return [len(q) for q in self._queues]

    def _clear(self) -> None:
        for q in self._queues:
            q.clear()

    def _insert(self, index: int, item: Item) -> None:
        stamp, payload = item
        queue = self._queues[index]
        queue[stamp] = payload
        if all(stamp in q for q in self._queues):
            items = [(stamp, q.pop(stamp)) for q in self._queues]
            for i, q in enumerate(self._queues):  # older stamps can no longer complete (inputs are in order)
                for old in [s for s in q if s < stamp]:
                    del q[old]
                    self._drop(i, UNMATCHED)
            self._emit(items)
            return
        while len(queue) > self.queue_size:
            del queue[next(iter(queue))]
            self._drop(index, QUEUE_OVERFLOW)


class ApproximateTimeSynchronizer(Synchronizer):
    """message_filters' ApproximateTime policy (C++ ``sync_policies::ApproximateTime``), N topics."""

    def __init__(self, n_topics: int, queue_size: int, callback: Callable[..., None], *, slop_s: float,
                 age_penalty: float = 0.1, min_interval_s: float | Sequence[float] = 0.0,
                 jump_back_s: float = 1.0, on_reset: Callable[[int, int], None] | None = None) -> None:
        super().__init__(n_topics, queue_size, callback, jump_back_s, on_reset)
        single = isinstance(min_interval_s, (int, float))
        bounds = [float(min_interval_s)] * n_topics if single else list(min_interval_s)  # type: ignore[arg-type]
        if slop_s < 0 or age_penalty < 0 or len(bounds) != n_topics or min(bounds) < 0:
            raise ValueError("slop, age_penalty, min_interval (one, or one per topic) must be >= 0")
        self.max_interval_ns = round(slop_s * 1e9)
        self.age_penalty = age_penalty
        self.min_interval_ns = [round(b * 1e9) for b in bounds]
        self._deques: list[deque[Item]] = [deque() for _ in range(n_topics)]
        self._past: list[list[Item]] = [[] for _ in range(n_topics)]  # heads set aside while searching
        self._candidate: list[Item] | None = None
        self._pivot: int | None = None  # topic whose message ends the candidate interval
        self._pivot_time = 0
        self._cand_start = 0
        self._cand_end = 0
        self._has_dropped = [False] * n_topics  # an overflow drop makes the topic a bad pivot for now

    def pending(self) -> list[int]:
        return [len(d) + len(p) for d, p in zip(self._deques, self._past, strict=True)]

    def _clear(self) -> None:
        for d, p in zip(self._deques, self._past, strict=True):
            d.clear()
            p.clear()
        self._candidate, self._pivot = None, None
        self._has_dropped = [False] * self.n

    def _insert(self, index: int, item: Item) -> None:
        self._deques[index].append(item)
        if all(self._deques):
            self._process()
        if len(self._deques[index]) + len(self._past[index]) > self.queue_size:
            self._recover_all()  # cancel the ongoing candidate search
            self._deques[index].popleft()
            self._drop(index, QUEUE_OVERFLOW)
            self._has_dropped[index] = True
            if self._pivot is not None:
                self._candidate, self._pivot = None, None
                self._process()

    # -- helpers --
    def _recover_all(self) -> None:
        for d, p in zip(self._deques, self._past, strict=True):
            d.extendleft(reversed(p))
            p.clear()

    def _recover(self, counts: list[int]) -> None:
        for d, p, k in zip(self._deques, self._past, counts, strict=True):
            for _ in range(k):
                d.appendleft(p.pop())

    def _move_to_past(self, index: int) -> None:
        self._past[index].append(self._deques[index].popleft())

    def _make_candidate(self, start: int, end: int) -> None:
        self._candidate = [d[0] for d in self._deques]
        for i, p in enumerate(self._past):  # older than the new candidate: can never be used
            self._drop(i, UNMATCHED, len(p))
            p.clear()
        self._cand_start, self._cand_end = start, end

    def _publish_candidate(self) -> None:
        assert self._candidate is not None
        items = self._candidate
        self._candidate, self._pivot = None, None
        self._recover_all()
        for d in self._deques:
            d.popleft()  # the candidate's message of each topic is at the front again
        self._emit(items)

    @staticmethod
    def _bounds(times: list[int]) -> tuple[int, int, int, int]:
        """(start index, start time, end index, end time): first earliest, last latest (as the C++ policy)."""
        start = min(range(len(times)), key=lambda i: (times[i], i))
        end = max(range(len(times)), key=lambda i: (times[i], i))
        return start, times[start], end, times[end]

    def _virtual_time(self, i: int) -> int:
        if self._deques[i]:
            return self._deques[i][0][0]
        # optimistic: the next message of an empty topic comes no earlier than the pivot, nor than its last
        # message plus the topic's minimum interval
        return max(self._past[i][-1][0] + self.min_interval_ns[i], self._pivot_time)

    def _worse(self, end: int, start: int) -> bool:
        """A set [start, end] is no better than the candidate (age-penalised spread comparison)."""
        return (end - self._cand_end) * (1 + self.age_penalty) >= (start - self._cand_start)

    # -- the policy --
    def _process(self) -> None:
        while all(self._deques):
            start_i, start_t, end_i, end_t = self._bounds([d[0][0] for d in self._deques])
            for i in range(self.n):
                if i != end_i:
                    self._has_dropped[i] = False
            if self._pivot is None:
                if end_t - start_t > self.max_interval_ns or self._has_dropped[end_i]:
                    self._deques[start_i].popleft()
                    self._drop(start_i, UNMATCHED)
                    continue
                self._make_candidate(start_t, end_t)
                self._pivot, self._pivot_time = end_i, end_t
                self._move_to_past(start_i)
            else:
                if not self._worse(end_t, start_t):
                    self._make_candidate(start_t, end_t)  # a better set with the same pivot
                self._move_to_past(start_i)
            if start_i == self._pivot or self._worse(end_t, self._pivot_time):
                # every candidate for this pivot was seen, or any later one must span [pivot, end_t]
                self._publish_candidate()
            elif not all(self._deques):
                self._virtual_search()

    def _virtual_search(self) -> None:
        """Assume the best possible future messages; publish if even they cannot beat the candidate."""
        moves = [0] * self.n
        while True:
            start_i, start_t, _, end_t = self._bounds([self._virtual_time(i) for i in range(self.n)])
            if self._worse(end_t, self._pivot_time):
                self._publish_candidate()
                return
            if not self._worse(end_t, start_t):  # an optimistic future set could be better: wait
                self._recover(moves)
                return
            self._move_to_past(start_i)
            moves[start_i] += 1


def make_synchronizer(config: SyncConfig, callback: Callable[..., None], n_topics: int = 2,
                      on_reset: Callable[[int, int], None] | None = None) -> Synchronizer:
    if config.policy == "exact":
        return ExactTimeSynchronizer(n_topics, config.queue_size, callback, jump_back_s=config.jump_back,
                                     on_reset=on_reset)
    return ApproximateTimeSynchronizer(n_topics, config.queue_size, callback, slop_s=config.slop,
                                       age_penalty=config.age_penalty, min_interval_s=config.min_interval,
                                       jump_back_s=config.jump_back,
                                       on_reset=on_reset)

