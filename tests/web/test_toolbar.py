"""The chart toolbar shared by the run and compare pages: log x, the outlier-ignoring y range."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import (
    create_run,
    open_ready,
    post_series,
    screenshot,
    series,
    trace_data,
    training_run,
)

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
        screenshot(page, "compare-toolbar.png")
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


def points(base: str, run_id: str, key: str, scope: str) -> dict[int, float]:
    import httpx

    body = httpx.get(f"{base}/api/v1/runs/{run_id}/series/{key}", params={"scope": scope}).json()
    return dict(zip(body["steps"], body["values"], strict=True))


@pytest.mark.keras
def test_loss_against_the_learning_rate_of_a_range_test(page: Any, live_server: str) -> None:
    """A learning-rate range test: a real fit whose schedule raises the rate every step; the
    x axis choice `metric: fitwatch/learning_rate` plots each loss point at the rate of its
    step, on a log x axis, and the choice is in the address."""
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    from fitwatch.keras import LEARNING_RATE_KEY, FitWatchCallback

    keras.utils.set_random_seed(0)
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    # 1e-4 growing 8 % a step, to ~20 by the last of the 162 steps: the loss falls, then blows up.
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-4, decay_steps=1, decay_rate=1.08)
    model.compile(
        keras.optimizers.SGD(schedule, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    callback = FitWatchCallback(
        project="web", name="lr-range-test", url=live_server, update_freq="batch"
    )
    model.fit(x, y, epochs=3, batch_size=32, validation_split=0.05, verbose=0, callbacks=[callback])
    run_id = callback.run.id
    lr = points(live_server, run_id, LEARNING_RATE_KEY, "batch")
    loss = points(live_server, run_id, "loss", "batch")
    assert len(lr) == len(loss) > 100

    open_ready(page, f"{live_server}/run.html?run={run_id}&scope=batch&smooth=0")
    options = page.eval_on_selector_all("#x-axis option", "os => os.map(o => o.value)")
    assert f"metric:{LEARNING_RATE_KEY}" in options and "metric:loss" in options
    drawn = int(page.evaluate("Number(document.documentElement.dataset.drawn || 0)"))
    page.select_option("#x-axis", f"metric:{LEARNING_RATE_KEY}")
    page.wait_for_function(f"() => Number(document.documentElement.dataset.drawn) > {drawn}")
    assert "x=metric%3Afitwatch%2Flearning_rate" in page.url
    raw = trace_data(page, "loss")[0]
    assert raw["name"] == "loss"
    # Every loss point at the learning rate of its own step (the SDK's batch series).
    want = [(lr[s], v) for s, v in sorted(loss.items()) if isinstance(v, float)]
    got = [(a, b) for a, b in zip(raw["x"], raw["y"], strict=True) if b is not None]
    assert got == want
    title = page.evaluate(
        "document.querySelector('.chart[data-key=loss]')._fullLayout.xaxis.title.text"
    )
    assert title.startswith(LEARNING_RATE_KEY)
    page.check("#log-x")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]')._fullLayout.xaxis.type === 'log'"
    )
    # Each batch's own loss (derived from the running means) against the same batch rates.
    derived = points(live_server, run_id, "loss", "batch_derived")
    page.click("#scope [data-scope=batch_derived]")
    page.wait_for_function(
        "() => (document.querySelector('.chart[data-key=loss]')?.data || []).length > 0"
    )
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]')._fullLayout.xaxis.type === 'log'"
    )
    assert page.eval_on_selector("#x-axis", "s => s.value") == f"metric:{LEARNING_RATE_KEY}"
    raw = trace_data(page, "loss")[0]
    want = [(lr[s], v) for s, v in sorted(derived.items()) if isinstance(v, float)]
    assert [(a, b) for a, b in zip(raw["x"], raw["y"], strict=True) if b is not None] == want
    page.check("#outliers")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]')._fullLayout.yaxis.autorange === false"
    )
    screenshot(page, "run-lr-range-test.png")
    # The address holds the choice: a reload draws the same.
    open_ready(page, page.url)
    page.wait_for_function(
        "() => (document.querySelector('.chart[data-key=loss]')?.data || []).length > 0"
    )
    assert trace_data(page, "loss")[0]["x"] == raw["x"]
    assert axes(page, "loss")["x"] == "log"


def test_a_metric_x_axis_on_the_compare_page_joins_each_run_by_step(
    page: Any, live_server: str
) -> None:
    """Each run's loss against its own `knob` at the same step; steps where either is missing
    are not drawn (run b logged no knob at steps 3 and 4, and no loss at step 7)."""
    runs = []
    for name, knob_steps, loss_steps, scale in (
        ("a", range(10), range(10), 1.0),
        ("b", [0, 1, 2, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 5, 6, 8, 9], 2.0),
    ):
        run = create_run(live_server, name=name)
        post_series(
            live_server,
            run["id"],
            series("knob", "batch", list(knob_steps), [scale * (s + 1) for s in knob_steps]),
            series("loss", "batch", list(loss_steps), [10.0 - s for s in loss_steps]),
        )
        runs.append(run["id"])
    open_ready(page, f"{live_server}/compare.html?runs={','.join(runs)}&scope=batch&x=metric:knob")
    page.wait_for_function(
        "() => (document.querySelector('.chart[data-key=loss]')?.data || []).length > 0"
    )
    assert page.eval_on_selector("#x-axis", "s => s.value") == "metric:knob"
    lines = {t["name"]: t for t in trace_data(page, "loss") if t["visible"] is True and t["x"]}
    assert lines["a \u00b7 loss"]["x"] == [float(s + 1) for s in range(10)]
    assert lines["a \u00b7 loss"]["y"] == [10.0 - s for s in range(10)]
    both = [0, 1, 2, 5, 6, 8, 9]
    assert lines["b \u00b7 loss"]["x"] == [2.0 * (s + 1) for s in both]
    assert lines["b \u00b7 loss"]["y"] == [10.0 - s for s in both]
    # Back to steps: every loss point again.
    page.select_option("#x-axis", "step")
    page.wait_for_function(
        """() => (document.querySelector('.chart[data-key=loss]')?.data || [])
             .some((t) => t.x.length === 9 && t.x[3] === 3 && t.y[3] === 7)"""
    )
    assert "x=" not in page.url


def test_live_points_join_the_metric_x_axis_when_their_x_arrives(
    page: Any, live_server: str
) -> None:
    """Live: loss points of steps the x metric has not reached yet wait, and are drawn when the
    x metric's points for those steps come."""
    run = create_run(live_server, name="live")
    post_series(
        live_server,
        run["id"],
        series("knob", "batch", [0, 1, 2], [1.0, 2.0, 3.0]),
        series("loss", "batch", [0, 1, 2], [9.0, 8.0, 7.0]),
    )
    open_ready(page, f"{live_server}/run.html?run={run['id']}&scope=batch&smooth=0&x=metric:knob")
    page.wait_for_function(
        "() => (document.querySelector('.chart[data-key=loss]')?.data || []).length > 0"
    )
    assert trace_data(page, "loss")[0]["x"] == [1.0, 2.0, 3.0]
    page.wait_for_function("() => document.getElementById('live-state').textContent !== ''")
    post_series(live_server, run["id"], series("loss", "batch", [3, 4], [6.0, 5.0]))
    post_series(live_server, run["id"], series("knob", "batch", [3, 4], [4.0, 5.0]))
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]').data[0].x.length === 5"
    )
    raw = trace_data(page, "loss")[0]
    assert raw["x"] == [1.0, 2.0, 3.0, 4.0, 5.0] and raw["y"] == [9.0, 8.0, 7.0, 6.0, 5.0]


