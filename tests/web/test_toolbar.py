"""The chart toolbar shared by the run and compare pages: log x, the outlier-ignoring y range."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.dashboard import create_run, open_ready, post_series, series, training_run

pytestmark = pytest.mark.browser


def axes(page: Any, key: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        """(key) => { const l = document.querySelector(`.chart[data-key="${key}"]`)._fullLayout;
          return {x: l.xaxis.type, y: l.yaxis.range.slice(), auto: l.yaxis.autorange}; }""",
        key,
    )
    return result


def spiky_run(base: str, name: str) -> str:
    run = create_run(base, name=name)
    values = [1.0 + 0.01 * (s % 10) for s in range(200)]
    values[0] = 1000.0  # the first step diverges: one point squashes the curve
    post_series(base, run["id"], series("loss", "epoch", list(range(200)), values))
    return str(run["id"])


@pytest.mark.parametrize("where", ["run", "compare"])
def test_ignore_outliers_and_log_x_on_both_pages(page: Any, live_server: str, where: str) -> None:
    a = spiky_run(live_server, "a")
    b = spiky_run(live_server, "b")
    url = f"run.html?run={a}&scope=epoch" if where == "run" else f"compare.html?runs={a},{b}"
    open_ready(page, f"{live_server}/{url}")
    assert axes(page, "loss")["y"][1] > 900  # autorange shows the spike
    page.check("#outliers")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]')._fullLayout.yaxis.range[1] < 2"
    )
    low, high = axes(page, "loss")["y"]
    assert 0.9 < low < 1.0 and 1.09 < high < 1.2  # the 1st to 99th percentile, padded 5 %
    assert "outliers=1" in page.url or "outliers=true" in page.url
    page.check("#log-x")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]')._fullLayout.xaxis.type === 'log'"
    )
    if where == "compare":  # log x and outliers ignored: the curve under the first steps' spike
        page.screenshot(path="docs/screenshots/compare-toolbar.png")
    page.uncheck("#outliers")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]')._fullLayout.yaxis.range[1] > 900"
    )
    # The choice is in the address: a reload keeps log x.
    open_ready(page, page.url)
    assert axes(page, "loss")["x"] == "log"


def test_the_outlier_range_follows_the_log_axis(page: Any, live_server: str) -> None:
    run = training_run(live_server, name="plain")
    open_ready(page, f"{live_server}/run.html?run={run['id']}&scope=epoch&log=1&outliers=1")
    low, high = axes(page, "loss")["y"]
    assert -1 < low < high < 1  # log10 units: the range of losses between 0.1 and 10


@pytest.mark.parametrize("where", ["run", "compare"])
def test_zoom_on_one_chart_and_the_others_follow(page: Any, live_server: str, where: str) -> None:
    a = training_run(live_server, name="a")
    b = training_run(live_server, name="b", lr=0.01)
    url = (
        f"run.html?run={a['id']}&scope=epoch"
        if where == "run"
        else f"compare.html?runs={a['id']},{b['id']}"
    )
    open_ready(page, f"{live_server}/{url}")
    page.evaluate(
        "Plotly.relayout(document.querySelector('.chart[data-key=loss]'), {'xaxis.range': [1, 3]})"
    )
    page.wait_for_function(
        """() => { const l = document.querySelector('.chart[data-key=accuracy]')._fullLayout.xaxis;
                   return !l.autorange && l.range[0] === 1 && l.range[1] === 3; }"""
    )
    page.evaluate(
        "Plotly.relayout(document.querySelector('.chart[data-key=accuracy]'), {'xaxis.autorange': true})"
    )
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]')._fullLayout.xaxis.autorange === true"
    )
