"""The thin REST client against a real server: idempotent create, error mapping, JSON safety."""

from __future__ import annotations

import math
import uuid

import pytest

from fitwatch.client import Client, json_safe
from fitwatch.errors import RejectedError, ServerError, TransportError
from fitwatch.settings import ClientSettings
from tests.helpers.server import free_port


def test_creating_a_run_with_the_same_id_twice_is_idempotent(live_server: str) -> None:
    run_id = uuid.uuid4().hex
    with Client(ClientSettings(url=live_server)) as client:
        first = client.create_run({"id": run_id, "project": "c", "name": "first"})
        again = client.create_run({"id": run_id, "project": "c", "name": "second"})
    assert first["id"] == again["id"] == run_id
    assert again["name"] == "first"


def test_a_missing_run_is_a_retryable_404_and_a_bad_body_is_rejected(live_server: str) -> None:
    with Client(ClientSettings(url=live_server)) as client:
        with pytest.raises(ServerError) as missing:
            client.post_points("nope", {"series": [{"key": "x", "scope": "epoch", "steps": [0], "values": [1.0], "times": [0.0]}]})
        assert missing.value.status_code == 404 and missing.value.retryable
        run_id = client.create_run({"project": "c"})["id"]
        with pytest.raises(RejectedError, match="422"):
            client.post_points(run_id, {"series": [{"key": "x", "scope": "weekly", "steps": [0], "values": [1.0], "times": [0.0]}]})


def test_an_unreachable_server_is_a_transport_error() -> None:
    settings = ClientSettings(url=f"http://127.0.0.1:{free_port()}", connect_timeout_s=0.5)
    with Client(settings) as client, pytest.raises(TransportError, match="ConnectError"):
        client.heartbeat("x")


def test_json_safe_names_non_finite_values_and_stringifies_the_unknown() -> None:
    assert json_safe({"a": [math.nan, math.inf, -math.inf, 1], "b": (1, 2), "c": object}) == {
        "a": ["NaN", "Infinity", "-Infinity", 1], "b": [1, 2], "c": str(object),
    }
