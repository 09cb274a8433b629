"""`fitwatch import csv` on files written by keras.callbacks.CSVLogger: stored == History."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitwatch.cli import main
from fitwatch.importers import import_run_id, read_csv_logger, read_csv_logger_fits
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


def _fit_appending(csv_path: Path, learning_rate: float, epochs: int) -> dict[str, list[float]]:
    import keras
    import numpy as np

    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [2.0]], dtype="float32")).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate), "mse", metrics=["mae"])
    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=16,
        validation_split=0.25,
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(csv_path), append=True)],
    )
    return history.history


def test_a_file_appended_to_by_two_fits_imports_as_two_runs_each_equal_to_its_history(
    tmp_path: Path,
    live_server: str,
    journal_dir: Path,
    stored: Stored,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # CSVLogger(append=True) writes the header once and each fit's epochs from 0 after the
    # last: read as one run, the second fit's epochs overwrote the first's and the run held
    # epochs of both (matching neither History).
    csv_path = tmp_path / "appended.csv"
    first = _fit_appending(csv_path, 0.01, epochs=3)
    second = _fit_appending(csv_path, 0.001, epochs=2)
    assert csv_path.read_text().count("epoch") == 1  # one header for both fits

    with pytest.raises(ValueError, match="holds 2 fits"):
        read_csv_logger(csv_path)
    fits = read_csv_logger_fits(csv_path)
    assert [(f.name, f.part) for f in fits] == [("appended", 1), ("appended (fit 2)", 2)]
    for _ in range(2):  # the second import is a no-op
        command = ["import", "csv", str(csv_path), "--project", "appended", "--url", live_server]
        assert main(command) == 0
    out = capsys.readouterr().out
    assert out.count("imported: ") == 2 and out.count("already imported") == 2, out
    assert stored.http.get("/runs", params={"project": "appended"}).json()["total"] == 2
    for fit, history in zip(fits, (first, second), strict=True):
        run_id = import_run_id(fit, project="appended")
        assert stored.run(run_id)["name"] == fit.name
        for key, values in history.items():
            assert stored.points(run_id, key, "epoch") == dict(enumerate(values)), key
    # A file of one fit keeps the id it always had (runs imported before keep theirs).
    assert import_run_id(fits[0], project="appended").startswith("import-csv-")


def test_a_file_of_only_a_header_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header_only = tmp_path / "died-in-epoch-0.csv"
    header_only.write_text("epoch,loss\n")
    assert main(["import", "csv", str(header_only), "--url", "http://127.0.0.1:9"]) == 2
    assert "holds no epoch: only its header line" in capsys.readouterr().err
