"""First paint of the compare page with the partial Plotly.js build against the full bundle
(issue 11). Prints, never asserts.

Both in the same run, on the same server and data: the page as shipped (it loads
`/vendor/plotly-basic.min.js`, 1.19 MB) and the same page with the full 4.8 MB bundle served
under that name (a Playwright route), each in a fresh browser context (cold), alternating.
Figures: `document.documentElement.dataset.readyMs` (two animation frames after the last chart's
`Plotly.newPlot`), median of `--repeats`, and the ratio partial/full.

    python bench/plotly_bundles.py [--runs 20] [--points 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import READY_MS, alternating_cold_paints, compare_page  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import plotly

    full = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    partial = (ROOT / "web/vendor/plotly-basic.min.js").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        with compare_page(Path(tmp), runs=args.runs, points=args.points) as (server, browser, url):
            paints = alternating_cold_paints(
                browser,
                url,
                # Both routed alike (a routed file costs the page more than a served one).
                {
                    "partial": ("**/vendor/plotly-basic.min.js", partial),
                    "full": ("**/vendor/plotly-basic.min.js", full),
                },
                args.repeats,
                {"ready": READY_MS},
            )
            found = {mode: figures["ready"] for mode, figures in paints.items()}
    print(f"compare page, {args.runs} runs x {args.points} batch points, cold first paint:")
    for mode, times in found.items():
        print(
            f"  {mode:7s} bundle: median {statistics.median(times):6.0f} ms  ({', '.join(f'{t:.0f}' for t in times)})"
        )
    print(
        f"  partial / full: {statistics.median(found['partial']) / statistics.median(found['full']):.2f}"
    )


if __name__ == "__main__":
    main()
