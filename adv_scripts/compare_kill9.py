"""Compare page (batch, two running runs) while both log; kill -9 the server, log while it is
down (journal-like: the points are posted once it is back), restart, and compare each line
with REST: every stored point once."""
import os
import signal
import time

from harness import browser_page, create_run, open_ready, post_series, rest_series, series, start_server, trace_data
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    runs = [create_run(base, name=n) for n in ("a", "b")]
    for r in runs:
        post_series(base, r["id"], series("loss", "batch", list(range(50)), [1 / (1 + s) for s in range(50)]))
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/compare.html?runs={runs[0]['id']},{runs[1]['id']}&scope=batch&smooth=0")
        page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
        step = 50
        for _ in range(10):
            for r in runs:
                post_series(base, r["id"], series("loss", "batch", [step], [1 / (1 + step)]))
            step += 1
            time.sleep(0.03)
        os.kill(server.process.pid, signal.SIGKILL); server.process.wait(); server.process = None
        page.wait_for_function("() => document.documentElement.dataset.live === 'closed'")
        server.start()
        for r in runs:
            post_series(base, r["id"], series("loss", "batch", list(range(step, step + 40)), [1 / (1 + s) for s in range(step, step + 40)]))
        step += 40
        page.wait_for_function("() => document.documentElement.dataset.live === 'open'", timeout=30000)
        for _ in range(10):
            for r in runs:
                post_series(base, r["id"], series("loss", "batch", [step], [1 / (1 + step)]))
            step += 1
            time.sleep(0.03)
        time.sleep(2)
        for r in runs:
            line = next(t for t in trace_data(page, "loss") if t["name"] == f"{r['name']} \u00b7 loss")
            rest = rest_series(base, r["id"], "loss", "batch")
            print(r["name"], "drawn", len(line["x"]), "stored", len(rest["steps"]), "equal", (line["x"], line["y"]) == (rest["steps"], rest["values"]))
        print("errors:", errors)
        browser.close()
finally:
    server.stop()
