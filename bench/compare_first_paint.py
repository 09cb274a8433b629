"""Cold first paint of the compare page, this worktree's against other revisions' (issue 11).
Prints, never asserts.

All in the same run, on the same server and data, alternating, each in a fresh browser
context (cold): `web/js/pages/compare.js` (or `--file`) as in this worktree ("now") and as
committed at each `--revisions`, each served by a Playwright route. Figures per mode,
median of `--repeats`: `data-ready-ms` (two animation frames after the last chart's
Plotly.newPlot), when the series answer ended, the points drawn, and the ratio to the first
revision. The load average is
printed after every round: the machine is shared, so a figure without it means little.

    python bench/compare_first_paint.py [--runs 20] [--points 100000] [--repeats 5]
        [--revisions main] [--file web/js/boot/compare.js] [--settled]
        [--database sqlite:////tmp/bench.db --ids ids.json]
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

from bench.compare_early_series import SERIES_END  # noqa: E402
from bench.dashboard import (  # noqa: E402
    READY_MS,
    alternating_cold_paints,
    compare_js_at,
    compare_page,
)

POINTS = """[...document.querySelectorAll('.chart')].reduce((n, d) => n + Number(d.dataset.points || 0), 0)"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--revisions", nargs="+", default=["main"], help="git revisions of the page"
    )
    parser.add_argument(
        "--file",
        default="web/js/pages/compare.js",
        help="the script taken from each revision (web/js/boot/compare.js for the boot)",
    )
    parser.add_argument(
        "--settled",
        action="store_true",
        help="open each fresh tab at the server first (bench/dashboard.alternating_cold_paints)",
    )
    parser.add_argument("--database", help="an already filled database (with --ids)")
    parser.add_argument("--ids", help="a JSON list of the run ids in --database")
    args = parser.parse_args()
    # Every mode's file goes through the same kind of Playwright route, this worktree's too: a
    # routed request costs the page more than a served one (~100 ms on this machine), which
    # would otherwise count against the revisions.
    glob = f"**/{args.file.removeprefix('web/')}*"
    modes: dict[str, tuple[str, bytes] | None] = {
        revision: (glob, compare_js_at(revision, args.file)) for revision in args.revisions
    }
    modes["now"] = (glob, (ROOT / args.file).read_bytes())
    found: dict[str, dict[str, list[float]]] = {mode: {} for mode in modes}
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        with compare_page(
            Path(tmp), runs=args.runs, points=args.points, database=args.database, ids_file=args.ids
        ) as (server, browser, url):
            for i in range(args.repeats):
                one = alternating_cold_paints(
                    browser,
                    url,
                    modes,
                    1,
                    {"ready": READY_MS, "series_end": SERIES_END, "points": POINTS},
                    settled=args.settled,
                )
                loads.append(os.getloadavg()[0])
                for mode, figures in one.items():
                    for name, values in figures.items():
                        found[mode].setdefault(name, []).extend(values)
                print(
                    f"  round {i + 1} (load average {loads[-1]:.1f}): "
                    + ", ".join(f"{mode} {one[mode]['ready'][0]:.0f} ms" for mode in modes),
                    flush=True,
                )
    print(
        f"compare page, {args.runs} runs x {args.points} batch points, cold first paint "
        f"({'in a settled tab' if args.settled else 'in a new tab'}) "
        f"(load average {min(loads):.1f}-{max(loads):.1f} over the rounds):"
    )
    first = statistics.median(found[args.revisions[0]]["ready"])
    for mode, figures in found.items():
        ready = statistics.median(figures["ready"])
        print(
            f"  {mode:10s}: ready median {ready:6.0f} ms "
            f"({', '.join(f'{t:.0f}' for t in figures['ready'])}); series answered by "
            f"{statistics.median(figures['series_end']):.0f} ms; "
            f"{statistics.median(figures['points']):.0f} points drawn; "
            f"/ {args.revisions[0]}: {ready / first:.2f}"
        )


if __name__ == "__main__":
    main()
