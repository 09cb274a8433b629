"""Run page open while its run is deleted for good: does the page say so, do charts stay?"""
import httpx
from harness import browser_page, open_ready, start_server, trace_data, training_run
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    run = training_run(base, name="doomed", status="running")
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/run.html?run={run['id']}&scope=epoch")
        page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
        httpx.delete(f"{base}/api/v1/runs/{run['id']}").raise_for_status()
        page.wait_for_timeout(2000)
        print("REST:", httpx.get(f"{base}/api/v1/runs/{run['id']}").status_code)
        print("charts still drawn:", [len(t["x"]) for t in trace_data(page, "loss")])
        print("page says:", page.evaluate("() => (document.getElementById('empty-state')||{}).innerText || document.querySelector('h1')?.innerText"))
        print("live:", page.evaluate("() => document.getElementById('live-state')?.innerText"), "errors:", errors)
        browser.close()
finally:
    server.stop()
