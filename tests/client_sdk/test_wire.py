"""The columnar wire format and its NaN/Inf codec."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitwatch import wire


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_float_survives_a_strict_json_round_trip(value: float) -> None:
    encoded = json.loads(json.dumps(wire.encode_value(value), allow_nan=False))
    decoded = wire.decode_value(encoded)
    assert (math.isnan(decoded) and math.isnan(value)) or decoded == value


def test_non_finite_values_are_named() -> None:
    assert [wire.encode_value(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == [
        "NaN", "Infinity", "-Infinity", 1.5,
    ]


@pytest.mark.parametrize("raw", [True, "nan", "inf", None, [1.0]])
def test_decode_refuses_anything_else_and_quotes_it(raw: object) -> None:
    with pytest.raises(ValueError, match=r"Received: "):
        wire.decode_value(raw)


def test_points_are_grouped_by_series_in_columns() -> None:
    points = [
        wire.Point("loss", "batch", 0, 2.0, 10.0, 0),
        wire.Point("acc", "batch", 0, 0.5, 10.0, 0),
        wire.Point("loss", "batch", 1, math.nan, 11.0, 0),
        wire.Point("val_loss", "epoch", 0, 1.0, 12.0),
    ]
    body = wire.encode_points(points)
    assert body == {"series": [
        {"key": "loss", "scope": "batch", "steps": [0, 1], "values": [2.0, "NaN"], "times": [10.0, 11.0], "epochs": [0, 0]},
        {"key": "acc", "scope": "batch", "steps": [0], "values": [0.5], "times": [10.0], "epochs": [0]},
        {"key": "val_loss", "scope": "epoch", "steps": [0], "values": [1.0], "times": [12.0]},
    ]}
    json.dumps(body, allow_nan=False)
    decoded = wire.decode_points(body)
    assert [p[:3] for p in decoded] == [("loss", "batch", 0), ("loss", "batch", 1), ("acc", "batch", 0), ("val_loss", "epoch", 0)]


def test_merged_bodies_keep_every_point_in_order() -> None:
    first = wire.encode_points([wire.Point("loss", "batch", 0, 1.0, 1.0, 0)])
    second = wire.encode_points([wire.Point("loss", "batch", 1, 2.0, 2.0, 0), wire.Point("x", "epoch", 0, 3.0, 2.0)])
    merged = wire.merge_bodies([first, second])
    assert wire.count_points(merged) == 3
    assert merged["series"][0]["steps"] == [0, 1]


# A batch-scope series whose points mix epoch and no epoch (a user's log() calls, or records
# merged after an outage): the epochs column was made from the first point only, so epochs
# were dropped ([None, 3] stored as [None, None]) or invented ([2, None] as [2, 0]).
MIXED = [
    wire.Point("lr", "batch", 0, 0.1, 1.0),
    wire.Point("lr", "batch", 1, 0.2, 2.0, 3),
    wire.Point("g", "batch", 0, 0.1, 1.0, 2),
    wire.Point("g", "batch", 1, 0.2, 2.0),
    # A step logged with an epoch, then again without: the later point must win.
    wire.Point("g", "batch", 0, 0.3, 3.0),
    wire.Point("lr", "batch", 2, 0.4, 4.0, 3),
]


def test_every_point_keeps_exactly_its_epoch_through_encode_and_merge() -> None:
    body = wire.encode_points(MIXED)
    # The server's epochs column holds no nulls: a column per entry or none.
    for entry in body["series"]:
        assert "epochs" not in entry or len(entry["epochs"]) == len(entry["steps"])
    assert wire.decode_points(body) == [MIXED[i] for i in (0, 1, 5, 2, 3, 4)]
    merged = wire.merge_bodies(wire.encode_points([p]) for p in MIXED)
    assert wire.count_points(merged) == len(MIXED)
    assert sorted(wire.decode_points(merged)) == sorted(MIXED)


def test_the_server_stores_mixed_epochs_as_logged_and_the_last_value_wins(
    server_process: type, database_url: str, journal_dir: Path
) -> None:
    import fitwatch
    from tests.helpers.stored import Stored

    server = server_process(database_url).start()
    # Every log() in one record: the one request carries the series in several entries.
    run = fitwatch.init(project="sdk", url=server.url, flush_interval_s=60)
    for key, scope, step, value, _, epoch in MIXED:
        run.log({key: value}, step=step, scope=scope, epoch=epoch)
    assert run.finish() is True
    stored = Stored(server.url)
    try:
        lr = stored.series(run.id, "lr", "batch")
        g = stored.series(run.id, "g", "batch")
    finally:
        stored.close()
    assert (lr["steps"], lr["values"], lr["epochs"]) == ([0, 1, 2], [0.1, 0.2, 0.4], [None, 3, 3])
    assert (g["steps"], g["values"], g["epochs"]) == ([0, 1], [0.3, 0.2], [None, None])


def test_a_request_never_carries_more_entries_than_the_server_takes(live_server: str, journal_dir: Path) -> None:
    import fitwatch
    from fitwatch import limits
    from tests.helpers.stored import Stored

    # A series that switches between epoch and no epoch at every point takes an entry per
    # point: 10,002 entries in one flush, where the server takes 10,000 (and refused all).
    count = limits.SERIES_PER_REQUEST_MAX + 2
    run = fitwatch.init(project="sdk", url=live_server, flush_interval_s=60)
    for step in range(count):
        run.log({"x": float(step)}, step=step, scope="batch", epoch=step if step % 2 else None)
    assert run.finish() is True
    assert not (run.journal.directory / "rejected.jsonl").exists()
    stored = Stored(live_server)
    try:
        x = stored.series(run.id, "x", "batch")
    finally:
        stored.close()
    assert x["steps"] == list(range(count))
    assert x["epochs"] == [step if step % 2 else None for step in range(count)]
