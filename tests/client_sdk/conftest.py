"""SDK test fixtures: an isolated journal directory and a reader of what the server stored.

The server fixtures (`server_process`, `live_server`) come from tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.auth import ADMIN_TOKEN, AuthServer
from tests.helpers.stored import Stored, same

__all__ = ["ADMIN_TOKEN", "AuthServer", "Stored", "same"]  # the SDK tests import these from here

# Keras tests must not print TensorFlow's start-up chatter into every failure report.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """FITWATCH_DIR for this test only, so journals never land in the home directory."""
    directory = tmp_path / "journal"
    monkeypatch.setenv("FITWATCH_DIR", str(directory))
    monkeypatch.delenv("FITWATCH_URL", raising=False)
    monkeypatch.delenv("FITWATCH_MODE", raising=False)
    monkeypatch.delenv("FITWATCH_TOKEN", raising=False)
    # System samples come at wall-clock times: tests that compare series turn them on explicitly.
    monkeypatch.setenv("FITWATCH_SYSTEM_METRICS", "off")
    return directory


@pytest.fixture
def auth_server(server_process: Any, tmp_path: Path) -> Iterator[AuthServer]:
    """A real server on SQLite that needs tokens (the bootstrap admin token is ADMIN_TOKEN)."""
    server = server_process(
        f"sqlite:///{tmp_path / 'auth.db'}",
        env={"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN_TOKEN},
    ).start()
    helper = AuthServer(server.url)
    yield helper
    helper.stored.close()


@pytest.fixture
def stored(live_server: str) -> Iterator[Stored]:
    reader = Stored(live_server)
    yield reader
    reader.close()
