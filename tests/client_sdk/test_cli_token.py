"""`fitwatch token create|ls|revoke`: on the server's database, and through the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers.auth import ADMIN_TOKEN, AuthServer


def fitwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run([sys.executable, "-m", "fitwatch.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False, env={**base, **(env or {})})


def test_the_first_admin_token_is_made_on_the_database_and_works_on_the_server(
    tmp_path: Path, server_process
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    made = fitwatch("token", "create", "--name", "alice", "--scope", "admin", "--database-url", url)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("fw_") and "\n" not in token  # stdout is the token alone
    assert "shown only this once" in made.stderr and "'alice'" in made.stderr
    server = server_process(url, env={"FITWATCH_AUTH": "on"}).start()
    me = httpx.get(f"{server.url}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["name"], me["scope"], me["via"]) == ("alice", "admin", "token")
    assert httpx.get(f"{server.url}/api/v1/runs").status_code == 401


def test_ls_shows_scope_project_and_use_and_revoke_ends_a_token(tmp_path: Path) -> None:
    env = {"FITWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    assert fitwatch("token", "create", "--name", "ci", "--scope", "write", "--project", "digits", env=env).returncode == 0
    assert fitwatch("token", "create", "--name", "viewer", "--scope", "read", env=env).returncode == 0
    listed = fitwatch("token", "ls", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SCOPE", "PROJECT", "TOKEN", "CREATED", "LAST", "USED", "STATUS"]
    assert lines[1].split()[:4] == ["1", "ci", "write", "digits"] and lines[1].endswith("active")
    assert "(every project)" in lines[2] and "never" in lines[2]
    revoked = fitwatch("token", "revoke", "viewer", env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    assert "revoked" in fitwatch("token", "ls", env=env).stdout.splitlines()[2]
    again = fitwatch("token", "revoke", "viewer", env=env)
    assert again.returncode == 1 and "no token with id or name 'viewer'" in again.stderr
    taken = fitwatch("token", "create", "--name", "ci", "--scope", "read", env=env)
    assert taken.returncode == 1 and "already exists" in taken.stderr


def test_the_cli_works_through_the_api_with_an_admin_token(auth_server: AuthServer) -> None:
    made = fitwatch("token", "create", "--name", "remote", "--scope", "read", "--url", auth_server.url,
                    env={"FITWATCH_TOKEN": ADMIN_TOKEN})
    assert made.returncode == 0, made.stderr
    listed = fitwatch("token", "ls", "--url", auth_server.url, "--token", ADMIN_TOKEN)
    assert "remote" in listed.stdout and made.stdout.strip() not in listed.stdout
    read_only = fitwatch("token", "ls", "--url", auth_server.url, "--token", made.stdout.strip())
    assert read_only.returncode == 1 and "needs an admin token" in read_only.stderr
    missing = fitwatch("token", "ls", "--url", auth_server.url)
    assert missing.returncode == 2 and "--token or set FITWATCH_TOKEN" in missing.stderr
    revoke = fitwatch("token", "revoke", "remote", "--url", auth_server.url, "--token", ADMIN_TOKEN)
    assert revoke.returncode == 0, revoke.stderr
