"""serve.py: a server reachable from other machines needs auth (or an explicit --insecure)."""

from __future__ import annotations

import subprocess
import sys

from fitwatch_server.serve import check_exposure, is_loopback
from fitwatch_server.settings import Settings


def test_loopback_addresses_are_recognised():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com"))


def test_a_non_loopback_host_with_auth_off_is_refused_unless_insecure():
    off, on = Settings(database_url="sqlite://"), Settings(database_url="sqlite://", auth=True)
    problem = check_exposure(off, "0.0.0.0", insecure=False)
    assert problem is not None and "FITWATCH_AUTH=on" in problem and "--insecure" in problem
    assert check_exposure(off, "0.0.0.0", insecure=True) is None
    assert check_exposure(on, "0.0.0.0", insecure=False) is None
    assert check_exposure(off, "127.0.0.1", insecure=False) is None


def test_fitwatch_server_says_why_it_will_not_listen_on_every_address(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "FITWATCH_AUTH": "off", "HOME": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fitwatch.cli",
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            "1",
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "auth is off (FITWATCH_AUTH=off)" in result.stderr and "--insecure" in result.stderr


def test_worker_processes_read_back_the_same_security_settings(monkeypatch):
    import os

    from pydantic import SecretStr

    from fitwatch_server.serve import _export_settings

    settings = Settings(
        database_url="sqlite:///x.db",
        auth=True,
        admin_token=SecretStr("k" * 40),
        allowed_hosts=["a.example", "*.b.example"],
        allowed_origins=["https://c.example"],
        rate_limit_per_s=7,
    )
    for name in list(os.environ):
        if name.startswith("FITWATCH_"):
            monkeypatch.delenv(name)
    _export_settings(settings)
    try:
        again = Settings()
    finally:
        for name in list(os.environ):
            if name.startswith("FITWATCH_"):
                os.environ.pop(name)
    assert again.auth is True and again.admin_token is not None
    assert again.admin_token.get_secret_value() == "k" * 40
    assert again.allowed_hosts == ["a.example", "*.b.example"] and again.allowed_origins == [
        "https://c.example"
    ]
    assert again.rate_limit_per_s == 7 and again.migrate_on_start is False


def test_the_access_log_leaves_out_successful_point_posts_only(server_process, tmp_path):
    # Real `fitwatch server`: the SDK's point posts (10 a second per run) are not logged,
    # a refused post and every other request are.
    import httpx

    from tests.helpers.wait import wait_until

    log = tmp_path / "access.log"
    server = server_process(f"sqlite:///{tmp_path / 'log.db'}", log_path=log).start()
    with httpx.Client(base_url=server.url) as client:
        client.post("/api/v1/runs", json={"project": "p", "id": "logged"}).raise_for_status()
        points = {
            "series": [
                {"key": "loss", "scope": "batch", "steps": [0], "values": [1.0], "times": [1.0]}
            ]
        }
        client.post("/api/v1/runs/logged/points", json=points).raise_for_status()
        assert client.post("/api/v1/runs/no-such-run/points", json=points).status_code == 404
        client.get("/api/v1/runs/logged").raise_for_status()

    def logged() -> str:
        return log.read_text(errors="replace")

    wait_until(lambda: '"GET /api/v1/runs/logged HTTP/1.1" 200' in logged(), timeout=10)
    text = logged()
    assert '"POST /api/v1/runs HTTP/1.1" 201' in text
    assert '"POST /api/v1/runs/no-such-run/points HTTP/1.1" 404' in text
    assert "/api/v1/runs/logged/points" not in text


def test_the_server_freezes_the_garbage_collector_after_start_up(tmp_path):
    # serve.py's reason: full collections walked ~150,000 start-up objects (bench/full_read.py).
    import gc
    import threading

    import uvicorn

    from fitwatch_server.app import create_app
    from fitwatch_server.serve import _Server, log_config
    from tests.helpers.server import free_port
    from tests.helpers.wait import wait_until

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'gc.db'}")
    config = uvicorn.Config(create_app(settings), port=free_port(), log_config=log_config())
    server = _Server(config)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        # `started` is set inside uvicorn's start-up, just before the freeze that follows it.
        wait_until(lambda: server.started and gc.get_freeze_count() > 10_000, timeout=30)
    finally:
        server.should_exit = True
        thread.join(30)
        gc.unfreeze()
