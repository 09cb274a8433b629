"""Run page: log batch points continuously while switching scope batch<->epoch, toggling log
axes, and zoom/unzoom; then compare every drawn trace with the REST series (no gap, no dup)."""
import threading
import time

import httpx
from harness import browser_page, create_run, open_ready, post_series, rest_series, series, start_server, trace_data
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    run = create_run(base, name="sw", config={"fits": [{"params": {"epochs": 100, "steps": 10}}]})
    post_series(base, run["id"], series("loss", "batch", list(range(100)), [1 / (1 + s) for s in range(100)]))
    post_series(base, run["id"], series("loss", "epoch", list(range(10)), [1 / (1 + s) for s in range(10)]))
    stop = threading.Event()

    def logger():
        step, epoch = 100, 10
        while not stop.is_set():
            post_series(base, run["id"], series("loss", "batch", list(range(step, step + 10)), [1 / (1 + s) for s in range(step, step + 10)]))
            post_series(base, run["id"], series("loss", "epoch", [epoch], [1 / (1 + epoch)]))
            step += 10; epoch += 1
            time.sleep(0.07)
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/run.html?run={run['id']}&scope=batch&smooth=0")
        page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
        t = threading.Thread(target=logger); t.start()
        for i in range(6):
            sel = page.query_selector("select")  # the scope select
            scope = "epoch" if i % 2 == 0 else "batch"
            page.evaluate("""(scope) => { const s = [...document.querySelectorAll('select')].find(x => [...x.options].some(o => o.value === 'epoch'));
                                          s.value = scope; s.dispatchEvent(new Event('change', {bubbles: true})); }""", scope)
            time.sleep(0.6)
            boxes = page.query_selector_all("input[type=checkbox]")
            if boxes:
                boxes[0].click(); time.sleep(0.2); boxes[0].click()
            time.sleep(0.4)
        stop.set(); t.join()
        time.sleep(2.5)
        for scope in ("batch",):
            tr = [x for x in trace_data(page, "loss") if x["x"]]
            rest = rest_series(base, run["id"], "loss", scope)
            ep = rest_series(base, run["id"], "loss", "epoch")
            print("scope in URL:", page.url.split("scope=")[1][:10])
            for x in tr:
                print(x["name"], "drawn", len(x["x"]), "dups", len(x["x"]) - len(set(x["x"])), "sorted", x["x"] == sorted(x["x"]))
            print("REST batch", len(rest["steps"]), "REST epoch", len(ep["steps"]))
            drawn_batch = tr[0]["x"]
            print("missing batch steps:", sorted(set(rest["steps"]) - set(drawn_batch))[:20])
        print("errors:", errors)
        browser.close()
finally:
    server.stop()
