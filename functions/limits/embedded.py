"""Counters in this process's memory: the local server is one process, and nothing else needs them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class InMemoryCounterStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counters: dict[str, tuple[int, int]] = {}  # key -> (count, expires_at)
        self._lock = threading.Lock()

    def increment(self, key: str, *, expires_at: int, amount: int = 1) -> int:
        with self._lock:
            now = self._clock()
            # Drop finished windows as DynamoDB's TTL would, so memory follows the active clients.
            for stale in [k for k, (_, expiry) in self._counters.items() if expiry <= now]:
                del self._counters[stale]
            count = self._counters.get(key, (0, expires_at))[0] + amount
            self._counters[key] = (count, expires_at)
            return count
