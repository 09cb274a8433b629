"""Deleting runs and series removes everything derived from them (issue 8)."""

from __future__ import annotations

from sqlalchemy import func, select

from fitwatch_server import models
from fitwatch_server.db import session_scope
from tests.helpers.consistency import inconsistencies
from tests.helpers.factories import make_run, post_points, series_body

DERIVED_TABLES = [models.Series, models.Point, models.PointRollup, models.RunTag, models.Run]


def test_a_new_run_never_meets_a_deleted_runs_numbers(client, database_url):
    old = make_run(client, tags=["old"])
    for start in range(0, 40_000, 10_000):
        steps = list(range(start, start + 10_000))
        post_points(client, old["id"], series_body("loss", "batch", steps, [float(s % 1001) for s in steps]))
    assert client.delete(f"/api/v1/runs/{old['id']}").status_code == 204

    new = make_run(client)
    steps = list(range(100))
    post_points(client, new["id"], series_body("loss", "batch", steps, [s / 200 for s in steps]))
    post_points(client, new["id"], series_body("loss", "batch", [50], [0.1]))  # an overwrite
    (loss,) = client.get(f"/api/v1/runs/{new['id']}/series").json()["series"]
    assert (loss["count"], loss["max_value"], loss["max_step"]) == (100, 0.495, 99)
    found = client.get("/api/v1/runs", params={"filter": "max(loss, batch) > 100"}).json()
    assert found["total"] == 0
    downsampled = client.get(
        f"/api/v1/runs/{new['id']}/series/loss", params={"scope": "batch", "max_points": 10}
    ).json()
    assert max(downsampled["values"]) == 0.495
    assert inconsistencies(database_url, [new["id"]]) == {}


def test_deleting_every_run_leaves_no_row_anywhere(client, app):
    for n in range(3):
        run = make_run(client, name=f"r{n}", tags=["a", "b"])
        post_points(
            client, run["id"],
            series_body("loss", "batch", list(range(70_000)), [1.0] * 70_000),
            series_body("val_loss", "epoch", [0, 1], [2.0, "NaN"]),
        )
        post_points(client, run["id"], series_body("loss", "batch", [5], [0.0]))
    for run in client.get("/api/v1/runs").json()["runs"]:
        assert client.delete(f"/api/v1/runs/{run['id']}").status_code == 204
    with session_scope(app.state.sessionmaker) as session:
        counts = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in DERIVED_TABLES}
        # Every table, also ones added later: only what no run owns may keep rows.
        everything = {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in models.Base.metadata.sorted_tables
        }
    assert counts == {m.__tablename__: 0 for m in DERIVED_TABLES}
    # Kept on purpose: credentials, and the project (a name users chose, listed with no runs;
    # deleting it with its last run would race a create in it on PostgreSQL).
    kept = {"tokens": 0, "web_sessions": 0, "projects": 1}
    assert everything == {name: kept.get(name, 0) for name in everything}
    assert client.get("/api/v1/projects").json()["projects"][0]["run_count"] == 0


def test_deleting_a_series_removes_its_points_and_rollups_only(client, database_url):
    run = make_run(client)
    post_points(
        client, run["id"],
        series_body("loss", "batch", list(range(5000)), [1.0] * 5000),
        series_body("acc", "batch", list(range(5000)), [0.5] * 5000),
    )
    response = client.delete(f"/api/v1/runs/{run['id']}/series/loss", params={"scope": "batch"})
    assert response.status_code == 204
    keys = [s["key"] for s in client.get(f"/api/v1/runs/{run['id']}/series").json()["series"]]
    assert keys == ["acc"]
    missing = client.get(f"/api/v1/runs/{run['id']}/series/loss", params={"scope": "batch"})
    assert missing.status_code == 404
    # Written again, the series starts from nothing.
    post_points(client, run["id"], series_body("loss", "batch", [7], [3.0]))
    (loss,) = [s for s in client.get(f"/api/v1/runs/{run['id']}/series").json()["series"] if s["key"] == "loss"]
    assert (loss["count"], loss["first_step"], loss["max_value"]) == (1, 7, 3.0)
    assert inconsistencies(database_url, [run["id"]]) == {}


def test_deleting_an_unknown_series_or_run_is_a_404(client):
    run = make_run(client)
    response = client.delete(f"/api/v1/runs/{run['id']}/series/nope", params={"scope": "epoch"})
    assert response.status_code == 404
    assert "no series 'nope'" in response.json()["detail"]
    assert client.delete("/api/v1/runs/nope").status_code == 404
