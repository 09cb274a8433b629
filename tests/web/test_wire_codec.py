"""One codec, one list of scopes (issue 8): the SDK, the server and the pages agree.

The property test sends floats the way the SDK does, decodes them as the server does,
encodes them as the server's REST reads and live messages do, and decodes those in the
browser with the pages' `js/wire.js`: NaN, +/-Inf, -0.0 and subnormals come back exactly.
"""

from __future__ import annotations

import json
import math
import struct
import typing
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import fitwatch
from fitwatch import wire
from fitwatch.codec import NON_FINITE, decode_value
from fitwatch.scopes import EPOCH_SCOPES, SCOPES
from fitwatch_server import schemas, values, web_facts
from fitwatch_server.api.point_responses import series_points_response
from fitwatch_server.live import protocol
from tests.web.dashboard import open_ready

EDGES = [
    -0.0,
    0.0,
    5e-324,
    -5e-324,
    2.225073858507201e-308,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
    0.1,
]

# In the page: JSON text -> wire.js decode -> each number spelled exactly (JS's shortest
# round-trip form, "-0" for negative zero), which Python's float() reads back bit for bit;
# and the decoded numbers encoded again by wire.js, as JSON for the SDK's decoder.
DECODE_IN_PAGE = """async (texts) => {
  const wire = await import("/js/wire.js");
  const spell = (v) => (Object.is(v, -0) ? "-0" : String(v));
  return texts.map((text) => {
    const decoded = JSON.parse(text).values.map(wire.decodeValue);
    return { spelled: decoded.map(spell), encoded: JSON.stringify(decoded.map(wire.encodeValue)) };
  });
}"""


def same_bits(a: float, b: float) -> bool:
    """Equal as IEEE 754 doubles; every NaN is one NaN on the wire."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack(">d", a) == struct.pack(">d", b)


def test_the_generated_wire_facts_match_the_python_modules() -> None:
    assert web_facts.TARGET.read_text(encoding="utf-8") == web_facts.render(), (
        "web/js/wire_facts.js is out of date with client_sdk/fitwatch/scopes.py or codec.py. "
        "HOW TO FIX: run `python -m fitwatch_server.web_facts` and commit the file."
    )
    assert list(SCOPES) == [s.value for s in schemas.Scope]
    assert EPOCH_SCOPES <= set(SCOPES)


def test_the_server_accepts_exactly_the_codecs_names() -> None:
    assert typing.get_args(values.NonFiniteName) == tuple(NON_FINITE)


def _server_round(floats: list[float]) -> list[str]:
    """SDK encode -> JSON -> server decode -> the server's two encoders -> JSON texts."""
    points = [wire.Point("v", "batch", i, x, 1.0, 0) for i, x in enumerate(floats)]
    sent = json.dumps(wire.encode_points(points), separators=(",", ":"), allow_nan=False)
    batch = schemas.PointBatchIn.model_validate_json(sent)
    decoded = list(batch.series[0].values)
    assert all(same_bits(a, b) for a, b in zip(floats, decoded, strict=True))
    steps, times = list(range(len(floats))), [1.0] * len(floats)
    rest = series_points_response(
        schemas.SeriesPointsPublic.model_construct(
            run_id="r",
            key="v",
            scope=schemas.Scope.batch,
            steps=steps,
            values=decoded,
            times=times,
            epochs=[0] * len(floats),
            count=len(floats),
            downsampled=False,
        )
    ).body
    live = protocol.encode(
        protocol.Points(
            run_id="r",
            key="v",
            scope=schemas.Scope.batch,
            steps=steps,
            values=decoded,
            times=times,
            epochs=[0] * len(floats),
        )
    )
    return [bytes(rest).decode(), live]


@pytest.mark.browser
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
        min_size=1,
        max_size=40,
    )
)
@example(EDGES)
def test_floats_round_trip_from_the_sdk_through_the_server_to_the_page(
    page: Any, live_server: str, floats: list[float]
) -> None:
    if page.url == "about:blank":
        open_ready(page, f"{live_server}/compare.html")
    texts = _server_round(floats)
    for text in texts:
        orjson.loads(text)  # strict JSON: no bare NaN/Infinity tokens
    for result in page.evaluate(DECODE_IN_PAGE, texts):
        got = [float(s) for s in result["spelled"]]
        assert all(same_bits(a, b) for a, b in zip(floats, got, strict=True)), (floats, result)
        # JSON.stringify writes -0 as 0: the page's encoder keeps every other bit.
        back = [decode_value(v) for v in json.loads(result["encoded"])]
        assert all(same_bits(a, b) or a == b == 0 for a, b in zip(floats, back, strict=True)), (
            result
        )


@pytest.mark.browser
def test_edge_values_logged_by_the_sdk_reach_the_page_exactly_through_the_database(
    page: Any, server_process: Any, database_url: str, backend: str, tmp_path: Path
) -> None:
    # The database leg: NaN is stored as NULL (SQLite cannot store NaN) and read back as NaN.
    server = server_process(database_url).start()
    run = fitwatch.init(project="codec", url=server.url, journal_dir=str(tmp_path / "journal"))
    for step, x in enumerate(EDGES):
        run.log({"v": x}, step=step, scope="batch", epoch=0)
    assert run.finish() is True
    open_ready(page, f"{server.url}/compare.html")
    spelled = page.evaluate(
        """async (runId) => {
          const wire = await import("/js/wire.js");
          const response = await fetch(`/api/v1/runs/${runId}/series/v?scope=batch`);
          const body = await response.json();
          return body.values.map((v) => { const n = wire.decodeValue(v); return Object.is(n, -0) ? "-0" : String(n); });
        }""",
        run.id,
    )
    got = [float(s) for s in spelled]
    expected = list(EDGES)
    if backend == "sqlite":
        # SQLite writes a REAL with no fraction as an integer on disk, so -0.0 comes back as
        # 0.0 (equal, but its sign is gone); PostgreSQL keeps it. docs/api.md says so.
        expected = [0.0 if x == 0 else x for x in EDGES]
    assert all(same_bits(a, b) for a, b in zip(expected, got, strict=True)), spelled
