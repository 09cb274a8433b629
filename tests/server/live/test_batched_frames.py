"""`?batch=1`: several ready messages in one websocket frame (a JSON array), opt-in per
connection; against a real server process on SQLite and PostgreSQL (docs/api.md)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.server.live.client import LiveClient, RawClient, of_type, received_points
from tests.server.live.conftest import StartServer
from tests.server.live.helpers import create_run, ingest, live_status, series

KEYS = [f"metric_{k}" for k in range(10)]


def _traffic(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the hub sent about the run, in order (points by series and steps; summaries)."""
    return [
        (m["type"], m.get("key"), m.get("scope"), tuple(m.get("steps", ())))
        for m in messages
        if m["type"] in ("points", "series", "run")
    ]


def test_batch_client_gets_arrays_of_messages_in_the_order_a_plain_client_gets_them(
    start_server: StartServer, api: httpx.Client
) -> None:
    url = start_server(FITWATCH_LIVE_COALESCE_S="0").url
    run = create_run(api, url)
    batched = LiveClient(url, f"run={run['id']}&batch=1")
    plain = LiveClient(url, f"run={run['id']}")
    batched.next_of("subscribed")
    plain.next_of("subscribed")
    # Each ingest of ten series makes ten messages ready at once for every subscriber.
    for start in range(0, 200, 20):
        ingest(api, url, run["id"], *(series(k, "batch", list(range(start, start + 20))) for k in KEYS))
    for client in (batched, plain):
        for key in KEYS:
            client.until(lambda m, key=key: len(received_points(m, run["id"], key, "batch")) == 200)

    assert any(isinstance(frame, list) and len(frame) > 1 for frame in batched.frames)
    assert not any(isinstance(frame, list) for frame in plain.frames)
    # Nothing lost, nothing reordered: the same messages in the same order on both.
    wanted = _traffic(plain.messages)
    batched.until(lambda m: len(_traffic(m)) >= len(wanted))
    assert _traffic(batched.messages)[: len(wanted)] == wanted
    for key in KEYS:
        steps = [s for m in of_type(batched.messages, "points") if m["key"] == key for s in m["steps"]]
        assert steps == list(range(200))
    batched.close()
    plain.close()


def test_batch_client_that_stopped_reading_gets_its_resync_then_live_points(
    start_server: StartServer, api: httpx.Client
) -> None:
    url = start_server(FITWATCH_LIVE_QUEUE_SIZE="32", FITWATCH_LIVE_COALESCE_S="0").url
    run = create_run(api, url)
    slow = RawClient(url, "batch=1")
    slow.send({"type": "subscribe", "runs": [run["id"]]})
    slow.read_until(lambda m: of_type(m, "subscribed"))
    step = 0
    for _ in range(400):
        ingest(api, url, run["id"], *(series(k, "batch", list(range(step, step + 300))) for k in KEYS))
        step += 300
        if live_status(api, url)["overflows"] > 0:
            break
    assert live_status(api, url)["overflows"] > 0, "the slow client never overflowed"
    assert live_status(api, url)["subscriber_states"].get("resync_pending") == 1

    slow.read_until(lambda m: of_type(m, "resync"), timeout=60)
    resync = of_type(slow.messages, "resync")[0]
    assert resync["runs"] == [run["id"]] and "queue overflow" in resync["reason"]
    # Live points before the resync arrived in order with no gap; none after it until now.
    before = [m for m in slow.messages[: slow.messages.index(resync)] if m["type"] == "points"]
    for key in KEYS:
        steps = [s for m in before if m["key"] == key for s in m["steps"]]
        assert steps == list(range(len(steps)))
    ingest(api, url, run["id"], series("after", "epoch", [0], [1.0]))
    slow.read_until(lambda m: received_points(m, run["id"], "after", "epoch") == {0: 1.0})
    assert live_status(api, url)["subscriber_states"].get("live") == 1
    slow.close()


def test_a_bad_batch_value_gets_an_error_and_one_message_per_frame(start_server: StartServer) -> None:
    url = start_server().url
    client = LiveClient(url, "batch=yes")
    assert "'batch' must be 1" in client.next_of("error")["detail"]
    client.send({"type": "ping"})
    client.next_of("pong")
    assert not any(isinstance(frame, list) for frame in client.frames)
    client.close()
