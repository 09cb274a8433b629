"""The auth routes and what tokens do over the API: whoami, sign-in and sign-out, tokens,
revocation, the bootstrap token, the rate limit and the ceilings (auth on, both backends)."""

from __future__ import annotations

import time

from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.helpers.factories import series_body
from tests.server.conftest import ADMIN, ADMIN_TOKEN


def make_token(client: TestClient, name: str, scope: str, project: str | None = None) -> dict:
    body = {"name": name, "scope": scope, **({"project": project} if project else {})}
    response = client.post("/api/v1/tokens", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['token']}"}


def test_whoami_says_who_the_token_is_and_the_servers_limits(auth_client: TestClient):
    token = make_token(auth_client, "ci", "write", "digits")
    me = auth_client.get("/api/v1/auth/whoami", headers=bearer(token)).json()
    assert (me["auth"], me["name"], me["scope"], me["project"], me["via"]) == (True, "ci", "write", "digits", "token")
    assert me["limits"]["max_points_per_request"] == 100_000
    boot = auth_client.get("/api/v1/auth/whoami", headers=ADMIN).json()
    assert (boot["scope"], boot["via"], boot["project"]) == ("admin", "bootstrap", None)


def test_with_auth_off_everyone_is_the_local_admin(client: TestClient):
    me = client.get("/api/v1/auth/whoami").json()
    assert (me["auth"], me["scope"], me["via"]) == (False, "admin", "local")


