"""Compare page live: rename one run, then DELETE another for good; read gd.data names/traces."""
import httpx
from harness import browser_page, open_ready, start_server, training_run
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    a = training_run(base, name="alpha", status="running")
    b = training_run(base, name="beta", status="running")
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/compare.html?runs={a['id']},{b['id']}&scope=epoch&smooth=0")
        page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
        names = lambda: page.evaluate("""() => [...document.querySelectorAll('.chart')].map(d => (d.data||[]).filter(t=>t.x && t.x.length).map(t => t.name))""")
        legend = lambda: page.evaluate("() => document.getElementById('run-legend').innerText")
        print("before:", names()[0], "| legend:", legend())
        httpx.patch(f"{base}/api/v1/runs/{a['id']}", json={"name": "ALPHA-RENAMED"}).raise_for_status()
        page.wait_for_timeout(1500)
        print("after rename:", names()[0], "| legend:", legend())
        httpx.delete(f"{base}/api/v1/runs/{b['id']}").raise_for_status()
        page.wait_for_timeout(1500)
        print("after delete of beta:", names()[0], "| legend:", legend())
        print("REST beta:", httpx.get(f"{base}/api/v1/runs/{b['id']}").status_code, "errors:", errors)
        browser.close()
finally:
    server.stop()
