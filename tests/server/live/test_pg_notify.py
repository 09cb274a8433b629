"""PostgreSQL LISTEN/NOTIFY fan-out: two real server processes on one real database."""

from __future__ import annotations

import json
import math

import httpx
import psycopg

from fitwatch_server.live.hub import SeriesPoints
from fitwatch_server.live.pg_notify import MAX_INLINE_POINTS, MAX_PAYLOAD_BYTES, points_notices
from tests.helpers.server import ServerProcess
from tests.helpers.wait import wait_until
from tests.server.live.client import LiveClient, of_type, received_points
from tests.server.live.helpers import create_run, ingest, live_status, series


def test_small_batches_travel_inline_and_large_ones_as_step_ranges() -> None:
    small = SeriesPoints("loss", "batch", [0, 1], [0.5, math.nan], [1.0, 2.0], [0, 0])
    big = SeriesPoints("a" * 200, "epoch", list(range(1000)), [1.0] * 1000, [1.0] * 1000, None)
    payloads = points_notices("w1", "run1", [small, big])
    assert all(len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)
    inline, ranges = (json.loads(p) for p in payloads)
    assert inline["t"] == "p" and inline["s"] == [
        ["loss", "batch", [0, 1], [0.5, "NaN"], [1.0, 2.0], [0, 0]]
    ]
    assert ranges["t"] == "pr" and ranges["s"] == [["a" * 200, "epoch", 0, 999]]


def test_many_small_series_are_split_over_several_notices() -> None:
    many = [SeriesPoints(f"metric_{i:03d}", "epoch", [0], [1.0], [1.0], None) for i in range(400)]
    payloads = points_notices("w1", "run1", many)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)
    keys = [entry[0] for p in payloads for entry in json.loads(p)["s"]]
    assert keys == [s.key for s in many]


def test_a_bulk_batch_travels_as_step_ranges_however_small_its_series() -> None:
    """100 series of 30 points each would fit inline, but 3,000 points in all is a bulk
    upload: one notice of ranges, read from the database only where someone watches."""
    many = [
        SeriesPoints(f"m{i:02d}", "batch", list(range(5, 35)), [0.5] * 30, [1.0] * 30, None)
        for i in range(100)
    ]
    assert sum(len(s.steps) for s in many) > MAX_INLINE_POINTS
    (payload,) = points_notices("w1", "run1", many)
    notice = json.loads(payload)
    assert notice["t"] == "pr" and notice["s"] == [
        [f"m{i:02d}", "batch", 5, 34] for i in range(100)
    ]


