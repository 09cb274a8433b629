"""A JSON body nested very deep is refused with a 4xx that says it is nested too deep (issue 8),
on the points hot path, on run create and patch, and on Keras's RemoteMonitor route; nothing
is stored."""

from __future__ import annotations

import pytest

from tests.helpers.factories import make_run

DEPTH = 100_000
DEEP_BODIES = {
    "arrays": b"[" * DEPTH + b"]" * DEPTH,
    "objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
}


def _assert_nested_too_deep(response) -> None:
    assert response.status_code in (400, 422), response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str), detail
    assert "nested too deep" in detail and "128 levels" in detail, detail
    # The answer does not echo the body back.
    assert len(response.content) < 1_000


@pytest.mark.parametrize("shape", sorted(DEEP_BODIES))
def test_a_deep_points_body_is_refused_as_nested_too_deep(client, shape):
    run = make_run(client)
    inside = b'{"series":' + DEEP_BODIES[shape] + b"}"
    for body in (DEEP_BODIES[shape], inside):
        response = client.post(
            f"/api/v1/runs/{run['id']}/points",
            content=body,
            headers={"content-type": "application/json"},
        )
        _assert_nested_too_deep(response)
    assert client.get(f"/api/v1/runs/{run['id']}/series").json()["series"] == []


@pytest.mark.parametrize("shape", sorted(DEEP_BODIES))
def test_a_deep_run_create_or_patch_is_refused_as_nested_too_deep(client, shape):
    run = make_run(client, config={"lr": 0.1})
    config = b'{"project":"test","name":"deep","config":' + DEEP_BODIES[shape] + b"}"
    headers = {"content-type": "application/json"}
    for body in (DEEP_BODIES[shape], config):
        _assert_nested_too_deep(client.post("/api/v1/runs", content=body, headers=headers))
        _assert_nested_too_deep(
            client.patch(f"/api/v1/runs/{run['id']}", content=body, headers=headers)
        )
    runs = client.get("/api/v1/runs").json()["runs"]
    assert [r["id"] for r in runs] == [run["id"]]
    assert client.get(f"/api/v1/runs/{run['id']}").json()["config"] == {"lr": 0.1}


def test_a_deep_remote_monitor_epoch_is_refused_as_nested_too_deep(client):
    response = client.post(
        "/api/v1/keras/remote-monitor/p/r",
        content=b"data=" + DEEP_BODIES["objects"],
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    _assert_nested_too_deep(response)


def test_other_http_errors_keep_their_own_answer(client):
    # The handler that names deep bodies leaves every other HTTPException as FastAPI made it.
    response = client.post(
        "/api/v1/runs", content=b"", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    missing = client.get("/api/v1/no-such-route")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
