"""The thin REST client against a real server: idempotent create, error mapping, JSON safety."""

from __future__ import annotations

import math
import sqlite3
import time
import uuid
import warnings
from pathlib import Path

import pytest

import fitwatch
from fitwatch.client import Client, json_safe
from fitwatch.errors import RejectedError, ServerError, TransportError
from fitwatch.settings import ClientSettings
from tests.client_sdk.conftest import Stored
from tests.helpers.factories import series_body
from tests.helpers.server import ServerProcess, free_port
from tests.helpers.wait import wait_until


def test_creating_a_run_with_the_same_id_twice_is_idempotent(live_server: str) -> None:
    run_id = uuid.uuid4().hex
    with Client(ClientSettings(url=live_server)) as client:
        first = client.create_run({"id": run_id, "project": "c", "name": "first"})
        again = client.create_run({"id": run_id, "project": "c", "name": "second"})
    assert first["id"] == again["id"] == run_id
    assert again["name"] == "first"


def test_a_missing_run_is_a_retryable_404_and_a_bad_body_is_rejected(live_server: str) -> None:
    with Client(ClientSettings(url=live_server)) as client:
        with pytest.raises(ServerError) as missing:
            client.post_points(
                "nope",
                {
                    "series": [
                        {
                            "key": "x",
                            "scope": "epoch",
                            "steps": [0],
                            "values": [1.0],
                            "times": [0.0],
                        }
                    ]
                },
            )
        assert missing.value.status_code == 404 and missing.value.retryable
        run_id = client.create_run({"project": "c"})["id"]
        with pytest.raises(RejectedError, match="422"):
            client.post_points(
                run_id,
                {
                    "series": [
                        {
                            "key": "x",
                            "scope": "weekly",
                            "steps": [0],
                            "values": [1.0],
                            "times": [0.0],
                        }
                    ]
                },
            )


def test_an_unreachable_server_is_a_transport_error() -> None:
    settings = ClientSettings(url=f"http://127.0.0.1:{free_port()}", connect_timeout_s=0.5)
    with Client(settings) as client, pytest.raises(TransportError, match="ConnectError"):
        client.heartbeat("x")


def test_json_safe_names_non_finite_values_and_stringifies_the_unknown() -> None:
    assert json_safe({"a": [math.nan, math.inf, -math.inf, 1], "b": (1, 2), "c": object}) == {
        "a": ["NaN", "Infinity", "-Infinity", 1],
        "b": [1, 2],
        "c": str(object),
    }


def test_the_request_timeout_outlasts_the_servers_longest_wait_for_a_write() -> None:
    # Issue 8: the SDK's timeout equalled SQLite's busy timeout (10 s), so a client gave up
    # and resent while the server was about to answer. The server's answer time is bounded
    # by the writer's queue wait plus the lock wait; the client waits longer (docs/scale.md).
    from fitwatch_server.db import DEFAULT_LOCK_TIMEOUT_S
    from fitwatch_server.store.point_data.writer import MAX_QUEUE_WAIT_S

    server_worst_s = MAX_QUEUE_WAIT_S + DEFAULT_LOCK_TIMEOUT_S
    assert ClientSettings().request_timeout_s >= 1.5 * server_worst_s


def test_a_locked_database_is_answered_before_the_client_times_out(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    from fitwatch_server.db import DEFAULT_LOCK_TIMEOUT_S

    path = tmp_path / "locked.db"
    server = server_process(f"sqlite:///{path}").start()
    run = fitwatch.init(project="locked", url=server.url, retry_base_s=0.1, retry_max_s=0.5)
    assert run.flush(timeout=30)
    # Another process takes SQLite's write lock and keeps it past the server's busy timeout.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Client(ClientSettings(url=server.url)) as client:
            started = time.monotonic()
            with pytest.raises(ServerError) as answered:
                client.post_points(run.id, {"series": [series_body("loss", "epoch", [0], [1.0])]})
            waited = time.monotonic() - started
        assert answered.value.status_code >= 500
        assert DEFAULT_LOCK_TIMEOUT_S <= waited < ClientSettings().request_timeout_s
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run.log({"loss": 0.5}, step=0)
            wait_until(lambda: run._sender.sent_requests >= 3, timeout=30)
    finally:
        holder.rollback()
        holder.close()
    assert run.finish(timeout=30) is True
    # The SDK heard answers (5xx) while the lock was held, never a timeout of its own.
    assert not any("Timeout" in str(w.message) for w in caught), [str(w.message) for w in caught]
    stored = Stored(server.url)
    assert stored.points(run.id, "loss", "epoch") == {0: 0.5}
    assert stored.run(run.id)["status"] == "finished"
    stored.close()
