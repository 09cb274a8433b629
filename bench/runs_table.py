"""The runs table with 10,000 runs (issue 11): time to first rows in headless Chromium, and
the server's answer for one page against the old page's one request. Prints, never asserts.

The old runs page asked for up to 1,000 runs with every series summary in one request and
sorted them in the browser (so it never showed more than 1,000 of 10,000). The new page asks
the server for one sorted, filtered page (100 rows by default). Figures:

1. GET /api/v1/runs: the old request (limit=1000, include=series, newest first) against
   one new page (limit=100, include=series) sorted by start, by a config value, by a metric
   aggregate, and with a column filter; medians of several calls, and the ratio.
2. Chromium: navigation start to the first rows drawn (the page sets `data-ready`), cold and
   warm, for the default view and for a sort by a metric; then a page flip (click on Next
   to the new rows drawn).

    python bench/runs_table.py [--runs 10000] [--repeats 5]

The database (temporary SQLite) is filled in-process: runs in one executemany per 500,
points through `store.point_data`'s ingest (the code the API runs); then a real server
process serves it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "client_sdk")]
# The server subprocess imports this checkout too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "client_sdk"), str(ROOT / "server"), os.environ.get("PYTHONPATH", "")]
)

from tests.helpers.server import ServerProcess  # noqa: E402

from fitwatch_server import models, schemas  # noqa: E402
from fitwatch_server.db import make_engine, make_write_sessionmaker, session_scope  # noqa: E402
from fitwatch_server.migrate import upgrade_engine  # noqa: E402
from fitwatch_server.store import runs as run_store  # noqa: E402
from fitwatch_server.store.point_data import IngestJob, ingest_jobs  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EPOCHS = 10
RUNS_PER_TRANSACTION = 500


def fill(database_url: str, runs: int) -> None:
    engine = make_engine(database_url)
    upgrade_engine(engine)
    factory = make_write_sessionmaker(engine)
    rng = np.random.default_rng(0)
    steps = list(range(EPOCHS))
    t0 = datetime.now(UTC) - timedelta(days=30)
    with session_scope(factory) as session:
        project_id = run_store.get_or_create_project(session, name="bench").id
    for start in range(0, runs, RUNS_PER_TRANSACTION):
        with session_scope(factory) as session:
            rows, tags, jobs = [], [], []
            for r in range(start, min(runs, start + RUNS_PER_TRANSACTION)):
                lr = float(10 ** rng.uniform(-4, -2))
                run_id = f"bench{r:05d}"
                created = t0 + timedelta(minutes=r)
                rows.append(
                    {
                        "id": run_id,
                        "project_id": project_id,
                        "name": f"run-{r:05d}",
                        "status": "finished",
                        "config": {
                            "optimizer": {
                                "class_name": str(rng.choice(["Adam", "SGD"])),
                                "learning_rate": lr,
                            },
                            "units": int(rng.choice([32, 64, 128])),
                            "seed": r % 5,
                        },
                        "summary": {},
                        "notes": "",
                        "created_at": created,
                        "heartbeat_at": created,
                        "ended_at": created + timedelta(seconds=float(rng.uniform(60, 3600))),
                    }
                )
                tags.append({"run_id": run_id, "tag": f"sweep-{r % 7}"})
                loss = (2.0 / (1 + np.arange(EPOCHS) * lr * 100)).tolist()
                series = [
                    schemas.SeriesPointsIn(
                        key=key,
                        scope=schemas.Scope.epoch,
                        steps=steps,
                        values=[v * factor for v in loss],
                        times=[1.7e9 + s for s in steps],
                    )
                    for key, factor in (
                        ("loss", 1.0),
                        ("val_loss", 1.1),
                        ("accuracy", 0.4),
                        ("val_accuracy", 0.35),
                    )
                ]
                jobs.append(IngestJob(run_id, schemas.PointBatchIn(series=series)))
            # Runs in one executemany (the API's create path costs ~10 queries per run; the
            # table's contents are the same). Point data goes through its owner's ingest.
            session.execute(insert(models.Run), rows)
            session.execute(insert(models.RunTag), tags)
            ingest_jobs(session, jobs)
    engine.dispose()


def median_ms(client: httpx.Client, params: dict[str, object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        response = client.get("/api/v1/runs", params=params)
        response.raise_for_status()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def api_figures(base: str, repeats: int) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        old = median_ms(
            client,
            {"project": "bench", "include": "series", "limit": 1000, "sort": "-created_at"},
            repeats,
        )
        print(f"  old page's request (1,000 runs with series, newest first): {old:7.1f} ms")
        cases = {
            "newest first": {"sort": "-created_at"},
            "sorted by config.units": {"sort": 'config."units"'},
            "sorted by min(val_loss, epoch)": {"sort": 'min("val_loss", epoch)'},
            "filtered config.units > 40, by last(loss)": {
                "sort": 'last("loss", epoch)',
                "filter": 'config."units" > 40',
            },
        }
        for label, extra in cases.items():
            ms = median_ms(
                client, {"project": "bench", "include": "series", "limit": 100, **extra}, repeats
            )
            print(
                f"  one page of 100, {label:42s}: {ms:7.1f} ms  ({old / ms:4.1f}x faster than the old request)"
            )


def browser_figures(base: str, repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    def first_rows(page, url: str) -> float:  # type: ignore[no-untyped-def]
        page.goto(url)
        page.wait_for_function(
            "() => document.documentElement.dataset.ready === '1'", timeout=120_000
        )
        return float(page.evaluate("() => Number(document.documentElement.dataset.rowsMs)"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        for label, query in (
            ("default view", "project=bench"),
            ("sorted by min val_loss", "project=bench&sort=metric:min:epoch:val_loss"),
        ):
            cold_context = browser.new_context()
            cold = first_rows(cold_context.new_page(), f"{base}/?{query}")
            cold_context.close()
            context = browser.new_context()
            page = context.new_page()
            warm = [first_rows(page, f"{base}/?{query}") for _ in range(repeats)]
            rows = page.evaluate("document.querySelectorAll('tbody tr').length")
            print(
                f"  {label:24s}: first rows {cold:6.0f} ms cold, {statistics.median(warm):6.0f} ms warm (median of {repeats}); {rows} rows"
            )
            context.close()
        context = browser.new_context()
        page = context.new_page()
        first_rows(page, f"{base}/?project=bench")
        flips = []
        for _ in range(repeats):
            first = page.evaluate("() => document.querySelector('tbody tr').dataset.run")
            # In the page: from the click to the new rows drawn (no Playwright round trips).
            clicked = float(
                page.evaluate(
                    "() => { const t = performance.now(); document.getElementById('page-next').click(); return t; }"
                )
            )
            page.wait_for_function(
                "(id) => document.querySelector('tbody tr').dataset.run !== id", arg=first
            )
            flips.append(
                float(page.evaluate("() => Number(document.documentElement.dataset.rowsMs)"))
                - clicked
            )
        print(
            f"  page flip (Next, 100 rows): click to rows drawn, median {statistics.median(flips):6.0f} ms"
        )
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t = time.perf_counter()
        fill(url, args.runs)
        print(
            f"filled {args.runs} runs x 4 epoch series x {EPOCHS} points in {time.perf_counter() - t:.1f} s"
        )
        with ServerProcess(url, log_path=Path(tmp) / "server.log") as server:
            print("API:")
            api_figures(server.url, args.repeats)
            print("Chromium:")
            browser_figures(server.url, args.repeats)


if __name__ == "__main__":
    main()
