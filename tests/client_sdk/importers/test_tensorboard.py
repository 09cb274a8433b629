"""`fitwatch import tensorboard` on what keras.callbacks.TensorBoard wrote: stored == History."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fitwatch.cli import main
from fitwatch.importers import import_run_id
from fitwatch.importers.tensorboard import name_series, read_logdir
from tests.client_sdk.conftest import Stored
from tests.client_sdk.importers.conftest import KerasLogs, stored_equals_history

pytestmark = pytest.mark.keras
pytest.importorskip("tensorboard")


@pytest.mark.parametrize(
    ("role", "tag", "expected"),
    [
        ("train", "epoch_loss", ("loss", "epoch")),
        ("train", "batch_mae", ("mae", "batch")),
        ("train", "epoch_learning_rate", ("learning_rate", "epoch")),
        ("validation", "epoch_loss", ("val_loss", "epoch")),
        ("validation", "evaluation_mae_vs_iterations", ("val_mae", "eval")),
        ("validation", "custom", ("val_custom", "epoch")),
        (None, "epoch_loss", ("epoch_loss", "epoch")),
    ],
)
def test_tags_are_named_the_way_history_names_them(
    role: str | None, tag: str, expected: tuple[str, str]
) -> None:
    assert name_series(role, tag) == expected


def test_one_run_per_run_directory_with_steps_and_wall_times_kept(
    keras_logs: dict[str, KerasLogs],
) -> None:
    logdir = keras_logs["steady"].tensorboard.parent
    runs = {run.name: run for run in read_logdir(logdir)}
    assert sorted(runs) == ["diverged", "steady"]
    steady = {(s.key, s.scope): s for s in runs["steady"].series}
    # Keras's TensorBoard counts batches from 1: 72 training samples, batch 16 -> 5 a epoch.
    assert steady[("loss", "batch")].steps == list(range(1, 21))
    assert steady[("val_loss", "eval")].steps == [10, 20]  # iterations at the validated epochs
    times = steady[("loss", "epoch")].times
    assert times == sorted(times) and times[0] > 1e9


def test_import_tensorboard_stores_history_and_a_second_import_is_a_no_op(
    keras_logs: dict[str, KerasLogs],
    live_server: str,
    journal_dir: Path,
    stored: Stored,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("steady", "diverged"):
        logs = keras_logs[name]
        argv = [
            "import",
            "tensorboard",
            str(logs.tensorboard),
            "--project",
            "tb",
            "--url",
            live_server,
        ]
        assert main(argv) == 0
        (run,) = read_logdir(logs.tensorboard)
        run_id = import_run_id(run, project="tb")
        stored_equals_history(stored, run_id, logs)
        before = stored.run(run_id)
        assert before["name"] == name
        assert {(s["key"], s["scope"]) for s in before["series"]} >= {
            ("loss", "batch"),
            ("learning_rate", "epoch"),
        }
        assert main(argv) == 0
        assert "already imported" in capsys.readouterr().out.splitlines()[-1]
        assert stored.run(run_id)["series"] == before["series"]


def test_a_logdir_of_several_runs_gives_several_runs(
    keras_logs: dict[str, KerasLogs],
    tmp_path: Path,
    live_server: str,
    journal_dir: Path,
    stored: Stored,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logdir = tmp_path / "logs"
    shutil.copytree(keras_logs["steady"].tensorboard.parent, logdir)
    assert (
        main(["import", "tensorboard", str(logdir), "--project", "many", "--url", live_server]) == 0
    )
    out = capsys.readouterr().out
    assert out.count("imported:") == 2
    names = sorted(
        r["name"] for r in stored.http.get("/runs", params={"project": "many"}).json()["runs"]
    )
    assert names == ["diverged", "steady"]


def test_a_directory_without_event_files_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "tensorboard", str(tmp_path), "--url", "http://127.0.0.1:9"]) == 2
    assert "no scalar summaries found under" in capsys.readouterr().err
