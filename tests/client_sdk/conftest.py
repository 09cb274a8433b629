"""SDK test fixtures: an isolated journal directory and a reader of what the server stored.

The server fixtures (`server_process`, `live_server`) come from tests/conftest.py.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

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
    return directory


class Stored:
    """Reads a run back over the REST API, decoding the NaN/Inf names."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url + "/api/v1", timeout=10.0, headers=headers)

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(f"/runs/{run_id}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def run_or_none(self, run_id: str) -> dict[str, Any] | None:
        """The run, or None while the sender has not created it yet."""
        response = self.http.get(f"/runs/{run_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def series_counts(self, run_id: str) -> dict[tuple[str, str], int]:
        response = self.http.get(f"/runs/{run_id}")
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        return {(s["key"], s["scope"]): s["count"] for s in response.json()["series"] or []}

    def points(self, run_id: str, key: str, scope: str) -> dict[int, float]:
        response = self.http.get(f"/runs/{run_id}/series/{key}", params={"scope": scope})
        response.raise_for_status()
        body = response.json()
        assert not body["downsampled"]
        return {step: _decode(v) for step, v in zip(body["steps"], body["values"], strict=True)}

    def series(self, run_id: str, key: str, scope: str) -> dict[str, Any]:
        response = self.http.get(f"/runs/{run_id}/series/{key}", params={"scope": scope})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self.http.close()


def _decode(raw: Any) -> float:
    names = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    return names[raw] if isinstance(raw, str) else float(raw)


def same(a: float, b: float) -> bool:
    """Equality that treats NaN as equal to NaN (a NaN loss is data)."""
    return (math.isnan(a) and math.isnan(b)) or a == b


ADMIN_TOKEN = "sdk-admin-" + "b" * 40


class AuthServer:
    """A server process with FITWATCH_AUTH=on; `token(scope)` makes a real token on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stored = Stored(url, ADMIN_TOKEN)

    def token(self, scope: str, project: str | None = None, name: str | None = None) -> str:
        body = {"name": name or f"{scope}-{project or 'all'}", "scope": scope}
        if project:
            body["project"] = project
        response = self.stored.http.post("/tokens", json=body)
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


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
