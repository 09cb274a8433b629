"""The wire format of points: columnar batches, the same as the server's schemas (docs/api.md).

Values go through the one NaN/Inf codec (`fitwatch.codec`); the scopes are `fitwatch.scopes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from fitwatch.codec import JsonValue, decode_value, encode_value
from fitwatch.scopes import SCOPES

__all__ = [
    "SCOPES",
    "JsonValue",
    "Point",
    "count_points",
    "decode_points",
    "decode_value",
    "encode_points",
    "encode_value",
    "halves",
    "merge_bodies",
]


class Point(NamedTuple):
    """One point of one series; `epoch` is set for batch points only."""

    key: str
    scope: str
    step: int
    value: float
    time: float
    epoch: int | None = None


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


def halves(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A points body in two halves, in order (by series, else a series' points by step
    position), or None for a single point: how the sender finds the part a server refuses."""
    series = body["series"]
    if len(series) > 1:
        middle = len(series) // 2
        return [{"series": series[:middle]}, {"series": series[middle:]}]
    [entry] = series
    count = len(entry["steps"])
    if count < 2:
        return None
    middle = count // 2
    columns = [c for c in ("steps", "values", "times", "epochs") if entry.get(c) is not None]
    return [
        {"series": [{**entry, **{c: entry[c][:middle] for c in columns}}]},
        {"series": [{**entry, **{c: entry[c][middle:] for c in columns}}]},
    ]
