"""`fitwatch runs ls|show|export|rm|tag` and `fitwatch --version`, as a user runs them,
against a real server process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fitwatch
from tests.client_sdk.conftest import ADMIN_TOKEN, AuthServer, Stored
from tests.helpers.server import free_port


def fitwatch_cli(
    *args: str, url: str | None = None, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **(env or {})}
    if url is not None:
        environ["FITWATCH_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "fitwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environ,
        input=stdin,
    )


def logged_run(url: str, *, name: str, lr: float, tags: list[str], epochs: int = 3) -> fitwatch.Run:
    run = fitwatch.init(
        project="cli", name=name, config={"optimizer": {"learning_rate": lr}}, tags=tags, url=url
    )
    for epoch in range(epochs):
        run.log({"loss": 1.0 / (epoch + 1), "val_loss": 2.0 / (epoch + 1)}, step=epoch)
    assert run.finish(timeout=30) is True
    return run


@pytest.fixture
def two_runs(live_server: str, journal_dir: Path) -> tuple[fitwatch.Run, fitwatch.Run]:
    return (
        logged_run(live_server, name="adam-fast", lr=0.01, tags=["baseline"]),
        logged_run(live_server, name="adam-slow", lr=0.001, tags=["v2"], epochs=4),
    )


def test_version_prints_the_package_version() -> None:
    result = fitwatch_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"fitwatch {fitwatch.__version__}"


def test_ls_is_a_table_newest_first_and_json_for_scripts(live_server: str, two_runs: Any) -> None:
    fast, slow = two_runs
    table = fitwatch_cli("runs", "ls", url=live_server)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "PROJECT", "STATUS", "CREATED", "TAGS"]
    assert [line.split()[:4] for line in lines[1:]] == [
        [slow.id[:8], "adam-slow", "cli", "finished"],
        [fast.id[:8], "adam-fast", "cli", "finished"],
    ]
    assert lines[1].endswith("v2") and lines[2].endswith("baseline")
    listed = fitwatch_cli("runs", "ls", "--json", "--sort", "name", url=live_server)
    page = json.loads(listed.stdout)
    assert page["total"] == 2 and [r["id"] for r in page["runs"]] == [fast.id, slow.id]


def test_ls_filters_sorts_limits_and_says_what_it_left_out(live_server: str, two_runs: Any) -> None:
    fast, slow = two_runs
    found = fitwatch_cli(
        "runs",
        "ls",
        "--project",
        "cli",
        "--filter",
        "config.optimizer.learning_rate < 0.005",
        url=live_server,
    )
    assert [line.split()[0] for line in found.stdout.splitlines()[1:]] == [slow.id[:8]]
    best = fitwatch_cli("runs", "ls", "--sort", "min(val_loss)", "--limit", "1", url=live_server)
    assert [line.split()[0] for line in best.stdout.splitlines()[1:]] == [slow.id[:8]]
    assert "1 of 2 runs shown" in best.stderr
    nothing = fitwatch_cli("runs", "ls", "--project", "nobody", url=live_server)
    assert nothing.returncode == 0 and nothing.stdout.splitlines() == [
        "ID  NAME  PROJECT  STATUS  CREATED  TAGS"
    ]


def test_a_bad_filter_is_one_message_with_a_caret(live_server: str) -> None:
    result = fitwatch_cli("runs", "ls", "--filter", "loss <", url=live_server)
    assert result.returncode == 1
    assert result.stderr.startswith("fitwatch runs ls: the server answered 400: ")
    assert "Traceback" not in result.stderr and "^" in result.stderr


def test_show_takes_an_id_its_start_or_a_name(live_server: str, two_runs: Any) -> None:
    fast, _ = two_runs
    for ref in (fast.id, fast.id[:8], "adam-fast"):
        shown = fitwatch_cli("runs", "show", ref, url=live_server)
        assert shown.returncode == 0, shown.stderr
        assert f"id:      {fast.id}" in shown.stdout
        assert f"page:    {live_server}/run.html?run={fast.id}" in shown.stdout
        # The config as the filter names it, so it can be pasted into --filter.
        assert "  config.optimizer.learning_rate = 0.01" in shown.stdout
    rows = [
        line.split() for line in shown.stdout.splitlines() if line.startswith(("loss", "val_loss"))
    ]
    assert rows == [
        ["loss", "epoch", "3", "0.333333", "0.333333", "1"],
        ["val_loss", "epoch", "3", "0.666667", "0.666667", "2"],
    ]
    as_json = json.loads(
        fitwatch_cli("runs", "show", fast.id[:8], "--json", url=live_server).stdout
    )
    assert as_json["id"] == fast.id and as_json["tags"] == ["baseline"]


def test_a_run_that_is_not_there_or_ambiguous_is_named(live_server: str, two_runs: Any) -> None:
    missing = fitwatch_cli("runs", "show", "nope", url=live_server)
    assert missing.returncode == 1
    assert (
        missing.stderr
        == "fitwatch runs show: no run has the id or name 'nope' (see `fitwatch runs ls`)\n"
    )
    # A substring of both names is neither a name nor the start of an id.
    both = fitwatch_cli("runs", "show", "adam", url=live_server)
    assert both.returncode == 1 and "no run has the id or name 'adam'" in both.stderr


def test_export_writes_every_point_of_several_runs(
    live_server: str, two_runs: Any, tmp_path: Path
) -> None:
    fast, slow = two_runs
    target = tmp_path / "runs.csv"
    done = fitwatch_cli("runs", "export", fast.id, "adam-slow", "-o", str(target), url=live_server)
    assert done.returncode == 0, done.stderr
    assert f"2 runs (14 points) written to {target}" in done.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(rows[0]) == ["run_id", "key", "scope", "step", "epoch", "value", "wall_time"]
    assert {(r["run_id"], r["key"]) for r in rows} == {
        (run.id, key) for run in (fast, slow) for key in ("loss", "val_loss")
    }
    assert len(rows) == 14
    assert {float(r["value"]) for r in rows if r["run_id"] == slow.id and r["key"] == "loss"} == {
        1.0,
        0.5,
        1 / 3,
        0.25,
    }
    as_json = fitwatch_cli("runs", "export", fast.id[:8], "--format", "json", url=live_server)
    exported = json.loads(as_json.stdout)
    assert [e["run"]["id"] for e in exported["runs"]] == [fast.id]
    assert sorted(
        (p["key"], p["step"], p["value"]) for p in exported["runs"][0]["points"]
    ) == sorted(
        (key, step, scale / (step + 1))
        for key, scale in (("loss", 1.0), ("val_loss", 2.0))
        for step in range(3)
    )


def test_rm_asks_first_and_deletes_nothing_on_no(live_server: str, two_runs: Any) -> None:
    fast, slow = two_runs
    stored = Stored(live_server)
    refused = fitwatch_cli("runs", "rm", fast.id[:8], url=live_server, stdin="n\n")
    assert (
        refused.returncode == 1
        and "Delete these 1 runs and all their points? [y/N]" in refused.stderr
    )
    assert "nothing deleted" in refused.stderr and stored.run_or_none(fast.id) is not None
    # A typo among the runs: nothing is deleted at all.
    typo = fitwatch_cli("runs", "rm", "--yes", fast.id, "adam-slw", url=live_server)
    assert typo.returncode == 1 and stored.run_or_none(fast.id) is not None
    confirmed = fitwatch_cli("runs", "rm", fast.id, url=live_server, stdin="y\n")
    assert confirmed.returncode == 0 and "1 runs deleted" in confirmed.stderr
    assert stored.run_or_none(fast.id) is None and stored.run_or_none(slow.id) is not None
    assert fitwatch_cli("runs", "rm", "-y", "adam-slow", url=live_server).returncode == 0
    assert stored.run_or_none(slow.id) is None


def test_tag_adds_and_removes(live_server: str, two_runs: Any) -> None:
    fast, _ = two_runs
    tagged = fitwatch_cli(
        "runs", "tag", "adam-fast", "+best", "-baseline", "+lr-sweep", url=live_server
    )
    assert tagged.returncode == 0, tagged.stderr
    assert tagged.stdout.strip() == f"{fast.id[:8]}  adam-fast: best, lr-sweep"
    assert Stored(live_server).run(fast.id)["tags"] == ["best", "lr-sweep"]
    empty = fitwatch_cli("runs", "tag", "adam-fast", url=live_server)
    assert empty.returncode == 2 and "+TAG -TAG" in empty.stderr


def test_a_server_that_is_not_there_is_one_line() -> None:
    free_url = f"http://127.0.0.1:{free_port()}"
    result = fitwatch_cli("runs", "ls", url=free_url)
    assert result.returncode == 1
    assert result.stderr == (
        f"fitwatch runs ls: cannot reach a fitwatch server at {free_url}; start one with "
        "`fitwatch server`, or point --url / FITWATCH_URL at yours\n"
    )


def test_the_commands_send_fitwatch_token(auth_server: AuthServer, journal_dir: Path) -> None:
    without = fitwatch_cli("runs", "ls", url=auth_server.url)
    assert (
        without.returncode == 1 and "401" in without.stderr and "FITWATCH_TOKEN" in without.stderr
    )
    listed = fitwatch_cli("runs", "ls", url=auth_server.url, env={"FITWATCH_TOKEN": ADMIN_TOKEN})
    assert listed.returncode == 0, listed.stderr
    flag = fitwatch_cli("runs", "ls", "--token", ADMIN_TOKEN, url=auth_server.url)
    assert flag.returncode == 0, flag.stderr


def test_export_keeps_keys_with_unicode_line_separators(
    live_server: str, journal_dir: Path, tmp_path: Path
) -> None:
    # str.splitlines() breaks on U+2028, U+2029 and U+0085: each row of such a key became two
    # rows of made-up keys.
    keys = ["loss", "a\u2028b", "c\u2029d", "e\x85f"]
    with fitwatch.init(project="cli-keys", url=live_server) as run:
        for step in range(3):
            run.log(dict.fromkeys(keys, step + 0.5), step=step)
    target = tmp_path / "keys.csv"
    done = fitwatch_cli("runs", "export", run.id, "-o", str(target), url=live_server)
    assert done.returncode == 0, done.stderr
    with open(target, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    epochs = [r for r in rows if r["scope"] == "epoch"]  # not the system scope's samples
    assert sorted((r["key"], int(r["step"]), float(r["value"])) for r in epochs) == sorted(
        (key, step, step + 0.5) for key in keys for step in range(3)
    )
    assert {r["scope"] for r in rows} <= {"epoch", "system"}
