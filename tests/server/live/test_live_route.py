"""The websocket /api/v1/live against a real server process, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.helpers.wait import wait_until
from tests.server.live.client import LiveClient, RawClient, of_type, received_points
from tests.server.live.conftest import StartServer
from tests.server.live.helpers import create_run, ingest, live_status, series


def test_subscriber_receives_points_status_and_summaries(start_server: StartServer, api: httpx.Client) -> None:
    url = start_server().url
    run = create_run(api, url)
    watcher = LiveClient(url)
    assert watcher.next_of("hello")["protocol"] == 1
    assert watcher.subscribe(runs=[run["id"]])["runs"] == [run["id"]]

    ingest(api, url, run["id"], series("loss", "batch", [0, 1, 2], [2.0, "NaN", "Infinity"]),
           series("val_loss", "epoch", [0], [1.5]))
    watcher.until(lambda m: len(received_points(m, run["id"], "loss", "batch")) == 3)
    assert received_points(watcher.messages, run["id"], "loss", "batch") == {0: 2.0, 1: "NaN", 2: "Infinity"}
    loss = next(m for m in of_type(watcher.messages, "points") if m["key"] == "loss")
    assert loss["epochs"] == [0, 0, 0] and loss["times"] == [1_700_000_000.0, 1_700_000_001.0, 1_700_000_002.0]
    watcher.until(lambda m: received_points(m, run["id"], "val_loss", "epoch") == {0: 1.5})
    assert next(m for m in of_type(watcher.messages, "points") if m["key"] == "val_loss")["epochs"] is None

    summary = watcher.until(
        lambda m: [s for msg in of_type(m, "series") for s in msg["series"] if s["key"] == "loss"]
    )[-1]
    assert summary["count"] == 3 and summary["max_value"] == "Infinity"

    api.patch(f"{url}/api/v1/runs/{run['id']}", json={"status": "finished"}).raise_for_status()
    changed = watcher.next_of("run")
    assert changed["run"]["id"] == run["id"] and changed["run"]["status"] == "finished"

    api.delete(f"{url}/api/v1/runs/{run['id']}").raise_for_status()
    assert watcher.next_of("run_deleted") == {"type": "run_deleted", "run_id": run["id"], "project": "live"}
    watcher.close()


def test_project_subscriber_sees_runs_created_and_changed_but_no_points(
    start_server: StartServer, api: httpx.Client
) -> None:
    url = start_server().url
    watcher = LiveClient(url, "project=live")
    assert watcher.next_of("subscribed")["projects"] == ["live"]
    assert [m["type"] for m in watcher.messages[:2]] == ["hello", "subscribed"]
    run = create_run(api, url, name="fresh")
    assert watcher.next_of("run")["run"]["name"] == "fresh"
    ingest(api, url, run["id"], series("accuracy", "epoch", [0], [0.5]))
    table_row = watcher.next_of("series")
    assert table_row["run_id"] == run["id"] and table_row["series"][0]["last_value"] == 0.5
    create_run(api, url, name="elsewhere", project="other")
    api.patch(f"{url}/api/v1/runs/{run['id']}", json={"status": "failed"}).raise_for_status()
    assert watcher.next_of("run")["run"]["status"] == "failed"
    assert not of_type(watcher.messages, "points")
    assert all(m["run"]["project"] == "live" for m in of_type(watcher.messages, "run"))
    watcher.close()


def test_ingests_within_the_window_arrive_as_one_message_per_series(
    start_server: StartServer, api: httpx.Client
) -> None:
    # A 3 s window: the first ingest goes out at once, the next four (posted well within
    # 3 s) are merged into one message per series at the window's end.
    url = start_server(FITWATCH_LIVE_COALESCE_S="3.0").url
    run = create_run(api, url)
    watcher = LiveClient(url, f"run={run['id']}")
    watcher.next_of("subscribed")
    for i in range(5):
        ingest(api, url, run["id"], series("loss", "batch", [2 * i, 2 * i + 1]), series("acc", "batch", [i]))
    watcher.until(lambda m: len(received_points(m, run["id"], "loss", "batch")) == 10)
    watcher.until(lambda m: len(received_points(m, run["id"], "acc", "batch")) == 5)
    loss_messages = [m for m in of_type(watcher.messages, "points") if m["key"] == "loss"]
    assert [m["steps"] for m in loss_messages] == [[0, 1], [2, 3, 4, 5, 6, 7, 8, 9]]
    assert len([m for m in of_type(watcher.messages, "points") if m["key"] == "acc"]) == 2
    watcher.close()


def test_slow_client_is_told_to_resync_while_fast_client_and_ingest_carry_on(
    start_server: StartServer, api: httpx.Client
) -> None:
    url = start_server(FITWATCH_LIVE_QUEUE_SIZE="32", FITWATCH_LIVE_COALESCE_S="0").url
    run = create_run(api, url)
    fast = LiveClient(url, f"run={run['id']}")
    fast.next_of("subscribed")
    slow = RawClient(url)
    slow.send({"type": "subscribe", "runs": [run["id"]]})
    slow.read_until(lambda m: of_type(m, "subscribed"))
    # From here the slow client reads nothing. Ingest wide batches (10 messages each, fewer
    # than the queue holds, so the fast client keeps up) until the slow one overflowed.
    keys = [f"metric_{k}" for k in range(10)]
    step = 0

    def ingest_more() -> None:
        nonlocal step
        ingest(api, url, run["id"], *(series(k, "batch", list(range(step, step + 300))) for k in keys))
        step += 300

    for _ in range(400):
        ingest_more()
        if live_status(api, url)["overflows"] > 0:
            break
    assert live_status(api, url)["overflows"] > 0, "the slow client never overflowed"
    for _ in range(3):
        ingest_more()
    # The fast client got every point, though the slow one is still stuck.
    for key in keys:
        fast.until(lambda m, key=key: len(received_points(m, run["id"], key, "batch")) == step)
    assert live_status(api, url)["subscriber_states"].get("resync_pending") == 1
    assert not of_type(fast.messages, "resync")

    # Once it reads again it finds the resync, then live points resume.
    slow.read_until(lambda m: of_type(m, "resync"), timeout=60)
    resync = of_type(slow.messages, "resync")[0]
    assert resync["runs"] == [run["id"]] and "queue overflow" in resync["reason"]
    ingest(api, url, run["id"], series("after", "epoch", [0], [1.0]))
    slow.read_until(lambda m: received_points(m, run["id"], "after", "epoch") == {0: 1.0})
    slow.close()
    fast.close()


def test_reconnecting_client_resumes_without_a_gap(start_server: StartServer, api: httpx.Client) -> None:
    url = start_server().url
    run = create_run(api, url)
    first = LiveClient(url)
    first.subscribe(runs=[run["id"]])
    ingest(api, url, run["id"], series("loss", "batch", list(range(0, 50))), series("val_loss", "epoch", [0]))
    first.until(lambda m: len(received_points(m, run["id"], "loss", "batch")) == 50)
    first.until(lambda m: received_points(m, run["id"], "val_loss", "epoch"))
    seen = received_points(first.messages, run["id"], "loss", "batch")
    first.close()

    # While it is away: more points, and a series it never saw.
    ingest(api, url, run["id"], series("loss", "batch", list(range(50, 120))), series("lr", "epoch", [0, 1]))
    again = LiveClient(url)
    again.subscribe(
        resume={run["id"]: [{"key": "loss", "scope": "batch", "last_step": max(seen)},
                            {"key": "val_loss", "scope": "epoch", "last_step": 0}]}
    )
    ingest(api, url, run["id"], series("loss", "batch", list(range(120, 150))))
    again.until(lambda m: len(received_points(m, run["id"], "loss", "batch")) == 100)
    replayed = [m for m in of_type(again.messages, "points") if m["replay"]]
    assert sorted(s for m in replayed if m["key"] == "loss" for s in m["steps"]) == list(range(50, 120))
    assert [m["steps"] for m in replayed if m["key"] == "lr"] == [[0, 1]]
    assert not [m for m in replayed if m["key"] == "val_loss"]
    # Replay first, live after; together with what the first connection saw: every step once.
    loss_steps = [s for m in of_type(again.messages, "points") if m["key"] == "loss" for s in m["steps"]]
    assert loss_steps == sorted(loss_steps)
    assert sorted(set(seen) | set(loss_steps)) == list(range(150))
    again.close()


def test_malformed_messages_get_errors_and_the_connection_stays_up(
    start_server: StartServer, api: httpx.Client
) -> None:
    url = start_server().url
    client = LiveClient(url)
    bad = [
        "not json",
        "[1, 2]",
        '{"type": "subscrib"}',
        '{"type": "subscribe", "runs": "abc"}',
        '{"type": "subscribe", "runs": ["no spaces allowed"]}',
        '{"type": "subscribe", "resume": {"abc": [{"key": "loss", "scope": "hourly", "last_step": 1}]}}',
        '{"type": "subscribe", "extra": 1}',
    ]
    for text in bad:
        client.send(text)
        error = client.next_of("error")
        assert error["received"] == text
    errors = of_type(client.messages, "error")
    assert "JSON object" in errors[0]["detail"]
    assert "'type' must be one of" in errors[2]["detail"] and "subscrib" in errors[2]["detail"]
    assert "'runs' must be a list of run ids" in errors[3]["detail"]
    assert "Received: 'no spaces allowed'" in errors[4]["detail"]
    assert "hourly" in errors[5]["detail"] or "scope" in errors[5]["detail"]
    client.ws.send(b"\x00binary")
    assert "text frames" in client.next_of("error")["detail"]
    # Still subscribed to nothing, and still working.
    client.send({"type": "ping"})
    client.next_of("pong")
    assert client.subscribe(runs=["abc"]) == {
        "type": "subscribed", "runs": ["abc"], "projects": [], "unknown_runs": ["abc"], "layouts": []
    }
    assert api.get(f"{url}/api/v1/projects").status_code == 200
    client.close()


def test_bad_query_string_gets_an_error_not_a_dropped_connection(start_server: StartServer) -> None:
    url = start_server().url
    client = LiveClient(url, "run=bad%20id")
    assert "Received: 'bad id'" in client.next_of("error")["detail"]
    client.send({"type": "ping"})
    client.next_of("pong")
    client.close()


def test_idle_connection_gets_pings_and_dead_ones_are_removed(
    start_server: StartServer, api: httpx.Client
) -> None:
    url = start_server(FITWATCH_LIVE_PING_INTERVAL_S="0.3").url
    idle = LiveClient(url)
    assert idle.next_of("ping")["time"] > 0
    # A client that completes the handshake and then never reads or answers pings.
    dead = RawClient(url)
    wait_until(lambda: live_status(api, url)["subscribers"] == 2, timeout=15)
    wait_until(lambda: live_status(api, url)["subscribers"] == 1, timeout=30)
    idle.close()
    wait_until(lambda: live_status(api, url)["subscribers"] == 0, timeout=15)
    dead.close()


def test_runs_that_stop_sending_heartbeats_are_reported_crashed_and_revived(
    start_server: StartServer, api: httpx.Client
) -> None:
    url = start_server(FITWATCH_HEARTBEAT_TIMEOUT_S="1").url
    watcher = LiveClient(url, "project=live")
    watcher.next_of("subscribed")
    run = create_run(api, url)
    assert watcher.next_of("run")["run"]["status"] == "running"
    crashed = watcher.next_of("run", timeout=30)["run"]
    assert (crashed["id"], crashed["status"]) == (run["id"], "crashed")
    api.post(f"{url}/api/v1/runs/{run['id']}/heartbeat").raise_for_status()
    assert watcher.next_of("run", timeout=30)["run"]["status"] == "running"
    watcher.close()
