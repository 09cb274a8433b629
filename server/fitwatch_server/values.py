"""The NaN/Inf codec as pydantic types, and how non-finite floats are stored.

The codec itself (the three names, encode, decode) is `fitwatch.codec`, shared with the
SDK and mirrored by the pages' `web/js/wire.js`; this module only wraps it for pydantic and
the database. In the database NaN is NULL (SQLite cannot store NaN at all, so one encoding
serves both backends); +/-Inf are stored as themselves.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, StrictFloat

from fitwatch.codec import decode_names, decode_value, encode_list, encode_value

# Must list `fitwatch.codec.NON_FINITE`'s names (a Literal cannot be built from a dict);
# tests/web/test_wire_codec.py checks that it does.
NonFiniteName = Literal["NaN", "Infinity", "-Infinity"]

to_wire = encode_value
list_to_wire = encode_list
from_wire = decode_value
names_to_floats = decode_names


def to_db(value: float) -> float | None:
    return None if value != value else value


def from_db(value: float | None) -> float:
    return math.nan if value is None else value


# Request columns: strict numbers (no booleans, no numeric strings) or the three names. Kept
# free of per-item Python validators so pydantic-core validates 10,000 values in about 0.1 ms.
WireFloatList = Annotated[list[StrictFloat | NonFiniteName], AfterValidator(decode_names)]

WireFloat = Annotated[
    float,
    BeforeValidator(decode_value),
    PlainSerializer(encode_value, return_type=float | str),
]
