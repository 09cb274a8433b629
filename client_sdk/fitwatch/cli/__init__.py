"""The `fitwatch` command: one module per group of subcommands, each with `register(commands)`.

Server commands import `fitwatch_server` lazily, so the SDK alone (without the `server`
extra) still gives a working `fitwatch sync` and a polite message for the rest.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from fitwatch.cli import purge, server, sync, token

# Each module adds its subcommands to the parser; the order is the order of `fitwatch --help`.
COMMAND_MODULES = (server, sync, token, purge)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fitwatch", description="Live training dashboard for Keras.")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result
