"""Where a cold first paint of the compare page goes (issue 11). Prints, never asserts.

One cold load (fresh browser context) at a time of the compare page for 20 runs x 100,000
batch points, with a Chromium trace (devtools.timeline) and the page's resource timings:

- navigation: HTML answered, DOMContentLoaded;
- module fetches (first start, last end), Plotly.js fetched and executed;
- GET /runs and GET /series: sent, first byte, end (and the server's own time, timed again
  here with the same request from Python so that the browser's view and the server's add up);
- each Plotly.newPlot / Plotly.react: from its call to its promise (a wrapper installed
  before the page's scripts run), and the points it drew;
- the main thread's time in script, style and layout, paint, by trace event;
- `data-ready-ms` (what the other bench scripts report).

    python bench/compare_paint_breakdown.py [--runs 20] [--points 100000] [--repeats 3]
        [--database sqlite:////tmp/bench.db --ids ids.json]   (an already filled database)
        [--revision main]   (web/js/pages/compare.js as at that revision)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import compare_js_at, compare_page  # noqa: E402

# Installed before the page's own scripts: time every Plotly.newPlot/react from call to promise.
WRAP_PLOTLY = """
(() => {
  window.__plots = [];
  let value;
  Object.defineProperty(window, "Plotly", { configurable: true, get: () => value, set: (plotly) => {
    delete window.Plotly;
    window.Plotly = plotly;
    window.__plotlyAt = performance.now();
    for (const name of ["newPlot", "react"]) {
      const original = plotly[name];
      plotly[name] = function (div, data, ...rest) {
        const entry = { name, key: div.dataset ? div.dataset.key : "", start: performance.now(),
          points: (data || []).reduce((n, t) => n + (t.x ? t.x.length : 0), 0), traces: (data || []).length };
        const result = original.call(this, div, data, ...rest);
        entry.sync = performance.now() - entry.start;
        window.__plots.push(entry);
        return Promise.resolve(result).then((r) => { entry.end = performance.now(); return r; });
      };
    }
  } });
})();
"""

TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource").map((r) => ({ name: r.name, start: r.startTime,
    requestStart: r.requestStart, responseStart: r.responseStart, end: r.responseEnd, size: r.encodedBodySize,
    serverTiming: r.serverTiming.map((s) => [s.name, s.duration]) }));
  return { htmlEnd: nav.responseEnd, dcl: nav.domContentLoadedEventEnd, plotlyAt: window.__plotlyAt,
    plots: window.__plots, res, ready: Number(document.documentElement.dataset.readyMs),
    allDrawn: Number(document.documentElement.dataset.allDrawnMs || document.documentElement.dataset.readyMs) };
}"""

# Trace events summed per kind (top-level tasks on the renderer's main thread).
KINDS = {
    "script": {
        "EvaluateScript",
        "v8.compile",
        "v8.compileModule",
        "v8.evaluateModule",
        "FunctionCall",
        "TimerFire",
        "FireAnimationFrame",
        "EventDispatch",
        "RunMicrotasks",
        "v8.run",
    },
    "style+layout": {"UpdateLayoutTree", "Layout", "RecalculateStyles", "UpdateLayerTree"},
    "paint": {"Paint", "PaintImage", "CompositeLayers", "Commit", "PrePaint", "Layerize"},
    "html": {"ParseHTML", "ParseAuthorStyleSheet"},
    "gc": {"MajorGC", "MinorGC", "V8.GCScavenger", "V8.GCFinalizeMC"},
}


def main_thread_totals(trace: dict[str, Any], nav_ts: float, until_ms: float) -> dict[str, float]:
    """Sum the self-contained durations of each kind of event on the page's main thread, from
    navigation to `until_ms`, counting nested events once (only outermost of a kind)."""
    events = trace["traceEvents"]
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    totals: dict[str, float] = defaultdict(float)
    spans: list[tuple[float, float, str]] = []
    for e in events:
        if (e.get("pid"), e.get("tid")) not in main or e.get("ph") != "X" or "dur" not in e:
            continue
        for kind, names in KINDS.items():
            if e["name"] in names:
                start = (e["ts"] - nav_ts) / 1000
                if 0 <= start <= until_ms:
                    spans.append((start, start + e["dur"] / 1000, kind))
    # Outermost per kind: a FunctionCall inside an EvaluateScript is not counted twice; a
    # Layout inside a FunctionCall is layout (forced synchronous layout), not script.
    spans.sort()
    open_until: dict[str, float] = defaultdict(lambda: -1.0)
    for start, end, kind in spans:
        if start >= open_until[kind]:
            totals[kind] += end - start
            open_until[kind] = end
    forced = sum(1 for s, e, k in spans if k == "style+layout")
    totals["layout events"] = forced
    return dict(totals)


