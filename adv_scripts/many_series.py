"""Run page and compare page with 150 metrics (odd Unicode keys among them): every stored
series drawn once, then a live point to each."""
import time

from harness import browser_page, create_run, open_ready, post_series, series, start_server
from playwright.sync_api import sync_playwright

KEYS = [f"m{i:03d}" for i in range(140)] + ["ü/ä", "日本語", "a b", "x%{y}", "emoji😀", "rtl\u202eltr", "dot.key", "slash/key/deep", "val_m000", "<i>k</i>"]
server = start_server()
base = server.url
try:
    runs = [create_run(base, name=n) for n in ("a", "b")]
    for r in runs:
        post_series(base, r["id"], *[series(k, "epoch", [0, 1, 2], [1.0, 0.5, 0.25]) for k in KEYS])
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        for url in (f"{base}/run.html?run={runs[0]['id']}&scope=epoch&smooth=0", f"{base}/compare.html?runs={runs[0]['id']},{runs[1]['id']}&scope=epoch&smooth=0"):
            t0 = time.time()
            open_ready(page, url)
            ready = time.time() - t0
            page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'", timeout=60000)
            for r in runs:
                post_series(base, r["id"], *[series(k, "epoch", [3], [0.1]) for k in KEYS])
            time.sleep(4)
            got = page.evaluate("""() => [...document.querySelectorAll('.chart')].flatMap(d => (d.data || []).filter(t => t.x && t.x.length && !/ (raw|min|max)$/.test(t.name)).map(t => [t.name, Array.from(t.x)]))""")
            bad = [(n, x) for n, x in got if x != [0, 1, 2, 3]]
            print(url.split("/")[-1][:8], "ready in %.1fs" % ready, "lines", len(got), "not [0..3]:", bad[:5])
        print("errors:", errors[:3])
        browser.close()
finally:
    server.stop()
