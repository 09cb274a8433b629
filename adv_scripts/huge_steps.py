"""Steps beyond 2^53 (JavaScript's exact integers): does the server take them, and does the
chart draw two stored points on one x?"""
import httpx
from harness import browser_page, create_run, open_ready, rest_series, start_server, trace_data
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    run = create_run(base, name="big")
    steps = [2**53, 2**53 + 1, 2**53 + 2]
    r = httpx.post(f"{base}/api/v1/runs/{run['id']}/points", json={"series": [{"key": "loss", "scope": "epoch", "steps": steps, "values": [1, 2, 3], "times": [1, 2, 3]}]})
    print("ingest:", r.status_code, r.text[:200])
    if r.status_code == 200:
        print("REST:", httpx.get(f"{base}/api/v1/runs/{run['id']}/series/loss", params={"scope": "epoch"}).text[:200])
        with sync_playwright() as p:
            browser, page, errors = browser_page(p)
            open_ready(page, f"{base}/run.html?run={run['id']}&scope=epoch&smooth=0")
            t = trace_data(page, "loss")[0]
            print("drawn x:", t["x"], "y:", t["y"], "distinct x:", len(set(t["x"])))
            browser.close()
finally:
    server.stop()
