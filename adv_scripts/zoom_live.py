"""Run and compare pages, a long downsampled batch series: zoom into history, log points while
zoomed, unzoom; then more live points. Drawn (after unzoom) vs REST: the newest steps all there?"""
import time

from harness import browser_page, create_run, open_ready, post_series, rest_series, series, start_server, trace_data
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
N = 20000
try:
    runs = [create_run(base, name=n) for n in ("a", "b")]
    for r in runs:
        for start in range(0, N, 5000):
            post_series(base, r["id"], series("loss", "batch", list(range(start, start + 5000)), [1 / (1 + s) for s in range(start, start + 5000)]))
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        for url, name in ((f"{base}/run.html?run={runs[0]['id']}&scope=batch&smooth=0", "loss"),
                          (f"{base}/compare.html?runs={runs[0]['id']},{runs[1]['id']}&scope=batch&smooth=0", "a \u00b7 loss")):
            open_ready(page, url)
            page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
            page.evaluate("() => Plotly.relayout(document.querySelector('.chart[data-key=\"loss\"]'), {'xaxis.range': [100, 200]})")
            time.sleep(1.5)
            last = max(rest_series(base, runs[0]["id"], "loss", "batch")["steps"])
            post_series(base, runs[0]["id"], series("loss", "batch", list(range(last + 1, last + 21)), [0.5] * 20))
            time.sleep(1)
            page.evaluate("() => Plotly.relayout(document.querySelector('.chart[data-key=\"loss\"]'), {'xaxis.autorange': true})")
            time.sleep(2)
            post_series(base, runs[0]["id"], series("loss", "batch", list(range(last + 21, last + 31)), [0.4] * 10))
            time.sleep(1.5)
            t = next(x for x in trace_data(page, "loss") if x["name"] == name)
            stored = rest_series(base, runs[0]["id"], "loss", "batch")["steps"]
            tail = stored[-30:]
            print(url.split("/")[-1][:8], "drawn", len(t["x"]), "last drawn", t["x"][-1], "stored last", stored[-1],
                  "tail all drawn:", set(tail) <= set(t["x"]), "dups", len(t["x"]) - len(set(t["x"])))
        print("errors:", errors[:3])
        browser.close()
finally:
    server.stop()
