"""Run documents (config, summary, notes): poison input is refused whole, NaN/Inf stored as
valid JSON that reads back and filters, and no run can break the runs list (issue 8)."""

from __future__ import annotations

import json
import math

import httpx
import pytest

from fitwatch_server.errors import InvalidInput, LimitExceeded, PayloadTooLarge
from fitwatch_server.store.documents import DocumentLimits, encode_document
from tests.helpers.factories import make_run


def nested(depth: int) -> dict[str, object]:
    """{"a": {"a": ... {}}}: `depth` levels of objects, counting the outermost."""
    document: dict[str, object] = {}
    for _ in range(depth - 1):
        document = {"a": document}
    return document


def post_json(client, path: str, text: str, method: str = "POST"):  # type: ignore[no-untyped-def]
    """Send `text` as it is: Python's json emits bare NaN/Infinity, and so may any client."""
    return client.request(method, path, content=text, headers={"content-type": "application/json"})


POISON_CREATES = [
    ({"config": nested(256)}, 422, "config nests deeper than 64 levels"),
    ({"config": nested(65)}, 422, "FITWATCH_MAX_DOCUMENT_DEPTH"),
    (
        {"config": {"blob": "x" * (1024 * 1024)}},
        413,
        "the limit is 1048576 bytes (FITWATCH_MAX_DOCUMENT_BYTES)",
    ),
    ({"config": {"name": "a\u0000b"}}, 400, "config.name contains the NUL character"),
    ({"config": {"a\u0000": 1}}, 400, "contains the NUL character"),
    ({"config": {"layers": [{"name": "x\u0000"}]}}, 400, "config.layers[0].name contains the NUL"),
    ({"notes": "a\u0000b"}, 422, "notes must not contain the NUL character"),
]


@pytest.mark.parametrize(("body", "status", "message"), POISON_CREATES)
def test_a_poison_config_is_refused_with_its_limit_and_nothing_is_stored(
    client, body, status, message
):
    make_run(client, name="good")
    response = client.post("/api/v1/runs", json={"project": "test", "id": "poison", **body})
    assert response.status_code == status, response.text
    assert message in response.text
    assert client.get("/api/v1/runs/poison").status_code == 404
    listed = client.get("/api/v1/runs")
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()["runs"]] == ["good"]


def test_a_config_at_the_limits_is_stored_and_listed(client):
    deep = nested(64)
    run = make_run(client, config=deep)
    assert client.get(f"/api/v1/runs/{run['id']}").json()["config"] == deep
    assert client.get("/api/v1/runs").json()["runs"][0]["config"] == deep


def test_an_update_that_would_poison_a_run_is_refused_and_changes_nothing(client):
    run = make_run(client, config={"lr": 0.1}, notes="kept")
    path = f"/api/v1/runs/{run['id']}"
    deep = client.patch(path, json={"summary": nested(100), "notes": "lost"})
    assert deep.status_code == 422 and "summary nests deeper than 64 levels" in deep.text
    # Each update is small, but merged into the stored config they pass the size limit.
    half = "x" * (600 * 1024)
    assert client.patch(path, json={"config": {"a": half}}).status_code == 200
    grown = client.patch(path, json={"config": {"b": half}})
    assert grown.status_code == 413 and "config takes" in grown.text
    nul = client.patch(path, json={"summary": {"best": "\u0000"}})
    assert nul.status_code == 400
    stored = client.get(path).json()
    assert (stored["notes"], sorted(stored["config"]), stored["summary"]) == (
        "kept",
        ["a", "lr"],
        {},
    )