def test_zoom_on_a_log_metric_axis_refetches_the_steps_in_view(page: Any, live_server: str) -> None:
    """3,000 steps, downsampled to the chart's width; zooming the log x axis (whose range
    Plotly reports in log10 units) to knob 1001-1101 reads every step whose knob is there."""
    run = create_run(live_server, name="long")
    steps = list(range(3000))
    post_series(
        live_server,
        run["id"],
        series("knob", "batch", steps, [s + 1.0 for s in steps]),
        series("loss", "batch", steps, [1.0 + (s % 7) for s in steps]),
    )
    open_ready(
        page, f"{live_server}/run.html?run={run['id']}&scope=batch&smooth=0&x=metric:knob&logx=1"
    )
    page.wait_for_function(
        "() => (document.querySelector('.chart[data-key=loss]')?.data || []).length > 0"
    )
    assert len(trace_data(page, "loss")[0]["x"]) < 3000  # downsampled
    drawn = int(page.evaluate("Number(document.documentElement.dataset.drawn || 0)"))
    page.evaluate(
        """Plotly.relayout(document.querySelector('.chart[data-key=loss]'),
             {'xaxis.range': [Math.log10(1001), Math.log10(1101)]})"""
    )
    page.wait_for_function(f"() => Number(document.documentElement.dataset.drawn) > {drawn}")
    # The relayout itself may draw first; the refetched steps arrive with a later draw.
    wait_until(
        lambda: set(range(1001, 1102)) <= {int(v) for v in trace_data(page, "loss")[0]["x"]}
    )
    x = trace_data(page, "loss")[0]["x"]
    # Up to the downsampled points either side of the view, not the whole run.
    assert 900 < min(x) and max(x) < 1200


def test_a_flat_chart_gets_a_range_around_its_value(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    ranges = page.evaluate(
        """async () => { const { flatRange } = await import("/js/toolbar.js");
          return [flatRange([0.001, 0.001, NaN, 0.001]), flatRange([-2, -2]), flatRange([0.001], { log: true }),
                  flatRange([0.001, 0.0010000000000000002]), flatRange([0, 0]), flatRange([NaN]),
                  flatRange([-1], { log: true })]; }"""
    )
    flat, negative, log, nearly, zeros, none, log_negative = ranges
    assert flat == pytest.approx([0.0009, 0.0011]) and negative == pytest.approx([-2.2, -1.8])
    assert log == pytest.approx([-3.0458, -2.9586], abs=1e-4)  # log10 of 0.0009 and 0.0011
    # Values that differ are real data (Plotly autoranges them); zeros keep Plotly's -1..1.
    assert nearly is None and zeros is None and none is None and log_negative is None
