"""Shared fixtures: every server test runs on SQLite and on the real PostgreSQL.

PostgreSQL: a fresh database per test session (dropped at the end), tables truncated
between tests. Every test runs with a temporary home and data directory (`isolated_home`), so
no journal, config or database lands in the real home directory, where a later
`fitwatch sync` would upload it as a phantom run. Without a reachable PostgreSQL, the postgres tests are skipped on a
developer's machine with the reason printed, and fail under CI (CI=true): nothing may be
skipped there.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "FITWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# The settings a user's shell may carry that would point a test at their own server or data.
USER_ENV = (
    "FITWATCH_URL", "FITWATCH_TOKEN", "FITWATCH_MODE", "FITWATCH_DIR", "FITWATCH_DATABASE_URL",
    "FITWATCH_AUTH", "FITWATCH_ADMIN_TOKEN",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, the XDG data/config directories and FITWATCH_DIR in this test's temp dir.

    Server processes the test starts inherit the same environment. Fixtures that need their
    own journal directory (`journal_dir`) override FITWATCH_DIR on top of this.
    """
    home = tmp_path / "home"
    for name, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    for name in USER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FITWATCH_DIR", str(home / ".local/share/fitwatch/journal"))
    return home


def require(condition: bool, reason: str) -> None:
    """Skip on a developer's machine, fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must not skip: {reason}", pytrace=False)
    pytest.skip(reason)


def _pg_admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session, migrated; None if unreachable."""
    try:
        admin = _pg_admin_connect()
    except Exception as error:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        yield None
        _ = error
        return
    name = f"fitwatch_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    from fitwatch_server.migrate import upgrade_database
    from fitwatch_server.settings import Settings

    upgrade_database(Settings(database_url=url).database_url)
    yield url
    with _pg_admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE web_sessions, tokens, point_rollups, points, series, run_tags, runs, projects RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, postgres_url: str | None) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fitwatch.db'}"
        return
    require(postgres_url is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    assert postgres_url is not None
    _truncate(postgres_url)
    yield postgres_url
    _truncate(postgres_url)


@pytest.fixture
def settings(database_url: str):  # type: ignore[no-untyped-def]
    from fitwatch_server.settings import Settings

    return Settings(database_url=database_url)


@pytest.fixture
def app(settings):  # type: ignore[no-untyped-def]
    from fitwatch_server.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    # localhost, not TestClient's default "testserver": the server answers loopback names only.
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    # Kept on the test item, so that fixtures can tell in their teardown whether it failed.
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report


SERVER_LOG_TAIL = 60


@pytest.fixture
def server_process(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[type[ServerProcess]]:
    """The ServerProcess class; every instance made through it is stopped after the test.

    When the test failed, the end of each server's log is printed with the failure: CI's
    temp directories are gone by the time anyone reads why a test failed there.
    """
    made: list[ServerProcess] = []

    class TrackedServerProcess(ServerProcess):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            kwargs.setdefault("log_path", tmp_path / f"server-{len(made)}.log")
            super().__init__(*args, **kwargs)
            made.append(self)

    yield TrackedServerProcess
    for server in made:
        server.stop()
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        for server in made:
            if server.log_path is not None and server.log_path.exists():
                lines = server.log_path.read_text(errors="replace").splitlines()[-SERVER_LOG_TAIL:]
                # Printed in teardown, pytest shows it with the failure ("Captured stdout teardown").
                sys.stdout.write(f"--- the last {len(lines)} lines of {server.log_path.name} ---\n")
                sys.stdout.write("".join(line + "\n" for line in lines))


@pytest.fixture
def live_server(server_process: type[ServerProcess], tmp_path: Path) -> str:
    """Base URL of a real server process on SQLite in a temp dir."""
    server = server_process(f"sqlite:///{tmp_path / 'live.db'}").start()
    return server.url
