"""Dashboard speed in headless Chromium against a real server (issue 5). Prints, never asserts.

1. Time to the first complete paint of every chart of the compare page for 20 runs of
   100,000 batch points each (keys `loss` and `accuracy`, plus epoch values), requested
   downsampled to the charts' width. Measured from navigation start to the moment the page
   marks itself ready (`document.documentElement.dataset.ready`, set two animation frames
   after the last `Plotly.newPlot` resolved). Goal: under 1.5 s.
2. The run page's JS heap while one live run streams at 50 points/s (websocket, extendTraces),
   sampled over time after a forced GC (CDP `HeapProfiler.collectGarbage` +
   `Runtime.getHeapUsage`). Goal: flat, under 200 MB.

    python bench/dashboard.py [--runs 20] [--points 100000] [--live-minutes 10] [--sample-s 30]

The server runs as a subprocess on a temporary SQLite database that this script fills
through the REST API.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.server import ServerProcess  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CHUNK = 50_000
STEPS_PER_EPOCH = 1_000


def fill(client: httpx.Client, runs: int, points: int) -> list[str]:
    ids = []
    rng = np.random.default_rng(0)
    t0 = time.time() - 3600
    for r in range(runs):
        lr = float(10 ** rng.uniform(-4, -2))
        run = client.post("/api/v1/runs", json={
            "project": "bench", "name": f"run-{r:02d}", "tags": ["bench"],
            "config": {"optimizer": {"class_name": "Adam", "config": {"learning_rate": lr}},
                       "batch_size": int(rng.choice([32, 64, 128])), "hidden": int(rng.choice([64, 128, 256])),
                       "fits": [{"params": {"steps": STEPS_PER_EPOCH, "epochs": points // STEPS_PER_EPOCH}}]}}).json()
        ids.append(run["id"])
        steps = np.arange(points)
        loss = 2.5 * np.exp(-steps * lr / 20) + 0.05 + rng.normal(0, 0.05, points)
        acc = 1 - loss / 3
        for lo in range(0, points, CHUNK):
            s = steps[lo:lo + CHUNK]
            common = {"steps": s.tolist(), "times": (t0 + s * 0.02).tolist(),
                      "epochs": (s // STEPS_PER_EPOCH).tolist()}
            body = {"series": [{"key": "loss", "scope": "batch", "values": loss[lo:lo + CHUNK].tolist(), **common},
                               {"key": "accuracy", "scope": "batch", "values": acc[lo:lo + CHUNK].tolist(), **common}]}
            client.post(f"/api/v1/runs/{run['id']}/points", json=body, timeout=120).raise_for_status()
        epochs = np.arange(points // STEPS_PER_EPOCH)
        ends = (epochs + 1) * STEPS_PER_EPOCH - 1
        client.post(f"/api/v1/runs/{run['id']}/points", json={"series": [
            {"key": k, "scope": "epoch", "steps": epochs.tolist(), "values": v.tolist(),
             "times": (t0 + ends * 0.02).tolist()}
            for k, v in (("loss", loss[ends]), ("val_loss", loss[ends] * 1.1), ("accuracy", acc[ends]),
                         ("val_accuracy", acc[ends] * 0.97))]}).raise_for_status()
        client.patch(f"/api/v1/runs/{run['id']}", json={"status": "finished"}).raise_for_status()
    return ids


READY_MS = "Number(document.documentElement.dataset.readyMs)"


def _serve(body: bytes):  # type: ignore[no-untyped-def]
    """A Playwright route handler that answers with `body` as JavaScript."""
    return lambda route: route.fulfill(body=body, content_type="text/javascript")


# What a settled tab shows first: a small JSON answer of the same server, so nothing the page
# loads is cached, and the time the tab's renderer processes take to start is not counted.
SETTLE_PATH = "/api/v1/auth/whoami"
SETTLE_MS = 1500


def alternating_cold_paints(  # type: ignore[no-untyped-def]
    browser,
    url: str,
    modes: dict[str, tuple[str, bytes] | None],
    repeats: int,
    measures: dict[str, str],
    settled: bool = False,
) -> dict[str, dict[str, list[float]]]:
    """Load `url` once per mode per round, each in a fresh browser context (cold), alternating
    so that a noisy neighbour hits every mode alike. A mode's (glob, body) is served in place of
    the file the glob matches (a Playwright route); None serves the page as it is. A routed
    request costs the page more than a served one (~100 ms of first paint here), so modes
    that are compared route the same files, each its own body. Returns,
    per mode, each of `measures` (a JS expression evaluated once the page is ready) per load.

    A new tab's first load also pays for Chromium starting its renderer processes (two here,
    ~0.5 s of CPU each on this machine), on the same cores as the page and the server.
    `settled` first opens `SETTLE_PATH` in the tab and waits `SETTLE_MS`, as when the page is
    opened from another page of the dashboard: caches stay cold, the processes are running."""
    found: dict[str, dict[str, list[float]]] = {mode: {name: [] for name in measures} for mode in modes}
    for _ in range(repeats):
        for mode, override in modes.items():
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            if override is not None:
                glob, body = override
                page.route(glob, _serve(body))
            if settled:
                origin = urlsplit(url)
                page.goto(f"{origin.scheme}://{origin.netloc}{SETTLE_PATH}")
                page.wait_for_timeout(SETTLE_MS)
            page.goto(url)
            page.wait_for_function("() => document.documentElement.dataset.ready === '1'", timeout=180_000)
            for name, expression in measures.items():
                found[mode][name].append(float(page.evaluate(expression)))
            context.close()
    return found


def compare_js_at(revision: str, path: str = "web/js/pages/compare.js") -> bytes:
    """A page script (`web/js/pages/compare.js` unless told) as at a git revision, to serve
    in place of today's."""
    return subprocess.run(
        ["git", "show", f"{revision}:{path}"],
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
    ).stdout


