"""Admin API: `POST /api/v1/admin/purge` (retention), and the scheduled purge of a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from fitwatch_server import models
from fitwatch_server.db import make_engine, make_sessionmaker, session_scope
from fitwatch_server.settings import Settings
from tests.helpers.factories import make_run, post_points, series_body
from tests.helpers.wait import wait_until


def _idle(database_url: str, run_id: str, days: float) -> None:
    """Make a run look last active `days` ago (as if nothing had touched it since)."""
    engine = make_engine(Settings(database_url=database_url).database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            session.execute(
                update(models.Run)
                .where(models.Run.id == run_id)
                .values(heartbeat_at=datetime.now(UTC) - timedelta(days=days))
            )
    finally:
        engine.dispose()


def test_purge_answers_what_it_freed_and_the_runs_are_gone(client, database_url):
    old = make_run(client, project="p", name="old")
    kept = make_run(client, project="p", name="kept")
    other = make_run(client, project="q", name="other")
    for run in (old, kept, other):
        post_points(client, run["id"], series_body("loss", "batch", list(range(40)), [1.0] * 40))
    _idle(database_url, old["id"], 120)
    _idle(database_url, other["id"], 120)

    response = client.post("/api/v1/admin/purge", json={"older_than_days": 90, "project": "p"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["runs"], body["series"], body["points"], body["run_ids"]) == (
        1,
        1,
        40,
        [old["id"]],
    )
    assert client.get(f"/api/v1/runs/{old['id']}").status_code == 404
    assert client.get(f"/api/v1/runs/{kept['id']}").status_code == 200
    assert client.get(f"/api/v1/runs/{other['id']}").status_code == 200  # another project

    everywhere = client.post("/api/v1/admin/purge", json={"older_than_days": 90}).json()
    assert everywhere["run_ids"] == [other["id"]]


def test_a_purge_request_that_makes_no_sense_is_a_422_that_names_the_field(client):
    for body in (
        {"older_than_days": 0},
        {"older_than_days": "soon"},
        {},
        {"older_than_days": 9, "extra": 1},
    ):
        response = client.post("/api/v1/admin/purge", json=body)
        assert response.status_code == 422, (body, response.text)
    assert (
        "older_than_days" in client.post("/api/v1/admin/purge", json={"older_than_days": -1}).text
    )


def test_the_server_purges_on_a_schedule_when_told_to(database_url, server_process):
    first = server_process(database_url).start()
    import httpx

    old = httpx.post(f"{first.url}/api/v1/runs", json={"project": "s", "name": "old"}).json()
    new = httpx.post(f"{first.url}/api/v1/runs", json={"project": "s", "name": "new"}).json()
    first.stop()
    _idle(database_url, old["id"], 10)
    server = server_process(
        database_url,
        env={"FITWATCH_PURGE_OLDER_THAN_DAYS": "7", "FITWATCH_PURGE_INTERVAL_S": "0.2"},
    ).start()
    wait_until(
        lambda: httpx.get(f"{server.url}/api/v1/runs/{old['id']}").status_code == 404, timeout=30
    )
    assert httpx.get(f"{server.url}/api/v1/runs/{new['id']}").status_code == 200
