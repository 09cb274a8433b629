"""`fitwatch runs ls|show|export|rm|tag`: the daily work on runs, through a server's API.

SDK only (no `server` extra): every command talks to the server at `--url`, else
`FITWATCH_URL`, else http://127.0.0.1:8000, with `--token`, else `FITWATCH_TOKEN`.

A RUN argument is a run id, the start of one (as `runs ls` shows it) or a run's name, as
long as it names exactly one run.

To add a subcommand, write `_add_NAME(commands)` that builds its parser (with
`parents=[COMMON]`) and sets `func`, and list it in `SUBCOMMANDS`; `_connect`, `resolve`
and `_run` give it the client, RUN lookups and the one-line error handling.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import IO, Any

from fitwatch.cli.purge import add_purge_command
from fitwatch.client import Client
from fitwatch.errors import FitwatchError, ServerError, TransportError
from fitwatch.settings import ClientSettings

SHORT_ID_CHARS = 8
TAG_CHARS = 40


class CommandError(Exception):
    """A message for the user; `_run` prints it as one line and exits with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _connect(args: argparse.Namespace) -> Client:
    try:
        settings = ClientSettings.load(url=args.url)
    except ValueError as exc:
        raise CommandError(str(exc), code=2)
    if args.token:
        settings = replace(settings, token=args.token)
    return Client(settings)


def _server_url(args: argparse.Namespace) -> str:
    return ClientSettings.load(url=args.url).url


def resolve(client: Client, ref: str) -> dict[str, Any]:
    """The run that `ref` names: an id, a unique id prefix or a unique name."""
    try:
        return client.get_run(ref)
    except ServerError as exc:
        if exc.status_code != 404:
            raise
    quoted = json.dumps(ref)
    found = client.list_runs({"filter": f"id ~ {quoted} or name = {quoted}", "limit": 20})["runs"]
    matches = [r for r in found if r["id"].startswith(ref) or r["name"] == ref]
    if len(matches) == 1:
        return client.get_run(matches[0]["id"])
    if not matches:
        raise CommandError(f"no run has the id or name {ref!r} (see `fitwatch runs ls`)")
    names = ", ".join(
        f"{r['id'][:SHORT_ID_CHARS]} ({r['name']}, {r['project']})" for r in matches[:5]
    )
    raise CommandError(f"{ref!r} names {len(matches)} runs: {names}; pass more of the id")