def nav_start_ts(trace: dict[str, Any]) -> float:
    starts = [e["ts"] for e in trace["traceEvents"] if e.get("name") == "navigationStart"]
    return float(max(starts)) if starts else 0.0


def server_time(base: str, path: str, repeats: int = 3) -> float:
    with httpx.Client(base_url=base, timeout=60) as client:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            client.get(path).raise_for_status()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def one_load(browser: Any, url: str, tmp: Path, page_js: bytes | None) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(WRAP_PLOTLY)
    page = context.new_page()
    if page_js is not None:
        page.route(
            "**/js/pages/compare.js*",
            lambda route: route.fulfill(body=page_js, content_type="text/javascript"),
        )
    trace_path = tmp / "trace.json"
    browser.start_tracing(
        page=page, path=str(trace_path), categories=["devtools.timeline", "v8", "blink.user_timing"]
    )
    page.goto(url)
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'", timeout=180_000)
    found: dict[str, Any] = page.evaluate(TIMINGS)
    browser.stop_tracing()
    context.close()
    trace = json.loads(trace_path.read_text())
    found["main"] = main_thread_totals(trace, nav_start_ts(trace), found["ready"])
    return found


def report(found: dict[str, Any]) -> None:
    res = found["res"]
    modules = [r for r in res if "/js/" in r["name"]]
    plotly = [r for r in res if "plotly-basic" in r["name"]]
    print(
        f"    HTML {found['htmlEnd']:.0f}, DOMContentLoaded {found['dcl']:.0f}; modules {len(modules)} "
        f"{min(r['start'] for r in modules):.0f}-{max(r['end'] for r in modules):.0f}; "
        f"Plotly fetched {plotly[0]['start']:.0f}-{plotly[0]['end']:.0f}, executed by {found['plotlyAt']:.0f}"
    )
    for r in res:
        if "/api/v1/" in r["name"]:
            name = r["name"].split("/api/v1/")[1].split("?")[0]
            query = "keys" if "keys=" in r["name"] else "no keys"
            print(
                f"    GET /{name} ({query}): sent {r['start']:.0f}, first byte {r['responseStart']:.0f}, "
                f"end {r['end']:.0f}, {r['size'] / 1e3:.0f} kB {r['serverTiming'] or ''}"
            )
    for p in found["plots"]:
        print(
            f"    Plotly.{p['name']} {p['key']}: {p['start']:.0f}-{p.get('end', float('nan')):.0f} "
            f"({p['sync']:.0f} ms synchronous), {p['traces']} traces, {p['points']} points"
        )
    main = found["main"]
    print("    main thread to ready: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(main.items())))
    print(f"    ready {found['ready']:.0f} ms; all charts drawn {found['allDrawn']:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database", help="an already filled database (with --ids)")
    parser.add_argument("--ids", help="a JSON list of the run ids in --database")
    parser.add_argument("--revision", help="serve web/js/pages/compare.js as at this git revision")
    args = parser.parse_args()
    page_js = None
    if args.revision:
        page_js = compare_js_at(args.revision)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # The server answers with Server-Timing (bench/server_timing/sitecustomize.py).
        path = os.pathsep.join(
            [str(ROOT / "bench" / "server_timing"), os.environ.get("PYTHONPATH", "")]
        )
        with compare_page(
            tmp,
            runs=args.runs,
            points=args.points,
            database=args.database,
            ids_file=args.ids,
            env={"PYTHONPATH": path},
        ) as (server, browser, url):
            loads = []
            for i in range(args.repeats):
                loads.append(one_load(browser, url, tmp, page_js))
                print(f"  cold load {i + 1} (load average {os.getloadavg()[0]:.1f}):")
                report(loads[-1])
            series = [r["name"] for r in loads[-1]["res"] if "/api/v1/series?" in r["name"]]
            runs = [r["name"] for r in loads[-1]["res"] if "/api/v1/runs?" in r["name"]]
            for name in runs + series:
                path = name.split(server.url)[1]
                print(
                    f"  the same {path.split('?')[0]} from Python, server + transfer: "
                    f"median {server_time(server.url, path):.0f} ms ({len(path)} characters of URL)"
                )
    print(
        f"ready median {statistics.median(f['ready'] for f in loads):.0f} ms, all drawn median "
        f"{statistics.median(f['allDrawn'] for f in loads):.0f} ms (load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
