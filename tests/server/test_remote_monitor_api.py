"""The RemoteMonitor routes: RemoteMonitor's exact wire format (docs/keras.md), which run
an epoch lands in, and the defences that make a form-taking route safe."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote_plus

from starlette.testclient import TestClient

from fitwatch_server.store.remote_monitor import id_prefix

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form_body(logs: str, field: str = "data") -> str:
    # What requests sends for RemoteMonitor's default (form) mode, byte for byte.
    return f"{field}={quote_plus(logs)}"


def post_form(client: TestClient, path: str, logs: str, **headers: str) -> Any:
    return client.post(path, content=form_body(logs), headers={**FORM, **headers})


def epochs(client: TestClient, run_id: str, key: str) -> dict[int, Any]:
    body = client.get(f"/api/v1/runs/{run_id}/series/{key}", params={"scope": "epoch"}).json()
    return dict(zip(body["steps"], body["values"], strict=True))


def test_form_with_a_bare_nan_is_stored_as_nan(client: TestClient) -> None:
    path = "/api/v1/keras/remote-monitor/digits/mlp"
    logs = '{"epoch": 0, "accuracy": 0.34585943818092346, "loss": NaN, "val_loss": Infinity}'
    answer = post_form(client, path, logs)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["run_id"] == id_prefix("digits", "mlp") + "1" and result["new_run"] is True
    assert result["points"] == 3
    run_id = result["run_id"]
    assert epochs(client, run_id, "loss") == {0: "NaN"}
    assert epochs(client, run_id, "val_loss") == {0: "Infinity"}
    assert epochs(client, run_id, "accuracy") == {0: 0.34585943818092346}
    run = client.get(f"/api/v1/runs/{run_id}").json()
    assert (run["project"], run["name"], run["status"]) == ("digits", "mlp", "running")
    assert run["tags"] == ["remote-monitor"] and run["config"] == {
        "source": "keras.callbacks.RemoteMonitor"
    }


def test_epoch_zero_again_starts_a_new_run_and_finishes_the_last(client: TestClient) -> None:
    path = "/api/v1/keras/remote-monitor/p/r"
    first = [client.post(path, json={"epoch": e, "loss": 1.0 / (e + 1)}).json() for e in range(3)]
    assert {r["run_id"] for r in first} == {id_prefix("p", "r") + "1"}
    assert [r["new_run"] for r in first] == [True, False, False]
    second = client.post(path, json={"epoch": 0, "loss": 5.0}).json()
    assert second["run_id"] == id_prefix("p", "r") + "2" and second["new_run"]
    assert client.get(f"/api/v1/runs/{first[0]['run_id']}").json()["status"] == "finished"
    # A fit resumed with initial_epoch=3 continues the latest run.
    resumed = client.post(path, json={"epoch": 3, "loss": 4.0}).json()
    assert resumed["run_id"] == second["run_id"] and not resumed["new_run"]
    assert epochs(client, second["run_id"], "loss") == {0: 5.0, 3: 4.0}
    assert epochs(client, first[0]["run_id"], "loss") == {0: 1.0, 1: 0.5, 2: 1 / 3}


def test_keras_default_path_takes_the_run_from_headers(client: TestClient) -> None:
    answer = post_form(client, "/publish/epoch/end/", '{"epoch": 0, "loss": 2.5}')
    assert answer.json()["project"] == "default" and answer.json()["name"] == "remote-monitor"
    named = client.post(
        "/publish/epoch/end/",
        json={"epoch": 0, "loss": 2.5},
        headers={"X-Fitwatch-Project": "team", "X-Fitwatch-Run": "lr-0.01"},
    ).json()
    assert (named["project"], named["name"]) == ("team", "lr-0.01")


def test_a_custom_field_name_and_non_numbers_from_other_callbacks(client: TestClient) -> None:
    logs = json.dumps({"epoch": 0, "loss": 1.5, "note": "text", "vector": [1, 2], "flag": True})
    answer = client.post(
        "/api/v1/keras/remote-monitor/p/custom",
        content=form_body(logs, field="payload"),
        headers=FORM,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["points"] == 1 and sorted(answer.json()["skipped"]) == [
        "flag",
        "note",
        "vector",
    ]


def test_bad_payloads_get_a_400_that_says_what_to_send(client: TestClient) -> None:
    path = "/api/v1/keras/remote-monitor/p/bad"
    cases = [
        (post_form(client, path, "{not json"), "the epoch's logs are not JSON"),
        (post_form(client, path, '{"loss": 1.0}'), "the logs need 'epoch', an int >= 0"),
        (post_form(client, path, '{"epoch": "0", "loss": 1.0}'), "Received: epoch='0'"),
        (post_form(client, path, "[1, 2]"), "must be a JSON object"),
        (client.post(path, content="a=1&b=2", headers=FORM), "Received fields: ['a', 'b']"),
    ]
    for answer, message in cases:
        assert answer.status_code == 400, answer.text
        assert message in answer.json()["detail"]
    blank = client.post("/api/v1/keras/remote-monitor/p/%20", json={"epoch": 0, "loss": 1.0})
    assert blank.status_code == 422
    assert client.get("/api/v1/runs", params={"project": "p"}).json()["total"] == 0


def test_browsers_may_not_post_there_even_from_the_same_origin(client: TestClient) -> None:
    path = "/api/v1/keras/remote-monitor/p/csrf"
    for headers in (
        {"Origin": "http://localhost"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Mode": "no-cors"},
    ):
        answer = post_form(client, path, '{"epoch": 0, "loss": 1.0}', **headers)
        assert answer.status_code == 403, (headers, answer.text)
        if headers.get("Origin") != "null":  # a foreign origin is refused before, as everywhere
            assert "no browser may post to them" in answer.json()["detail"]
    assert client.get("/api/v1/runs", params={"project": "p"}).json()["total"] == 0


def test_forms_stay_refused_everywhere_else(client: TestClient) -> None:
    run = client.post("/api/v1/runs", json={"project": "p"}).json()
    answer = client.post(f"/api/v1/runs/{run['id']}/points", content="data=x", headers=FORM)
    assert answer.status_code == 415


def test_with_auth_on_a_write_token_is_needed(auth_client: TestClient) -> None:
    from tests.server.conftest import ADMIN

    path = "/api/v1/keras/remote-monitor/p/secured"
    assert post_form(auth_client, path, '{"epoch": 0, "loss": 1.0}').status_code == 401
    read = auth_client.post(
        "/api/v1/tokens", json={"name": "r", "scope": "read"}, headers=ADMIN
    ).json()
    refused = post_form(
        auth_client, path, '{"epoch": 0, "loss": 1.0}', Authorization=f"Bearer {read['token']}"
    )
    assert refused.status_code == 403
    write = auth_client.post(
        "/api/v1/tokens", json={"name": "w", "scope": "write"}, headers=ADMIN
    ).json()
    ok = post_form(
        auth_client, path, '{"epoch": 0, "loss": NaN}', Authorization=f"Bearer {write['token']}"
    )
    assert ok.status_code == 200, ok.text
    assert math.isnan(
        float(
            auth_client.get(
                f"/api/v1/runs/{ok.json()['run_id']}/series/loss", headers=ADMIN
            ).json()["values"][0]
        )
    )
