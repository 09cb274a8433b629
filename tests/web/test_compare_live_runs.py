"""The compare page follows the runs it compares: a rename redraws the legend and the line
names, a run deleted for good or moved to the trash leaves the charts (the page says it is not
found, as when opened), and the lines that stay keep extending live. Before, the page kept
drawing a deleted run's lines and its old name until reloaded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import (
    create_run,
    open_ready,
    post_series,
    series,
    trace_data,
    training_run,
)

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


@pytest.mark.parametrize("first_points", [True, False], ids=["one-run-has-points", "no-points-yet"])
def test_series_first_logged_after_the_page_opened_get_their_lines(page: Any, live_server: str, first_points: bool) -> None:
    a = create_run(live_server, name="a")
    b = create_run(live_server, name="b")
    if first_points:
        post_series(live_server, a["id"], series("loss", "epoch", [0, 1], [1.0, 0.9]))
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}&scope=epoch&smooth=0")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    post_series(live_server, b["id"], series("loss", "epoch", [0, 1, 2], [2.0, 1.9, 1.8]))  # b's first points
    post_series(live_server, a["id"], series("accuracy", "epoch", [0, 1, 2], [0.1, 0.2, 0.3]))  # a new metric
    post_series(live_server, a["id"], series("loss", "epoch", [2], [0.8]))

    def lines(key: str) -> dict[str, list[int]]:
        return {t["name"]: t["x"] for t in trace_data(page, key) if t["x"]}

    a_loss = [0, 1, 2] if first_points else [2]
    wait_until(lambda: lines("loss") == {"a \u00b7 loss": a_loss, "b \u00b7 loss": [0, 1, 2]})
    wait_until(lambda: lines("accuracy") == {"a \u00b7 accuracy": [0, 1, 2]})
    post_series(live_server, b["id"], series("loss", "epoch", [3], [1.7]))
    wait_until(lambda: lines("loss")["b \u00b7 loss"] == [0, 1, 2, 3])


def test_with_bands_on_a_metric_first_logged_after_the_page_opened_gets_its_band(page: Any, live_server: str) -> None:
    a = create_run(live_server, name="a")
    b = create_run(live_server, name="b")
    for run in (a, b):
        post_series(live_server, run["id"], series("loss", "epoch", [0, 1], [1.0, 0.9]))
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}&scope=epoch&smooth=0&group=-config.seed")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    post_series(live_server, a["id"], series("accuracy", "epoch", [0, 1, 2], [0.1, 0.2, 0.3]))
    wait_until(lambda: any(t["name"] == "all runs \u00b7 accuracy" and t["x"] == [0, 1, 2] for t in trace_data(page, "accuracy")))
    assert any(t["name"] == "all runs \u00b7 loss" and t["x"] == [0, 1] for t in trace_data(page, "loss"))
