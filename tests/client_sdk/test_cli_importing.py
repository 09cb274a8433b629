"""`fitwatch import` goes through the API: tokens and their scopes apply to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fitwatch.cli import main
from fitwatch.importers import import_run_id, read_history
from tests.client_sdk.conftest import AuthServer


def test_import_needs_a_write_token_for_its_project(
    auth_server: AuthServer, tmp_path: Path, journal_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"loss": [1.0, float("nan")], "val_loss": [2.0, 1.5]}))
    argv = ["import", "history", str(path), "--project", "p", "--url", auth_server.url]

    assert main([*argv, "--token", auth_server.token("read")]) == 2
    assert "is read-only" in capsys.readouterr().err
    assert main([*argv, "--token", auth_server.token("write", project="other")]) == 2
    assert "may only log to project 'other'. Received: project='p'" in capsys.readouterr().err

    assert main([*argv, "--token", auth_server.token("write", project="p")]) == 0
    run_id = import_run_id(read_history(path), project="p")
    points = auth_server.stored.points(run_id, "loss", "epoch")
    assert points[0] == 1.0 and points[1] != points[1]  # NaN came through
