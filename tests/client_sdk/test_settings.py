"""Client settings: arguments over FITWATCH_* variables over defaults; refusals quote input."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitwatch.settings import DEFAULT_URL, ClientSettings, Mode


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FITWATCH_URL", "FITWATCH_MODE", "FITWATCH_DIR", "FITWATCH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = ClientSettings.load()
    assert settings.url == DEFAULT_URL == "http://127.0.0.1:8000"
    assert settings.mode is Mode.online


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FITWATCH_URL", "http://env:1/")
    monkeypatch.setenv("FITWATCH_MODE", "offline")
    monkeypatch.setenv("FITWATCH_DIR", str(tmp_path))
    settings = ClientSettings.load()
    assert (settings.url, settings.mode, settings.journal_dir) == ("http://env:1", Mode.offline, tmp_path)
    settings = ClientSettings.load(url="http://arg:2", mode="online")
    assert (settings.url, settings.mode) == ("http://arg:2", Mode.online)


def test_bad_values_are_refused_with_what_was_received() -> None:
    with pytest.raises(ValueError, match=r"Received: mode='sometimes'"):
        ClientSettings.load(mode="sometimes")
    with pytest.raises(ValueError, match=r"Received: url='localhost:8000'"):
        ClientSettings.load(url="localhost:8000")
    with pytest.raises(ValueError, match=r"Received: flush_interval_s=0"):
        ClientSettings.load(flush_interval_s=0)
