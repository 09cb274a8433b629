"""Run page live: overwrite a stored step and fill an earlier, never-logged step.
Compare what Plotly draws with GET /runs/{id}/series/{key}."""
from harness import browser_page, open_ready, post_series, rest_series, series, start_server, trace_data, create_run, wait
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    run = create_run(base, name="ow")
    # epoch scope loss at steps 0,1,2,4 (3 left out)
    post_series(base, run["id"], series("loss", "epoch", [0, 1, 2, 4], [1.0, 0.9, 0.8, 0.6]))
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/run.html?run={run['id']}&scope=epoch&smooth=0")
        page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
        print("drawn before:", trace_data(page, "loss")[0]["x"], trace_data(page, "loss")[0]["y"])
        post_series(base, run["id"], series("loss", "epoch", [4], [0.1]))       # overwrite last step
        post_series(base, run["id"], series("loss", "epoch", [3], [0.7]))       # fill missing step
        post_series(base, run["id"], series("loss", "epoch", [5], [0.5]))       # normal append
        wait(lambda: 5 in trace_data(page, "loss")[0]["x"])
        page.wait_for_timeout(1000)
        t = trace_data(page, "loss")[0]
        drawn = sorted(zip(t["x"], t["y"]))
        rest = rest_series(base, run["id"], "loss", "epoch")
        stored = list(zip(rest["steps"], rest["values"]))
        print("drawn :", drawn)
        print("stored:", stored)
        print("MATCH" if drawn == stored else "MISMATCH", "errors:", errors)
        browser.close()
finally:
    server.stop()
