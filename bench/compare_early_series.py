"""First paint of the compare page with the series asked for beside the runs, against the page
that waited for the runs' answer to learn the keys (issue 11). Prints, never asserts.

Both in the same run, on the same server and data, alternating, each in a fresh browser context
(cold): the page as it is, and `web/js/pages/compare.js` as committed at `--before` (default
`main`) served in its place (a Playwright route). Figures: `data-ready-ms` (two animation frames
after the last chart's `Plotly.newPlot`), when the series answer ended, median of `--repeats`,
and the ratio after/before.

    python bench/compare_early_series.py [--runs 20] [--points 100000] [--repeats 5] [--before main]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import (  # noqa: E402
    READY_MS,
    alternating_cold_paints,
    compare_js_at,
    compare_page,
)

# The end of the last GET /series answer, ms since navigation (the early read, or the later one).
SERIES_END = """Math.round(Math.max(...performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/v1/series?')).map((e) => e.responseEnd)))"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--before", default="main", help="git revision of the page compared against"
    )
    args = parser.parse_args()
    before = compare_js_at(args.before)
    with tempfile.TemporaryDirectory() as tmp:
        with compare_page(Path(tmp), runs=args.runs, points=args.points) as (server, browser, url):
            found = alternating_cold_paints(
                browser,
                url,
                # Both routed alike (a routed file costs the page more than a served one).
                {
                    "before": ("**/js/pages/compare.js*", before),
                    "after": ("**/js/pages/compare.js*", (ROOT / "web/js/pages/compare.js").read_bytes()),
                },
                args.repeats,
                {"ready": READY_MS, "series_end": SERIES_END},
            )
    print(
        f"compare page, {args.runs} runs x {args.points} batch points, cold first paint "
        f"(load average {os.getloadavg()[0]:.1f}):"
    )
    ready = {mode: figures["ready"] for mode, figures in found.items()}
    series_end = {mode: figures["series_end"] for mode, figures in found.items()}
    for mode in ready:
        print(
            f"  {mode:6s}: ready median {statistics.median(ready[mode]):6.0f} ms "
            f"({', '.join(f'{t:.0f}' for t in ready[mode])}); series answered by "
            f"{statistics.median(series_end[mode]):.0f} ms"
        )
    print(
        f"  after / before: {statistics.median(ready['after']) / statistics.median(ready['before']):.2f}"
    )


if __name__ == "__main__":
    main()
