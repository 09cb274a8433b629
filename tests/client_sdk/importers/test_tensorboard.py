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


def test_a_run_directory_written_by_two_fits_imports_as_two_runs_each_equal_to_its_history(
    tmp_path: Path, live_server: str, journal_dir: Path, stored: Stored
) -> None:
    # TensorBoard("logs/run") in a script run twice: each fit adds its own event files and
    # counts epochs from 0. Read as one run, the second fit's epochs overwrote the first's
    # and the run held epochs of both (matching neither History). A fit continued with
    # initial_epoch (as BackupAndRestore does) stays in its run.
    import keras
    import numpy as np

    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [2.0]], dtype="float32")).astype("float32")
    logdir = tmp_path / "logs" / "run"

    def fit(model: keras.Model, epochs: int, initial_epoch: int = 0, **tb: bool) -> dict:
        callback = keras.callbacks.TensorBoard(str(logdir), **tb)
        history = model.fit(
            x,
            y,
            epochs=epochs,
            initial_epoch=initial_epoch,
            batch_size=16,
            validation_split=0.25,
            verbose=0,
            callbacks=[callback],
        )
        return history.history

    def model(learning_rate: float) -> keras.Model:
        keras.utils.set_random_seed(4)
        built = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        built.compile(keras.optimizers.SGD(learning_rate), "mse", metrics=["mae"])
        return built

    first = fit(model(0.01), epochs=3)
    second_model = model(0.001)
    second = fit(second_model, epochs=2, write_graph=False)  # its validation file comes first
    continued = fit(second_model, epochs=4, initial_epoch=2, write_graph=False)
    assert len(list((logdir / "train").iterdir())) == 3

    runs = read_logdir(tmp_path / "logs")
    assert [(r.name, r.part) for r in runs] == [("run", 1), ("run (fit 2)", 2)]
    argv = ["import", "tensorboard", str(tmp_path / "logs"), "--project", "twice"]
    assert main([*argv, "--url", live_server]) == 0
    expected = [first, {k: second[k] + continued[k] for k in second}]
    for run, history in zip(runs, expected, strict=True):
        run_id = import_run_id(run, project="twice")
        assert stored.run(run_id)["name"] == run.name
        for key, values in history.items():
            assert stored.points(run_id, key, "epoch") == dict(enumerate(values)), key


def test_event_files_are_read_in_the_order_they_were_started(tmp_path: Path) -> None:
    # Fits started within one second differ only in the file counter (2 before 10, which a
    # text sort gets wrong); a host name may hold dots.
    from fitwatch.importers.tensorboard import _event_files

    names = [
        "events.out.tfevents.100.my.host.7.10.v2",
        "events.out.tfevents.100.my.host.7.2.v2",
        "events.out.tfevents.99.h.8.11.v2",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in _event_files(tmp_path)] == [names[2], names[1], names[0]]
