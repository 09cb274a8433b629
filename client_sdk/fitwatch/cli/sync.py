"""`fitwatch sync`: upload journals of runs recorded offline (SDK only, no server extra)."""

from __future__ import annotations

import argparse
import sys


def _cmd_sync(args: argparse.Namespace) -> int:
    # SDK only: works without the `server` extra.
    from fitwatch.settings import ClientSettings
    from fitwatch.sync import sync_journals

    try:
        settings = ClientSettings.load(url=args.url, journal_dir=args.dir)
    except ValueError as exc:
        sys.stderr.write(f"fitwatch sync: {exc}\n")
        return 2

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")

    report = sync_journals(settings, run_ids=args.run or None, progress=say)
    sys.stdout.write(
        f"fitwatch sync: {len(report.uploaded)} runs uploaded ({report.points} points), "
        f"{len(report.skipped)} skipped, {len(report.failed)} failed"
        + (f", {len(report.rejected)} records rejected" if report.rejected else "")
        + "\n"
    )
    return 1 if report.failed or report.rejected else 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser("sync", help="upload journals of runs recorded offline")
    sync.add_argument("--url", help="server URL (default: FITWATCH_URL, else http://127.0.0.1:8000)")
    sync.add_argument(
        "--dir", help="journal directory (default: FITWATCH_DIR, else ~/.local/share/fitwatch/journal)"
    )
    sync.add_argument("--run", action="append", help="only this run id (repeatable)")
    sync.set_defaults(func=_cmd_sync)
