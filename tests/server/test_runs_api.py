"""Runs resource: create (idempotent with a client id), read, update, delete, heartbeat, projects."""

from __future__ import annotations

from fitwatch.names import ADJECTIVES, NOUNS
from tests.helpers.factories import make_run, post_points, series_body


def test_create_run_returns_id_and_defaults(client):
    run = make_run(client, name="mlp", config={"optimizer": {"learning_rate": 0.001}}, tags=["a", "b"])
    assert run["status"] == "running"
    assert run["project"] == "test"
    assert run["tags"] == ["a", "b"]
    assert run["config"] == {"optimizer": {"learning_rate": 0.001}}
    assert client.get(f"/api/v1/runs/{run['id']}").json()["name"] == "mlp"


def test_a_run_created_without_a_name_gets_a_memorable_one(client):
    # Issue 10: runs made through the REST API without a name showed the start of their hex
    # id; now they get what the SDK gives them (fitwatch/names.py): adjective-noun-number.
    names = {client.post("/api/v1/runs", json={"project": "p"}).json()["name"] for _ in range(5)}
    for name in names:
        adjective, noun, number = name.split("-")
        assert adjective in ADJECTIVES and noun in NOUNS and 1 <= int(number) <= 99


def test_create_with_existing_client_id_returns_the_stored_run(client):
    first = client.post("/api/v1/runs", json={"project": "p", "id": "run-1", "name": "x"})
    again = client.post("/api/v1/runs", json={"project": "p", "id": "run-1", "name": "other"})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["name"] == "x"


def test_update_merges_summary_and_sets_end_time(client):
    run = make_run(client)
    client.patch(f"/api/v1/runs/{run['id']}", json={"summary": {"a": 1}})
    updated = client.patch(
        f"/api/v1/runs/{run['id']}", json={"summary": {"b": 2}, "status": "finished", "notes": "ok"}
    ).json()
    assert updated["summary"] == {"a": 1, "b": 2}
    assert updated["status"] == "finished"
    assert updated["ended_at"] is not None
    assert updated["notes"] == "ok"


def test_crashed_cannot_be_set_by_a_client(client):
    run = make_run(client)
    response = client.patch(f"/api/v1/runs/{run['id']}", json={"status": "crashed"})
    assert response.status_code == 422
    assert "derived from missing heartbeats" in response.text


def test_delete_removes_run_series_and_points(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", [0, 1], [1.0, 0.5]))
    assert client.delete(f"/api/v1/runs/{run['id']}").status_code == 204
    assert client.get(f"/api/v1/runs/{run['id']}").status_code == 404
    assert client.get(f"/api/v1/runs/{run['id']}/series").status_code == 404


def test_unknown_run_is_404_with_the_id_quoted(client):
    response = client.get("/api/v1/runs/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "no run with id 'nope'"}


def test_run_without_heartbeat_is_reported_crashed(app, client):
    app.state.settings.heartbeat_timeout_s = 0.000001
    run = make_run(client)
    assert client.get(f"/api/v1/runs/{run['id']}").json()["status"] == "crashed"
    listed = client.get("/api/v1/runs", params={"filter": 'status = "crashed"'}).json()
    assert [r["id"] for r in listed["runs"]] == [run["id"]]


def test_heartbeat_keeps_a_run_running(client):
    run = make_run(client)
    assert client.post(f"/api/v1/runs/{run['id']}/heartbeat").status_code == 204
    assert client.get(f"/api/v1/runs/{run['id']}").json()["status"] == "running"


def test_projects_list_counts_runs(client):
    make_run(client, project="alpha")
    make_run(client, project="alpha")
    make_run(client, project="beta")
    projects = client.get("/api/v1/projects").json()["projects"]
    assert [(p["name"], p["run_count"]) for p in projects] == [("alpha", 2), ("beta", 1)]


def test_odd_unicode_names_round_trip(client):
    name = "résnet 🚀 \u202e<script>alert(1)</script>"
    run = make_run(client, name=name, project="プロジェクト", tags=["τag"])
    fetched = client.get(f"/api/v1/runs/{run['id']}").json()
    assert fetched["name"] == name
    assert fetched["project"] == "プロジェクト"


def test_lone_surrogates_are_a_4xx_not_a_500(client):
    # JSON may escape a lone surrogate ("\udcff", a file name decoded with surrogateescape);
    # UTF-8 cannot encode it: storing it, and echoing it in a 422, both raised a 500.
    run = make_run(client)
    headers = {"content-type": "application/json"}
    for body in ('{"project": "\\ud800"}', '{"project": "p", "tags": ["\\udcff"]}'):
        answer = client.post("/api/v1/runs", content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["type"] == "string_unicode"
    for body in (
        '{"notes": "\\ud800"}',
        '{"config": {"\\ud800": 1}}',
        '{"config": {"path": ["\\udcff"]}}',
        '{"summary": {"a": "\\ud800"}}',
    ):
        answer = client.patch(f"/api/v1/runs/{run['id']}", content=body, headers=headers)
        assert answer.status_code in (400, 422), (body, answer.text)
    assert client.get(f"/api/v1/runs/{run['id']}").json()["config"] == run["config"]