def _table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _when(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else ""


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def flatten(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """`{"optimizer": {"learning_rate": 0.01}}` as `[("optimizer.learning_rate", 0.01)]`:
    with `config.` in front, the path a filter takes."""
    if isinstance(config, dict) and config:
        items: list[tuple[str, Any]] = []
        for key, value in config.items():
            items.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return items
    return [(prefix, config)]


def _write(out: IO[str], text: str) -> None:
    out.write(text + "\n")


# -- ls ------------------------------------------------------------------------------
def _cmd_ls(args: argparse.Namespace) -> None:
    params: dict[str, Any] = {"sort": args.sort, "limit": args.limit}
    if args.project:
        params["project"] = args.project
    if args.filter:
        params["filter"] = args.filter
    with _connect(args) as client:
        page = client.list_runs(params)
    if args.json:
        _write(sys.stdout, json.dumps(page, indent=2))
        return
    rows = [
        [
            run["id"][:SHORT_ID_CHARS],
            run["name"],
            run["project"],
            run["status"],
            _when(run["created_at"]),
            _clip(",".join(run["tags"]), TAG_CHARS),
        ]
        for run in page["runs"]
    ]
    _write(sys.stdout, _table(["ID", "NAME", "PROJECT", "STATUS", "CREATED", "TAGS"], rows))
    shown = len(page["runs"])
    if page["total"] > shown:
        sys.stderr.write(f"{shown} of {page['total']} runs shown; pass --limit to see more\n")


def _add_ls(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ls = commands.add_parser("ls", parents=[COMMON], help="list runs (newest first)")
    ls.add_argument("--project", help="only this project")
    ls.add_argument(
        "--filter", help="filter expression, e.g. 'status = \"finished\" and min(val_loss) < 0.3'"
    )
    ls.add_argument(
        "--sort", default="-created_at", help="fields, '-' for descending (default -created_at)"
    )
    ls.add_argument("--limit", type=int, default=50, help="at most this many runs (default 50)")
    ls.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    ls.set_defaults(func=_cmd_ls)


# -- show ----------------------------------------------------------------------------
def _cmd_show(args: argparse.Namespace) -> None:
    with _connect(args) as client:
        run = resolve(client, args.run)
    if args.json:
        _write(sys.stdout, json.dumps(run, indent=2))
        return
    fields = [
        ("id", run["id"]),
        ("name", run["name"]),
        ("project", run["project"]),
        ("status", run["status"]),
        ("created", _when(run["created_at"])),
        ("ended", _when(run["ended_at"]) or "-"),
        ("tags", ", ".join(run["tags"]) or "-"),
        ("page", f"{_server_url(args)}/run.html?run={run['id']}"),
    ]
    if run["notes"]:
        fields.append(("notes", run["notes"]))
    lines = [f"{name + ':':<9}{value}" for name, value in fields]
    config = [(f"config.{path}", value) for path, value in flatten(run["config"]) if path]
    if config:
        lines += ["", "config (as filters name it):"]
        lines += [f"  {path} = {json.dumps(value)}" for path, value in config]
    summary = [(path, value) for path, value in flatten(run["summary"]) if path]
    if summary:
        lines += ["", "summary:"] + [f"  {path} = {json.dumps(value)}" for path, value in summary]
    series = run.get("series") or []
    if series:
        rows = [
            [
                s["key"],
                s["scope"],
                str(s["count"]),
                _number(s["last_value"]),
                _number(s["min_value"]),
                _number(s["max_value"]),
            ]
            for s in series
        ]
        lines += ["", _table(["SERIES", "SCOPE", "POINTS", "LAST", "MIN", "MAX"], rows)]
    _write(sys.stdout, "\n".join(lines))


def _add_show(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser("show", parents=[COMMON], help="one run: config, summary, series")
    show.add_argument("run", metavar="RUN", help="run id, start of an id, or name")
    show.add_argument("--json", action="store_true", help="the API's JSON instead of text")
    show.set_defaults(func=_cmd_show)


# -- export --------------------------------------------------------------------------
def _export_csv(client: Client, runs: list[dict[str, Any]], out: IO[str]) -> None:
    # One table for all runs: the API's columns with the run id in front.
    first = True
    for run in runs:
        text = b"".join(client.export_run(run["id"], format="csv")).decode()
        header, _, rows = text.partition("\n")
        if first:
            out.write(f"run_id,{header}\n")
            first = False
        # "\n" only: splitlines() also breaks on U+2028, U+2029 and U+0085, which a key may hold.
        for row in rows.split("\n"):
            if row:
                out.write(f"{run['id']},{row}\n")


def _export_json(client: Client, runs: list[dict[str, Any]], out: IO[str]) -> None:
    # `{"runs": [<the API's export of each run>, ...]}`, written as it streams in.
    out.write('{"runs": [')
    for n, run in enumerate(runs):
        if n:
            out.write(", ")
        for chunk in client.export_run(run["id"], format="json"):
            out.write(chunk.decode())
    out.write("]}\n")


def _cmd_export(args: argparse.Namespace) -> None:
    with _connect(args) as client:
        runs = [resolve(client, ref) for ref in args.runs]
        export = _export_csv if args.format == "csv" else _export_json
        if args.output in (None, "-"):
            export(client, runs, sys.stdout)
            return
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            export(client, runs, out)
    points = sum(s["count"] for run in runs for s in run.get("series") or [])
    sys.stderr.write(f"fitwatch: {len(runs)} runs ({points} points) written to {args.output}\n")


def _add_export(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export", parents=[COMMON], help="every point of runs, as CSV or JSON"
    )
    export.add_argument("runs", nargs="+", metavar="RUN", help="run ids, starts of ids, or names")
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write here (default: standard output)"
    )
    export.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="csv (default) or json"
    )
    export.set_defaults(func=_cmd_export)


# -- rm ------------------------------------------------------------------------------
def _confirm(question: str) -> bool:
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _cmd_rm(args: argparse.Namespace) -> None:
    with _connect(args) as client:
        # Every RUN is looked up before anything is deleted: one typo deletes nothing.
        runs = {run["id"]: run for run in (resolve(client, ref) for ref in args.runs)}
        for run in runs.values():
            points = sum(s["count"] for s in run.get("series") or [])
            sys.stderr.write(
                f"  {run['id'][:SHORT_ID_CHARS]}  {run['name']}  ({run['project']}, {points} points)\n"
            )
        if not args.yes and not _confirm(f"Delete these {len(runs)} runs and all their points?"):
            raise CommandError("nothing deleted")
        for run_id in runs:
            client.delete_run(run_id)
    sys.stderr.write(f"fitwatch: {len(runs)} runs deleted\n")


def _add_rm(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rm = commands.add_parser(
        "rm", parents=[COMMON], help="delete runs with their points (asks first)"
    )
    rm.add_argument("runs", nargs="+", metavar="RUN", help="run ids, starts of ids, or names")
    rm.add_argument("-y", "--yes", action="store_true", help="do not ask")
    rm.set_defaults(func=_cmd_rm)


# -- tag -----------------------------------------------------------------------------
def parse_tag_changes(changes: list[str]) -> tuple[list[str], list[str]]:
    """`["+a", "-b", "c"]` -> (add ["a", "c"], remove ["b"])."""
    add: list[str] = []
    remove: list[str] = []
    for change in changes:
        tag = change[1:] if change[:1] in "+-" else change
        if not tag or change[:1] == "-" and tag.startswith("-"):
            raise CommandError(f"a tag change is +TAG or -TAG. Received: {change!r}", code=2)
        (remove if change.startswith("-") else add).append(tag)
    return add, remove


def _cmd_tag(args: argparse.Namespace) -> None:
    add, remove = parse_tag_changes(args.changes)
    if not add and not remove:
        raise CommandError(
            "say which tags to add or remove: fitwatch runs tag RUN +TAG -TAG", code=2
        )
    with _connect(args) as client:
        run = resolve(client, args.run)
        tags = [t for t in run["tags"] if t not in remove]
        tags += [t for t in add if t not in tags]
        updated = client.update_run(run["id"], {"tags": tags})
    _write(
        sys.stdout,
        f"{updated['id'][:SHORT_ID_CHARS]}  {updated['name']}: {', '.join(updated['tags']) or '(no tags)'}",
    )


def _add_tag(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tag = commands.add_parser(
        "tag",
        parents=[COMMON],
        help="add (+TAG) and remove (-TAG) tags",
        usage="fitwatch runs tag [--url URL] [--token TOKEN] RUN +TAG|-TAG ...",
    )
    tag.add_argument("run", metavar="RUN", help="run id, start of an id, or name")
    # REMAINDER: "-b" is a change here, not an option.
    tag.add_argument("changes", nargs=argparse.REMAINDER, metavar="+TAG|-TAG")
    tag.set_defaults(func=_cmd_tag)


# -- the group -----------------------------------------------------------------------
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("--url", help="server URL (default: FITWATCH_URL, else http://127.0.0.1:8000)")
COMMON.add_argument("--token", help="API token (default: FITWATCH_TOKEN)")

SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_ls,
    _add_show,
    _add_export,
    _add_rm,
    _add_tag,
)


def _run(action: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    """Errors as one line on stderr, never a traceback: 1 for a failure, 2 for bad usage."""

    def command(args: argparse.Namespace) -> int:
        where = f"fitwatch runs {args.runs_command}"
        try:
            action(args)
        except CommandError as exc:
            sys.stderr.write(f"{where}: {exc}\n")
            return exc.code
        except TransportError:
            sys.stderr.write(
                f"{where}: cannot reach a fitwatch server at {_server_url(args)}; start one with "
                "`fitwatch server`, or point --url / FITWATCH_URL at yours\n"
            )
            return 1
        except ServerError as exc:
            detail = exc.detail or str(exc)
            if exc.status_code == 401:
                detail += " (pass --token or set FITWATCH_TOKEN)"
            sys.stderr.write(f"{where}: the server answered {exc.status_code}: {detail}\n")
            return 1
        except FitwatchError as exc:
            sys.stderr.write(f"{where}: {exc}\n")
            return 1
        except KeyboardInterrupt:
            return 130
        return 0

    return command


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    runs = commands.add_parser("runs", help="list, show, export, delete, tag and purge runs")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(runs_commands)
    for parser in runs_commands.choices.values():
        parser.set_defaults(func=_run(parser.get_default("func")))
    # purge reports its own errors (cli/purge.py).
    add_purge_command(runs_commands)
