"""Compare page with Bands on (group=-config.seed): a metric first logged after the page opened.
points of the shown key for a run that had none)."""
from harness import browser_page, create_run, open_ready, post_series, series, start_server, trace_data
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    a = create_run(base, name="a")
    b = create_run(base, name="b")
    post_series(base, a["id"], series("loss", "epoch", [0, 1], [1.0, 0.9]))
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/compare.html?runs={a['id']},{b['id']}&scope=epoch&smooth=0&group=-config.seed")
        page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
        post_series(base, b["id"], series("loss", "epoch", [0, 1, 2], [2.0, 1.9, 1.8]))   # b's first points
        post_series(base, a["id"], series("accuracy", "epoch", [0, 1, 2], [0.1, 0.2, 0.3]))  # new key
        post_series(base, a["id"], series("loss", "epoch", [2], [0.8]))
        page.wait_for_timeout(5000)
        charts = page.evaluate("() => [...document.querySelectorAll('.chart')].map(d => d.dataset.key)")
        print("charts:", charts)
        print("loss bands:", [(t["name"], len(t["x"])) for t in trace_data(page, "loss") if t["x"]])
        print("accuracy bands:", [(t["name"], len(t["x"])) for t in trace_data(page, "accuracy") if t["x"]])
        print("errors:", errors)
        browser.close()
finally:
    server.stop()
