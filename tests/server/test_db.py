"""A database that cannot take a write answers with the cause, never a bare 500 (issue 8):
full → 507, locked past the lock timeout → 503 with Retry-After, read-only → reads work and
writes get 503. Nothing of a refused request is stored."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import event
from starlette.testclient import TestClient

from tests.helpers.factories import make_run, series_body

ADMIN_TOKEN = "db-admin-" + "c" * 40


def points_body(n: int, key: str = "loss") -> dict[str, object]:
    return {"series": [series_body(key, "batch", list(range(n)), [0.5] * n)]}


def series_keys(client: TestClient | httpx.Client, run_id: str) -> list[str]:
    response = client.get(f"/api/v1/runs/{run_id}/series")
    assert response.status_code == 200, response.text
    return [s["key"] for s in response.json()["series"]]


def test_a_full_sqlite_database_answers_507_with_the_cause_and_stores_nothing(sqlite_client):
    # PostgreSQL's disk_full (SQLSTATE 53100) maps to the same 507 (db.storage_error); it
    # cannot be provoked without filling a real disk, so this case runs on SQLite only.
    client = sqlite_client
    run = make_run(client)
    engine = client.app.state.engine  # type: ignore[attr-defined]

    # SQLite raises the very error of a full disk (SQLITE_FULL, "database or disk is full")
    # when a database would grow past `max_page_count`: a real full database, without
    # filling a real disk. Set on every new connection, so drop the pooled ones first.
    def cap(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()
    try:
        full = client.post(f"/api/v1/runs/{run['id']}/points", json=points_body(20_000))
        assert full.status_code == 507, full.text
        assert "database or disk is full" in full.json()["detail"]
        assert "nothing of this request was stored" in full.json()["detail"]
        assert series_keys(client, run["id"]) == []
        big = client.patch(f"/api/v1/runs/{run['id']}", json={"config": {"x": "y" * 500_000}})
        assert big.status_code == 507, big.text
        assert client.get(f"/api/v1/runs/{run['id']}").json()["config"] == {}
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()
    # Space again: the same request is stored whole.
    again = client.post(f"/api/v1/runs/{run['id']}/points", json=points_body(20_000))
    assert again.status_code == 200, again.text
    assert client.get(f"/api/v1/runs/{run['id']}/series").json()["series"][0]["count"] == 20_000


class HeldLock:
    """Another writer holding the lock a write of `run_id` needs, on either backend."""

    def __init__(self, database_url: str, run_id: str) -> None:
        self.database_url, self.run_id = database_url, run_id

    def __enter__(self) -> HeldLock:
        if self.database_url.startswith("sqlite"):
            path = self.database_url.removeprefix("sqlite:///")
            self.connection = sqlite3.connect(path, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")  # SQLite's one write lock
        else:
            import psycopg

            self.connection = psycopg.connect(self.database_url)
            # Conflicts with the ingest's FOR NO KEY UPDATE and with an UPDATE of the run.
            self.connection.execute("SELECT id FROM runs WHERE id = %s FOR UPDATE", (self.run_id,))
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.rollback()
        self.connection.close()


def test_a_lock_held_past_the_lock_timeout_is_503_with_retry_after(impatient_client, database_url):
    client = impatient_client
    run = make_run(client)
    with HeldLock(database_url, run["id"]):
        busy = client.post(f"/api/v1/runs/{run['id']}/points", json=points_body(10))
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1"
        assert "locked by another writer past the lock timeout" in busy.json()["detail"]
        patched = client.patch(f"/api/v1/runs/{run['id']}", json={"notes": "later"})
        assert patched.status_code == 503, patched.text
        # Reads do not wait for writers.
        assert client.get("/api/v1/runs").json()["total"] == 1
        assert series_keys(client, run["id"]) == []
    assert client.post(f"/api/v1/runs/{run['id']}/points", json=points_body(10)).status_code == 200
    assert series_keys(client, run["id"]) == ["loss"]


@contextmanager
def read_only(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The database made read-only for a server: (its URL, the driver's words for it).

    SQLite: the file (not its folder) chmod'ed read-only; SQLite still opens it and reads
    its WAL. PostgreSQL: a database user granted SELECT only, as a read-only replica or a
    dashboard-only deployment would connect.
    """
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        yield database_url, "readonly database"
        return
    import psycopg

    role = f"fitwatch_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    try:
        yield database_url.replace("://postgres@", f"://{role}@", 1), "permission denied"
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')


