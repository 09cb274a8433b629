"""`fitwatch token create|ls|revoke`: manage the API tokens of a server.

Two ways in (docs/security.md):

- on the server's host, against its database (the default; `--database-url`, else
  `FITWATCH_DATABASE_URL`, else the default SQLite file): this is how the first admin
  token of a deployment is made (`docker compose exec server fitwatch token create ...`).
  It needs the `server` extra and upgrades the schema first, as the server does on start.
- from anywhere, through the API with an admin token: `--url URL` with `--token` or
  `FITWATCH_TOKEN`.

`create` writes the token alone on stdout (so `TOKEN=$(fitwatch token create ...)` works)
and what it is on stderr. The token is shown this once; the server keeps only its hash.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fitwatch.cli.server import SERVER_EXTRA_MISSING

SCOPES = ("read", "write", "admin")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def _row(token: dict[str, Any]) -> list[str]:
    def when(value: Any) -> str:
        return str(value)[:19].replace("T", " ") if value else "never"

    status = f"revoked {when(token['revoked_at'])}" if token.get("revoked_at") else "active"
    return [
        str(token["id"]), token["name"], token["scope"], token.get("project") or "(every project)",
        token["prefix"] + "...", when(token["created_at"]), when(token.get("last_used_at")), status,
    ]


def _table(tokens: list[dict[str, Any]]) -> str:
    header = ["ID", "NAME", "SCOPE", "PROJECT", "TOKEN", "CREATED", "LAST USED", "STATUS"]
    rows = [header, *(_row(t) for t in tokens)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)


class _Database:
    """The server's database, directly (on the server's host)."""

    def __init__(self, database_url: str | None) -> None:
        try:
            from fitwatch_server.migrate import upgrade_database
            from fitwatch_server.settings import Settings
        except ImportError:
            _say(SERVER_EXTRA_MISSING + " (or use --url with an admin token)")
            raise SystemExit(2)
        settings = Settings(database_url=database_url) if database_url else Settings()
        upgrade_database(settings.database_url, point_partitions=settings.point_partitions)
        self.database_url = settings.database_url

    def _call(self, work: Any) -> Any:
        from fitwatch_server.db import make_engine, make_sessionmaker, session_scope

        engine = make_engine(self.database_url)
        try:
            with session_scope(make_sessionmaker(engine)) as session:
                return work(session)
        finally:
            engine.dispose()

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        from fitwatch_server import schemas
        from fitwatch_server.store import tokens as store

        data = schemas.TokenCreate.model_validate(body)

        def work(session: Any) -> dict[str, Any]:
            token, raw = store.create_token(session, data=data)
            return {**store.token_public(token).model_dump(mode="json"), "token": raw}

        result: dict[str, Any] = self._call(work)
        return result

    def list(self) -> list[dict[str, Any]]:
        from fitwatch_server.store import tokens as store

        result: list[dict[str, Any]] = self._call(
            lambda session: [store.token_public(t).model_dump(mode="json") for t in store.list_tokens(session)]
        )
        return result

    def revoke(self, ident: str) -> dict[str, Any]:
        from fitwatch_server.store import tokens as store

        result: dict[str, Any] = self._call(
            lambda session: store.token_public(store.revoke_token(session, ident=ident)).model_dump(mode="json")
        )
        return result


class _Api:
    """A running server, through its API, with an admin token."""

    def __init__(self, url: str, token: str | None) -> None:
        from fitwatch.client import Client
        from fitwatch.settings import ClientSettings

        settings = ClientSettings.load(url=url)
        if token:
            from dataclasses import replace

            settings = replace(settings, token=token)
        if not settings.token:
            _say("fitwatch token: --url needs an admin token: pass --token or set FITWATCH_TOKEN")
            raise SystemExit(2)
        self.client = Client(settings)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.client.create_token(body)

    def list(self) -> list[dict[str, Any]]:
        return self.client.list_tokens()

    def revoke(self, ident: str) -> dict[str, Any]:
        return self.client.revoke_token(ident)


def _backend(args: argparse.Namespace) -> _Database | _Api:
    if args.url:
        return _Api(args.url, args.token)
    return _Database(args.database_url)


def _run(args: argparse.Namespace, action: Any) -> int:
    from fitwatch.errors import FitwatchError, ServerError

    try:
        backend = _backend(args)
        action(backend)
    except ServerError as exc:
        _say(f"fitwatch token: the server answered {exc.status_code}: {exc.detail or exc}")
        return 1
    except FitwatchError as exc:
        _say(f"fitwatch token: {exc}")
        return 1
    except ValueError as exc:  # a name the server's schema refuses (pydantic says why)
        _say(f"fitwatch token: {exc}")
        return 2
    except Exception as exc:
        detail = getattr(exc, "detail", None)  # the store's domain errors carry the message
        if detail is None:
            raise
        _say(f"fitwatch token: {detail}")
        return 1
    return 0


def _cmd_create(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name, "scope": args.scope}
    if args.project:
        body["project"] = args.project

    def action(backend: _Database | _Api) -> None:
        token = backend.create(body)
        where = f"project {token['project']!r}" if token.get("project") else "every project"
        _say(
            f"fitwatch: token {token['name']!r} (id {token['id']}, {token['scope']}, {where}) created. "
            "It is shown only this once; keep it secret:"
        )
        sys.stdout.write(token["token"] + "\n")

    return _run(args, action)


def _cmd_ls(args: argparse.Namespace) -> int:
    def action(backend: _Database | _Api) -> None:
        sys.stdout.write(_table(backend.list()) + "\n")

    return _run(args, action)


def _cmd_revoke(args: argparse.Namespace) -> int:
    def action(backend: _Database | _Api) -> None:
        token = backend.revoke(args.ident)
        _say(f"fitwatch: token {token['name']!r} (id {token['id']}) revoked; its dashboard sessions ended")

    return _run(args, action)


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="the server's database (default: FITWATCH_DATABASE_URL, else the default SQLite file)",
    )
    parser.add_argument("--url", help="go through this server's API instead (needs an admin token)")
    parser.add_argument("--token", help="the admin token for --url (default: FITWATCH_TOKEN)")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="create, list and revoke API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)

    create = token_commands.add_parser("create", help="make a token and print it (once)")
    create.add_argument("--name", required=True, help="who or what the token is for")
    create.add_argument("--scope", required=True, choices=SCOPES, help="read, write (read + log runs) or admin")
    create.add_argument("--project", help="bind the token to this project only (default: every project)")
    _where(create)
    create.set_defaults(func=_cmd_create)

    ls = token_commands.add_parser("ls", help="list tokens (never the tokens themselves)")
    _where(ls)
    ls.set_defaults(func=_cmd_ls)

    revoke = token_commands.add_parser("revoke", help="revoke a token by id or name")
    revoke.add_argument("ident", metavar="ID_OR_NAME")
    _where(revoke)
    revoke.set_defaults(func=_cmd_revoke)
