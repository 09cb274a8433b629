"""api/edge.py: Host allowlist (400), browser Origin (403), JSON-only writes (415), CORS.

Auth is off here: these checks hold for a loopback server nobody signed in to.
"""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from starlette.testclient import TestClient

from fitwatch_server.api.edge import (
    HOST_VERDICTS_MAX,
    EdgeMiddleware,
    host_allowed,
    origin_allowed,
    split_host,
)
from fitwatch_server.settings import Settings
from tests.helpers.factories import make_run, series_body

POINTS = {"series": [series_body("loss", "epoch", [0], [1.0])]}


def test_a_real_server_answers_400_to_a_foreign_host(server_process, database_url):
    server = server_process(database_url).start()
    refused = httpx.get(f"{server.url}/api/v1/projects", headers={"Host": "attacker.example"})
    assert refused.status_code == 400
    assert "FITWATCH_ALLOWED_HOSTS" in refused.json()["detail"] and "attacker.example" in refused.json()["detail"]
    page = httpx.get(f"{server.url}/", headers={"Host": "attacker.example:8000"})
    assert page.status_code == 400
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "[::1]:80", "10.1.2.3:8000"):
        assert httpx.get(f"{server.url}/api/v1/projects", headers={"Host": host}).status_code == 200, host


def test_configured_host_names_are_accepted(server_process, database_url):
    server = server_process(database_url, env={"FITWATCH_ALLOWED_HOSTS": "fitwatch.example.com,*.lab.example"}).start()
    for host, status in [("fitwatch.example.com", 200), ("gpu1.lab.example", 200), ("lab.example.evil", 400)]:
        assert httpx.get(f"{server.url}/api/v1/projects", headers={"Host": host}).status_code == status, host


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("localhost", True), ("app.localhost", True), ("127.0.0.1", True), ("::1", True),
     ("192.168.1.5", True), ("attacker.example", False), ("localhost.attacker.example", False)],
)
def test_host_allowed_accepts_loopback_names_and_ip_literals_only(host, allowed):
    assert host_allowed(host, []) is allowed


def test_the_host_verdict_cache_answers_as_the_check_does_and_stays_bounded(settings: Settings):
    # The middleware remembers each Host header's verdict (a hot-path saving); a cached
    # answer must be the one the check gives, and a caller sending many hosts cannot grow it.
    edge = EdgeMiddleware(lambda *_: None, settings=settings.model_copy(update={"allowed_hosts": ["a.example"]}))
    for _ in range(2):
        for host, allowed in [("a.example", True), ("127.0.0.1:8000", True), ("b.example", False), ("a b", False)]:
            scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", host.encode())]}
            assert (edge.check(scope) is None) is allowed, host
    for n in range(HOST_VERDICTS_MAX * 3):
        assert edge.check({"type": "http", "method": "GET", "path": "/", "headers": [(b"host", f"h{n}.example".encode())]})
    assert len(edge._host_verdicts) <= HOST_VERDICTS_MAX


def test_split_host_refuses_malformed_headers():
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("Example.COM") == ("example.com", None)
    for bad in ("", "a b", "x/y", "user@host", "host:port"):
        assert split_host(bad) is None, bad


def test_origin_allowed_is_the_same_host_and_port_or_configured():
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000", [])
    assert origin_allowed("https://fitwatch.example.com", "fitwatch.example.com:443", [])
    assert not origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8000", [])
    assert not origin_allowed("null", "127.0.0.1:8000", [])
    assert origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8000", ["http://127.0.0.1:9999"])