def test_a_read_only_database_serves_reads_and_answers_writes_503(
    server_process, database_url, tmp_path
):
    env = {"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN_TOKEN}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    writable = server_process(database_url, env=env).start()
    with httpx.Client(base_url=writable.url, headers=admin) as http:
        run = http.post("/api/v1/runs", json={"project": "p", "name": "kept"}).json()
        stored = http.post(f"/api/v1/runs/{run['id']}/points", json=points_body(100))
        assert stored.status_code == 200, stored.text
        made = http.post("/api/v1/tokens", json={"name": "reader", "scope": "read"})
        reader = made.json()["token"]
    writable.stop()

    with read_only(database_url, tmp_path) as (url, words):
        server = server_process(url, env=env, file_permissions_apply=True).start()
        with httpx.Client(base_url=server.url, headers=admin) as http:
            # A token's first use records `last_used_at`: that write must not fail the read.
            as_reader = {"Authorization": f"Bearer {reader}"}
            listed = http.get("/api/v1/runs", headers=as_reader)
            assert listed.status_code == 200, listed.text
            assert [r["name"] for r in listed.json()["runs"]] == ["kept"]
            points = http.get(
                f"/api/v1/runs/{run['id']}/series/loss",
                params={"scope": "batch"},
                headers=as_reader,
            )
            assert points.status_code == 200 and len(points.json()["steps"]) == 100
            for method, route, body in [
                ("POST", f"/api/v1/runs/{run['id']}/points", points_body(5, "acc")),
                ("POST", "/api/v1/runs", {"project": "p"}),
                ("PATCH", f"/api/v1/runs/{run['id']}", {"notes": "x"}),
                ("POST", f"/api/v1/runs/{run['id']}/heartbeat", None),
                ("POST", "/api/v1/tokens", {"name": "new", "scope": "read"}),
                ("POST", "/api/v1/auth/session", None),  # a sign-in writes its session
            ]:
                # The bootstrap admin token makes tokens but cannot sign in: the reader does.
                headers = as_reader if route.endswith("/session") else admin
                response = http.request(method, route, json=body, headers=headers)
                assert response.status_code == 503, (route, response.text)
                assert "the database is read-only" in response.json()["detail"]
                assert words in response.json()["detail"]  # the database's own words
                assert response.headers["retry-after"] == "30"
            assert series_keys(http, run["id"]) == ["loss"]
        server.stop()
    log = Path(server.log_path or "").read_text()
    assert "the database is read-only" in log and "Traceback" not in log



def test_sqlite_reads_the_database_through_a_memory_map_unless_turned_off(tmp_path, monkeypatch):
    # The compare page's series read touches far more pages than SQLite's page cache holds;
    # mapped, they are not copied in one read() each (db.DEFAULT_SQLITE_MMAP_BYTES).
    from fitwatch_server.app import create_app
    from fitwatch_server.db import DEFAULT_SQLITE_MMAP_BYTES
    from fitwatch_server.settings import Settings

    for configured, expected in ((None, DEFAULT_SQLITE_MMAP_BYTES), ("0", 0)):
        if configured is not None:
            monkeypatch.setenv("FITWATCH_SQLITE_MMAP_BYTES", configured)
        settings = Settings(database_url=f"sqlite:///{tmp_path / f'mapped-{expected}.db'}")
        with TestClient(create_app(settings), base_url="http://localhost") as client:
            run = make_run(client)
            stored = client.post(f"/api/v1/runs/{run['id']}/points", json=points_body(2_000))
            assert stored.status_code == 200, stored.text
            with client.app.state.engine.connect() as connection:  # type: ignore[attr-defined]
                assert connection.exec_driver_sql("PRAGMA mmap_size").scalar() == expected
            read = client.get(
                f"/api/v1/runs/{run['id']}/series/loss", params={"scope": "batch", "max_points": 100}
            )
            assert read.status_code == 200, read.text
            assert read.json()["steps"][0] == 0 and read.json()["steps"][-1] == 1_999