@contextmanager
def compare_page(  # type: ignore[no-untyped-def]
    tmp: Path,
    *,
    runs: int,
    points: int,
    database: str | None = None,
    ids_file: str | None = None,
    env: dict[str, str] | None = None,
):
    """`(server, browser, url)`: a server on `database` (its run ids in the JSON list
    `ids_file`) or on a new SQLite file in `tmp` filled with `runs` x `points` (`fill`),
    headless Chromium, and the compare page of those runs; both stopped on exit."""
    from playwright.sync_api import sync_playwright

    server = ServerProcess(
        database or f"sqlite:///{tmp}/bench.db", log_path=tmp / "server.log", env=env
    ).start()
    try:
        if database:
            assert ids_file, "an already filled database needs its run ids (--ids)"
            ids = json.loads(Path(ids_file).read_text())
        else:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                ids = fill(client, runs, points)
        url = f"{server.url}/compare.html?runs={','.join(ids)}&scope=batch"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield server, browser, url
            finally:
                browser.close()
    finally:
        server.stop()


def first_paint(browser, url: str, repeats: int) -> None:  # type: ignore[no-untyped-def]
    times: list[float] = []
    warm: list[float] = []
    for i in range(repeats):
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=120_000)
        ready_ms = float(page.evaluate("Number(document.documentElement.dataset.readyMs)"))
        charts_ms = float(page.evaluate("Number(document.documentElement.dataset.chartsMs)"))
        charts = page.evaluate("document.querySelectorAll('.chart').length")
        traces = page.evaluate("Array.from(document.querySelectorAll('.chart')).reduce((n, d) => n + d.data.length, 0)")
        points = page.evaluate("Array.from(document.querySelectorAll('.chart')).reduce((n, d) => n + Number(d.dataset.points), 0)")
        plotly_ms = float(page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
        series_ms = float(page.evaluate(
            "Math.max(0, ...performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/v1/series?')).map((r) => r.responseEnd))"))
        print(f"  load {i + 1}: first complete paint {ready_ms:6.0f} ms after navigation start "
              f"(Plotly.js executed at {plotly_ms:5.0f} ms, series data in at {series_ms:5.0f} ms, "
              f"page module to ready {charts_ms:5.0f} ms); {charts} charts, {traces} traces, {points} points drawn")
        times.append(ready_ms)
        # The same page again in the same browser context: HTTP and V8 code caches are warm.
        page.goto(url)
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=120_000)
        page.goto(url)
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=120_000)
        warm.append(float(page.evaluate("Number(document.documentElement.dataset.readyMs)")))
        context.close()
    print(f"  cold (fresh context): median {statistics.median(times):.0f} ms, best {min(times):.0f} ms; "
          f"warm (third visit, cached Plotly.js): median {statistics.median(warm):.0f} ms, best {min(warm):.0f} ms "
          "(goal < 1500 ms)")


