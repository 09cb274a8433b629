"""The NaN/Inf codec: how non-finite floats cross JSON, in one place.

JSON has no NaN, so on the wire a value is a JSON number or one of the strings "NaN",
"Infinity", "-Infinity" (a diverging loss is data, not an error). The SDK encodes with it
(`wire.py`, `client.py`), the server decodes and encodes with it (`fitwatch_server.values`
wraps it in pydantic types; the live path and the PostgreSQL notices use those), and the
pages decode with `web/js/wire.js`, whose names come from `web/js/wire_facts.js`, generated
from this module. `tests/web/test_wire_codec.py` property-tests the round trip SDK → server
→ page for NaN, +/-Inf, -0.0 and subnormals. Issue 8 found seven copies of this.

Pure Python on purpose: the SDK goes into training environments (no pydantic here).
"""

from __future__ import annotations

import math
from typing import Any

NAN_NAME = "NaN"
POSITIVE_INFINITY_NAME = "Infinity"
NEGATIVE_INFINITY_NAME = "-Infinity"
NON_FINITE: dict[str, float] = {
    NAN_NAME: math.nan,
    POSITIVE_INFINITY_NAME: math.inf,
    NEGATIVE_INFINITY_NAME: -math.inf,
}
JsonValue = float | str
_EXPECTED = "a value must be a number, 'NaN', 'Infinity' or '-Infinity'"


def encode_value(value: float | None) -> JsonValue:
    """A float for JSON: finite numbers as themselves, the rest by name.

    `None` is NaN: SQLite cannot store NaN, so the server stores it as NULL.
    """
    if value is None or value != value:
        return NAN_NAME
    if value == math.inf:
        return POSITIVE_INFINITY_NAME
    if value == -math.inf:
        return NEGATIVE_INFINITY_NAME
    return value


def encode_list(values: list[float | None]) -> list[JsonValue]:
    """Encode a column; a column of finite floats (the usual case) is returned as it is."""
    try:
        if math.isfinite(sum(values)):  # type: ignore[arg-type]
            return values  # type: ignore[return-value]
    except TypeError:  # a None (NaN from the database) is in the list
        pass
    return [encode_value(v) for v in values]


def decode_value(raw: Any) -> float:
    """Decode a wire value; refuses booleans and any other string, quoting what it got."""
    if isinstance(raw, bool):
        raise ValueError(f"{_EXPECTED}. Received: {raw!r}")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str) and raw in NON_FINITE:
        return NON_FINITE[raw]
    raise ValueError(f"{_EXPECTED}. Received: {raw!r}")


def decode_names(values: list[float | str]) -> list[float]:
    """Turn the names in an already validated column into floats (no copy if there are none)."""
    if str in set(map(type, values)):
        return [NON_FINITE[v] if isinstance(v, str) else v for v in values]
    return values  # type: ignore[return-value]


def json_safe(obj: Any) -> Any:
    """Make config/summary JSON-strict: non-finite floats by name, unknown objects by str."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, int | str):
        return obj
    if isinstance(obj, float):
        return encode_value(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [json_safe(v) for v in obj]
    item = getattr(obj, "item", None)  # numpy scalars, 0-d arrays
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    return str(obj)
