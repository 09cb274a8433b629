"""Security headers on every kind of answer (JSON, error, export, static, websocket refusal),
and cross-origin preflight with no FITWATCH_ALLOWED_ORIGINS."""
import httpx
from harness import create_run, post_series, series, start_server

server = start_server()
base = server.url
try:
    r = create_run(base, name="h")
    post_series(base, r["id"], series("loss", "epoch", [0], [1.0]))
    for path in ["/api/v1/runs", f"/api/v1/runs/{r['id']}/export", f"/api/v1/runs/{r['id']}/export?format=json", "/api/v1/runs/nope",
                 "/", "/run.html", "/js/api.js", "/vendor/plotly-basic.min.js", "/nonexistent.js", "/api/v1/live"]:
        resp = httpx.get(base + path)
        h = resp.headers
        print(resp.status_code, path[:40].ljust(40), "CORP", h.get("cross-origin-resource-policy"), "| nosniff", h.get("x-content-type-options"),
              "| ACAO", h.get("access-control-allow-origin"), "| CSP", bool(h.get("content-security-policy")), "| type", h.get("content-type", "")[:25])
    pre = httpx.options(base + "/api/v1/runs", headers={"Origin": "http://evil.example:1", "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "content-type"})
    print("preflight", pre.status_code, dict((k, v) for k, v in pre.headers.items() if k.startswith("access-control")))
    for origin in ["null", "http://127.0.0.1:1", f"http://localhost:{server.port}", f"HTTP://127.0.0.1:{server.port}", f"http://127.0.0.1:{server.port}/", f"http://127.0.0.1.:{server.port}"]:
        resp = httpx.post(base + "/api/v1/runs", headers={"Origin": origin}, json={"project": "x", "name": "y"})
        print("POST Origin", origin.ljust(28), resp.status_code)
    resp = httpx.post(base + "/api/v1/runs", headers={"Origin": f"http://127.0.0.1.:{server.port}", "Host": f"127.0.0.1.:{server.port}"}, json={"project": "x", "name": "y"})
    print("POST Host 127.0.0.1. ", resp.status_code)
finally:
    server.stop()
