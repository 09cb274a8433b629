"""What auth costs per request: the same requests with FITWATCH_AUTH=off, with a bearer
token, and with a dashboard session cookie (issue 9). One server process on SQLite.

For each mode: sequential keep-alive requests (after a warm-up) of `GET /api/v1/runs/{id}`
(a read that checks the token, and nothing else) and `POST /api/v1/runs/{id}/points` with
10 points over 5 series (what the SDK sends every 0.1 s); prints p50 and p99 in ms.

    python bench/auth_overhead.py                 # 500 requests per row
    python bench/auth_overhead.py --requests 2000

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ADMIN = "bench-admin-" + "c" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(database_url: str, auth: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "FITWATCH_AUTH": "on" if auth else "off", "FITWATCH_ADMIN_TOKEN": ADMIN,
           "FITWATCH_RATE_LIMIT_PER_S": "100000"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fitwatch.cli", "server", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", database_url], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/projects", timeout=1).status_code in (200, 401):
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start")


def prepare(url: str, mode: str) -> tuple[httpx.Client, str]:
    """A keep-alive client that authenticates as `mode` says, and a run to read and write."""
    admin = {"Authorization": f"Bearer {ADMIN}"} if mode != "auth off" else {}
    with httpx.Client(base_url=url, headers=admin) as setup:
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        if mode != "auth off":
            token = setup.post("/api/v1/tokens", json={"name": "bench", "scope": "admin"}).json()["token"]
            if mode == "bearer token":
                headers = {"Authorization": f"Bearer {token}"}
            else:
                signed = httpx.post(f"{url}/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"})
                cookies = {"fitwatch_session": signed.cookies["fitwatch_session"]}
        run_id = setup.post("/api/v1/runs", json={"project": "bench"}).json()["id"]
    return httpx.Client(base_url=url, headers=headers, cookies=cookies), run_id


def call(client: httpx.Client, run_id: str, what: str, i: int) -> float:
    t0 = time.perf_counter()
    if what == "GET run":
        response = client.get(f"/api/v1/runs/{run_id}")
    else:
        body = {"series": [{"key": f"k{k}", "scope": "batch", "steps": [2 * i, 2 * i + 1],
                            "values": [0.5, 0.25], "times": [1.0, 2.0]} for k in range(5)]}
        response = client.post(f"/api/v1/runs/{run_id}/points", json=body)
    elapsed = (time.perf_counter() - t0) * 1000
    assert response.status_code < 300, response.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    modes = ("auth off", "bearer token", "session cookie")
    whats = ("GET run", "POST 10 points")
    with tempfile.TemporaryDirectory() as tmp:
        servers = [start(f"sqlite:///{Path(tmp) / f'{i}.db'}", mode != "auth off") for i, mode in enumerate(modes)]
        try:
            clients = {mode: prepare(url, mode) for mode, (_p, url) in zip(modes, servers, strict=True)}
            samples: dict[tuple[str, str], list[float]] = {(m, w): [] for m in modes for w in whats}
            # Round-robin: each sample of each mode is taken under the same load of the
            # machine (it is shared), so the modes compare even when the figures wander.
            for i in range(args.requests + 50):
                for what in whats:
                    for mode in modes:
                        elapsed = call(*clients[mode], what, i)
                        if i >= 50:
                            samples[(mode, what)].append(elapsed)
        finally:
            for process, _url in servers:
                process.terminate()
                process.wait(timeout=15)
    print(f"{'mode':<16}{'request':<16}{'p50 ms':>8}{'p99 ms':>8}")
    for (mode, what), values in samples.items():
        values.sort()
        print(f"{mode:<16}{what:<16}{statistics.median(values):>8.2f}{values[int(len(values) * 0.99) - 1]:>8.2f}")


if __name__ == "__main__":
    main()
