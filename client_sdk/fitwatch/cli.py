"""The `fitwatch` command: `server`, `db upgrade` and `sync`.

Server commands import `fitwatch_server` lazily, so the SDK alone (without the
`server` extra) still gives a working `fitwatch sync` and a polite message for the rest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

SERVER_EXTRA_MISSING = (
    "fitwatch: the server is not installed. Install it with: pip install 'fitwatch[server]'"
)


def _server_settings(args: argparse.Namespace) -> object:
    try:
        from fitwatch_server.settings import Settings
    except ImportError:
        sys.stderr.write(SERVER_EXTRA_MISSING + "\n")
        raise SystemExit(2)
    overrides: dict[str, object] = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    return Settings(**overrides)  # type: ignore[arg-type]


def _cmd_server(args: argparse.Namespace) -> int:
    settings = _server_settings(args)
    from fitwatch_server.serve import serve

    return serve(settings, host=args.host, port=args.port, workers=args.workers)  # type: ignore[arg-type]


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _server_settings(args)
    from fitwatch_server.migrate import upgrade_database

    upgrade_database(settings.database_url)  # type: ignore[attr-defined]
    sys.stdout.write(f"fitwatch: database at {settings.database_url} is up to date\n")  # type: ignore[attr-defined]
    return 0


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
        f"{len(report.skipped)} skipped, {len(report.failed)} failed\n"
    )
    return 1 if report.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fitwatch", description="Live training dashboard for Keras.")
    commands = parser.add_subparsers(dest="command", required=True)

    server = commands.add_parser("server", help="start the dashboard and API server")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    server.add_argument(
        "--database-url",
        help="SQLAlchemy URL; default: FITWATCH_DATABASE_URL, else SQLite under the user data directory",
    )
    server.add_argument(
        "--workers", type=int, default=1, help="worker processes (more than 1 needs PostgreSQL)"
    )
    server.set_defaults(func=_cmd_server)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="upgrade the schema to the newest revision")
    upgrade.add_argument("--database-url", help="SQLAlchemy URL (default as for `server`)")
    upgrade.set_defaults(func=_cmd_db_upgrade)

    sync = commands.add_parser("sync", help="upload journals of runs recorded offline")
    sync.add_argument("--url", help="server URL (default: FITWATCH_URL, else http://127.0.0.1:8000)")
    sync.add_argument(
        "--dir", help="journal directory (default: FITWATCH_DIR, else ~/.local/share/fitwatch/journal)"
    )
    sync.add_argument("--run", action="append", help="only this run id (repeatable)")
    sync.set_defaults(func=_cmd_sync)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