def test_writes_that_are_not_json_get_415_and_store_nothing(client: TestClient):
    run = make_run(client)
    url = f"/api/v1/runs/{run['id']}/points"
    for content_type, body in [
        ("text/plain", json.dumps(POINTS)),
        ("application/x-www-form-urlencoded", "series=1"),
        ("multipart/form-data; boundary=x", "--x--"),
        (None, json.dumps(POINTS)),
    ]:
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post(url, content=body.encode(), headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        assert "Content-Type: application/json" in response.json()["detail"]
    assert client.get(f"/api/v1/runs/{run['id']}/series").json()["series"] == []
    assert client.patch(f"/api/v1/runs/{run['id']}", content=b"notes=x",
                        headers={"Content-Type": "text/plain"}).status_code == 415


def test_json_and_gzipped_json_are_accepted(client: TestClient):
    run = make_run(client)
    url = f"/api/v1/runs/{run['id']}/points"
    assert client.post(url, content=json.dumps(POINTS).encode(),
                       headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 200
    zipped = gzip.compress(json.dumps(POINTS).encode())
    response = client.post(url, content=zipped, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    # A POST without a body needs no content type (the SDK's heartbeat).
    assert client.post(f"/api/v1/runs/{run['id']}/heartbeat").status_code == 204


def test_a_write_from_another_origin_is_refused_with_403(client: TestClient):
    run = make_run(client)
    evil = {"Origin": "http://127.0.0.1:9999"}
    response = client.post(f"/api/v1/runs/{run['id']}/points", json=POINTS, headers=evil)
    assert response.status_code == 403 and "another origin" in response.json()["detail"]
    assert client.delete(f"/api/v1/runs/{run['id']}", headers=evil).status_code == 403
    assert client.get(f"/api/v1/runs/{run['id']}").status_code == 200
    same = client.post(f"/api/v1/runs/{run['id']}/points", json=POINTS, headers={"Origin": "http://localhost"})
    assert same.status_code == 200


def test_the_websocket_refuses_another_origin(client: TestClient):
    from starlette.testclient import WebSocketDenialResponse

    with pytest.raises(WebSocketDenialResponse) as refused:
        with client.websocket_connect("ws://localhost/api/v1/live", headers={"Origin": "http://evil.example"}):
            pass
    assert refused.value.status_code == 403
    with client.websocket_connect("ws://localhost/api/v1/live", headers={"Origin": "http://localhost"}) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_cors_is_closed_unless_configured(app, settings):
    from fitwatch_server.app import create_app

    with TestClient(app, base_url="http://localhost") as closed:
        preflight = closed.options("/api/v1/runs", headers={
            "Origin": "https://notebook.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert "access-control-allow-origin" not in preflight.headers
    opened = create_app(settings.model_copy(update={"allowed_origins": ["https://notebook.example"]}))
    with TestClient(opened, base_url="http://localhost") as cors:
        preflight = cors.options("/api/v1/runs", headers={
            "Origin": "https://notebook.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.headers["access-control-allow-origin"] == "https://notebook.example"
        assert "access-control-allow-credentials" not in preflight.headers
        created = cors.post("/api/v1/runs", json={"project": "cors"}, headers={"Origin": "https://notebook.example"})
        assert created.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/runs/a%00b"),
        ("GET", "/api/v1/runs/{run}/series/loss%00"),
        ("GET", "/api/v1/runs?project=a%00"),
        ("GET", "/api/v1/runs?filter=name%20%3D%20%22a%00%22"),
        ("GET", "/api/v1/series?runs=a%00&keys=loss"),
        ("DELETE", "/api/v1/runs/a%00b"),
        ("POST", "/api/v1/runs/a%00b/points"),
    ],
)
def test_a_url_holding_nul_is_400_before_any_route_binds_it(client, method, path):
    # PostgreSQL refuses NUL in a text parameter: these were 500s there (issue 8).
    run = client.post("/api/v1/runs", json={"project": "p"}).json()["id"]
    body = {"series": [{"key": "l", "scope": "epoch", "steps": [0], "values": [1], "times": [1.0]}]}
    response = client.request(
        method, path.replace("{run}", run), json=body if method == "POST" else None
    )
    assert response.status_code == 400, response.text
    assert "the URL contains the NUL character (%00)" in response.json()["detail"]
    assert client.get("/api/v1/runs").json()["total"] == 1