def test_a_malformed_authorization_header_says_what_to_send(auth_client: TestClient):
    response = auth_client.get("/api/v1/runs", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert response.status_code == 401
    assert "must be 'Bearer <token>'" in response.json()["detail"] and "'Basic'" in response.json()["detail"]


def test_signing_in_sets_a_strict_httponly_cookie_that_signing_out_ends(auth_client: TestClient):
    token = make_token(auth_client, "alice", "read")
    signed_in = auth_client.post("/api/v1/auth/session", headers=bearer(token))
    assert signed_in.status_code == 200 and signed_in.json()["via"] == "token"
    cookie = signed_in.headers["set-cookie"]
    assert "fitwatch_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # plain http on loopback
    secret = auth_client.cookies["fitwatch_session"]
    assert token["token"] not in cookie and secret != token["token"]
    # The cookie alone now authenticates, with the token's scope.
    me = auth_client.get("/api/v1/auth/whoami").json()
    assert (me["via"], me["scope"]) == ("session", "read")
    assert auth_client.delete(f"/api/v1/runs/{'x' * 8}").status_code == 403
    signed_out = auth_client.delete("/api/v1/auth/session")
    assert signed_out.status_code == 204 and 'fitwatch_session=""' in signed_out.headers["set-cookie"]
    # The old cookie is dead on the server, not only forgotten by the browser.
    auth_client.cookies.set("fitwatch_session", secret)
    assert auth_client.get("/api/v1/auth/whoami").status_code == 401


def test_the_bootstrap_token_and_cookies_cannot_sign_in(auth_client: TestClient):
    refused = auth_client.post("/api/v1/auth/session", headers=ADMIN)
    assert refused.status_code == 403 and "fitwatch token create" in refused.json()["detail"]
    token = make_token(auth_client, "bob", "read")
    assert auth_client.post("/api/v1/auth/session", headers=bearer(token)).status_code == 200
    again = auth_client.post("/api/v1/auth/session")  # with the cookie only
    assert again.status_code == 403


def test_revoking_a_token_refuses_it_at_once_and_ends_its_sessions(auth_client: TestClient):
    token = make_token(auth_client, "leaver", "write")
    assert auth_client.get("/api/v1/runs", headers=bearer(token)).status_code == 200
    assert auth_client.post("/api/v1/auth/session", headers=bearer(token)).status_code == 200
    revoked = auth_client.delete("/api/v1/tokens/leaver", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = auth_client.get("/api/v1/runs", headers=bearer(token))
    assert refused.status_code == 401 and "unknown or revoked" in refused.json()["detail"]
    assert auth_client.get("/api/v1/runs").status_code == 401  # the session cookie too


def test_token_listings_show_use_but_never_the_token(auth_client: TestClient):
    token = make_token(auth_client, "ci", "write")
    auth_client.get("/api/v1/runs", headers=bearer(token))
    listed = auth_client.get("/api/v1/tokens", headers=ADMIN)
    assert token["token"] not in listed.text
    [row] = listed.json()["tokens"]
    assert (row["name"], row["scope"], row["project"], row["prefix"]) == ("ci", "write", None, token["token"][:10])
    assert row["last_used_at"] is not None and row["created_at"] is not None


def test_a_project_admin_cannot_manage_tokens(auth_client: TestClient):
    boss = make_token(auth_client, "boss", "admin", "digits")
    refused = auth_client.post("/api/v1/tokens", json={"name": "x", "scope": "admin"}, headers=bearer(boss))
    assert refused.status_code == 403 and "every project" in refused.json()["detail"]


def test_a_taken_token_name_is_a_409(auth_client: TestClient):
    make_token(auth_client, "twice", "read")
    again = auth_client.post("/api/v1/tokens", json={"name": "twice", "scope": "read"}, headers=ADMIN)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]


def test_a_token_named_by_non_ascii_digits_is_looked_up_by_name(auth_client: TestClient):
    # "²".isdigit() is True but int("²") raises: it was a 500 (found by the OpenAPI fuzz test).
    make_token(auth_client, "²", "read")
    assert auth_client.delete("/api/v1/tokens/%C2%B9", headers=ADMIN).status_code == 404
    assert auth_client.delete("/api/v1/tokens/%C2%B2", headers=ADMIN).status_code == 200


def test_too_many_requests_get_429_with_retry_after(auth_settings):
    from starlette.testclient import TestClient as Client

    from fitwatch_server.app import create_app

    app = create_app(auth_settings.model_copy(update={"rate_limit_per_s": 3}))
    with Client(app, base_url="http://localhost") as limited:
        limited.get("/api/v1/projects", headers=ADMIN)  # the first request opens the database
        time.sleep(1.1)  # ...and leaves the window before the burst
        # A burst: on a loaded machine 4 requests may not fit in one second, 20 do.
        answers = [limited.get("/api/v1/projects", headers=ADMIN) for _ in range(20)]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [200, 200, 200] and 429 in codes, codes
    refused = answers[codes.index(429)]
    assert refused.headers["retry-after"] == "1"
    assert "more than 3 requests in one second (FITWATCH_RATE_LIMIT_PER_S)" in refused.json()["detail"]


def test_guessing_tokens_counts_against_the_address(auth_settings):
    from starlette.testclient import TestClient as Client

    from fitwatch_server.app import create_app

    app = create_app(auth_settings.model_copy(update={"rate_limit_per_s": 2}))
    with Client(app, base_url="http://localhost") as limited:
        statuses = [limited.get("/api/v1/runs", headers={"Authorization": f"Bearer fw_guess{i}"}).status_code
                    for i in range(4)]
    assert statuses[:2] == [401, 401] and 429 in statuses[2:]


def test_ceilings_answer_with_a_4xx_that_names_the_limit(auth_settings):
    from starlette.testclient import TestClient as Client

    from fitwatch_server.app import create_app

    app = create_app(auth_settings.model_copy(update={
        "max_runs_per_project": 1, "max_series_per_run": 2, "max_points_per_request": 4}))
    with Client(app, base_url="http://localhost") as limited:
        run = limited.post("/api/v1/runs", json={"project": "p", "id": "r1"}, headers=ADMIN)
        assert run.status_code == 201
        assert limited.post("/api/v1/runs", json={"project": "p", "id": "r1"}, headers=ADMIN).status_code == 200
        second = limited.post("/api/v1/runs", json={"project": "p"}, headers=ADMIN)
        assert second.status_code == 422 and "FITWATCH_MAX_RUNS_PER_PROJECT" in second.json()["detail"]
        url = "/api/v1/runs/r1/points"
        big = limited.post(url, json={"series": [series_body("a", "epoch", [0, 1, 2, 3, 4], [1.0] * 5)]}, headers=ADMIN)
        assert big.status_code == 413 and "FITWATCH_MAX_POINTS_PER_REQUEST" in big.json()["detail"]
        ok = limited.post(url, json={"series": [series_body(k, "epoch", [0], [1.0]) for k in ("a", "b")]}, headers=ADMIN)
        assert ok.status_code == 200
        third = limited.post(url, json={"series": [series_body("c", "epoch", [0], [1.0])]}, headers=ADMIN)
        assert third.status_code == 422 and "FITWATCH_MAX_SERIES_PER_RUN" in third.json()["detail"]
        assert limited.get("/api/v1/runs/r1/series", headers=ADMIN).json()["series"].__len__() == 2


def test_a_short_bootstrap_token_is_refused_with_how_to_make_one():
    import pytest

    from fitwatch_server.settings import Settings

    with pytest.raises(ValueError, match="at least 32 characters"):
        Settings(database_url="sqlite://", admin_token="short")
    assert Settings(database_url="sqlite://", admin_token="").admin_token is None
    assert Settings(database_url="sqlite://", admin_token=ADMIN_TOKEN).admin_token == SecretStr(ADMIN_TOKEN)


def test_revoking_a_token_closes_its_open_websockets(server_process, database_url):
    import httpx
    from websockets.exceptions import ConnectionClosed

    from tests.server.live.client import LiveClient

    server = server_process(database_url, env={
        "FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN_TOKEN, "FITWATCH_LIVE_PING_INTERVAL_S": "0.5"}).start()
    made = httpx.post(f"{server.url}/api/v1/tokens", json={"name": "watcher", "scope": "read"}, headers=ADMIN)
    client = LiveClient(server.url, headers={"Authorization": f"Bearer {made.json()['token']}"})
    try:
        client.subscribe(projects=["p"])
        httpx.delete(f"{server.url}/api/v1/tokens/watcher", headers=ADMIN).raise_for_status()
        try:
            client.until(lambda ms: any(m["type"] == "error" and "revoked" in m["detail"] for m in ms), timeout=30)
            client.until(lambda ms: False, timeout=30)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008
        else:
            raise AssertionError("the websocket stayed open after its token was revoked")
    finally:
        client.close()
