"""The SDK skips, with a warning, exactly the points the server would refuse (fitwatch/limits.py).

The sender ships a whole flush interval as one request, and the server refuses a request
whole: a point it refuses, once sent, costs every point logged beside it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import fitwatch
from fitwatch import limits, wire
from fitwatch_server import schemas
from tests.client_sdk.conftest import Stored

KEYS = [
    "k" * 255, "k" * 256, "a\tb", "a\nb", "nul\x00", "del\x7f", " ", "", "\u00e9t\u00e9", "\U0001f600" * 255,
    "\U0001f600" * 256, "val/loss", " padded ", "lone\ud800",
]
STEPS: list[Any] = [0, 2**62, 2**62 + 1, 2**63 - 1, 2**63, -1, 1.5, 1.0, True, "3"]
EPOCHS: list[Any] = [None, 0, limits.EPOCH_MAX, limits.EPOCH_MAX + 1, -1, 1.5, True, "3"]


def _server_takes(point: wire.Point) -> bool:
    """What POST /runs/{id}/points does with a body of this one point (the server's own schema)."""
    try:
        text = json.dumps(wire.encode_points([point]), allow_nan=False)
    except (TypeError, ValueError):
        return False  # not even a request body
    try:
        schemas.PointBatchIn.model_validate_json(text)
    except ValidationError:
        return False
    return True


def _client_takes(point: wire.Point) -> bool:
    caught: list[str] = []
    kept = limits.valid_points([point], set(), lambda cause, message: caught.append(message))
    assert (not kept) == bool(caught)  # skipped always says why
    assert all("Received: " in message for message in caught)
    return bool(kept)


@pytest.mark.parametrize("key", KEYS)
def test_client_and_server_agree_on_keys(key: str) -> None:
    point = wire.Point(key, "epoch", 0, 1.0, 1.0)
    if "\ud800" in key:
        # The server never sees such a key (a body cannot carry it as UTF-8): the client skips it.
        assert not _client_takes(point)
        return
    assert _client_takes(point) == _server_takes(point)


@pytest.mark.parametrize("step", STEPS)
def test_client_and_server_agree_on_steps(step: Any) -> None:
    point = wire.Point("loss", "epoch", step, 1.0, 1.0)
    # The client takes neither 1.0 nor True (the server's lax int would take 1.0 as step 1):
    # stricter never costs a neighbour, and Python's True is no one's step 1.
    expected = _server_takes(point) and type(step) is int
    assert _client_takes(point) == expected


@pytest.mark.parametrize("epoch", EPOCHS)
def test_client_and_server_agree_on_epochs(epoch: Any) -> None:
    point = wire.Point("loss", "batch", 0, 1.0, 1.0, epoch)
    expected = _server_takes(point) and (epoch is None or type(epoch) is int)
    assert _client_takes(point) == expected


@given(st.text(max_size=300))
def test_every_key_the_client_takes_the_server_takes(key: str) -> None:
    point = wire.Point(key, "epoch", 0, 1.0, 1.0)
    if _client_takes(point):
        assert _server_takes(point)
    elif limits.key_problem(key) is not None and "surrogate" not in (limits.key_problem(key) or ""):
        assert not _server_takes(point)


def test_a_bad_point_is_skipped_and_its_neighbours_are_stored(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    # One flush interval: every log() below goes out in one request.
    run = fitwatch.init(project="sdk", url=live_server, flush_interval_s=60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, key in enumerate(KEYS):
            run.log({"loss": float(i), key: 1.0}, step=i)
        logged = len(KEYS)
        for step in STEPS:
            run.log({"odd_step": 1.0}, step=step)
        for epoch in EPOCHS:
            run.log({"loss_b": 1.0}, step=logged, scope="batch", epoch=epoch)
            logged += 1
        run.log({"huge": 10**400, "loss": 99.0}, step=99)  # float() raises OverflowError
        run.log({"loss": 100.0}, step=100, scope="nope")
        run.log(["not", "a", "dict"])  # type: ignore[arg-type]
        run.add_points([wire.Point("k" * 256, "batch", 0, 1.0, 1.0, 0), wire.Point("fast", "batch", 0, 1.0, 1.0, 0)])
    assert run.finish() is True
    messages = [str(w.message) for w in caught]
    assert all("Received: " in m for m in messages if "fitwatch" in m), messages
    assert not (run.journal.directory / "rejected.jsonl").exists()
    counts = stored.series_counts(run.id)
    assert stored.points(run.id, "loss", "epoch") == {**{i: float(i) for i in range(len(KEYS))}, 99: 99.0}
    assert counts[("fast", "batch")] == 1
    stored_keys = {key for key, _ in counts}
    for key in KEYS:
        point = wire.Point(key, "epoch", 0, 1.0, 1.0)
        assert (key in stored_keys) == _client_takes(point), key
    assert sorted(stored.points(run.id, "odd_step", "epoch")) == [0, 2**62]
    takes = [e for e in EPOCHS if _client_takes(wire.Point("loss_b", "batch", 0, 1.0, 1.0, e))]
    assert stored.series(run.id, "loss_b", "batch")["epochs"] == takes
    assert "huge" not in stored_keys


def test_foreign_numbers_are_sent_as_floats_and_bad_times_are_skipped(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    # `add_points` is public: a NumPy value made json fail in the journal (the points taken
    # off the queue with it were lost), a NaN time made every later request fail to encode.
    import math

    import numpy as np

    run = fitwatch.init(project="sdk", url=live_server, flush_interval_s=60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.log({"good": 1.0}, step=0)
        run.add_points([
            wire.Point("numpy", "epoch", 0, np.float32(1.5), 1.0),  # type: ignore[arg-type]
            wire.Point("numpy_time", "epoch", 0, 2.0, np.float64(5.0)),  # type: ignore[arg-type]
            wire.Point("nan_time", "epoch", 0, 1.0, math.nan),
            wire.Point("inf_time", "epoch", 0, 1.0, math.inf),
            wire.Point("text", "epoch", 0, "x", 1.0),  # type: ignore[arg-type]
            wire.Point("nan_value", "epoch", 0, math.nan, 1.0),
        ])
        run.log({"good": 2.0}, step=1)
    assert run.finish() is True
    messages = [str(w.message) for w in caught]
    assert any("a point's time must be a finite number" in m for m in messages), messages
    assert any("a value must be a number" in m for m in messages), messages
    assert stored.points(run.id, "good", "epoch") == {0: 1.0, 1: 2.0}
    assert stored.points(run.id, "numpy", "epoch") == {0: 1.5}
    assert stored.points(run.id, "numpy_time", "epoch") == {0: 2.0}
    assert math.isnan(stored.points(run.id, "nan_value", "epoch")[0])
    assert {key for key, _ in stored.series_counts(run.id)} == {"good", "numpy", "numpy_time", "nan_value"}


def test_a_body_the_sdk_cannot_encode_is_a_refusal_not_a_crash(live_server: str) -> None:
    from fitwatch.client import Client
    from fitwatch.errors import RejectedError
    from fitwatch.settings import ClientSettings

    with Client(ClientSettings(url=live_server)) as client, pytest.raises(RejectedError, match="cannot encode"):
        client.post_points("x", {"series": [{"key": "a", "scope": "epoch", "steps": [0], "values": [1.0], "times": [float("nan")]}]})
