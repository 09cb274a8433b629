"""`fitwatch runs purge`: the age it takes, and a real purge through a real server's API."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from fitwatch.cli.purge import parse_age_days
from fitwatch_server import models
from fitwatch_server.db import make_engine, make_sessionmaker, session_scope


@pytest.mark.parametrize(
    ("text", "days"), [("90d", 90), ("2w", 14), ("12h", 0.5), ("30m", 30 / 1440), (" 1.5d ", 1.5)]
)
def test_ages_take_a_unit(text, days):
    assert parse_age_days(text) == pytest.approx(days)


@pytest.mark.parametrize("text", ["90", "0d", "-3d", "ninety days", "3y"])
def test_an_age_without_a_known_unit_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match=r"e\.g\. 90d\. Received: "):
        parse_age_days(text)


def _fitwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fitwatch.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_purge_through_the_api_prints_what_it_freed(server_process, tmp_path):
    url = f"sqlite:///{tmp_path / 'purge.db'}"
    server = server_process(url).start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        old = http.post("/api/v1/runs", json={"project": "p", "name": "old"}).json()
        new = http.post("/api/v1/runs", json={"project": "p", "name": "new"}).json()
        for run in (old, new):
            body = {
                "series": [
                    {
                        "key": "loss",
                        "scope": "batch",
                        "steps": list(range(1500)),
                        "values": [0.5] * 1500,
                        "times": [1.0] * 1500,
                    }
                ]
            }
            http.post(f"/api/v1/runs/{run['id']}/points", json=body).raise_for_status()
        engine = make_engine(url)
        with session_scope(make_sessionmaker(engine)) as session:
            session.execute(
                update(models.Run)
                .where(models.Run.id == old["id"])
                .values(heartbeat_at=datetime.now(UTC) - timedelta(days=100))
            )
        engine.dispose()

        done = _fitwatch(
            "runs", "purge", "--older-than", "90d", "--project", "p", "--url", server.url
        )
        assert done.returncode == 0, done.stderr
        assert (
            done.stdout
            == "fitwatch: purged 1 run inactive for more than 90d: 1 series, 1,500 points freed\n"
        )
        assert http.get(f"/api/v1/runs/{old['id']}").status_code == 404
        assert http.get(f"/api/v1/runs/{new['id']}").status_code == 200

        again = _fitwatch("runs", "purge", "--older-than", "90d", "--url", server.url)
        assert again.returncode == 0 and again.stdout.startswith(
            "fitwatch: no run was inactive for more than 90d"
        )


def test_purge_says_what_to_fix(server_process, tmp_path):
    bad = _fitwatch("runs", "purge", "--older-than", "90", "--url", "http://127.0.0.1:9")
    assert bad.returncode == 2 and "Received: '90'" in bad.stderr
    server = server_process(
        f"sqlite:///{tmp_path / 'auth.db'}",
        env={"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": "a" * 40},
    ).start()
    refused = _fitwatch("runs", "purge", "--older-than", "90d", "--url", server.url)
    assert refused.returncode == 1 and "the server answered 401" in refused.stderr
    allowed = _fitwatch(
        "runs", "purge", "--older-than", "90d", "--url", server.url, "--token", "a" * 40
    )
    assert allowed.returncode == 0, allowed.stderr


def test_purge_trash_empties_the_trash_and_keeps_the_other_runs(server_process, tmp_path):
    # Issue 11: the trash is emptied from the page's button or with `fitwatch runs purge --trash`.
    server = server_process(f"sqlite:///{tmp_path / 'trash.db'}").start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        trashed = http.post("/api/v1/runs", json={"project": "p", "name": "gone"}).json()
        kept = http.post("/api/v1/runs", json={"project": "p", "name": "kept"}).json()
        http.post("/api/v1/trash", json={"runs": [trashed["id"]]}).raise_for_status()

        neither = _fitwatch("runs", "purge", "--url", server.url)
        assert neither.returncode == 2 and "--older-than AGE (e.g. 90d) or --trash" in neither.stderr

        done = _fitwatch("runs", "purge", "--trash", "--project", "p", "--url", server.url)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "fitwatch: emptied the trash of project 'p': 1 run deleted for good\n"
        assert http.get(f"/api/v1/runs/{trashed['id']}").status_code == 404
        assert http.get(f"/api/v1/runs/{kept['id']}").status_code == 200
        assert http.get("/api/v1/trash").json()["runs"] == []
