"""The wire format of points: columnar batches and the NaN/Inf codec.

Same format as the server's schemas (docs/api.md): a value is a JSON number or one of the
strings "NaN", "Infinity", "-Infinity", because JSON has no NaN and a diverging loss is
data, not an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

JsonValue = float | str

_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
SCOPES = ("batch", "batch_derived", "epoch", "eval", "system")


class Point(NamedTuple):
    """One point of one series; `epoch` is set for batch points only."""

    key: str
    scope: str
    step: int
    value: float
    time: float
    epoch: int | None = None


def encode_value(value: float) -> JsonValue:
    """Encode a float for JSON: finite numbers as themselves, the rest by name."""
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return value


def decode_value(raw: Any) -> float:
    """Decode a wire value; refuses anything but a number or one of the three names."""
    if isinstance(raw, bool):
        raise ValueError(f"a value must be a number, 'NaN', 'Infinity' or '-Infinity'. Received: {raw!r}")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str) and raw in _NAMES:
        return _NAMES[raw]
    raise ValueError(f"a value must be a number, 'NaN', 'Infinity' or '-Infinity'. Received: {raw!r}")


def encode_points(points: Iterable[Point]) -> dict[str, Any]:
    """Group points by series into the columnar body of POST /runs/{id}/points.

    Series keep the order in which they first appear; within a series points keep their
    order, so a repeated step resolves to the last one, as on the server.
    """
    series: dict[tuple[str, str], dict[str, Any]] = {}
    for key, scope, step, value, time, epoch in points:
        entry = series.get((key, scope))
        if entry is None:
            entry = {"key": key, "scope": scope, "steps": [], "values": [], "times": []}
            if epoch is not None:
                entry["epochs"] = []
            series[(key, scope)] = entry
        entry["steps"].append(step)
        entry["values"].append(encode_value(value))
        entry["times"].append(time)
        epochs = entry.get("epochs")
        if epochs is not None:
            # A series either carries epochs for every point or for none (the columns
            # must have one length); batch points always have one.
            epochs.append(epoch if epoch is not None else 0)
    return {"series": list(series.values())}


def decode_points(body: dict[str, Any]) -> list[Point]:
    """The inverse of `encode_points`."""
    points: list[Point] = []
    for entry in body["series"]:
        epochs = entry.get("epochs") or [None] * len(entry["steps"])
        for step, raw, time, epoch in zip(
            entry["steps"], entry["values"], entry["times"], epochs, strict=True
        ):
            points.append(Point(entry["key"], entry["scope"], step, decode_value(raw), time, epoch))
    return points


def merge_bodies(bodies: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Merge several point bodies into one, keeping order (later points win)."""
    points: list[Point] = []
    for body in bodies:
        points.extend(decode_points(body))
    return encode_points(points)


def count_points(body: dict[str, Any]) -> int:
    return sum(len(entry["steps"]) for entry in body["series"])
