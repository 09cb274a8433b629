"""No way in from other web pages, auth on or off (Chromium).

A page on another origin (a second local HTTP server, another port: the same *site* as
the dashboard, so a SameSite=Strict cookie would still go along) tries what issue 9 saw
work: a no-cors text/plain POST of points, a form POST that smuggles JSON, and a
websocket subscribing to the project. Nothing is stored and nothing is received. A page
reached under a rebinding name (`attacker.example`, mapped to 127.0.0.1) gets 400s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.helpers.auth import AuthServer
from tests.web.dashboard import create_run

pytestmark = pytest.mark.browser

SECRET = "SECRET-123"


def attack_page(target: str, run_id: str) -> str:
    points = json.dumps({"series": [{"key": "evil", "scope": "epoch", "steps": [0], "values": [1.0], "times": [1.0]}]})
    ws = target.replace("http://", "ws://") + "/api/v1/live"
    return f"""<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="{target}/api/v1/runs" enctype="text/plain" target="sink">
  <input name='{{"project":"web","name":"evil-form","x":"' value='"}}'>
</form>
<script>
  window.received = [];
  window.wsState = "connecting";
  fetch("{target}/api/v1/runs/{run_id}/points", {{method: "POST", mode: "no-cors",
        headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(points)}}})
    .then(() => {{ window.fetchDone = "sent"; }}, () => {{ window.fetchDone = "failed"; }});
  document.getElementById("f").submit();
  const socket = new WebSocket("{ws}");
  socket.onopen = () => {{ window.wsState = "open";
    socket.send(JSON.stringify({{type: "subscribe", projects: ["web"], runs: ["{run_id}"]}})); }};
  socket.onmessage = (event) => window.received.push(event.data);
  socket.onclose = () => {{ window.wsState = "closed"; }};
  document.querySelector("iframe").onload = () => {{ window.formDone = true; }};
</script></body></html>"""


def run_attack(page: Any, other_origin: Callable[[str], str], target: str, run_id: str) -> None:
    page.goto(other_origin(attack_page(target, run_id)))
    page.wait_for_function("() => window.fetchDone !== undefined && window.formDone === true && "
                       "(window.wsState === 'closed' || window.received.length > 0)")
    assert page.evaluate("() => window.received") == []
    assert page.evaluate("() => window.wsState") == "closed"
    # The refused form's answer may not even be shown inside the other page (frame-ancestors).
    framing = [e for e in page.fitwatch_errors if "frame-ancestors" in e]
    assert framing, page.fitwatch_errors
    for error in framing:
        page.fitwatch_errors.remove(error)


def assert_nothing_stored(http: httpx.Client, run_id: str) -> None:
    runs = http.get("/api/v1/runs", params={"project": "web"}).json()["runs"]
    assert [r["name"] for r in runs] == ["victim"]
    assert http.get(f"/api/v1/runs/{run_id}/series").json()["series"] == []


def test_another_origin_cannot_write_or_listen_with_auth_off(
    page: Any, live_server: str, other_origin: Callable[[str], str]
):
    run = create_run(live_server, name="victim", config={"wandb_api_key": SECRET})
    run_attack(page, other_origin, live_server, run["id"])
    with httpx.Client(base_url=live_server) as http:
        assert_nothing_stored(http, run["id"])


def test_another_origin_cannot_ride_a_signed_in_session(
    page: Any, auth_live_server: AuthServer, other_origin: Callable[[str], str]
):
    http = auth_live_server.stored.http
    run = http.post("/runs", json={"project": "web", "name": "victim", "config": {"wandb_api_key": SECRET}}).json()
    # The user signs in on the dashboard: the browser now holds the session cookie.
    page.goto(f"{auth_live_server.url}/signin.html")
    page.fill("#token", auth_live_server.token("admin"))
    page.click("#signin-submit")
    page.wait_for_function("() => document.documentElement.dataset.scope === 'admin'")
    run_attack(page, other_origin, auth_live_server.url, run["id"])
    with httpx.Client(base_url=auth_live_server.url, headers=dict(http.headers)) as admin:
        assert_nothing_stored(admin, run["id"])


def test_a_rebinding_name_gets_400_in_the_browser(page: Any, live_server: str):
    port = live_server.rsplit(":", 1)[1]
    response = page.goto(f"http://attacker.example:{port}/api/v1/projects")
    assert response is not None and response.status == 400
    assert "attacker.example" in page.text_content("body") and SECRET not in page.text_content("body")
    page_response = page.goto(f"http://attacker.example:{port}/")
    assert page_response is not None and page_response.status == 400
