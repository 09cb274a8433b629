"""`fitwatch sync`: journals of offline runs reach the server exactly as online runs do."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import fitwatch
from fitwatch.cli import main
from fitwatch.spool import Journal
from tests.client_sdk.conftest import Stored, same
from tests.helpers.server import ServerProcess


def _log_a_run(**kwargs: object) -> fitwatch.Run:
    run = fitwatch.init(project="sync", name="offline", config={"lr": 0.01}, **kwargs)  # type: ignore[arg-type]
    for step in range(40):
        run.log({"loss": 1.0 / (step + 1), "odd": math.nan if step % 7 == 0 else step}, step=step,
                scope="batch", epoch=step // 10)
    run.log({"val_loss": math.inf}, step=0)
    run.update_summary({"note": "offline"})
    return run


def test_offline_mode_writes_only_the_journal_and_sync_uploads_it(
    live_server: str, journal_dir: Path, stored: Stored, capsys: object
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = _log_a_run(mode="offline", url=live_server)
        run.finish()
    assert any("fitwatch sync" in str(w.message) for w in caught)
    assert stored.run_or_none(run.id) is None  # offline really sent nothing
    assert [r.op for r in Journal.for_run(journal_dir, run.id).pending()][0] == "create"

    assert main(["sync", "--url", live_server, "--dir", str(journal_dir)]) == 0
    assert not (journal_dir / run.id).exists()

    online = _log_a_run(url=live_server)
    online.finish()
    offline_run, online_run = stored.run(run.id), stored.run(online.id)
    for field in ("status", "name", "config", "summary", "project"):
        assert offline_run[field] == online_run[field], field
    assert stored.series_counts(run.id) == stored.series_counts(online.id)
    for key, scope in stored.series_counts(run.id):
        a, b = stored.points(run.id, key, scope), stored.points(online.id, key, scope)
        assert a.keys() == b.keys() and all(same(a[s], b[s]) for s in a)
        assert stored.series(run.id, key, scope)["epochs"] == stored.series(online.id, key, scope)["epochs"]


def test_sync_twice_is_harmless_and_skips_a_live_journal(live_server: str, journal_dir: Path, stored: Stored) -> None:
    live = fitwatch.init(project="sync", mode="offline")  # holds its journal's lock
    live.log({"loss": 1.0})
    live.flush()
    result = subprocess.run(
        [sys.executable, "-m", "fitwatch", "sync", "--url", live_server, "--dir", str(journal_dir)],
        capture_output=True, text=True, check=True,
    )
    assert f"skipped {live.id}: in use by a running process" in result.stdout
    assert stored.run_or_none(live.id) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        live.finish()
    for _ in range(2):
        assert main(["sync", "--url", live_server, "--dir", str(journal_dir)]) == 0
    assert stored.points(live.id, "loss", "epoch") == {0: 1.0}
    assert stored.run(live.id)["status"] == "finished"


def test_sync_reports_a_bad_url_politely(journal_dir: Path, capsys: object) -> None:
    assert main(["sync", "--url", "localhost:1", "--dir", str(journal_dir)]) == 2


def test_sync_sets_a_rejected_record_aside_and_uploads_the_rest(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # This server takes 5 levels; the offline run checked its config against the default 64.
    server = server_process(f"sqlite:///{tmp_path / 'shallow.db'}", env={"FITWATCH_MAX_DOCUMENT_DEPTH": "5"}).start()
    live_server, stored = server.url, Stored(server.url)
    deep: dict[str, object] = {}
    for _ in range(10):  # deeper than the server's 5 levels: a 422 whenever it is sent
        deep = {"a": deep}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = fitwatch.init(project="sync", mode="offline")
        run.log({"loss": 0.0}, step=0)
        run.update_config({"deep": deep})
        run.log({"loss": 1.0}, step=1)
        run.finish()
    assert main(["sync", "--url", live_server, "--dir", str(journal_dir)]) == 1
    out = capsys.readouterr().out
    assert f"uploaded {run.id}: 2 points" in out
    assert "1 runs uploaded (2 points), 0 skipped, 0 failed, 1 records rejected" in out
    assert stored.points(run.id, "loss", "epoch") == {0: 0.0, 1: 1.0}
    assert stored.run(run.id)["status"] == "finished"
    kept = journal_dir / run.id / "rejected.jsonl"
    assert str(kept) in out
    [line] = kept.read_text().splitlines()
    assert json.loads(line)["op"] == "update"
    # Nothing is left to send: a second sync finds no journal and succeeds.
    assert main(["sync", "--url", live_server, "--dir", str(journal_dir)]) == 0
    stored.close()


def test_sync_merges_records_only_up_to_the_servers_own_ceiling(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    # The offline run journaled with the SDK's default ceiling (20,000 points a request);
    # this server takes 100. Merged past that, every request was a 413.
    server = server_process(f"sqlite:///{tmp_path / 'small.db'}", env={"FITWATCH_MAX_POINTS_PER_REQUEST": "100"}).start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = fitwatch.init(project="sync", mode="offline")
        for chunk in range(50):
            for step in range(chunk * 100, (chunk + 1) * 100):
                run.log({"loss": float(step)}, step=step)
            run.flush()
        run.finish()
    assert main(["sync", "--url", server.url, "--dir", str(journal_dir)]) == 0
    stored = Stored(server.url)
    assert stored.points(run.id, "loss", "epoch") == {s: float(s) for s in range(5000)}
    assert not (journal_dir / run.id).exists()
    stored.close()
