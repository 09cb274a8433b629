"""Server-test fixtures with FITWATCH_AUTH=on (the plain ones are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

# The bootstrap admin token of these tests (FITWATCH_ADMIN_TOKEN).
ADMIN_TOKEN = "test-admin-" + "a" * 40
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def auth_settings(settings):  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    return settings.model_copy(update={"auth": True, "admin_token": SecretStr(ADMIN_TOKEN)})


@pytest.fixture
def auth_client(auth_settings) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from fitwatch_server.app import create_app

    with TestClient(create_app(auth_settings), base_url="http://localhost") as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client of an app on a SQLite file, for SQLite's own cases (full file, read-only file)."""
    from fitwatch_server.app import create_app
    from fitwatch_server.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'sqlite-only.db'}"))
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client


@pytest.fixture
def impatient_client(settings) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client of an app whose writes wait only 0.2 s for a lock another writer holds."""
    from fitwatch_server.app import create_app

    app = create_app(settings.model_copy(update={"lock_timeout_s": 0.2}))
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client
