"""auth/rate_limit.py: a moving one-second window per key, with a Retry-After."""

from __future__ import annotations

import pytest

from fitwatch_server.auth.rate_limit import RateLimiter
from fitwatch_server.errors import RateLimited


def test_the_limit_counts_per_key_and_says_when_to_retry():
    limiter = RateLimiter(2)
    limiter.check("a", who="token 'a'")
    limiter.check("a", who="token 'a'")
    limiter.check("b", who="token 'b'")
    with pytest.raises(RateLimited, match="token 'a' sent more than 2 requests in one second") as refused:
        limiter.check("a", who="token 'a'")
    assert refused.value.retry_after_s == 1


def test_zero_turns_the_limit_off():
    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.check("a", who="x")
