"""Run the server under uvicorn (`fitwatch server`), with one worker or several on PostgreSQL.

Several workers share one listening socket that this module binds itself, with
`IPPROTO_TCP` as its protocol: asyncio only sets `TCP_NODELAY` on accepted sockets whose
listener says so, and uvicorn's own `bind_socket` leaves the protocol at 0, which costs
every keep-alive response ~40 ms of Nagle delay with `--workers N` (uvicorn issue #3149;
the measurement: docs/scale.md). bench/live_latency.py measures the result.

It also freezes the garbage collector's view of everything made at start-up (`freeze_gc`):
a server process holds ~150,000 long-lived objects (FastAPI, pydantic, SQLAlchemy, numpy),
and every full collection walked them all. A full read of a 100k-point series allocates
400,000 objects and so triggered several: 300 ms of CPU, of which ~200 ms was the
collector (bench/full_read.py, docs/scale.md).
"""

from __future__ import annotations

import copy
import gc
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from fitwatch_server.app import create_app
from fitwatch_server.settings import Settings

logger = logging.getLogger(__name__)

# Open websockets get this long to finish when the server stops.
GRACEFUL_SHUTDOWN_S = 5


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose accepted connections get TCP_NODELAY from asyncio."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY from the listener on Linux: a second guard.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def check_workers(settings: Settings, workers: int) -> str | None:
    """Why this worker count cannot run on this database, or None if it can."""
    if workers < 1:
        return f"--workers must be 1 or more. Received: --workers {workers}"
    if workers > 1 and settings.is_sqlite:
        return (
            f"--workers {workers} needs PostgreSQL: SQLite has one writer and live updates of one "
            "worker cannot reach the websockets of another. Start one worker (--workers 1), or "
            "point --database-url / FITWATCH_DATABASE_URL at postgresql://... . "
            f"Received: --workers {workers} with {settings.database_url!r}"
        )
    return None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this machine can connect."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str, *, insecure: bool) -> str | None:
    """Why listening on `host` with these settings is refused, or None if it is fine."""
    if settings.auth or insecure or is_loopback(host):
        return None
    return (
        f"--host {host} lets other machines connect, and auth is off (FITWATCH_AUTH=off): anyone "
        "who can reach this port could read, change and delete every run. Turn auth on with "
        "FITWATCH_AUTH=on (then make a token: fitwatch token create --name NAME --scope admin; "
        "see docs/security.md), listen on 127.0.0.1, or pass --insecure if this network is "
        "yours alone."
    )


def describe(settings: Settings, host: str, port: int) -> str:
    """The first thing a user needs to know: where the server is, what it stores into, and
    whether it asks for tokens (the password of a database URL is hidden)."""
    from sqlalchemy.engine import make_url

    shown_host = f"[{host}]" if ":" in host else host
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    if settings.auth:
        auth = "auth on: every request needs a token (fitwatch token create; docs/security.md)"
    else:
        auth = "auth off: no token needed"
    return f"fitwatch server: http://{shown_host}:{port} (database {database}; {auth})"


def freeze_gc() -> None:
    """Move every object alive now into the collector's permanent generation (see the
    module docstring): they are the app's code and start-up state, never garbage, and
    full collections stop walking them. Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


class _Server(uvicorn.Server):
    """uvicorn's server, freezing the collector once the app's start-up (migrations, the
    hub, the writer) is done."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        freeze_gc()


def worker_app() -> FastAPI:
    """The app of one worker process; `serve` exported the settings to the environment."""
    app = create_app(Settings())
    freeze_gc()
    return app


def _export_settings(settings: Settings) -> None:
    # Worker processes are spawned fresh and read `Settings()` from the environment; the
    # parent already migrated, so workers must not race each other doing it again.
    for name, value in settings.model_dump().items():
        if value is None:
            os.environ.pop(f"FITWATCH_{name.upper()}", None)
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        os.environ[f"FITWATCH_{name.upper()}"] = str(value)
    os.environ["FITWATCH_MIGRATE_ON_START"] = "false"


# `POST /api/v1/runs/{run_id}/points` (or under a root path), with or without a query.
_POINT_POST = re.compile(r"/runs/[^/?]+/points(\?.*)?")


class QuietPointPosts(logging.Filter):
    """Leave the SDK's successful point posts out of the access log.

    The SDK posts every 0.1 s per run, so a sweep of 50 runs wrote 500 access lines a
    second, and writing them was ~10% of the event loop's time on small requests
    (bench/small_requests.py, docs/scale.md). Refused or failed posts, and every other
    request, are logged as before.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return True
        _client, method, path, _version, status = args
        return not (
            method == "POST"
            and isinstance(status, int)
            and 200 <= status < 300
            and isinstance(path, str)
            and _POINT_POST.search(path) is not None
        )


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with `QuietPointPosts` on its access log."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["quiet_point_posts"] = {"()": QuietPointPosts}
    config["handlers"]["access"].setdefault("filters", []).append("quiet_point_posts")
    return config


def _config(app: FastAPI | str, settings: Settings, *, workers: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=workers,
        log_config=log_config(),
        log_level="info",
        ws_ping_interval=settings.live_ping_interval_s,
        ws_ping_timeout=settings.live_ping_interval_s,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    insecure: bool = False,
    announce: Callable[[str], None] | None = None,
) -> int:
    """Serve until stopped. `announce` gets one line (URL, database, auth) once the port is
    bound; the `fitwatch server` command prints it."""
    problem = check_workers(settings, workers) or check_exposure(settings, host, insecure=insecure)
    if problem is not None:
        logger.error("fitwatch server: %s", problem)
        return 2
    sock = bind_socket(host, port)
    (announce or logger.info)(describe(settings, host, port))
    if workers == 1:
        server = _Server(_config(create_app(settings), settings, workers=1))
        server.run(sockets=[sock])
        return 0 if server.started else 1
    if settings.migrate_on_start:
        from fitwatch_server.migrate import upgrade_database

        upgrade_database(settings.database_url, point_partitions=settings.point_partitions)
    _export_settings(settings)
    logger.info("fitwatch server: %d workers on http://%s:%d", workers, host, port)
    config = _config("fitwatch_server.serve:worker_app", settings, workers=workers)
    Multiprocess(config, sockets=[sock]).run()
    return 0
