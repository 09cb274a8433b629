"""Requests per second per token: a moving one-second window (the `limits` library).

The window is kept in this process's memory, so with `--workers N` each worker counts
on its own (a token may reach N times the limit in total); docs/security.md says so.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from fitwatch_server.errors import RateLimited


class RateLimiter:
    """`check(key)` counts one request of `key` and raises `RateLimited` past the limit."""

    def __init__(self, per_s: int) -> None:
        self.per_s = per_s
        self._item = RateLimitItemPerSecond(per_s) if per_s > 0 else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage()) if per_s > 0 else None

    def check(self, key: str, *, who: str) -> None:
        if self._item is None or self._limiter is None:
            return
        if self._limiter.hit(self._item, key):
            return
        reset_at, _remaining = self._limiter.get_window_stats(self._item, key)
        retry_after_s = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(
            f"{who} sent more than {self.per_s} requests in one second (FITWATCH_RATE_LIMIT_PER_S); "
            f"retry after {retry_after_s} s",
            retry_after_s=retry_after_s,
        )
