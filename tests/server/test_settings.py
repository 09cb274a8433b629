"""settings.py: the security settings normalise what they can and refuse what they cannot."""

from __future__ import annotations

import pytest

from fitwatch_server.settings import Settings


def test_hosts_and_origins_are_comma_separated_lists_from_the_environment(monkeypatch):
    monkeypatch.setenv("FITWATCH_ALLOWED_HOSTS", "Fitwatch.Example.com, *.lab.example,")
    monkeypatch.setenv("FITWATCH_ALLOWED_ORIGINS", "https://Notebook.example:8888/")
    monkeypatch.setenv("FITWATCH_AUTH", "on")
    settings = Settings(database_url="sqlite://")
    assert settings.allowed_hosts == ["fitwatch.example.com", "*.lab.example"]
    assert settings.allowed_origins == ["https://notebook.example:8888"]
    assert settings.auth is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("allowed_hosts", "https://x.example/", "not URLs"),
     ("allowed_origins", "x.example", "origins like"),
     ("allowed_origins", "https://x.example/app", "no path")],
)
def test_malformed_values_are_refused_with_an_example(field, value, message):
    with pytest.raises(ValueError, match=message):
        Settings(database_url="sqlite://", **{field: value})


def test_auth_is_off_and_limits_are_on_by_default(monkeypatch):
    for name in ("FITWATCH_AUTH", "FITWATCH_RATE_LIMIT_PER_S"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(database_url="sqlite://")
    assert settings.auth is False and settings.rate_limit_per_s == 200
    assert (settings.max_points_per_request, settings.max_series_per_run, settings.max_runs_per_project) == (
        100_000, 10_000, 100_000)
