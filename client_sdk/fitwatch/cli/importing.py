"""`fitwatch import csv|history|tensorboard`: bring training history logged elsewhere in.

Everything goes through the server's API with the SDK's client (`--url`, `--token` or
`FITWATCH_URL`, `FITWATCH_TOKEN`), so a write token is needed when auth is on. Importing
the same file again is a no-op (fitwatch/importers/upload.py). docs/import-export.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from fitwatch.importers.model import ImportedRun


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _fail(line: str) -> int:
    sys.stderr.write(f"fitwatch import: {line}\n")
    return 2


def _upload(args: argparse.Namespace, runs: list[ImportedRun]) -> int:
    from fitwatch.errors import FitwatchError, ServerError
    from fitwatch.importers.upload import upload_run
    from fitwatch.settings import ClientSettings

    if len(runs) > 1 and (args.name or args.run_id):
        return _fail(f"--name and --run-id need a single run; {len(runs)} runs were found")
    try:
        settings = ClientSettings.load(url=args.url, token=args.token)
    except ValueError as exc:
        return _fail(str(exc))
    for run in runs:
        try:
            report = upload_run(
                run, project=args.project, settings=settings, run_id=args.run_id, name=args.name
            )
        except ValueError as exc:
            return _fail(str(exc))
        except ServerError as exc:
            return _fail(f"the server refused {run.source}: {exc.detail or exc}")
        except FitwatchError as exc:
            return _fail(f"{run.source}: {exc}")
        what = "imported" if report.created else "already imported (unchanged points kept)"
        _say(
            f"{what}: {run.source} -> run {report.run_id} ({report.name!r}, project "
            f"{args.project!r}): {report.series} series, {report.points} points  {report.url}"
        )
    return 0


def _reading(
    read: Callable[[argparse.Namespace], list[ImportedRun]],
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        try:
            runs = read(args)
        except ValueError as exc:
            return _fail(str(exc))
        return _upload(args, runs)

    return command


def _read_csv(args: argparse.Namespace) -> list[ImportedRun]:
    from fitwatch.importers.csv_logger import read_csv_logger_fits

    return read_csv_logger_fits(args.file, separator=args.separator)


def _read_history(args: argparse.Namespace) -> list[ImportedRun]:
    from fitwatch.importers.history import read_history

    return [read_history(args.file, validation_freq=args.validation_freq)]


def _read_tensorboard(args: argparse.Namespace) -> list[ImportedRun]:
    from fitwatch.importers.tensorboard import read_logdir

    return read_logdir(args.logdir)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project", default="default", help="project of the imported runs (default: default)"
    )
    parser.add_argument(
        "--url", help="server URL (default: FITWATCH_URL, else http://127.0.0.1:8000)"
    )
    parser.add_argument("--token", help="a write token (default: FITWATCH_TOKEN)")
    parser.add_argument("--name", help="run name (default: the file's or directory's name)")
    parser.add_argument(
        "--run-id",
        help="run id (default: derived from the path, so a re-import finds the same run)",
    )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "import", help="import CSVLogger files, History dumps, TensorBoard logs"
    )
    kinds = group.add_subparsers(dest="kind", required=True)

    csv_parser = kinds.add_parser("csv", help="a keras.callbacks.CSVLogger file")
    csv_parser.add_argument("file")
    csv_parser.add_argument("--separator", default=",", help="CSVLogger's separator (default: ',')")
    _common(csv_parser)
    csv_parser.set_defaults(func=_reading(_read_csv))

    history = kinds.add_parser("history", help="a JSON dump of History.history")
    history.add_argument("file")
    history.add_argument(
        "--validation-freq",
        type=int,
        help="fit's validation_freq, when it was > 1 (val_ lists are shorter)",
    )
    _common(history)
    history.set_defaults(func=_reading(_read_history))

    tensorboard = kinds.add_parser(
        "tensorboard", help="TensorBoard event files, one run per run directory"
    )
    tensorboard.add_argument("logdir")
    _common(tensorboard)
    tensorboard.set_defaults(func=_reading(_read_tensorboard))
