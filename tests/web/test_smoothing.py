"""js/smoothing.js: the debiased EMA, evaluated in the browser (the module touches no DOM)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.web.dashboard import open_ready

pytestmark = pytest.mark.browser


def debiased_ema(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing, written out in Python as the reference, clamped to the values
    seen so far (a mean lies between them; the debiasing division can round just outside)."""
    last, count, out = 0.0, 0, []
    low, high = math.inf, -math.inf
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        low, high = min(low, value), max(high, value)
        out.append(min(high, max(low, last / (1 - weight**count))))
    return out


def smooth_in_page(page: Any, values: list[Any], weight: float) -> list[Any]:
    return page.evaluate(  # type: ignore[no-any-return]
        """async ([values, weight]) => {
          const m = await import("/js/smoothing.js");
          const parsed = values.map((v) => (v === "NaN" ? NaN : v === "Infinity" ? Infinity : v));
          return m.smooth(parsed, weight).map((v) => (Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v));
        }""",
        [values, weight],
    )


def test_smoothing_matches_the_debiased_ema(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    values = [2.0, 1.5, 1.7, 0.9, 1.1, 0.4, 0.6]
    for weight in (0.0, 0.6, 0.9, 0.99):
        assert smooth_in_page(page, values, weight) == debiased_ema(values, weight)


def test_smoothing_starts_at_the_first_value_and_passes_gaps_through(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    out = smooth_in_page(page, [3.0, "NaN", 1.0, "Infinity", 2.0], 0.9)
    assert out[0] == 3.0  # debiased: no pull towards zero at the start
    assert out[1] == "NaN" and out[3] == "Infinity"
    expected = debiased_ema([3.0, 1.0, 2.0], 0.9)
    assert [out[0], out[2], out[4]] == expected


def test_a_constant_series_smooths_to_itself(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    for value in (0.001, 0.1, 1e-4, 3.3):
        for weight in (0.6, 0.9, 0.99):
            assert set(smooth_in_page(page, [value] * 300, weight)) == {value}


def test_smoothed_values_stay_between_the_values_seen(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    values = [0.1 + 1e-17 * (i % 3) for i in range(100)] + [0.3] * 50 + [0.2] * 50
    out = smooth_in_page(page, values, 0.95)
    for i, smoothed in enumerate(out):
        assert min(values[: i + 1]) <= smoothed <= max(values[: i + 1])
