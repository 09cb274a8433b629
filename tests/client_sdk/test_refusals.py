"""A request the server refuses costs only the part it refuses (client_sdk/fitwatch/refusals.py).

Each test makes the server refuse something the SDK could not check before sending (a limit
of the server's, one it changed after the run started), so the request really reaches the
server and is refused there.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import fitwatch
from fitwatch import refusals, wire
from fitwatch.cli import main
from fitwatch.spool import Journal
from tests.client_sdk.conftest import ADMIN_TOKEN, Stored
from tests.helpers.server import ServerProcess, free_port
from tests.helpers.wait import wait_until

FAST_RETRY = {"retry_base_s": 0.05, "retry_max_s": 0.2}


def rejected_lines(journal_dir: Path, run_id: str) -> list[dict[str, object]]:
    path = journal_dir / run_id / "rejected.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def server_down(server_process: type[ServerProcess], tmp_path: Path, **env: str) -> ServerProcess:
    """A server on a free port, not started yet: what the run logs waits in its journal."""
    return server_process(f"sqlite:///{tmp_path / 'refusals.db'}", free_port(), env=env)


def journaled_points(journal_dir: Path, run_id: str) -> int:
    pending = Journal.for_run(journal_dir, run_id).pending()
    return sum(wire.count_points(r.body) for r in pending if r.op == "points")


def test_a_refused_series_in_a_merged_backlog_costs_only_its_own_point(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    # The server allows 3 series a run. The points wait in the journal while it is down and
    # go out merged into one request; a 4th series in the middle makes the server refuse it.
    server = server_down(server_process, tmp_path, FITWATCH_MAX_SERIES_PER_RUN="3")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = fitwatch.init(project="refusals", url=server.url, **FAST_RETRY)
        for chunk in range(4):  # four records of 25 steps, journaled one by one
            for step in range(chunk * 25, (chunk + 1) * 25):
                run.log({"a": float(step), "b": 2.0 * step, "c": 3.0 * step}, step=step)
                if step == 50:
                    run.log({"d": 4.0}, step=step)
            wait_until(lambda n=chunk: journaled_points(journal_dir, run.id) >= 75 * (n + 1))
        server.start()
        assert run.finish(timeout=30) is True
    stored = Stored(server.url)
    for key, factor in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        assert stored.points(run.id, key, "epoch") == {s: factor * s for s in range(100)}, key
    assert stored.run(run.id)["status"] == "finished"
    [kept] = rejected_lines(journal_dir, run.id)
    assert kept["op"] == "points"
    [point] = wire.decode_points(kept["body"])  # type: ignore[arg-type]
    assert (point.key, point.scope, point.step, point.value) == ("d", "epoch", 50, 4.0)
    assert any("the server refused 1 points (the rest of the request was stored)" in str(w.message) for w in caught)
    stored.close()


def nested(depth: int) -> dict[str, object]:
    document: dict[str, object] = {}
    for _ in range(depth):
        document = {"a": document}
    return document


def test_a_rejected_update_is_kept_aside_and_the_records_after_it_are_still_sent(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    # The records wait in the journal until the server comes up, so the rejected update has
    # points records before and after it when the sender ships them.
    # The server allows 5 levels; the SDK, which could not ask it, checks against the default.
    server = server_down(server_process, tmp_path, FITWATCH_MAX_DOCUMENT_DEPTH="5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = fitwatch.init(project="rejects", url=server.url, **FAST_RETRY)
        run.log({"loss": 0.0}, step=0)
        run.update_config(nested(10))  # deeper than the server's 5: a 422, whenever sent
        for step in range(1, 4):
            run.log({"loss": float(step)}, step=step)
        wait_until(lambda: [r.op for r in Journal.for_run(journal_dir, run.id).pending()][-1:] == ["points"])
        server.start()
        assert run.finish(timeout=30) is True
    stored = Stored(server.url)
    assert stored.points(run.id, "loss", "epoch") == {s: float(s) for s in range(4)}
    assert stored.run(run.id)["status"] == "finished"
    rejected_warnings = [str(w.message) for w in caught if "the server refused" in str(w.message)]
    assert len(rejected_warnings) == 1 and "422" in rejected_warnings[0]
    # The warning says where the request is kept; it is still there after a finish() that
    # removed the journal, for a person to read.
    kept = journal_dir / run.id / "rejected.jsonl"
    assert str(kept) in rejected_warnings[0]
    [line] = kept.read_text().splitlines()
    record = json.loads(line)
    assert record["op"] == "update" and "422" in record["reason"]
    assert not Journal.for_run(journal_dir, run.id).pending()
    stored.close()


def test_a_request_over_the_servers_body_limit_is_sent_in_parts(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    # 200 kB of body at most (whoami does not tell the SDK): 9,000 points in one flush
    # interval are ~400 kB, a 413, and must arrive in parts.
    server = server_process(f"sqlite:///{tmp_path / 'body.db'}", env={"FITWATCH_MAX_BODY_BYTES": "200000"}).start()
    run = fitwatch.init(project="refusals", url=server.url, flush_interval_s=0.5)
    for step in range(3000):
        run.log({"loss": float(step), "acc": step / 3000, "lr": 0.1}, step=step)
    assert run.finish(timeout=60) is True
    stored = Stored(server.url)
    assert stored.points(run.id, "loss", "epoch") == {s: float(s) for s in range(3000)}
    assert len(stored.points(run.id, "acc", "epoch")) == len(stored.points(run.id, "lr", "epoch")) == 3000
    assert rejected_lines(journal_dir, run.id) == []
    stored.close()


def test_a_refused_summary_does_not_cost_the_final_status(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    # The server is restarted mid-run with a smaller limit on documents than the SDK learned
    # at start: finish()'s summary is refused there, its status must still arrive.
    path = tmp_path / "docs.db"
    server = server_process(f"sqlite:///{path}").start()
    run = fitwatch.init(project="refusals", url=server.url, **FAST_RETRY)
    run.log({"loss": 1.0}, step=0)
    assert run.flush(timeout=30)
    server.stop()
    smaller = server_process(
        f"sqlite:///{path}", server.port, env={"FITWATCH_MAX_DOCUMENT_BYTES": "1000"}
    ).start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run.finish(summary={"notes": "x" * 5000}) is True
    stored = Stored(smaller.url)
    assert stored.run(run.id)["status"] == "finished"
    [kept] = rejected_lines(journal_dir, run.id)
    assert kept["op"] == "update" and list(kept["body"]) == ["summary"]  # type: ignore[arg-type]
    assert any("the server refused an update of summary" in str(w.message) for w in caught)
    stored.close()


def test_a_revoked_token_keeps_the_points_for_fitwatch_sync(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = server_process(
        f"sqlite:///{tmp_path / 'auth.db'}",
        env={"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN_TOKEN},
    ).start()
    admin = Stored(server.url, ADMIN_TOKEN)
    made = admin.http.post("/tokens", json={"name": "writer", "scope": "write"}).json()
    run = fitwatch.init(project="refusals", url=server.url, token=made["token"], **FAST_RETRY)
    for step in range(50):
        run.log({"loss": float(step)}, step=step)
    assert run.flush(timeout=30)
    assert admin.http.delete(f"/tokens/{made['id']}").status_code == 200
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(50, 100):
            run.log({"loss": float(step)}, step=step)
        assert run.finish(timeout=2) is False  # nothing after the revocation was stored...
    assert any("401" in str(w.message) for w in caught)
    assert rejected_lines(journal_dir, run.id) == []
    assert len(admin.points(run.id, "loss", "epoch")) == 50
    # ...and all of it is in the journal: `fitwatch sync` with a new token uploads it.
    fresh = admin.http.post("/tokens", json={"name": "writer-2", "scope": "write"}).json()["token"]
    monkeypatch.setenv("FITWATCH_TOKEN", fresh)
    assert main(["sync", "--url", server.url, "--dir", str(journal_dir)]) == 0
    assert admin.points(run.id, "loss", "epoch") == {s: float(s) for s in range(100)}
    assert admin.run(run.id)["status"] == "finished"
    admin.close()


def test_halves_keep_every_point_once_and_in_order() -> None:
    points = [wire.Point(k, "batch", s, float(s), 0.0, s // 10) for s in range(7) for k in ("a", "b", "c")]
    body = wire.encode_points(points)
    parts = [body]
    while any(wire.count_points(p) > 1 for p in parts):
        parts = [h for p in parts for h in (wire.halves(p) or [p])]
    assert wire.halves(parts[0]) is None
    assert [pt for p in parts for pt in wire.decode_points(p)] == wire.decode_points(body)
    assert refusals.update_halves({"status": "finished"}) is None
    assert refusals.update_halves({"status": "finished", "summary": {"a": 1}}) == [
        {"status": "finished"},
        {"summary": {"a": 1}},
    ]


def test_the_search_for_a_refused_part_is_bounded() -> None:
    # A server (or a proxy) that refuses everything: without a bound, one request per point.
    from fitwatch.errors import RejectedError

    asked: list[int] = []

    def refuse_all(op: str, body: dict[str, object]) -> None:
        asked.append(wire.count_points(body))  # type: ignore[arg-type]
        raise RejectedError("400: no", status_code=400)

    body = wire.encode_points([wire.Point("loss", "epoch", s, 1.0, 0.0) for s in range(20_000)])
    refused = refusals.send(refuse_all, "points", body)
    assert len(asked) <= refusals.MAX_PARTS + 1
    assert sum(wire.count_points(part) for part, _ in refused) == 20_000  # all kept, none lost


def test_one_refused_point_among_twenty_thousand_is_found_in_few_requests() -> None:
    from fitwatch.errors import RejectedError

    asked: list[int] = []

    def refuse_step_12345(op: str, body: dict[str, object]) -> None:
        asked.append(1)
        if any(12345 in entry["steps"] for entry in body["series"]):  # type: ignore[attr-defined]
            raise RejectedError("422: bad step", status_code=422)

    body = wire.encode_points([wire.Point("loss", "epoch", s, 1.0, 0.0) for s in range(20_000)])
    [(part, reason)] = refusals.send(refuse_step_12345, "points", body)
    assert part["series"][0]["steps"] == [12345] and "bad step" in reason
    assert len(asked) <= 1 + 2 * 15
