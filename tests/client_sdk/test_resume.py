"""Real resume: `init(id=, resume=)` and the callback's `run_id=`/`resume=`; a fit killed and
resumed by BackupAndRestore logs one series equal to an uninterrupted fit's."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fitwatch
from tests.client_sdk.conftest import Stored, same


def test_must_needs_a_run_the_server_has_and_never_refuses_one(
    live_server: str, journal_dir: Path
) -> None:
    with pytest.raises(
        ValueError, match="resume='must' but the server at .* has no run with id 'ghost'"
    ):
        fitwatch.init(id="ghost", resume="must", url=live_server)
    with pytest.raises(ValueError, match="resume='must' needs the id"):
        fitwatch.init(resume="must", url=live_server)
    with pytest.raises(
        ValueError, match="resume must be 'allow', 'must', 'never' or None. Received: resume='yes'"
    ):
        fitwatch.init(id="x", resume="yes", url=live_server)
    run = fitwatch.init(id="taken", project="resume", url=live_server)
    run.log({"loss": 1.0})
    run.finish()
    with pytest.raises(ValueError, match="resume='never' but run 'taken' already exists"):
        fitwatch.init(id="taken", resume="never", url=live_server)
    with pytest.raises(ValueError, match="run 'taken' belongs to project 'resume'"):
        fitwatch.init(id="taken", project="elsewhere", url=live_server)
    with pytest.raises(ValueError, match="cannot reach the server"):
        fitwatch.init(id="taken", resume="must", url="http://127.0.0.1:9", connect_timeout_s=0.5)


def test_a_resumed_run_is_running_again_and_continues_every_scope(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    first = fitwatch.init(id="again", project="resume", url=live_server)
    for _ in range(3):
        first.log({"loss": 1.0})
        first.log({"loss": 2.0}, scope="batch")
    first.finish()
    assert stored.run("again")["status"] == "finished"

    second = fitwatch.init(id="again", resume="must", url=live_server)  # project: the run's own
    assert second.resumed and second.project == "resume"
    second.log({"loss": 0.5})
    second.log({"loss": 0.25}, scope="batch")
    second.flush()
    assert stored.run("again")["status"] == "running"
    assert stored.points("again", "loss", "epoch") == {0: 1.0, 1: 1.0, 2: 1.0, 3: 0.5}
    assert stored.points("again", "loss", "batch") == {0: 2.0, 1: 2.0, 2: 2.0, 3: 0.25}
    second.finish()
    assert stored.run("again")["status"] == "finished"


TRAIN = textwrap.dedent(
    """
    import json, os, signal, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras, numpy as np
    from fitwatch.keras import FitWatchCallback

    url, run_id, resume, backup, kill_at, out = sys.argv[1:7]
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]], dtype="float32") + 3.0).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    fitwatch_callback = FitWatchCallback(
        project="resume", run_id=run_id, resume=resume, url=url, update_freq="batch")

    class Kill(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == int(kill_at):
                fitwatch_callback.run.flush(30)  # what was logged reached the server; then die
                os.kill(os.getpid(), signal.SIGKILL)

    history = model.fit(x, y, epochs=5, batch_size=16, validation_split=0.2, shuffle=False, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup), fitwatch_callback, Kill()])
    json.dump({"epoch": history.epoch, "history": history.history}, open(out, "w"))
    """
)


def _train(
    tmp_path: Path, url: str, run_id: str, resume: str, backup: Path, kill_at: int
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    out = tmp_path / f"{run_id}-{resume}.json"
    return subprocess.run(
        [sys.executable, str(script), url, run_id, resume, str(backup), str(kill_at), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.keras
def test_a_fit_killed_and_resumed_by_backup_and_restore_logs_one_uninterrupted_series(
    live_server: str, journal_dir: Path, stored: Stored, tmp_path: Path
) -> None:
    pytest.importorskip("keras")
    # 64 training samples, batch 16: 4 steps an epoch. Killed in epoch 2 (after its 2nd step).
    killed = _train(tmp_path, live_server, "interrupted", "never", tmp_path / "backup", kill_at=10)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert sorted(stored.points("interrupted", "loss", "epoch")) == [0, 1]
    assert stored.run("interrupted")["status"] == "running"  # nothing ended it: it was killed

    resumed = _train(tmp_path, live_server, "interrupted", "must", tmp_path / "backup", kill_at=-1)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((tmp_path / "interrupted-must.json").read_text())["epoch"] == [2, 3, 4]
    whole = _train(
        tmp_path, live_server, "uninterrupted", "never", tmp_path / "backup-2", kill_at=-1
    )
    assert whole.returncode == 0, whole.stderr[-2000:]

    assert stored.run("interrupted")["status"] == "finished"
    reference = json.loads((tmp_path / "uninterrupted-never.json").read_text())["history"]
    for key, values in reference.items():
        got = stored.points("interrupted", key, "epoch")
        assert sorted(got) == list(range(5)), key
        assert all(same(got[e], v) for e, v in enumerate(values)), (key, got, values)
    for key in ("loss", "mae"):
        interrupted = stored.points("interrupted", key, "batch")
        assert sorted(interrupted) == list(range(20)), key  # one series, no gap, no restart at 0
        assert interrupted == stored.points("uninterrupted", key, "batch"), key


CRASH_OFFLINE = textwrap.dedent(
    """
    import os, sys, time
    import fitwatch

    run = fitwatch.init(id=sys.argv[1], project="resume", url="http://127.0.0.1:9",
                        connect_timeout_s=0.2)
    for value in (1.0, 2.0, 3.0):
        run.log({"loss": value})
        run.log({"loss": value}, scope="batch")
    time.sleep(1.0)  # ten flush intervals: the points are in the journal
    os._exit(0)  # killed: no finish, nothing acknowledged
    """
)


def test_a_resumed_run_continues_after_the_points_its_journal_still_holds(
    live_server: str, journal_dir: Path, stored: Stored, tmp_path: Path
) -> None:
    # Trained while the server was unreachable, then died: its points are only in the
    # journal. Resuming the id on the same machine replays them and must log after them,
    # not restart at 0 over them.
    script = tmp_path / "crash.py"
    script.write_text(CRASH_OFFLINE)
    crashed = subprocess.run(
        [sys.executable, str(script), "journaled"], capture_output=True, text=True, timeout=120
    )
    assert crashed.returncode == 0, crashed.stderr[-2000:]

    with pytest.raises(
        ValueError, match="run 'journaled' belongs to project 'resume' \\(its journal"
    ):
        fitwatch.init(id="journaled", project="elsewhere", url=live_server)
    resumed = fitwatch.init(id="journaled", url=live_server)  # project: the journal's
    assert resumed.project == "resume"
    resumed.log({"loss": 10.0})
    resumed.log({"loss": 10.0}, scope="batch")
    assert resumed.finish()
    for scope in ("epoch", "batch"):
        assert stored.points("journaled", "loss", scope) == {0: 1.0, 1: 2.0, 2: 3.0, 3: 10.0}
