"""`fitwatch runs purge --older-than 90d [--project P]`: retention, through a server's API;
`fitwatch runs purge --trash [--project P]`: empty the trash (runs moved there from the pages).

Deletes every run (of one project, or of every project) whose last activity (an ingest, a
heartbeat or an update) is older than the given age, and prints what that freed. Needs an
admin token (`--token` or `FITWATCH_TOKEN`) when the server has auth on. The server can do
the same on a schedule: `FITWATCH_PURGE_OLDER_THAN_DAYS` (docs/scale.md).

`add_purge_command(runs_commands)` adds `purge` to the `fitwatch runs` group (cli/runs.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

_UNITS_DAYS = {"d": 1.0, "w": 7.0, "h": 1 / 24, "m": 1 / 1440}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dwhm])\s*$")


def parse_age_days(text: str) -> float:
    """`90d`, `2w`, `12h`, `30m` -> days; anything else raises ValueError saying what to write."""
    match = _AGE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(
            "--older-than takes a positive age with a unit: d (days), w (weeks), h (hours) or "
            f"m (minutes), e.g. 90d. Received: {text!r}"
        )
    return float(match.group(1)) * _UNITS_DAYS[match.group(2)]


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def describe(result: dict[str, Any], age: str) -> str:
    """One line: what the purge freed."""
    runs = result["runs"]
    if runs == 0:
        return f"fitwatch: no run was inactive for more than {age} (last activity before {result['cutoff']})"
    return (
        f"fitwatch: purged {runs} run{'s' if runs != 1 else ''} inactive for more than {age}: "
        f"{result['series']:,} series, {result['points']:,} points freed"
    )


def _cmd_purge(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from fitwatch.client import Client
    from fitwatch.errors import FitwatchError, ServerError
    from fitwatch.settings import ClientSettings

    if (args.older_than is None) == (not args.trash):
        _say("fitwatch runs purge: give either --older-than AGE (e.g. 90d) or --trash")
        return 2
    days = 0.0
    if args.older_than is not None:
        try:
            days = parse_age_days(args.older_than)
        except ValueError as exc:
            _say(f"fitwatch runs purge: {exc}")
            return 2
    settings = ClientSettings.load(url=args.url)
    if args.token:
        settings = replace(settings, token=args.token)
    body: dict[str, Any] = {"older_than_days": days}
    if args.project:
        body["project"] = args.project
    try:
        with Client(settings) as client:
            if args.trash:
                purged = client.empty_trash(args.project)["runs"]
                where = f" of project {args.project!r}" if args.project else ""
                sys.stdout.write(
                    f"fitwatch: emptied the trash{where}: {len(purged)} run"
                    f"{'s' if len(purged) != 1 else ''} deleted for good\n"
                )
                return 0
            result = client.purge_runs(body)
    except ServerError as exc:
        _say(f"fitwatch runs purge: the server answered {exc.status_code}: {exc.detail or exc}")
        return 1
    except FitwatchError as exc:
        _say(f"fitwatch runs purge: {exc}")
        return 1
    sys.stdout.write(describe(result, args.older_than.strip()) + "\n")
    return 0


def add_purge_command(runs_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    purge = runs_commands.add_parser(
        "purge", help="delete runs with no activity for longer than an age, and say what it freed"
    )
    purge.add_argument("--older-than", metavar="AGE", help="runs inactive for longer, e.g. 90d, 2w, 12h")
    purge.add_argument("--trash", action="store_true", help="instead: empty the trash")
    purge.add_argument("--project", help="only this project's runs (default: every project)")
    purge.add_argument(
        "--url", help="the server (default: FITWATCH_URL, else http://127.0.0.1:8000)"
    )
    purge.add_argument("--token", help="an admin token (default: FITWATCH_TOKEN)")
    purge.set_defaults(func=_cmd_purge)