def test_a_worker_skips_its_own_notices_and_applies_those_of_a_worker_with_a_longer_id() -> None:
    """Own notices are recognised by their first bytes, not parsed; a worker whose id merely
    starts with this one's is another worker."""
    import asyncio

    from fitwatch_server.live.pg_notify import PgNotifyHub
    from fitwatch_server.settings import Settings

    hub = PgNotifyHub(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"), None)  # type: ignore[arg-type]
    point = [SeriesPoints("loss", "batch", [0], [1.0], [1.0], None)]
    for worker, received in ((hub.worker_id, 0), (hub.worker_id + "0", 1)):
        asyncio.run(hub._on_notice(points_notices(worker, "run1", point)[0]))
        assert hub.notices_received == received


def test_points_of_a_run_nobody_here_watches_are_not_parsed(caplog) -> None:  # type: ignore[no-untyped-def]
    """A worker reads only the head of another worker's points notice when none of its
    connections watches the run; once one does, the notice is parsed and delivered."""
    import asyncio
    import logging

    from fitwatch_server.live.pg_notify import PgNotifyHub, points_notice_run
    from fitwatch_server.settings import Settings

    run_id = 'run "1","s":'  # what ends a notice's head, inside the id: escaped in JSON
    hub = PgNotifyHub(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"), None)  # type: ignore[arg-type]
    point = [SeriesPoints("loss", "batch", [0], [1.0], [1.0], None)]
    (payload,) = points_notices("other-worker", run_id, point)
    assert points_notice_run(payload) == run_id
    # Points that would fail to parse: nobody watches, so nothing is parsed, nothing logged.
    broken = payload[: payload.index(',"s":[')] + ',"s":[["loss","batch",[0],[not json'
    with caplog.at_level(logging.ERROR):
        asyncio.run(hub._on_notice(broken))
    assert hub.notices_received == 1 and not caplog.records
    # Someone here charts the run: the same notice is parsed (and its error reported).
    watcher = hub.connect()
    hub.subscribe(watcher, runs=[run_id], projects=[])
    with caplog.at_level(logging.ERROR):
        asyncio.run(hub._on_notice(broken))
    assert "could not apply a notice" in caplog.text
    asyncio.run(hub._on_notice(payload))
    (message,) = (json.loads(item.text) for item in watcher._queue)
    assert (message["type"], message["run_id"], message["steps"]) == ("points", run_id, [0])
    # Other notices are never read by their head alone, whatever their content holds.
    for other in (json.dumps({"w": "x", "t": "r", "r": "a", "run": {"a": 1, "s": 2}}), "{}"):
        assert points_notice_run(other) is None


def test_point_ingested_through_one_worker_reaches_a_subscriber_of_another(
    pg_url: str, server_process: type[ServerProcess], api: httpx.Client
) -> None:
    ingest_side = server_process(pg_url).start()
    watch_side = server_process(pg_url).start()
    a, b = ingest_side.url, watch_side.url
    assert live_status(api, b)["backend"] == "postgres"
    assert live_status(api, a)["worker"] != live_status(api, b)["worker"]

    project_watcher = LiveClient(b, "project=live")
    project_watcher.next_of("subscribed")
    run = create_run(api, a)
    assert project_watcher.next_of("run")["run"]["id"] == run["id"]

    watcher = LiveClient(b)
    watcher.subscribe(runs=[run["id"]])
    ingest(api, a, run["id"], series("loss", "batch", [0, 1, 2], [1.0, "NaN", "-Infinity"]))
    watcher.until(lambda m: len(received_points(m, run["id"], "loss", "batch")) == 3)
    assert received_points(watcher.messages, run["id"], "loss", "batch") == {
        0: 1.0,
        1: "NaN",
        2: "-Infinity",
    }
    assert next(m for m in of_type(watcher.messages, "points"))["epochs"] == [0, 0, 0]

    # Too large for one notice: worker B reads the points from the database.
    big = list(range(3, 3003))
    ingest(api, a, run["id"], series("loss", "batch", big))
    watcher.until(lambda m: len(received_points(m, run["id"], "loss", "batch")) == 3003)
    assert received_points(watcher.messages, run["id"], "loss", "batch")[3002] == 300.2

    summary = project_watcher.next_of("series")
    assert summary["run_id"] == run["id"] and summary["series"][0]["key"] == "loss"

    api.patch(
        f"{a}/api/v1/runs/{run['id']}", json={"status": "finished", "notes": "x" * 9000}
    ).raise_for_status()
    changed = watcher.next_of("run")["run"]  # too large to travel whole: read by B
    assert changed["status"] == "finished" and len(changed["notes"]) == 9000
    api.delete(f"{a}/api/v1/runs/{run['id']}").raise_for_status()
    assert watcher.next_of("run_deleted")["run_id"] == run["id"]
    assert project_watcher.next_of("run_deleted")["run_id"] == run["id"]
    watcher.close()
    project_watcher.close()


def test_lost_listen_connection_reconnects_and_tells_clients_to_resync(
    pg_url: str, server_process: type[ServerProcess], api: httpx.Client
) -> None:
    a = server_process(pg_url).start().url
    b = server_process(pg_url).start().url
    run = create_run(api, a)
    watcher = LiveClient(b, f"run={run['id']}")
    watcher.next_of("subscribed")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = 'LISTEN fitwatch_live'"
        ).fetchall()
    assert len(killed) == 2  # one per server
    assert "LISTEN connection" in watcher.next_of("resync")["reason"]
    wait_until(lambda: live_status(api, b)["listener"] == "listening", timeout=20)
    ingest(api, a, run["id"], series("loss", "epoch", [0], [0.25]))
    watcher.until(lambda m: received_points(m, run["id"], "loss", "epoch") == {0: 0.25})
    watcher.close()