def test_bare_nan_and_infinity_are_stored_as_names_that_read_back_filter_and_sort(client):
    nan_run = post_json(
        client,
        "/api/v1/runs",
        '{"project": "test", "name": "nan", "config": {"lr": NaN, "clip": [Infinity, -Infinity]}}',
    )
    assert nan_run.status_code == 201, nan_run.text
    assert nan_run.json()["config"] == {"lr": "NaN", "clip": ["Infinity", "-Infinity"]}
    finite = make_run(client, name="finite", config={"lr": 0.01})
    updated = post_json(
        client, f"/api/v1/runs/{nan_run.json()['id']}", '{"summary": {"best": NaN}}', method="PATCH"
    )
    assert updated.status_code == 200 and updated.json()["summary"] == {"best": "NaN"}
    client.patch(f"/api/v1/runs/{finite['id']}", json={"summary": {"best": 0.5}})

    def names(**params: str) -> list[str]:
        response = client.get("/api/v1/runs", params=params)
        assert response.status_code == 200, response.text
        return [r["name"] for r in response.json()["runs"]]

    # Stored as text, a NaN is no number: numeric filters skip it, sorts put it last.
    assert names(filter="config.lr > 0") == ["finite"]
    assert names(filter='config.lr = "NaN"') == ["nan"]
    assert names(filter="summary.best < 1") == ["finite"]
    assert names(sort="summary.best") == ["finite", "nan"]
    assert names(sort="-config.lr") == ["finite", "nan"]
    assert client.get(f"/api/v1/runs/{nan_run.json()['id']}").json()["config"]["lr"] == "NaN"


def test_bare_nan_in_notes_or_tags_is_a_422(client):
    for body in ('{"notes": NaN}', '{"tags": [NaN]}'):
        response = post_json(client, "/api/v1/runs", body)
        assert response.status_code == 422, response.text
        assert "valid string" in response.text
        json.loads(response.text)  # the error itself is valid JSON
    assert client.get("/api/v1/runs").json()["total"] == 0


def test_poison_runs_never_break_the_runs_list_also_after_a_restart(server_process, database_url):
    server = server_process(database_url).start()
    with httpx.Client(base_url=server.url + "/api/v1") as http:
        assert http.post("/runs", json={"project": "p", "name": "good"}).status_code == 201
        for text in (
            json.dumps({"project": "p", "config": nested(256)}),
            json.dumps({"project": "p", "config": {"x": "y" * 2_000_000}}),
            json.dumps({"project": "p", "config": {"a": "\u0000"}}),
            '{"project": "p", "name": "nan", "config": {"lr": NaN}}',
        ):
            response = http.post(
                "/runs", content=text, headers={"content-type": "application/json"}
            )
            assert response.status_code < 500, response.text
        for params in ({}, {"filter": "config.lr > 0"}, {"sort": "config.lr"}):
            listed = http.get("/runs", params=params)
            assert listed.status_code == 200, listed.text
    server.stop()
    server.start()
    with httpx.Client(base_url=server.url + "/api/v1") as http:
        listed = http.get("/runs", params={"sort": "name"})
        assert listed.status_code == 200, listed.text
        assert [(r["name"], r["config"]) for r in listed.json()["runs"]] == [
            ("good", {}),
            ("nan", {"lr": "NaN"}),
        ]


def test_encoding_copies_and_walks_without_recursion():
    # 100,000 levels: a recursive walk would exhaust Python's stack before the check.
    with pytest.raises(LimitExceeded, match="nests deeper than 64 levels"):
        encode_document(nested(100_000), what="config", limits=DocumentLimits())
    original = {"a": [1.5, math.nan, {"b": -math.inf}], "c": "text", "d": None, "e": True}
    encoded = encode_document(original, what="config", limits=DocumentLimits(max_depth=3))
    assert encoded == {"a": [1.5, "NaN", {"b": "-Infinity"}], "c": "text", "d": None, "e": True}
    assert math.isnan(original["a"][1])  # type: ignore[index]
    with pytest.raises(LimitExceeded):
        encode_document(original, what="config", limits=DocumentLimits(max_depth=2))
    with pytest.raises(PayloadTooLarge, match="takes 14 bytes"):
        encode_document({"a": "xxxxxx"}, what="config", limits=DocumentLimits(max_bytes=13))
    with pytest.raises(InvalidInput, match=r"config\.a\[1\] contains the NUL"):
        encode_document({"a": ["ok", "\u0000"]}, what="config", limits=DocumentLimits())


def test_whoami_tells_clients_the_document_limits(client):
    limits = client.get("/api/v1/auth/whoami").json()["limits"]
    assert (limits["max_document_depth"], limits["max_document_bytes"]) == (64, 1024 * 1024)
