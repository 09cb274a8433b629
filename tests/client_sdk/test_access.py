"""fitwatch/access.py: `init()` asks the server what its token may do, and fails at once
(not at the end of training) when the token cannot log the run."""

from __future__ import annotations

from pathlib import Path

import pytest

import fitwatch
from tests.helpers.auth import AuthServer
from tests.helpers.server import free_port


def test_a_write_token_logs_a_run_end_to_end(auth_server: AuthServer, journal_dir: Path) -> None:
    token = auth_server.token("write", project="digits")
    run = fitwatch.init(project="digits", url=auth_server.url, token=token)
    for step in range(20):
        run.log({"loss": 1.0 / (step + 1)}, step=step, scope="batch", epoch=0)
    assert run.finish(timeout=30) is True
    assert auth_server.stored.points(run.id, "loss", "batch") == {s: 1.0 / (s + 1) for s in range(20)}
    assert auth_server.stored.run(run.id)["status"] == "finished"


def test_the_token_can_come_from_fitwatch_token(
    auth_server: AuthServer, journal_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITWATCH_TOKEN", auth_server.token("write"))
    run = fitwatch.init(project="env", url=auth_server.url)
    run.log({"loss": 0.5})
    assert run.finish(timeout=30) is True
    assert auth_server.stored.points(run.id, "loss", "epoch") == {0: 0.5}


def test_a_read_token_fails_at_init_with_what_to_do(auth_server: AuthServer, journal_dir: Path) -> None:
    token = auth_server.token("read")
    with pytest.raises(ValueError, match=r"token 'read-all' is read-only.*--scope write"):
        fitwatch.init(project="digits", url=auth_server.url, token=token)
    assert not journal_dir.exists() or not any(journal_dir.iterdir())  # nothing was started


def test_a_token_of_another_project_fails_at_init(auth_server: AuthServer, journal_dir: Path) -> None:
    token = auth_server.token("write", project="mnist")
    with pytest.raises(ValueError, match=r"may only log to project 'mnist'. Received: project='digits'"):
        fitwatch.init(project="digits", url=auth_server.url, token=token)


def test_a_wrong_or_missing_token_fails_at_init(auth_server: AuthServer, journal_dir: Path) -> None:
    with pytest.raises(ValueError, match="refused a token: the token is unknown or revoked"):
        fitwatch.init(project="digits", url=auth_server.url, token="fw_wrong")
    with pytest.raises(ValueError, match=r"refused no token \(set FITWATCH_TOKEN"):
        fitwatch.init(project="digits", url=auth_server.url)


def test_a_token_with_spaces_is_refused_before_anything_is_sent(journal_dir: Path) -> None:
    with pytest.raises(ValueError, match="one word of printable ASCII"):
        fitwatch.init(project="digits", url="http://127.0.0.1:9", token="fw_a b")


def test_an_unreachable_server_is_not_an_error_at_init(journal_dir: Path) -> None:
    # The run journals as usual and is sent when the server is back (test_sender.py).
    with pytest.warns(RuntimeWarning, match="cannot reach the server"):
        run = fitwatch.init(project="digits", url=f"http://127.0.0.1:{free_port()}", token="fw_any",
                            retry_base_s=0.05)
        run.log({"loss": 1.0})
        run.flush(timeout=1)
    with pytest.warns(RuntimeWarning, match="could not be sent"):
        assert run.finish(timeout=0) is False


def test_the_servers_points_ceiling_bounds_what_the_sdk_sends(
    server_process, tmp_path: Path, journal_dir: Path
) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'small.db'}", env={"FITWATCH_MAX_POINTS_PER_REQUEST": "50"}).start()
    run = fitwatch.init(project="small", url=server.url)
    assert run.settings.max_points_per_request == 50
    for step in range(400):
        run.log({"loss": float(step)}, step=step, scope="batch", epoch=0)
    assert run.finish(timeout=30) is True  # nothing was refused as too large
    from tests.helpers.stored import Stored

    assert Stored(server.url).points(run.id, "loss", "batch") == {s: float(s) for s in range(400)}
