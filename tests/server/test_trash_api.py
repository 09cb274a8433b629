"""The trash, moves and project deletes over the API (issue 11), on SQLite and PostgreSQL:
runs in the trash keep their data and leave listings; restore brings them back as they were;
purging and deleting a project leave no row anywhere."""

from __future__ import annotations

from tests.helpers.consistency import inconsistencies
from tests.helpers.factories import make_run, post_points, series_body


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [r if isinstance(r, str) else r["id"] for r in response.json()["runs"]]


def test_trashed_runs_leave_listings_keep_their_data_and_come_back(client):
    kept, trashed = make_run(client, name="kept"), make_run(client, name="trashed", tags=["x"])
    post_points(client, trashed["id"], series_body("loss", "epoch", [0, 1], [1.0, 0.5]))
    assert _ids(client.post("/api/v1/trash", json={"runs": [trashed["id"]]})) == [trashed["id"]]

    assert _ids(client.get("/api/v1/runs", params={"project": "test"})) == [kept["id"]]
    assert _ids(client.get("/api/v1/trash", params={"include": "series"})) == [trashed["id"]]
    one = client.get(f"/api/v1/runs/{trashed['id']}").json()
    assert one["deleted_at"] is not None and one["series"][0]["last_value"] == 0.5
    project = client.get("/api/v1/projects").json()["projects"][0]
    assert (project["run_count"], project["trashed_count"]) == (1, 1)

    assert _ids(client.post("/api/v1/trash/restore", json={"runs": [trashed["id"]]})) == [
        trashed["id"]
    ]
    back = client.get(f"/api/v1/runs/{trashed['id']}").json()
    assert back["deleted_at"] is None and back["tags"] == ["x"] and back["series"][0]["count"] == 2
    assert sorted(_ids(client.get("/api/v1/runs"))) == sorted([kept["id"], trashed["id"]])


def test_trashing_is_all_or_nothing(client):
    run = make_run(client)
    response = client.post("/api/v1/trash", json={"runs": [run["id"], "no-such-run"]})
    assert response.status_code == 404
    assert response.json()["detail"] == "no run with id 'no-such-run'"
    assert client.get(f"/api/v1/runs/{run['id']}").json()["deleted_at"] is None


def test_bulk_requests_refuse_bad_ids_and_empty_lists(client):
    assert client.post("/api/v1/trash", json={"runs": []}).status_code == 422
    bad = client.post("/api/v1/trash", json={"runs": ["a b"]})
    assert bad.status_code == 422 and "a run id is" in bad.text
    purge = client.delete("/api/v1/trash", params={"runs": "ok,no/slash"})
    assert purge.status_code == 400 and "comma-separated list of run ids" in purge.json()["detail"]


def test_purge_deletes_only_what_is_in_the_trash_and_leaves_no_row(client, database_url):
    a, b, c = (make_run(client, project=p) for p in ("one", "one", "two"))
    for run in (a, b, c):
        post_points(client, run["id"], series_body("loss", "batch", list(range(50)), [1.0] * 50))
    client.post("/api/v1/trash", json={"runs": [a["id"], c["id"]]})
    refused = client.delete("/api/v1/trash", params={"runs": b["id"]})
    assert refused.status_code == 400 and "not in the trash" in refused.json()["detail"]

    assert _ids(client.delete("/api/v1/trash", params={"project": "one"})) == [a["id"]]
    assert client.get(f"/api/v1/runs/{a['id']}").status_code == 404
    assert _ids(client.get("/api/v1/trash")) == [c["id"]]
    assert _ids(client.delete("/api/v1/trash")) == [c["id"]]
    assert _ids(client.get("/api/v1/trash")) == []
    assert client.get(f"/api/v1/runs/{b['id']}").json()["series"][0]["count"] == 50
    assert inconsistencies(database_url, [b["id"]]) == {}  # also: no orphan points or rollups


def test_a_run_moves_to_another_project_with_its_data(client):
    run = make_run(client, project="from")
    post_points(client, run["id"], series_body("loss", "epoch", [0], [1.0]))
    moved = client.patch(f"/api/v1/runs/{run['id']}", json={"project": "to"})
    assert moved.status_code == 200 and moved.json()["project"] == "to"
    assert _ids(client.get("/api/v1/runs", params={"project": "to"})) == [run["id"]]
    assert _ids(client.get("/api/v1/runs", params={"project": "from"})) == []
    assert client.get(f"/api/v1/runs/{run['id']}/series").json()["series"][0]["count"] == 1
    blank = client.patch(f"/api/v1/runs/{run['id']}", json={"project": "  "})
    assert blank.status_code == 422 and "must not be empty" in blank.text


def test_deleting_a_project_deletes_its_runs_trash_included(client, database_url):
    gone = [make_run(client, project="doomed") for _ in range(3)]
    other = make_run(client, project="safe")
    for run in [*gone, other]:
        post_points(client, run["id"], series_body("loss", "batch", list(range(20)), [0.5] * 20))
    client.post("/api/v1/trash", json={"runs": [gone[0]["id"]]})
    deleted = client.delete("/api/v1/projects/doomed")
    assert sorted(_ids(deleted)) == sorted(r["id"] for r in gone)
    assert [p["name"] for p in client.get("/api/v1/projects").json()["projects"]] == ["safe"]
    assert all(client.get(f"/api/v1/runs/{r['id']}").status_code == 404 for r in gone)
    assert client.delete("/api/v1/projects/doomed").json() == {
        "detail": "no project named 'doomed'"
    }
    assert inconsistencies(database_url, [other["id"]]) == {}


def test_runs_sort_by_text_config_values_and_by_duration(client):
    for name, optimizer in (("b", "sgd"), ("a", "adam"), ("c", "rmsprop")):
        make_run(client, name=name, config={"optimizer": optimizer})
    names = lambda r: [x["name"] for x in r.json()["runs"]]  # noqa: E731
    assert names(client.get("/api/v1/runs", params={"sort": "config.optimizer"})) == ["a", "c", "b"]
    assert names(client.get("/api/v1/runs", params={"sort": "-config.optimizer"})) == [
        "b",
        "c",
        "a",
    ]
    assert (
        len(
            client.get(
                "/api/v1/runs", params={"filter": "duration >= 0", "sort": "-duration"}
            ).json()["runs"]
        )
        == 3
    )
    bad = client.get("/api/v1/runs", params={"filter": 'duration > "long"'})
    assert bad.status_code == 400 and "number of seconds" in bad.json()["detail"]
