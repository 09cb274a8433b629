"""The columnar wire format and its NaN/Inf codec."""

from __future__ import annotations

import json
import math

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
