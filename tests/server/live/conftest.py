"""Live-test fixtures: a real server process on each backend, with live settings per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.helpers.server import ServerProcess

StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(database_url: str, server_process: type[ServerProcess]) -> StartServer:
    """Start a server on this test's database (SQLite or PostgreSQL) with `FITWATCH_*` env."""

    def start(workers: int = 1, **env: str) -> ServerProcess:
        return server_process(database_url, workers=workers, env=env).start()

    return start


@pytest.fixture
def api() -> httpx.Client:
    with httpx.Client(timeout=30.0) as client:
        yield client


@pytest.fixture
def pg_url(postgres_url: str | None) -> Iterator[str]:
    """The session's PostgreSQL database, emptied; skipped locally, a failure in CI, without it."""
    from tests.conftest import PG_ADMIN_URL, _truncate, require

    require(postgres_url is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    assert postgres_url is not None
    _truncate(postgres_url)
    yield postgres_url
    _truncate(postgres_url)
