"""Live points at or before a series' last step: an overwrite of a stored step and an earlier
step logged late are drawn like the REST read has them (docs/api.md: the later value replaces
the earlier one). The charts used to skip every live step up to the last one drawn."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import create_run, open_ready, post_series, series, trace_data

pytestmark = pytest.mark.browser


def stored(base: str, run_id: str, key: str, scope: str) -> list[tuple[int, float]]:
    response = httpx.get(f"{base}/api/v1/runs/{run_id}/series/{key}", params={"scope": scope})
    response.raise_for_status()
    data = response.json()
    return list(zip(data["steps"], data["values"], strict=True))


def drawn(page: Any, key: str, name: str | None = None) -> list[tuple[int, float]]:
    traces = [t for t in trace_data(page, key) if t["x"] and (name is None or t["name"] == name)]
    return list(zip(traces[0]["x"], traces[0]["y"], strict=True))


def log_late_and_overwrite(base: str, run_id: str) -> None:
    post_series(base, run_id, series("loss", "epoch", [4], [0.1]))  # overwrites step 4
    post_series(base, run_id, series("loss", "epoch", [3], [0.7]))  # step 3, never logged before
    post_series(base, run_id, series("loss", "epoch", [5], [0.5]))


def test_the_run_page_draws_overwrites_and_late_steps(page: Any, live_server: str) -> None:
    run = create_run(live_server, name="late")
    post_series(live_server, run["id"], series("loss", "epoch", [0, 1, 2, 4], [1.0, 0.9, 0.8, 0.6]))
    open_ready(page, f"{live_server}/run.html?run={run['id']}&scope=epoch&smooth=0")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    log_late_and_overwrite(live_server, run["id"])
    expected = [(0, 1.0), (1, 0.9), (2, 0.8), (3, 0.7), (4, 0.1), (5, 0.5)]
    assert stored(live_server, run["id"], "loss", "epoch") == expected
    wait_until(lambda: drawn(page, "loss") == expected)


def test_the_compare_page_draws_overwrites_and_late_steps(page: Any, live_server: str) -> None:
    a = create_run(live_server, name="a")
    b = create_run(live_server, name="b")
    for run in (a, b):
        post_series(live_server, run["id"], series("loss", "epoch", [0, 1, 2, 4], [1.0, 0.9, 0.8, 0.6]))
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}&scope=epoch&smooth=0.5")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    log_late_and_overwrite(live_server, a["id"])
    expected = stored(live_server, a["id"], "loss", "epoch")
    assert [s for s, _ in expected] == [0, 1, 2, 3, 4, 5]
    # Smoothing on: the raw line holds the points, the smoothed line is drawn again over them.
    wait_until(lambda: drawn(page, "loss", "a \u00b7 loss (raw)") == expected)
    assert [s for s, _ in drawn(page, "loss", "a \u00b7 loss")] == [0, 1, 2, 3, 4, 5]
    assert drawn(page, "loss", "b \u00b7 loss (raw)") == [(0, 1.0), (1, 0.9), (2, 0.8), (4, 0.6)]
