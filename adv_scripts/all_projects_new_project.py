"""Runs table, all-projects view, live: a run created in an existing project, and one in a
project that did not exist when the page opened."""
import httpx
from harness import browser_page, create_run, open_ready, start_server
from playwright.sync_api import sync_playwright
import sys
ALL = sys.argv[1] if len(sys.argv) > 1 else "*"

server = start_server()
base = server.url
try:
    create_run(base, project="a", name="first")
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/?project={ALL}")
        page.wait_for_timeout(1500)
        rows = lambda: page.evaluate("() => [...document.querySelectorAll('tbody tr')].map(r => r.innerText.replace(/\\s+/g, ' ').slice(0, 60))")
        print("before:", rows())
        if "--also-a" in sys.argv: create_run(base, project="a", name="second-in-a")
        create_run(base, project="brand-new", name="in-new-project")
        page.wait_for_timeout(3000)
        print("after:", rows())
        print("REST all:", [r["name"] for r in httpx.get(f"{base}/api/v1/runs").json()["runs"]])
        print("errors:", errors)
        browser.close()
finally:
    server.stop()
