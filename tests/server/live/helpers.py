"""REST helpers for the live tests (create a run, ingest columnar points)."""

from __future__ import annotations

from typing import Any

import httpx


def create_run(api: httpx.Client, base_url: str, **fields: Any) -> dict[str, Any]:
    response = api.post(f"{base_url}/api/v1/runs", json={"project": "live", "name": "run", **fields})
    assert response.status_code in (200, 201), response.text
    run: dict[str, Any] = response.json()
    return run


def series(key: str, scope: str, steps: list[int], values: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": key,
        "scope": scope,
        "steps": steps,
        "values": values if values is not None else [float(s) / 10 for s in steps],
        "times": [1_700_000_000.0 + s for s in steps],
    }
    if scope in ("batch", "batch_derived"):
        body["epochs"] = [s // 100 for s in steps]
    return body


def ingest(api: httpx.Client, base_url: str, run_id: str, *items: dict[str, Any]) -> None:
    response = api.post(f"{base_url}/api/v1/runs/{run_id}/points", json={"series": list(items)})
    assert response.status_code == 200, response.text


def live_status(api: httpx.Client, base_url: str) -> dict[str, Any]:
    response = api.get(f"{base_url}/api/v1/live/status")
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status
