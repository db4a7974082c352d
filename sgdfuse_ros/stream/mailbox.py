"""Back-pressure: a one-slot mailbox (newest wins) and the worker thread that drains it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class LatestMailbox(Generic[T]):
    """Holds at most one item; ``put`` replaces an unread item and returns it (the dropped one)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False

    @property
    def full(self) -> bool:
        return self._full

    def put(self, item: T) -> T | None:
        with self._cond:
            displaced = self._item if self._full else None
            self._item, self._full = item, True
            self._cond.notify()
            return displaced

    def get(self, timeout: float | None = None) -> T | None:
        """The item (emptying the slot), or None after ``timeout`` seconds or once closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout) or self._closed:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def take(self) -> T | None:
        """Empty the slot without waiting; the item that was there, if any."""
        with self._cond:
            item, self._item, self._full = (self._item if self._full else None), None, False
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False


class Worker(Generic[T]):
    """One thread running ``process(item)`` on the newest submitted item; older unprocessed ones are dropped.

    ``submit`` returns the item it displaced (a pair dropped by back-pressure) or None. Exceptions raised by
    ``process`` go to ``on_error(item, exc)``; the thread keeps running.
    """

    def __init__(self, process: Callable[[T], None], on_error: Callable[[T, BaseException], None],
                 name: str = "sgdfuse-worker") -> None:
        self.process = process
        self.on_error = on_error
        self.name = name
        self.mailbox: LatestMailbox[T] = LatestMailbox()
        self._thread: threading.Thread | None = None
        self._busy = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    @property
    def in_flight(self) -> int:
        """Pairs accepted but not finished: the one being processed and the one waiting (0..2)."""
        return int(self.busy) + int(self.mailbox.full)

    def start(self) -> None:
        if self.running:
            return
        self.mailbox.reopen()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> T | None:
        return self.mailbox.put(item)

    def stop(self, timeout: float = 10.0) -> T | None:
        """Stop after the item in progress; return the unprocessed item left in the mailbox, if any."""
        self.mailbox.close()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s: still busy after %.1f s, leaving it to finish in the background",
                            self.name, timeout)
        self._thread = None
        return self.mailbox.take()

    def _loop(self) -> None:
        while True:
            item = self.mailbox.get()
            if item is None:  # closed
                return
            self._busy.set()
            try:
                self.process(item)
            except Exception as exc:  # reported, never fatal for the thread
                self.on_error(item, exc)
            finally:
                self._busy.clear()