def live_heap(browser, base: str, minutes: float, sample_s: float, rate: int) -> None:  # type: ignore[no-untyped-def]
    client = httpx.Client(base_url=base, timeout=30)
    run = client.post("/api/v1/runs", json={"project": "bench", "name": "live",
                                            "config": {"fits": [{"params": {"steps": STEPS_PER_EPOCH}}]}}).json()
    client.post(f"/api/v1/runs/{run['id']}/points", json={"series": [
        {"key": "loss", "scope": "batch", "steps": [0], "values": [2.5], "times": [time.time()], "epochs": [0]}]})
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/run.html?run={run['id']}")
    page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=60_000)
    cdp = context.new_cdp_session(page)
    stop = threading.Event()
    sent = [1]

    def feed() -> None:
        step = 1
        per_tick = max(1, rate // 10)
        next_t = time.monotonic()
        with httpx.Client(base_url=base, timeout=30) as feeder:
            while not stop.is_set():
                steps = list(range(step, step + per_tick))
                now = time.time()
                body = [{"key": "loss", "scope": "batch", "steps": steps,
                         "values": [2.5 / (1 + s / 2000) + 0.02 * np.sin(s) for s in steps],
                         "times": [now] * per_tick, "epochs": [s // STEPS_PER_EPOCH for s in steps]}]
                if (step + per_tick) // STEPS_PER_EPOCH > step // STEPS_PER_EPOCH:
                    e = step // STEPS_PER_EPOCH
                    body.append({"key": "val_loss", "scope": "epoch", "steps": [e], "values": [2.7 / (1 + step / 2000)], "times": [now]})
                feeder.post(f"/api/v1/runs/{run['id']}/points", json={"series": body})
                step += per_tick
                sent[0] = step
                next_t += 0.1
                stop.wait(max(0.0, next_t - time.monotonic()))

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    start = time.monotonic()
    print(f"  live run at {rate} points/s for {minutes:g} min; heap after forced GC:")
    samples = []
    try:
        while True:
            elapsed = time.monotonic() - start
            cdp.send("HeapProfiler.collectGarbage")
            heap = cdp.send("Runtime.getHeapUsage")
            drawn = page.evaluate("Array.from(document.querySelectorAll('.chart')).reduce((n, d) => n + Number(d.dataset.points || 0), 0)")
            used_mb = heap["usedSize"] / 1e6
            samples.append(used_mb)
            print(f"  t={elapsed:6.0f} s  points sent {sent[0]:7d}  points held by charts {drawn:6d}  "
                  f"JS heap used {used_mb:7.1f} MB  (total {heap['totalSize'] / 1e6:.1f} MB)", flush=True)
            if elapsed >= minutes * 60:
                break
            time.sleep(min(sample_s, max(0.1, minutes * 60 - elapsed)))
    finally:
        stop.set()
        thread.join(timeout=10)
    print(f"  heap min {min(samples):.1f} MB, max {max(samples):.1f} MB, last {samples[-1]:.1f} MB (goal: flat, < 200 MB)")
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=100_000, help="batch points per run and key")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--live-minutes", type=float, default=10.0)
    parser.add_argument("--sample-s", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=50, help="live points per second")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, ServerProcess(
        f"sqlite:///{Path(tmp) / 'bench.db'}", log_path=Path(tmp) / "server.log"
    ) as server:
        t = time.perf_counter()
        with httpx.Client(base_url=server.url, timeout=120) as client:
            ids = fill(client, args.runs, args.points)
        print(f"filled {args.runs} runs x {args.points} batch points x 2 keys in {time.perf_counter() - t:.1f} s")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            print(f"compare page, {args.runs} runs, batch scope:")
            first_paint(browser, f"{server.url}/compare.html?runs={','.join(ids)}&scope=batch", args.repeats)
            print(f"compare page, {args.runs} runs, epoch scope:")
            first_paint(browser, f"{server.url}/compare.html?runs={','.join(ids)}", args.repeats)
            if args.live_minutes > 0:
                print("run page, live:")
                live_heap(browser, server.url, args.live_minutes, args.sample_s, args.rate)
            browser.close()


if __name__ == "__main__":
    main()
