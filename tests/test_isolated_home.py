"""The test guard (`isolated_home` in tests/conftest.py): no test writes to the real home."""

from __future__ import annotations

from pathlib import Path

import pytest

import fitwatch
from fitwatch.settings import default_journal_dir


def test_the_sdk_journals_into_the_temporary_home(tmp_path: Path) -> None:
    run = fitwatch.init(project="guard", mode="offline")
    run.log({"loss": 1.0}, step=0)
    with pytest.warns(RuntimeWarning, match="recorded offline"):
        run.finish(timeout=5)
    assert any(run.journal.directory.iterdir())
    assert run.journal.directory.is_relative_to(tmp_path)
    assert default_journal_dir().is_relative_to(tmp_path)
    assert Path.home().is_relative_to(tmp_path)


def test_the_server_default_database_is_in_the_temporary_home(tmp_path: Path) -> None:
    from fitwatch_server.settings import Settings

    assert str(tmp_path) in Settings().database_url
