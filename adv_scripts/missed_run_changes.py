"""Run page: the server goes down (kill -9), comes back, and the run is renamed and finished
before the page reconnects. After the reconnect, does the page show the new name and status?"""
import os
import signal
import time

import httpx
from harness import browser_page, open_ready, start_server, training_run
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    run = training_run(base, name="before", status="running")
    b = training_run(base, name="other", status="running")
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        for url in (f"{base}/run.html?run={run['id']}&scope=epoch", f"{base}/compare.html?runs={run['id']},{b['id']}&scope=epoch"):
            httpx.patch(f"{base}/api/v1/runs/{run['id']}", json={"name": "before", "status": "running"}).raise_for_status()
            open_ready(page, url)
            page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
            os.kill(server.process.pid, signal.SIGKILL); server.process.wait(); server.process = None
            page.wait_for_function("() => document.documentElement.dataset.live === 'closed'")
            time.sleep(4)  # the page's backoff grows (0.5, 1, 2, 4 s)
            server.start()
            httpx.patch(f"{base}/api/v1/runs/{run['id']}", json={"name": "after", "status": "finished"}).raise_for_status()
            page.wait_for_function("() => document.documentElement.dataset.live === 'open'", timeout=30000)
            time.sleep(3)
            text = page.evaluate("() => document.querySelector('main').innerText")
            print(url.split("/")[-1][:8], "shows 'after':", "after" in text, "| shows 'before':", "before" in text,
                  "| status badge:", page.evaluate("() => [...document.querySelectorAll('.status')].map(e => e.textContent).slice(0, 2)"))
        print("errors:", errors[:3])
        browser.close()
finally:
    server.stop()
