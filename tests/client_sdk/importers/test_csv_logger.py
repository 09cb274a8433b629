"""`fitwatch import csv` on files written by keras.callbacks.CSVLogger: stored == History."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitwatch.cli import main
from fitwatch.importers import import_run_id, read_csv_logger
from tests.client_sdk.conftest import Stored
from tests.client_sdk.importers.conftest import KerasLogs, history_by_epoch, stored_equals_history

pytestmark = pytest.mark.keras


def test_reader_gives_history_with_na_epochs_left_out(keras_logs: dict[str, KerasLogs]) -> None:
    logs = keras_logs["steady"]
    run = read_csv_logger(logs.csv)
    got = {s.key: dict(zip(s.steps, s.values, strict=True)) for s in run.series}
    assert got == history_by_epoch(logs)  # exact floats; val_ only on epochs 1 and 3
    assert {s.scope for s in run.series} == {"epoch"}


def test_import_csv_stores_history_and_a_second_import_is_a_no_op(
    keras_logs: dict[str, KerasLogs],
    live_server: str,
    journal_dir: Path,
    stored: Stored,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("steady", "diverged"):
        logs = keras_logs[name]
        assert (
            main(["import", "csv", str(logs.csv), "--project", "imports", "--url", live_server])
            == 0
        )
        assert "imported:" in capsys.readouterr().out
        run_id = import_run_id(read_csv_logger(logs.csv), project="imports")
        stored_equals_history(stored, run_id, logs)
        run = stored.run(run_id)
        assert (run["project"], run["name"], run["status"]) == ("imports", name, "finished")
        before = {(s["key"], s["scope"]): s for s in run["series"]}

        assert (
            main(["import", "csv", str(logs.csv), "--project", "imports", "--url", live_server])
            == 0
        )
        assert "already imported" in capsys.readouterr().out
        after = {(s["key"], s["scope"]): s for s in stored.run(run_id)["series"]}
        assert after == before  # same counts, same last wall times: nothing was rewritten
        assert stored.http.get("/runs", params={"project": "imports"}).json()["total"] == (
            1 if name == "steady" else 2
        )


def test_a_file_that_is_not_a_csv_logger_file_is_refused_with_its_first_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("step,loss\n0,1.0\n")
    assert main(["import", "csv", str(bad), "--url", "http://127.0.0.1:9"]) == 2
    assert (
        "its first line must be 'epoch,<key>...'. Received: 'step,loss'" in capsys.readouterr().err
    )
