"""Poll instead of sleeping: `wait_until(lambda: ..., timeout=10)`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Return the predicate's first truthy result; fail with its last value after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")
        time.sleep(interval)
        last = predicate()
    return last
