"""`fitwatch server` and `fitwatch db upgrade`: the commands that need the `server` extra."""

from __future__ import annotations

import argparse
import sys
from typing import Any

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


def _missing_driver(command: Any) -> Any:
    """A database URL whose driver is missing: one line that says what to install."""

    def run(args: argparse.Namespace) -> int:
        try:
            result: int = command(args)
        except ImportError as exc:
            # fitwatch_server.db.MissingDriver, by name: the server may not be installed at all.
            if type(exc).__name__ != "MissingDriver":
                raise
            sys.stderr.write(f"fitwatch: {exc}\n")
            return 2
        return result

    return run


def _cmd_server(args: argparse.Namespace) -> int:
    settings = _server_settings(args)
    from fitwatch_server.serve import serve

    def announce(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    return serve(
        settings,  # type: ignore[arg-type]
        host=args.host, port=args.port, workers=args.workers, insecure=args.insecure,
        announce=announce,
    )


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _server_settings(args)
    from fitwatch_server.migrate import upgrade_database

    upgrade_database(settings.database_url, point_partitions=settings.point_partitions)  # type: ignore[attr-defined]
    sys.stdout.write(f"fitwatch: database at {settings.database_url} is up to date\n")  # type: ignore[attr-defined]
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    server.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host with FITWATCH_AUTH=off (anyone who reaches the port is admin)",
    )
    server.set_defaults(func=_missing_driver(_cmd_server))

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="upgrade the schema to the newest revision")
    upgrade.add_argument("--database-url", help="SQLAlchemy URL (default as for `server`)")
    upgrade.set_defaults(func=_missing_driver(_cmd_db_upgrade))
