"""The dashboard signs in: a token once, a session cookie after; read-only sessions see no
edit controls; the websocket goes by the cookie; signing out ends the session (Chromium,
a real server with FITWATCH_AUTH=on)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.auth import AuthServer
from tests.web.dashboard import series

pytestmark = pytest.mark.browser

def admin_run(server: AuthServer, name: str = "secured") -> dict[str, Any]:
    http = server.stored.http
    run = http.post("/runs", json={"project": "web", "name": name}).json()
    http.post(f"/runs/{run['id']}/points", json={"series": [series("loss", "epoch", [0, 1], [1.0, 0.5])]}).raise_for_status()
    return run


def sign_in(page: Any, server: AuthServer, token: str, next_path: str = "/") -> None:
    page.goto(f"{server.url}{next_path}")
    page.wait_for_url("**/signin.html?next=*")
    page.fill("#token", token)
    page.click("#signin-submit")
    page.wait_for_function("() => document.documentElement.dataset.scope !== undefined")


def test_a_page_without_a_session_goes_to_sign_in_and_comes_back_after(page: Any, auth_live_server: AuthServer):
    run = admin_run(auth_live_server)
    sign_in(page, auth_live_server, auth_live_server.token("read"), f"/run.html?run={run['id']}")
    assert page.url == f"{auth_live_server.url}/run.html?run={run['id']}"
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert page.text_content("#run-name") == "secured"
    assert page.text_content("#session-scope") == "read"
    cookie = next(c for c in page.context.cookies() if c["name"] == "fitwatch_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert page.evaluate("() => document.cookie") == ""  # page scripts cannot read it
    # The page never kept the token anywhere it could be read back.
    assert page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})") == "{}{}"


def test_a_wrong_token_is_refused_on_the_sign_in_page(page: Any, auth_live_server: AuthServer):
    page.goto(f"{auth_live_server.url}/signin.html")
    page.fill("#token", "fw_not-a-token")
    page.click("#signin-submit")
    page.wait_for_function("() => document.getElementById('signin-error').textContent.length > 0")
    assert "unknown or revoked" in page.text_content("#signin-error")
    assert not [c for c in page.context.cookies() if c["name"] == "fitwatch_session"]


def test_read_sessions_see_no_edit_controls_and_admin_sessions_can_delete(
    page: Any, browser: Any, auth_live_server: AuthServer
):
    run = admin_run(auth_live_server)
    sign_in(page, auth_live_server, auth_live_server.token("read"), f"/run.html?run={run['id']}")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert page.locator("#delete-run").count() == 1 and not page.is_visible("#delete-run")
    write = browser.new_context()
    writer = write.new_page()
    sign_in(writer, auth_live_server, auth_live_server.token("write"), f"/run.html?run={run['id']}")
    writer.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert not writer.is_visible("#delete-run")
    write.close()

    admin = browser.new_context()
    boss = admin.new_page()
    sign_in(boss, auth_live_server, auth_live_server.token("admin"), f"/run.html?run={run['id']}")
    boss.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert boss.is_visible("#delete-run")
    boss.on("dialog", lambda dialog: dialog.accept())
    boss.click("#delete-run")
    boss.wait_for_url("**/?project=web")
    assert auth_live_server.stored.http.get(f"/runs/{run['id']}").status_code == 404
    admin.close()


def test_the_websocket_is_authorised_by_the_session_cookie(page: Any, auth_live_server: AuthServer):
    run = admin_run(auth_live_server, name="live")
    sign_in(page, auth_live_server, auth_live_server.token("read"), f"/run.html?run={run['id']}")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    auth_live_server.stored.http.post(
        f"/runs/{run['id']}/points", json={"series": [series("loss", "epoch", [2], [0.25])]}
    ).raise_for_status()
    page.wait_for_function(
        "() => { const d = document.querySelector('.chart[data-key=loss]'); return d && d.data && d.data[0].x.length === 3; }"
    )


def test_signing_out_ends_the_session(page: Any, auth_live_server: AuthServer):
    sign_in(page, auth_live_server, auth_live_server.token("read"))
    secret = next(c for c in page.context.cookies() if c["name"] == "fitwatch_session")["value"]
    page.click("#sign-out")
    page.wait_for_url("**/signin.html")
    assert not [c for c in page.context.cookies() if c["name"] == "fitwatch_session"]
    # The old cookie no longer works anywhere, even sent by hand.
    refused = httpx.get(f"{auth_live_server.url}/api/v1/auth/whoami", cookies={"fitwatch_session": secret})
    assert refused.status_code == 401
    page.goto(f"{auth_live_server.url}/")
    # wait_for_url, not a poll of page.url: the sync API only sees a navigation while it runs.
    page.wait_for_url("**/signin.html*")


def test_with_auth_off_there_is_nothing_to_sign_in_to(page: Any, live_server: str):
    page.goto(f"{live_server}/signin.html")
    page.wait_for_selector("#auth-off")
    page.goto(f"{live_server}/")
    page.wait_for_function("() => document.documentElement.dataset.scope === 'admin'")
    assert page.locator("#session").count() == 0


def test_signing_in_never_sends_the_user_to_another_site(page: Any, auth_live_server: AuthServer):
    page.goto(f"{auth_live_server.url}/signin.html")
    targets = page.evaluate("""async () => {
        const { nextPath } = await import("/js/pages/signin.js");
        return ["?next=//evil.example/x", "?next=https://evil.example", "?next=/\\\\evil.example",
                "?next=/run.html?run=a", ""].map(nextPath);
    }""")
    assert targets == ["./", "./", "./", "/run.html?run=a", "./"]
