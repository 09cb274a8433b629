"""Deployment files: docker-compose.yml is valid, and its set-up works on the local PostgreSQL.

There is no Docker engine here, so the compose file is checked with `docker compose config`
and the same set-up (the server's command and FITWATCH_DATABASE_URL on PostgreSQL) is run
directly against the local PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from fitwatch.cli import build_parser
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent


def compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False
    ).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def rendered_compose() -> dict:
    command = compose_command()
    require(command is not None, "neither `docker compose` nor `docker-compose` is installed")
    assert command is not None
    result = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True, text=True, check=False, env={"POSTGRES_PASSWORD": "secret", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    import yaml  # docker-compose's own dependency; PyYAML ships with pip's tooling here too

    return yaml.safe_load(result.stdout)


def test_compose_waits_for_a_healthy_postgres():
    config = rendered_compose()
    server = config["services"]["server"]
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in json.dumps(config["services"]["postgres"]["healthcheck"])
    assert server["environment"]["FITWATCH_DATABASE_URL"].startswith("postgresql://fitwatch:secret@postgres")


def test_compose_turns_auth_on_and_the_dockerfile_too():
    server = rendered_compose()["services"]["server"]
    assert server["environment"]["FITWATCH_AUTH"] == "on"
    assert server["environment"]["FITWATCH_ADMIN_TOKEN"] == ""  # optional: empty means unset
    assert "ENV FITWATCH_AUTH=on" in (ROOT / "Dockerfile").read_text()
    compose_text = (ROOT / "docker-compose.yml").read_text()
    assert "docker compose exec server fitwatch token create --name admin --scope admin" in compose_text


def test_the_first_admin_token_made_as_in_compose_opens_an_auth_server(server_process, postgres_url, tmp_path):
    require(postgres_url is not None, "PostgreSQL is not reachable")
    made = subprocess.run(
        [sys.executable, "-m", "fitwatch.cli", "token", "create", "--name", "admin", "--scope", "admin"],
        capture_output=True, text=True, check=False, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FITWATCH_DATABASE_URL": postgres_url},
    )
    assert made.returncode == 0, made.stderr
    server = server_process(postgres_url, env={"FITWATCH_AUTH": "on"}).start()
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    assert httpx.get(f"{server.url}/api/v1/runs").status_code == 401
    assert httpx.get(f"{server.url}/api/v1/runs", headers=headers).status_code == 200


def test_compose_server_command_is_a_valid_fitwatch_command():
    command = rendered_compose()["services"]["server"]["command"]
    assert command[0] == "fitwatch"
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.host, args.port) == ("server", "0.0.0.0", 8000)


def test_the_server_runs_on_postgresql_as_in_compose(server_process, postgres_url):
    require(postgres_url is not None, "PostgreSQL is not reachable")
    server = server_process(postgres_url).start()
    created = httpx.post(f"{server.url}/api/v1/runs", json={"project": "compose", "name": "pg"})
    assert created.status_code == 201
    listed = httpx.get(f"{server.url}/api/v1/runs", params={"project": "compose"}).json()
    assert [r["name"] for r in listed["runs"]] == ["pg"]
    httpx.delete(f"{server.url}/api/v1/runs/{created.json()['id']}")


def test_compose_runs_two_identical_replicas_behind_a_proxy_to_both():
    services = rendered_compose()["services"]
    first, second = services["server"], services["server-2"]
    assert first["command"] == second["command"] and first["environment"] == second["environment"]
    assert "ports" not in first and "ports" not in second  # reached only through the proxy
    proxy = services["proxy"]
    assert set(proxy["depends_on"]) == {"server", "server-2"}
    command = proxy["command"]
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--to"] == ["server:8000", "server-2:8000"]
    # The Host header must reach the replicas unchanged (allowed hosts, Origin check).
    assert "--change-host-header" not in command
    assert [str(p).removesuffix("/tcp") for p in proxy["ports"]] == ["127.0.0.1:8000:8000"]


def test_replicas_set_up_as_in_compose_share_live_updates(server_process, postgres_url):
    """Two `fitwatch server` processes on separate ports, auth on, one PostgreSQL: points
    written through one reach a websocket opened on the other."""
    from tests.server.live.client import LiveClient, received_points
    from tests.server.live.helpers import series

    require(postgres_url is not None, "PostgreSQL is not reachable")
    admin = "compose-admin-" + "c" * 40
    env = {"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": admin}
    writer, watcher_side = server_process(postgres_url, env=env).start(), server_process(postgres_url, env=env).start()
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(headers=headers, timeout=30) as api:
        run = api.post(f"{writer.url}/api/v1/runs", json={"project": "compose", "name": "two"})
        assert run.status_code == 201, run.text
        run_id = run.json()["id"]
        watcher = LiveClient(watcher_side.url, headers=headers)
        try:
            watcher.subscribe(runs=[run_id])
            posted = api.post(
                f"{writer.url}/api/v1/runs/{run_id}/points",
                json={"series": [series("loss", "batch", [0, 1, 2], [0.5, 0.25, 0.125])]},
            )
            assert posted.status_code == 200, posted.text
            watcher.until(lambda m: len(received_points(m, run_id, "loss", "batch")) == 3)
            assert received_points(watcher.messages, run_id, "loss", "batch") == {0: 0.5, 1: 0.25, 2: 0.125}
        finally:
            watcher.close()
        api.delete(f"{writer.url}/api/v1/runs/{run_id}").raise_for_status()
