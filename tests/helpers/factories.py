"""Factories for API tests: make a run, post points."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def make_run(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"project": "test", "name": "run", **fields}
    response = client.post("/api/v1/runs", json=body)
    assert response.status_code in (200, 201), response.text
    run: dict[str, Any] = response.json()
    return run


def series_body(
    key: str, scope: str, steps: list[int], values: list[Any], epochs: list[int] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": key,
        "scope": scope,
        "steps": steps,
        "values": values,
        "times": [1_700_000_000.0 + s for s in steps],
    }
    if epochs is not None:
        body["epochs"] = epochs
    return body


def post_points(client: TestClient, run_id: str, *series: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/runs/{run_id}/points", json={"series": list(series)})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
