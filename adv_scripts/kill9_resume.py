"""Run page live, batch scope; kill -9 the server, log points directly into the DB? No: restart the
server on the same port and DB, log points while the page is reconnecting, compare with REST."""
import os, signal, time
from harness import browser_page, open_ready, post_series, rest_series, series, start_server, trace_data, create_run, wait
from playwright.sync_api import sync_playwright

server = start_server()
base = server.url
try:
    run = create_run(base, name="k9")
    post_series(base, run["id"], series("loss", "batch", list(range(0, 50)), [1.0 / (1 + s) for s in range(50)]))
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/run.html?run={run['id']}&scope=batch&smooth=0")
        page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
        step = 50
        for _ in range(5):
            post_series(base, run["id"], series("loss", "batch", [step], [1.0 / (1 + step)])); step += 1
            time.sleep(0.05)
        os.kill(server.process.pid, signal.SIGKILL); server.process.wait(); server.process = None
        page.wait_for_function("() => document.documentElement.dataset.live === 'closed'")
        banner = page.evaluate("() => document.body.innerText.match(/offline|unreachable|reconnect[^\\n]*/i)?.[0]")
        print("live state closed; banner:", banner)
        server.start()
        # log while the page is still backing off
        post_series(base, run["id"], series("loss", "batch", list(range(step, step + 30)), [1.0 / (1 + s) for s in range(step, step + 30)])); step += 30
        page.wait_for_function("() => document.documentElement.dataset.live === 'open'", timeout=30000)
        for _ in range(10):
            post_series(base, run["id"], series("loss", "batch", [step], [1.0 / (1 + step)])); step += 1
            time.sleep(0.05)
        wait(lambda: (trace_data(page, "loss")[0]["x"] or [0])[-1] == step - 1, timeout=10)
        page.wait_for_timeout(500)
        t = trace_data(page, "loss")[0]
        rest = rest_series(base, run["id"], "loss", "batch")
        dup = len(t["x"]) - len(set(t["x"]))
        missing = sorted(set(rest["steps"]) - set(t["x"]))
        print(f"drawn {len(t['x'])} stored {len(rest['steps'])} duplicates {dup} missing {missing[:20]} sorted {t['x'] == sorted(t['x'])}")
        print("errors:", errors)
        browser.close()
finally:
    server.stop()
