"""Run and compare pages opened (HTML cached first) while the server is down mid-load: the
server dies right after the HTML, then comes back; do the charts fill in, complete, once?"""
import os
import signal
import time

from harness import browser_page, post_series, rest_series, series, start_server, trace_data, training_run
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    a = training_run(base, name="a", status="running")
    b = training_run(base, name="b", status="running")
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        for url, names in ((f"{base}/run.html?run={a['id']}&scope=batch&smooth=0", ["loss"]),
                           (f"{base}/compare.html?runs={a['id']},{b['id']}&scope=batch&smooth=0", ["a \u00b7 loss", "b \u00b7 loss"])):
            # Let the HTML and modules load, but hold every API call until the server is killed.
            held = []
            page.route("**/api/v1/**", lambda route: held.append(route))
            page.goto(url)
            time.sleep(1.5)
            os.kill(server.process.pid, signal.SIGKILL); server.process.wait(); server.process = None
            page.unroute("**/api/v1/**")
            for route in held:
                try:
                    route.continue_()
                except Exception:  # noqa: BLE001
                    pass
            time.sleep(1.5)
            print("banner while down:", page.evaluate("() => document.getElementById('banner')?.innerText || document.body.innerText.match(/unreachable[^\\n]*/)?.[0]"))
            server.start()
            for r in (a, b):
                post_series(base, r["id"], series("loss", "batch", list(range(50, 60)), [0.1] * 10))
            try:
                page.wait_for_function("() => document.documentElement.dataset.ready === '1'", timeout=30000)
            except Exception as e:  # noqa: BLE001
                print("never ready:", str(e)[:60])
            time.sleep(3)
            traces = {t["name"]: t for t in trace_data(page, "loss") if t["x"]}
            for n in names:
                rid = a["id"] if n.startswith(("a", "loss")) else b["id"]
                rest = rest_series(base, rid, "loss", "batch")
                t = traces.get(n)
                print(url.split("/")[-1][:12], n, "drawn", t and len(t["x"]), "stored", len(rest["steps"]), "equal", bool(t) and t["x"] == rest["steps"])
            # make server steps differ for next round
        print("errors:", errors)
        browser.close()
finally:
    server.stop()
