"""`fitwatch server --workers N`: refused on SQLite, TCP_NODELAY on accepted sockets, N workers on PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from fitwatch_server.serve import bind_socket, check_workers
from fitwatch_server.settings import Settings
from tests.helpers.server import ServerProcess, free_port
from tests.server.live.client import LiveClient, received_points
from tests.server.live.helpers import create_run, ingest, live_status, series


def test_more_than_one_worker_on_sqlite_is_refused_with_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "fitwatch.cli", "server", "--port", str(free_port()),
         "--database-url", url, "--workers", "2"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "--workers 2 needs PostgreSQL" in result.stderr
    assert "--workers 1" in result.stderr and url in result.stderr


def test_worker_count_must_be_positive() -> None:
    problem = check_workers(Settings(database_url="postgresql://u@h/db"), 0)
    assert problem == "--workers must be 1 or more. Received: --workers 0"
    assert check_workers(Settings(database_url="postgresql://u@h/db"), 4) is None


def test_accepted_connections_get_tcp_nodelay_under_plain_asyncio() -> None:
    # uvicorn's own bind_socket leaves the protocol at 0 and asyncio then skips TCP_NODELAY
    # (docs/scale.md: +40 ms per keep-alive response with --workers N).
    sock = bind_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP

    async def accepted_nodelay() -> int:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted = transport.get_extra_info("socket")
                got.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        sock.listen()
        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname())
        try:
            return await asyncio.wait_for(got, timeout=10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay()) != 0


def test_two_workers_on_postgresql_serve_and_fan_out(
    pg_url: str, server_process: type[ServerProcess], api: httpx.Client
) -> None:
    url = server_process(pg_url, workers=2).start().url
    # The kernel picks a worker per connection; fresh connections reach both sooner or later.
    workers = set()
    for _ in range(200):
        with httpx.Client() as fresh:
            workers.add(fresh.get(f"{url}/api/v1/live/status").json()["worker"])
        if len(workers) == 2:
            break
    assert len(workers) == 2, f"only one worker answered: {workers}"

    run = create_run(api, url)
    watchers = [LiveClient(url, f"run={run['id']}") for _ in range(6)]
    for watcher in watchers:
        watcher.next_of("subscribed")
    for i in range(5):
        with httpx.Client() as fresh:  # new connections: ingests land on both workers
            ingest(fresh, url, run["id"], series("loss", "batch", [2 * i, 2 * i + 1]))
    for watcher in watchers:
        watcher.until(lambda m: len(received_points(m, run["id"], "loss", "batch")) == 10)
        watcher.close()
    assert live_status(api, url)["listener"] == "listening"
