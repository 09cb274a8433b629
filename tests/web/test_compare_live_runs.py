"""The compare page follows the runs it compares: a rename redraws the legend and the line
names, a run deleted for good or moved to the trash leaves the charts (the page says it is not
found, as when opened), and the lines that stay keep extending live. Before, the page kept
drawing a deleted run's lines and its old name until reloaded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import open_ready, post_series, series, trace_data, training_run

pytestmark = pytest.mark.browser


def line_names(page: Any) -> list[str]:
    return sorted(t["name"] for t in trace_data(page, "loss") if t["x"])


def test_renames_and_deletions_reach_an_open_compare_page(page: Any, live_server: str) -> None:
    a, b, c = (training_run(live_server, name=n, status="running") for n in ("alpha", "beta", "gamma"))
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']},{c['id']}&scope=epoch&smooth=0")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    assert line_names(page) == sorted(f"{n} \u00b7 {k}" for n in ("alpha", "beta", "gamma") for k in ("loss", "val_loss"))

    httpx.patch(f"{live_server}/api/v1/runs/{a['id']}", json={"name": "alpha-2"}).raise_for_status()
    wait_until(lambda: "alpha-2 \u00b7 loss" in line_names(page))
    wait_until(lambda: "alpha-2" in page.text_content("#run-legend"))

    httpx.delete(f"{live_server}/api/v1/runs/{b['id']}").raise_for_status()
    httpx.post(f"{live_server}/api/v1/trash", json={"runs": [c["id"]]}).raise_for_status()
    wait_until(lambda: line_names(page) == ["alpha-2 \u00b7 loss", "alpha-2 \u00b7 val_loss"])
    legend = page.text_content("#run-legend")
    assert "beta" not in legend and "gamma" not in legend

    # Still live after the page read its runs again: a new epoch is drawn, once.
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    post_series(live_server, a["id"], series("loss", "epoch", [5], [0.01]))
    wait_until(lambda: 5 in next(t["x"] for t in trace_data(page, "loss") if t["name"] == "alpha-2 \u00b7 loss"))
    points = httpx.get(f"{live_server}/api/v1/runs/{a['id']}/series/loss", params={"scope": "epoch"}).json()
    line = next(t for t in trace_data(page, "loss") if t["name"] == "alpha-2 \u00b7 loss")
    assert (line["x"], line["y"]) == (points["steps"], points["values"])
