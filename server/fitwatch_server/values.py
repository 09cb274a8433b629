"""The NaN/Inf codec: how non-finite floats cross JSON and the database.

JSON has no NaN, so on the wire a value is a number or one of the strings "NaN",
"Infinity", "-Infinity". In the database NaN is NULL (SQLite cannot store NaN at all, so
one encoding serves both backends); +/-Inf are stored as themselves.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, StrictFloat

NonFiniteName = Literal["NaN", "Infinity", "-Infinity"]
_FROM_NAME = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def to_wire(value: float | None) -> float | str:
    """Encode one float for JSON; `None` (a NULL from the database) means NaN."""
    if value is None or value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return value


def list_to_wire(values: list[float | None]) -> list[float | str]:
    """Encode a column; a column of finite floats (the usual case) is returned as it is."""
    try:
        if math.isfinite(sum(values)):  # type: ignore[arg-type]
            return values  # type: ignore[return-value]
    except TypeError:  # a None (NaN from the database) is in the list
        pass
    return [to_wire(v) for v in values]


def from_wire(raw: Any) -> float:
    """Decode a wire value; refuses booleans and any other string with a clear message."""
    if isinstance(raw, bool):
        raise ValueError(f"a value must be a number, 'NaN', 'Infinity' or '-Infinity'. Received: {raw!r}")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str) and raw in _FROM_NAME:
        return _FROM_NAME[raw]
    raise ValueError(
        f"a value must be a number, 'NaN', 'Infinity' or '-Infinity'. Received: {raw!r}"
    )


def to_db(value: float) -> float | None:
    return None if value != value else value


def from_db(value: float | None) -> float:
    return math.nan if value is None else value


def names_to_floats(values: list[float | str]) -> list[float]:
    """Turn the "NaN"/"Infinity"/"-Infinity" names in an already validated list into floats."""
    if str in set(map(type, values)):
        return [_FROM_NAME[v] if isinstance(v, str) else v for v in values]
    return values  # type: ignore[return-value]


# Request columns: strict numbers (no booleans, no numeric strings) or the three names. Kept
# free of per-item Python validators so pydantic-core validates 10,000 values in about 0.1 ms.
WireFloatList = Annotated[list[StrictFloat | NonFiniteName], AfterValidator(names_to_floats)]

WireFloat = Annotated[
    float,
    BeforeValidator(from_wire),
    PlainSerializer(to_wire, return_type=float | str),
]
