"""FITWATCH_ALLOWED_ORIGINS lists a page's origin so that it may call the API *with a bearer
token* ("no cookies": allow_credentials stays off, docs/security.md). Does that page get the
signed-in user's data through the session cookie anyway? Tries: websocket (no token), fetch
GET with credentials:'include', and a JSON POST with credentials:'include'."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from harness import browser_page, start_server
from playwright.sync_api import sync_playwright

ADMIN = "adv-admin-" + "c" * 40
pages = {}


class H(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = pages.get(self.path, b"")
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


other = ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=other.serve_forever, daemon=True).start()
origin = f"http://127.0.0.1:{other.server_address[1]}"
server = start_server({"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN, "FITWATCH_ALLOWED_ORIGINS": origin})
base = server.url
H_ = {"Authorization": f"Bearer {ADMIN}"}
try:
    run = httpx.post(f"{base}/api/v1/runs", headers=H_, json={"project": "web", "name": "victim", "config": {"secret": "SECRET-123"}}).json()
    read = httpx.post(f"{base}/api/v1/tokens", headers=H_, json={"name": "u", "scope": "admin"}).json()["token"]
    ws = base.replace("http://", "ws://") + "/api/v1/live"
    pages["/a.html"] = f"""<script>
    window.got = []; window.ws = 'connecting';
    const s = new WebSocket("{ws}");
    s.onopen = () => {{ window.ws = 'open'; s.send(JSON.stringify({{type: 'subscribe', projects: ['web'], runs: ['{run["id"]}']}})); }};
    s.onmessage = (e) => window.got.push(e.data);
    s.onclose = (e) => {{ window.ws = 'closed ' + e.code; }};
    fetch("{base}/api/v1/runs/{run['id']}", {{credentials: 'include'}}).then(r => r.text()).then(t => window.getBody = t, e => window.getBody = 'blocked: ' + e);
    fetch("{base}/api/v1/runs/{run['id']}", {{method: 'PATCH', credentials: 'include', headers: {{'Content-Type': 'application/json'}},
        body: JSON.stringify({{name: 'renamed-by-other-origin'}})}}).then(r => window.patch = r.status, e => window.patch = 'blocked: ' + e);
    </script>""".encode()
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        page.goto(f"{base}/signin.html")
        page.fill("#token", read)
        page.click("#signin-submit")
        page.wait_for_function("() => document.documentElement.dataset.scope === 'admin'")
        page.goto(origin + "/a.html")
        page.wait_for_timeout(2500)
        httpx.patch(f"{base}/api/v1/runs/{run['id']}", headers=H_, json={"notes": "live note"})
        page.wait_for_timeout(1500)
        print("websocket:", page.evaluate("window.ws"))
        got = page.evaluate("window.got")
        print("websocket messages:", [json.loads(m) if not m.startswith("[") else json.loads(m) for m in got][:4])
        print("SECRET leaked over websocket:", any("SECRET-123" in m for m in got))
        print("GET with cookie:", page.evaluate("window.getBody")[:80])
        print("PATCH with cookie:", page.evaluate("window.patch"))
        print("name now:", httpx.get(f"{base}/api/v1/runs/{run['id']}", headers=H_).json()["name"])
        browser.close()
finally:
    server.stop()
    other.shutdown()
