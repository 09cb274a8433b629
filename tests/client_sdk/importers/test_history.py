"""`fitwatch import history` on a dumped History.history (bare NaN included): stored == History."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fitwatch.cli import main
from fitwatch.importers import import_run_id, read_history
from tests.client_sdk.conftest import Stored
from tests.client_sdk.importers.conftest import KerasLogs, history_by_epoch, stored_equals_history

pytestmark = pytest.mark.keras


def test_short_validation_lists_need_the_validation_freq(keras_logs: dict[str, KerasLogs]) -> None:
    logs = keras_logs["steady"]
    with pytest.raises(
        ValueError, match="'val_loss' has 2 values for 4 epochs .* --validation-freq N"
    ):
        read_history(logs.history_json)
    run = read_history(logs.history_json, validation_freq=2)
    assert {
        s.key: dict(zip(s.steps, s.values, strict=True)) for s in run.series
    } == history_by_epoch(logs)


def test_import_history_stores_history_and_a_second_import_is_a_no_op(
    keras_logs: dict[str, KerasLogs],
    live_server: str,
    journal_dir: Path,
    stored: Stored,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("steady", "diverged"):
        logs = keras_logs[name]
        if name == "diverged":
            assert "NaN" in logs.history_json.read_text()  # the bare token json.dump writes
        argv = [
            "import",
            "history",
            str(logs.history_json),
            "--url",
            live_server,
            "--validation-freq",
            str(logs.validation_freq),
        ]
        assert main(argv) == 0
        run_id = import_run_id(
            read_history(logs.history_json, validation_freq=logs.validation_freq), project="default"
        )
        stored_equals_history(stored, run_id, logs)
        before = stored.run(run_id)["series"]
        assert main(argv) == 0
        assert "already imported" in capsys.readouterr().out.splitlines()[-1]
        assert stored.run(run_id)["series"] == before


def test_history_attributes_file_uses_its_epoch_list(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(
        json.dumps({"history": {"loss": [0.5, 0.25]}, "epoch": [3, 4], "params": {"epochs": 5}})
    )
    run = read_history(path)
    assert [(s.key, s.steps, s.values) for s in run.series] == [("loss", [3, 4], [0.5, 0.25])]
    assert run.config == {"params": {"epochs": 5}}


def test_not_a_history_is_refused_saying_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text("[1, 2]")
    with pytest.raises(
        ValueError, match=r"expected \{key: \[value per epoch\], ...\}. Received a list"
    ):
        read_history(path)
    # Empty lists (a History of a fit that stopped before its first epoch end) would be a
    # run without a point: refused.
    path.write_text('{"loss": [], "val_loss": []}')
    with pytest.raises(ValueError, match="holds no epoch: every list is empty"):
        read_history(path)
