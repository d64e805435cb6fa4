"""The limiter: at most `limit` requests per client in each window of `window_seconds`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from functions.errors import RateLimitedError


class CounterStore(Protocol):
    """Counters that survive between requests (and, in AWS, between Lambda instances)."""

    def increment(self, key: str, *, expires_at: int, amount: int = 1) -> int:
        """Add `amount` (one request, or the tokens an answer used; zero reads the counter) to
        `key`'s counter atomically and return the new count; the counter may be forgotten after
        `expires_at` (epoch seconds)."""
        ...


@dataclass(frozen=True)
class FixedWindowLimiter:
    """A fixed window: one counter per client per window, so each request costs one atomic write.

    A client may send up to twice the limit across a window boundary; a sliding window would
    cost a read and a write per request for a limit that only has to stop abuse.
    """

    store: CounterStore
    limit: int
    window_seconds: int
    clock: Callable[[], float] = time.time

    def check(self, client: str) -> None:
        """Count one request of `client`; raise RateLimitedError once it is over the limit."""
        now = self.clock()
        window_start = int(now // self.window_seconds) * self.window_seconds
        window_end = window_start + self.window_seconds
        count = self.store.increment(f"{client}#{window_start}", expires_at=window_end)
        if count > self.limit:
            retry_after = max(1, math.ceil(window_end - now))
            raise RateLimitedError(
                f"too many requests: at most {self.limit} every {self.window_seconds} s; "
                f"retry in {retry_after} s",
                retry_after_seconds=retry_after,
            )
