"""Schemathesis: inputs generated from our own OpenAPI schema never get a 500.

Runs on SQLite (the fuzzing explores the HTTP layer; the storage code paths it reaches are
the same on both backends and covered there by the API tests).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from fitwatch_server.app import create_app
from fitwatch_server.settings import Settings


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from starlette.testclient import TestClient

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    # Schemathesis calls the app as "testserver": allow that name like a deployment would.
    app = create_app(Settings(database_url=f"sqlite:///{path}", allowed_hosts=["testserver"]))
    with TestClient(app, base_url="http://localhost") as client:  # runs the lifespan: migrations
        run = client.post("/api/v1/runs", json={"project": "fuzz", "id": "fuzzrun", "name": "fuzz"})
        assert run.status_code in (200, 201)
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
