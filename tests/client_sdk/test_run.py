"""The run lifecycle against a real server: init, log, finish, context manager, exit."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fitwatch
from fitwatch.run import RunState
from tests.client_sdk.conftest import Stored, same
from tests.helpers.wait import wait_until


def test_logged_points_reach_the_server_with_nan_and_inf(live_server: str, journal_dir: Path, stored: Stored) -> None:
    run = fitwatch.init(project="sdk", name="plain", config={"lr": 0.1}, tags=["t"], url=live_server)
    values = [2.0, math.nan, math.inf, -math.inf, 0.5]
    for step, value in enumerate(values):
        run.log({"loss": value}, step=step, scope="batch", epoch=0)
    run.log({"val_loss": 1.5})  # default scope "epoch", step 0
    run.log({"val_loss": 1.25})  # step 1
    assert run.finish() is True
    assert run.state is RunState.finished
    stored_run = stored.run(run.id)
    assert (stored_run["status"], stored_run["name"], stored_run["config"], stored_run["tags"]) == (
        "finished", "plain", {"lr": 0.1}, ["t"],
    )
    batch = stored.points(run.id, "loss", "batch")
    assert sorted(batch) == list(range(5))
    assert all(same(batch[i], v) for i, v in enumerate(values))
    assert stored.series(run.id, "loss", "batch")["epochs"] == [0] * 5
    assert stored.points(run.id, "val_loss", "epoch") == {0: 1.5, 1: 1.25}
    # A run that ended with everything on the server leaves no journal behind.
    assert not (journal_dir / run.id).exists()


def test_many_steps_go_out_in_few_requests(live_server: str, journal_dir: Path, stored: Stored) -> None:
    run = fitwatch.init(project="sdk", url=live_server)
    for step in range(3000):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 3000}, step=step, scope="batch", epoch=0)
    run.finish()
    assert stored.series_counts(run.id) == {("loss", "batch"): 3000, ("acc", "batch"): 3000}
    # create + points + final update; the loop above took milliseconds, not 3000 requests.
    assert run._sender.sent_requests < 30


def test_a_large_body_is_gzipped_and_accepted(live_server: str, journal_dir: Path, stored: Stored) -> None:
    run = fitwatch.init(project="sdk", url=live_server)
    run.log({f"metric_{i}": float(i) for i in range(2000)}, step=0)
    run.finish()
    assert len(stored.series_counts(run.id)) == 2000


def test_context_manager_finishes_or_fails_the_run(live_server: str, journal_dir: Path, stored: Stored) -> None:
    with fitwatch.init(project="sdk", url=live_server) as ok_run:
        ok_run.log({"loss": 1.0})
    assert stored.run(ok_run.id)["status"] == "finished"
    with pytest.raises(ZeroDivisionError), fitwatch.init(project="sdk", url=live_server) as bad_run:
        bad_run.log({"loss": 1.0})
        _ = 1 / 0
    stored_run = stored.run(bad_run.id)
    assert stored_run["status"] == "failed"
    assert "ZeroDivisionError" in stored_run["summary"]["error"]


def test_summary_and_config_updates_are_merged(live_server: str, journal_dir: Path, stored: Stored) -> None:
    run = fitwatch.init(project="sdk", config={"a": 1}, url=live_server)
    run.update_config({"b": 2})
    run.update_summary({"best": 0.5})
    run.finish(summary={"final": math.nan})
    stored_run = stored.run(run.id)
    assert stored_run["config"] == {"a": 1, "b": 2}
    assert stored_run["summary"] == {"best": 0.5, "final": "NaN"}


def test_non_numeric_values_are_skipped_with_one_warning(live_server: str, journal_dir: Path, stored: Stored) -> None:
    run = fitwatch.init(project="sdk", url=live_server)
    with pytest.warns(RuntimeWarning, match=r"Received: name='adam'") as caught:
        run.log({"loss": 1.0, "name": "adam"})
        run.log({"loss": 2.0, "name": "adam"})
    assert len([w for w in caught if "name='adam'" in str(w.message)]) == 1
    run.finish()
    assert stored.series_counts(run.id) == {("loss", "epoch"): 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"project": ""}, r"Received: project=''"),
        ({"name": " "}, r"Received: name=' '"),
        ({"tags": "baseline"}, r"Received: tags='baseline'"),
        ({"id": "no spaces"}, r"Received: id='no spaces'"),
        ({"mode": "later"}, r"Received: mode='later'"),
        ({"flush_every": 3}, r"unknown settings \['flush_every'\]"),
    ],
)
def test_init_refuses_bad_arguments_quoting_them(journal_dir: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fitwatch.init(**kwargs)  # type: ignore[arg-type]


def test_heartbeats_keep_the_run_alive(live_server: str, journal_dir: Path, stored: Stored) -> None:
    run = fitwatch.init(project="sdk", url=live_server, heartbeat_interval_s=0.05)
    try:
        first = wait_until(lambda: (stored.run_or_none(run.id) or {}).get("heartbeat_at"))
        wait_until(lambda: stored.run(run.id)["heartbeat_at"] != first, timeout=10)
    finally:
        run.finish()


def _run_script(code: str, env_dir: Path, url: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(code)
    env = {"FITWATCH_URL": url, "FITWATCH_DIR": str(env_dir), "PATH": "/usr/bin:/bin"}
    import os

    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)


def test_normal_exit_finishes_an_open_run(live_server: str, journal_dir: Path, stored: Stored) -> None:
    result = _run_script(
        """
        import fitwatch
        run = fitwatch.init(project="exit")
        run.log({"loss": 1.0})
        print(run.id)
        """,
        journal_dir, live_server,
    )
    run_id = result.stdout.strip()
    assert stored.run(run_id)["status"] == "finished", result.stderr
    assert stored.points(run_id, "loss", "epoch") == {0: 1.0}


def test_an_uncaught_exception_marks_the_run_failed(live_server: str, journal_dir: Path, stored: Stored) -> None:
    result = _run_script(
        """
        import fitwatch
        run = fitwatch.init(project="exit")
        run.log({"loss": 1.0})
        print(run.id, flush=True)
        raise RuntimeError("diverged")
        """,
        journal_dir, live_server,
    )
    assert result.returncode == 1 and "RuntimeError: diverged" in result.stderr
    stored_run = stored.run(result.stdout.strip())
    assert stored_run["status"] == "failed"
    assert stored_run["summary"]["error"] == "RuntimeError: diverged"


def test_logging_to_a_finished_run_whose_id_is_live_again_never_raises(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    # A second Run of the id holds the journal: reopening the first raised ValueError out of
    # log() and sent later points to its closed sender (lost).
    first = fitwatch.init(project="sdk", url=live_server, id="same-id")
    first.log({"x": 0.0}, step=0)
    assert first.finish() is True
    second = fitwatch.init(project="sdk", url=live_server, id="same-id")
    with pytest.warns(RuntimeWarning, match="goes to the live Run of this id"):
        first.log({"x": 1.0}, step=1)
    first.log({"x": 2.0}, step=2)
    assert first.finish() is True
    assert second.finish() is True
    assert stored.points("same-id", "x", "epoch") == {0: 0.0, 1: 1.0, 2: 2.0}


def test_a_finished_run_holds_what_is_logged_while_sync_has_its_journal(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    from fitwatch.spool import Journal

    run = fitwatch.init(project="sdk", url=live_server, id="synced")
    run.log({"x": 0.0}, step=0)
    assert run.finish() is True
    other = Journal.for_run(journal_dir, "synced")  # as `fitwatch sync` in another process would
    assert other.lock()
    with pytest.warns(RuntimeWarning, match="kept in memory"):
        run.log({"x": 1.0}, step=1)
    run.log({"x": 2.0}, step=2)
    assert run.state is RunState.finished
    other.unlock()
    assert run.finish() is True
    assert stored.points("synced", "x", "epoch") == {0: 0.0, 1: 1.0, 2: 2.0}
    assert stored.run("synced")["status"] == "finished"
    # Locked until the end: finish() gives up after its timeout, says so, and does not raise.
    assert other.lock()
    run.log({"x": 3.0}, step=3)
    with pytest.warns(RuntimeWarning, match="1 points logged to run synced after it finished were not recorded"):
        assert run.finish(timeout=0.3) is False
    other.unlock()


def test_points_held_for_a_locked_journal_are_sent_at_exit(live_server: str, journal_dir: Path, stored: Stored) -> None:
    # The exit handler finishes only live runs: a finished run holding points is live again.
    result = _run_script(
        """
        import threading
        import fitwatch
        from fitwatch.spool import Journal
        run = fitwatch.init(project="exit", id="held-at-exit")
        run.log({"loss": 1.0}, step=0)
        run.finish()
        sync = Journal.for_run(run.settings.journal_dir, "held-at-exit")
        assert sync.lock()
        run.log({"loss": 2.0}, step=1)
        threading.Timer(1.0, sync.unlock).start()  # `fitwatch sync` is done a second later
        """,
        journal_dir, live_server,
    )
    assert stored.points("held-at-exit", "loss", "epoch") == {0: 1.0, 1: 2.0}, result.stderr
