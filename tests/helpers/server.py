"""A real fitwatch server in a subprocess: `ServerProcess(database_url, port).start()`."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers.wait import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`fitwatch server` on 127.0.0.1; start/stop/restart it like a user would."""

    def __init__(
        self,
        database_url: str,
        port: int | None = None,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        file_permissions_apply: bool = False,
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.workers = workers
        self.env = env or {}
        self.log_path = log_path
        # Root ignores file permissions (CAP_DAC_OVERRIDE); a test of a chmod'ed database
        # drops that capability for the server, so it meets the file like any user would.
        self.file_permissions_apply = file_permissions_apply
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log_path}")
        try:
            # 401: up, with FITWATCH_AUTH=on.
            return httpx.get(f"{self.url}/api/v1/projects", timeout=1.0).status_code in (200, 401)
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 60.0) -> ServerProcess:
        env = {**os.environ, **self.env}
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        command = [
            sys.executable, "-m", "fitwatch.cli", "server",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--database-url", self.database_url, "--workers", str(self.workers),
        ]
        if self.file_permissions_apply and os.geteuid() == 0:
            capsh = shutil.which("capsh")
            assert capsh is not None, "capsh (package libcap2-bin) is needed to run a server as root without CAP_DAC_OVERRIDE"
            drop = "--drop=cap_dac_override,cap_dac_read_search"
            command = [capsh, drop, "--", "-c", "exec " + shlex.join(command)]
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, timeout=timeout, interval=0.05)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
