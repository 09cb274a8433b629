"""A run's fields by the server's rules: init() refuses what the server would refuse.

A create the server refuses (a name of 256 characters, a tag with a newline, a config nested
65 deep or over 1 MB) used to pass init(); the sender set the create aside, every later
record got 404, and the whole run was lost while finish() returned True. The rules live in
fitwatch/limits.py, shared with the server; the agreement tests below send each edge case
both through init() and straight to the server.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import fitwatch
from fitwatch.codec import json_safe
from fitwatch.limits import DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH
from tests.client_sdk.conftest import Stored

# `{"blob":"..."}` is 10 bytes around the text.
_BLOB_OVERHEAD = len('{"blob":""}')


def nested(levels: int) -> dict[str, Any]:
    """A config `levels` deep: the top-level object is level 1."""
    root: dict[str, Any] = {}
    inner = root
    for _ in range(levels - 1):
        inner["x"] = {}
        inner = inner["x"]
    return root


def sized(size: int) -> dict[str, Any]:
    """A config of exactly `size` bytes as compact JSON."""
    return {"blob": "x" * (size - _BLOB_OVERHEAD)}


def _run_count(url: str) -> int:
    total: int = httpx.get(f"{url}/api/v1/runs", timeout=10).json()["total"]
    return total


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "n" * 256}, r"name must be at most 255 characters \(it has 256\). Received: name='nnn"),
        ({"project": "p\tq"}, r"project must not contain control characters. Received: project='p\\tq'"),
        ({"tags": ["ok", "a\nb"]}, r"tag must not contain control characters. Received: tag='a\\nb'"),
        ({"tags": ["t"] * 257}, r"at most 256 tags. Received: 257 tags"),
        ({"tags": [5]}, r"tag must be a string. Received: tag=5"),
        ({"notes": "a\x00b"}, r"NUL character .* Received: notes='a\\x00b'"),
        ({"notes": None}, r"notes must be a string. Received: notes=None"),
        ({"id": "run\n"}, r"Received: id='run\\n'"),
        ({"config": nested(100)}, r"config nests deeper than 64 levels.* Received: config=\{'x'"),
        ({"config": {"blob": "x" * 2_000_000}}, r"config takes 2000011 bytes as JSON; the server's limit is 1048576"),
        ({"config": {"k": "a\x00b"}}, r"config has the NUL character .* Received: config="),
        ({"config": {"k\x00": 1}}, r"config has the NUL character \(\\u0000\) in the key"),
        ({"config": [1, 2]}, r"config must be a dict or None. Received: config=\[1, 2\]"),
        # A file name decoded with surrogateescape: a ValueError, not a UnicodeEncodeError.
        ({"config": {"data": "/d/\udcff.npz"}}, r"config holds text that is not valid Unicode"),
    ],
)
def test_init_refuses_a_create_the_server_would_refuse(
    live_server: str, journal_dir: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fitwatch.init(project=kwargs.pop("project", "sdk"), url=live_server, **kwargs)
    assert _run_count(live_server) == 0
    assert not journal_dir.exists() or not any(journal_dir.iterdir())


def test_a_config_that_contains_itself_is_refused_not_a_recursion_error(
    live_server: str, journal_dir: Path
) -> None:
    config: dict[str, Any] = {}
    config["self"] = config
    with pytest.raises(ValueError, match=r"nests deeper than 64 levels"):
        fitwatch.init(project="sdk", url=live_server, config=config)


# Each edge case of the server's rules; the server's defaults.
EDGES: list[tuple[str, dict[str, Any]]] = [
    ("name of 255", {"name": "n" * 255}),
    ("name of 256", {"name": "n" * 256}),
    ("name of 255 non-ASCII", {"name": "é" * 255}),
    ("tag of 255", {"tags": ["t" * 255]}),
    ("tag of 256", {"tags": ["t" * 256]}),
    ("tag with a newline", {"tags": ["a\nb"]}),
    ("tag with a space", {"tags": ["a b"]}),
    ("blank tag", {"tags": [" "]}),
    ("256 tags", {"tags": [f"t{i}" for i in range(256)]}),
    ("257 tags", {"tags": [f"t{i}" for i in range(257)]}),
    ("project with DEL", {"project": "p\x7f"}),
    ("notes with newline", {"notes": "line\nline"}),
    ("notes with NUL", {"notes": "a\x00"}),
    ("notes of 100000", {"notes": "n" * 100_000}),
    ("notes of 100001", {"notes": "n" * 100_001}),
    ("id of 64", {"id": "i" * 64}),
    ("id of 65", {"id": "i" * 65}),
    ("id with a trailing newline", {"id": "run\n"}),
    ("config 64 deep", {"config": nested(DEFAULT_MAX_DOCUMENT_DEPTH)}),
    ("config 65 deep", {"config": nested(DEFAULT_MAX_DOCUMENT_DEPTH + 1)}),
    ("config 64 deep in a list", {"config": {"l": [nested(DEFAULT_MAX_DOCUMENT_DEPTH - 2)]}}),
    # (its innermost level an empty object: an empty container counts as a level too)
    ("config 65 deep in a list", {"config": {"l": [nested(DEFAULT_MAX_DOCUMENT_DEPTH - 1)]}}),
    ("config of the limit - 1", {"config": sized(DEFAULT_MAX_DOCUMENT_BYTES - 1)}),
    ("config of the limit", {"config": sized(DEFAULT_MAX_DOCUMENT_BYTES)}),
    ("config of the limit + 1", {"config": sized(DEFAULT_MAX_DOCUMENT_BYTES + 1)}),
    ("config of the limit in UTF-8", {"config": {"blob": "é" * ((DEFAULT_MAX_DOCUMENT_BYTES - 10) // 2)}}),
    ("config of the limit + 1 in UTF-8", {"config": {"blob": "é" * ((DEFAULT_MAX_DOCUMENT_BYTES - 10) // 2) + "x"}}),
    ("config with NaN", {"config": {"lr": float("nan")}}),
    ("config with NUL", {"config": {"k": ["a\x00"]}}),
]


def _server_takes(url: str, kwargs: dict[str, Any]) -> bool:
    """Whether the server creates a run of these fields (sent as the SDK sends them)."""
    body = json_safe({"project": "sdk", **kwargs, "id": kwargs.get("id", uuid.uuid4().hex)})
    response = httpx.post(f"{url}/api/v1/runs", json=body, timeout=30)
    assert response.status_code < 500, response.text
    return response.status_code < 300


def _init_takes(url: str, kwargs: dict[str, Any], stored: Stored) -> bool:
    try:
        run = fitwatch.init(project=kwargs.get("project", "sdk"), url=url, **{
            k: v for k, v in kwargs.items() if k != "project"
        })
    except ValueError:
        return False
    run.log({"loss": 1.0}, step=0)
    assert run.finish() is True
    # Accepted by init(), so the server has the run and its point: nothing was set aside.
    assert stored.run(run.id)["status"] == "finished"
    assert stored.series_counts(run.id) == {("loss", "epoch"): 1}
    return True


def _agree(url: str, stored: Stored, cases: list[tuple[str, dict[str, Any]]]) -> None:
    verdicts = {}
    for label, kwargs in cases:
        server = _server_takes(url, kwargs)
        if "id" in kwargs:  # an id of the same shape: the server's run is not resumed
            kwargs = {**kwargs, "id": kwargs["id"].upper()}
        verdicts[label] = (server, _init_takes(url, kwargs, stored))
    disagreements = {label: v for label, v in verdicts.items() if v[0] != v[1]}
    assert disagreements == {}, "(server takes it, init() takes it): " + repr(disagreements)


def test_init_and_the_server_agree_on_every_edge_case(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    _agree(live_server, stored, EDGES)


def test_init_checks_against_the_limits_the_server_says(
    server_process: Any, tmp_path: Path, journal_dir: Path
) -> None:
    # Stricter and looser than the defaults: init() learns both from GET /auth/whoami.
    server = server_process(
        f"sqlite:///{tmp_path / 'limits.db'}",
        env={"FITWATCH_MAX_DOCUMENT_DEPTH": "100", "FITWATCH_MAX_DOCUMENT_BYTES": "5000"},
    ).start()
    stored = Stored(server.url)
    try:
        _agree(server.url, stored, [
            ("config 100 deep", {"config": nested(100)}),
            ("config 101 deep", {"config": nested(101)}),
            ("config of 5000", {"config": sized(5000)}),
            ("config of 5001", {"config": sized(5001)}),
        ])
        with pytest.raises(ValueError, match=r"the server's limit is 5000 bytes"):
            fitwatch.init(project="sdk", url=server.url, config=sized(5001))
    finally:
        stored.close()


def test_offline_init_checks_against_the_default_limits(journal_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"nests deeper than 64 levels"):
        fitwatch.init(project="sdk", mode="offline", config=nested(65))
    with pytest.warns(RuntimeWarning, match=r"recorded offline"):
        fitwatch.init(project="sdk", mode="offline", config=nested(64)).finish()


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"deep": nested(DEFAULT_MAX_DOCUMENT_DEPTH)}, r"nests deeper than 64 levels"),
        ({"blob": "x" * DEFAULT_MAX_DOCUMENT_BYTES}, r"bytes as JSON; the server's limit is 1048576"),
        ({"text": "a\x00b"}, r"NUL character"),
    ],
)
@pytest.mark.parametrize("what", ["config", "summary"])
def test_a_refused_update_is_skipped_with_one_warning_and_the_run_goes_on(
    live_server: str, journal_dir: Path, stored: Stored, what: str, update: dict[str, Any], message: str
) -> None:
    run = fitwatch.init(project="sdk", url=live_server, config={"a": 1})
    apply = run.update_config if what == "config" else run.update_summary
    run.log({"loss": 1.0}, step=0)
    with pytest.warns(RuntimeWarning, match=rf"update_{what}\(\) skipped .*{message}") as caught:
        apply(update)
        apply(update)  # the same cause again: no second warning
    assert len([w for w in caught if "skipped" in str(w.message)]) == 1
    apply({"b": 2})  # a later update the server takes still arrives
    run.log({"loss": 2.0}, step=1)
    assert run.finish() is True
    stored_run = stored.run(run.id)
    expected = {"a": 1, "b": 2} if what == "config" else {"b": 2}
    assert stored_run[what] == expected
    assert stored.series_counts(run.id) == {("loss", "epoch"): 2}
    assert not run.journal.rejected_path.exists()


def test_updates_are_checked_merged_as_the_server_merges_them(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    half = DEFAULT_MAX_DOCUMENT_BYTES // 2
    run = fitwatch.init(project="sdk", url=live_server)
    run.update_config({"a": "x" * half})
    with pytest.warns(RuntimeWarning, match=r"update_config\(\) skipped"):
        run.update_config({"b": "x" * half})  # each fits, the merged config does not
    run.update_config({"a": "small"})  # replaces a: the merged config is small again
    run.update_config({"b": "x" * half})
    assert run.finish() is True
    assert stored.run(run.id)["config"] == {"a": "small", "b": "x" * half}
    assert not run.journal.rejected_path.exists()


def test_the_keras_callback_refuses_its_run_fields_in_its_constructor(
    live_server: str, journal_dir: Path
) -> None:
    from fitwatch.keras import FitWatchCallback

    for kwargs, message in [
        ({"name": "n" * 256}, r"Received: name='nnn"),
        ({"tags": ["a\nb"]}, r"Received: tag='a\\nb'"),
        ({"config": nested(65)}, r"config nests deeper than 64 levels"),
        ({"config": sized(DEFAULT_MAX_DOCUMENT_BYTES + 1)}, r"bytes as JSON"),
        ({"run_id": "run\n"}, r"Received: id='run\\n'"),
    ]:
        with pytest.raises(ValueError, match=message):
            FitWatchCallback(project="sdk", url=live_server, **kwargs)
    FitWatchCallback(project="sdk", url=live_server, config=nested(64), name="n" * 255)
    assert _run_count(live_server) == 0
