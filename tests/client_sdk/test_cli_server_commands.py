"""`fitwatch server` and `fitwatch db upgrade`: defaults, a real server process, the schema."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import httpx

from fitwatch.cli import build_parser


def test_server_defaults_to_loopback_port_8000_and_one_worker():
    args = build_parser().parse_args(["server"])
    assert (args.host, args.port, args.workers, args.database_url) == ("127.0.0.1", 8000, 1, None)


def test_default_database_is_sqlite_under_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("FITWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    from fitwatch_server.settings import Settings

    url = Settings().database_url
    assert url == f"sqlite:///{tmp_path / 'fitwatch' / 'fitwatch.db'}"


def test_database_url_from_the_environment_picks_psycopg(monkeypatch):
    monkeypatch.setenv("FITWATCH_DATABASE_URL", "postgresql://u@h/db")
    from fitwatch_server.settings import Settings

    assert Settings().database_url == "postgresql+psycopg://u@h/db"


def test_db_upgrade_creates_the_schema(tmp_path):
    path = tmp_path / "cli.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fitwatch.cli",
            "db",
            "upgrade",
            "--database-url",
            f"sqlite:///{path}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "is up to date" in result.stdout
    tables = {
        r[0]
        for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {"runs", "series", "points", "alembic_version"} <= tables


def test_server_serves_the_api_docs_and_dashboard(server_process, tmp_path):
    server = server_process(f"sqlite:///{tmp_path / 'srv.db'}").start()
    assert httpx.get(f"{server.url}/docs").status_code == 200
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert "/api/v1/runs/{run_id}/points" in schema["paths"]
    assert "PointBatchIn" in schema["components"]["schemas"]
    assert httpx.get(f"{server.url}/").status_code == 200
    plotly = httpx.get(f"{server.url}/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000


def test_the_server_says_where_it_is_what_it_stores_into_and_whether_auth_is_on(
    server_process, tmp_path
):
    database = f"sqlite:///{tmp_path / 'said.db'}"
    server = server_process(database, log_path=tmp_path / "off.log").start()
    said = (tmp_path / "off.log").read_text().splitlines()
    assert f"fitwatch server: {server.url} (database {database}; auth off: no token needed)" in said
    server.stop()
    secured = server_process(
        database, env={"FITWATCH_AUTH": "on"}, log_path=tmp_path / "on.log"
    ).start()
    assert any(
        line.startswith(
            f"fitwatch server: {secured.url} (database {database}; auth on: every request needs a token"
        )
        for line in (tmp_path / "on.log").read_text().splitlines()
    )


def test_a_database_password_is_not_printed():
    from fitwatch_server.serve import describe
    from fitwatch_server.settings import Settings

    line = describe(
        Settings(database_url="postgresql://fitwatch:s3cret@db/fitwatch"), "0.0.0.0", 9000
    )
    assert line.startswith(
        "fitwatch server: http://0.0.0.0:9000 (database postgresql+psycopg://fitwatch:***@db/fitwatch;"
    )
    assert "s3cret" not in line
