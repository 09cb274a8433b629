"""The run page against a real server: live extension during a real Keras fit, scope and
smoothing toggles, NaN/Inf gaps, zoom refetch, CSV download, HTML in names shown as text."""

from __future__ import annotations

import threading
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


def drawn(page: Any) -> int:
    return int(page.evaluate("Number(document.documentElement.dataset.drawn || 0)"))


@pytest.mark.keras
def test_a_real_keras_fit_extends_the_chart_in_place(page: Any, live_server: str) -> None:
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    import fitwatch
    from fitwatch.keras import FitWatchCallback

    keras.utils.set_random_seed(0)
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    run = fitwatch.init(project="web", name="live-digits", url=live_server, flush_interval_s=0.05)
    # Hold training at the start of epoch 1 until the page has drawn epoch 0, so the test
    # watches points that arrive after the first draw.
    release = threading.Event()

    class Gate(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if epoch == 1:
                release.wait(timeout=120)

    errors: list[BaseException] = []

    def fit() -> None:
        try:
            model.fit(x, y, epochs=3, batch_size=64, validation_split=0.2, verbose=0,
                      callbacks=[FitWatchCallback(run=run, update_freq="batch"), Gate()])
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            release.set()

    page.goto(f"{live_server}/run.html?run={run.id}")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    try:
        # Epoch 0 drawn: batch loss and the epoch-end val_loss in the same chart.
        wait_until(lambda: {t["name"] for t in trace_data(page, "loss")} >= {"loss", "val_loss"}, timeout=120)
        page.evaluate("window.__noReload = true; document.querySelector('.chart[data-key=loss]').__sameChart = true")
        before = len(trace_data(page, "loss")[0]["x"])
        assert before > 0
    finally:
        release.set()
    thread.join(timeout=180)
    assert not errors, errors
    run.finish(timeout=60)
    steps = 3 * 23  # 1437 training samples / 64 per batch = 23 batches per epoch
    wait_until(lambda: len(trace_data(page, "loss")[0]["x"]) == steps, timeout=60)
    assert page.evaluate("window.__noReload === true")
    assert page.evaluate("document.querySelector('.chart[data-key=loss]').__sameChart === true")
    raw = trace_data(page, "loss")[0]
    assert raw["x"] == list(range(steps))
    # The chart holds exactly what the server stored (the running means Keras logged).
    stored = httpx.get(f"{live_server}/api/v1/runs/{run.id}/series/loss", params={"scope": "batch"}).json()
    assert raw["y"] == stored["values"]
    # A status change reaches the open page live (set over REST: the SDK's own finish is
    # bounded in time and is tested with the SDK).
    httpx.patch(f"{live_server}/api/v1/runs/{run.id}", json={"status": "finished"}).raise_for_status()
    wait_until(lambda: page.text_content("#run-status") == "finished", timeout=30)


def test_smoothing_and_scope_toggles_change_what_is_drawn(page: Any, live_server: str) -> None:
    run = training_run(live_server, name="toggles", epochs=4, steps_per_epoch=10)
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    traces = trace_data(page, "loss")
    raw, smoothed = traces[0], traces[1]
    assert len(raw["x"]) == 40 and raw["x"][:3] == [0, 1, 2]  # batch scope by default
    assert smoothed["visible"] is True and smoothed["y"] != raw["y"]  # default smoothing 0.6

    count = drawn(page)
    page.evaluate("""() => { const s = document.querySelector('#smoothing');
      s.value = '0'; s.dispatchEvent(new Event('input', {bubbles: true})); }""")
    wait_until(lambda: drawn(page) > count)
    traces = trace_data(page, "loss")
    assert traces[1]["visible"] is False and traces[0]["visible"] is True
    assert "smooth=0" in page.url

    count = drawn(page)
    page.click("#scope button[data-scope=epoch]")
    wait_until(lambda: drawn(page) > count)
    traces = trace_data(page, "loss")
    assert [t["name"] for t in traces if t["x"] and t["visible"] is True] == ["loss", "val_loss"]
    assert traces[0]["x"] == [0, 1, 2, 3]
    assert "scope=epoch" in page.url
    assert "Keras" in page.text_content("#scope-note")

    # The URL reproduces the view.
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert page.input_value("#smoothing") == "0"
    assert len(trace_data(page, "loss")[0]["x"]) == 4


def y_range(page: Any, key: str) -> list[float]:
    return page.evaluate(  # type: ignore[no-any-return]
        """(key) => document.querySelector(`.chart[data-key="${CSS.escape(key)}"]`)._fullLayout.yaxis.range""",
        key,
    )


def test_a_constant_series_is_drawn_flat_on_an_axis_around_its_value(page: Any, live_server: str) -> None:
    # The debiased EMA of 0.001 rounds to 0.001 +/- 1 ulp at most steps; the autoscaled y axis
    # then zoomed into that rounding and drew a square wave around the value.
    run = create_run(live_server, name="constant lr")
    post_series(live_server, run["id"], series("lr", "batch", list(range(200)), [0.001] * 200))
    open_ready(page, f"{live_server}/run.html?run={run['id']}&scope=batch&smooth=0.9")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    post_series(live_server, run["id"], series("lr", "batch", list(range(200, 300)), [0.001] * 100))
    wait_until(lambda: len(trace_data(page, "lr")[1]["y"]) == 300)
    raw, smoothed = trace_data(page, "lr")[:2]
    assert smoothed["visible"] is True
    assert set(raw["y"]) == {0.001} and set(smoothed["y"]) == {0.001}  # first paint and live
    # The axis is around the value: not the rounding, and not Plotly's -1..1 for a flat line.
    low, high = y_range(page, "lr")
    assert 0.0005 < low < 0.001 < high < 0.002
    # A live value off the line gives the axis back to autorange.
    post_series(live_server, run["id"], series("lr", "batch", [300], [0.0001]))
    wait_until(lambda: y_range(page, "lr")[0] < 0.0001)
    assert y_range(page, "lr")[1] > 0.001


def test_batch_scope_says_values_are_running_means(page: Any, live_server: str) -> None:
    run = training_run(live_server, name="notes")
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    assert "running mean" in page.text_content("#scope-note")


def test_nan_and_infinity_are_marked_gaps(page: Any, live_server: str) -> None:
    run = create_run(live_server, name="diverging")
    post_series(live_server, run["id"], series("loss", "epoch", [0, 1, 2, 3, 4], [1.0, "NaN", 0.8, "Infinity", 0.5]))
    open_ready(page, f"{live_server}/run.html?run={run['id']}&smooth=0")
    raw, _smoothed, marks = trace_data(page, "loss")
    assert raw["x"] == [0, 1, 2, 3, 4]
    assert raw["y"] == [1.0, None, 0.8, None, 0.5]  # gaps, not dropped points
    assert marks["x"] == [1, 3]
    # A NaN that arrives live is marked too (the markers trace is extended in place).
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    post_series(live_server, run["id"], series("loss", "epoch", [5, 6], ["-Infinity", 0.4]))
    wait_until(lambda: trace_data(page, "loss")[2]["x"] == [1, 3, 5])
    assert trace_data(page, "loss")[2]["visible"] is True
    assert trace_data(page, "loss")[0]["y"][-2:] == [None, 0.4]


def test_messages_that_arrive_together_in_one_frame_all_reach_their_charts(page: Any, live_server: str) -> None:
    keys = ["loss", "accuracy", "mae", "auc"]
    run = create_run(live_server, name="batched")
    post_series(live_server, run["id"], *(series(k, "epoch", [0, 1], [0.5, 0.4]) for k in keys))
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    open_ready(page, f"{live_server}/run.html?run={run['id']}&smooth=0")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    # One request of four series: four `points` messages ready at once, sent as one array.
    post_series(live_server, run["id"], *(series(k, "epoch", [2, 3], [0.3, 0.2]) for k in keys))
    for key in keys:
        wait_until(lambda key=key: trace_data(page, key)[0]["x"] == [0, 1, 2, 3])
        assert trace_data(page, key)[0]["y"] == [0.5, 0.4, 0.3, 0.2]
    assert any(frame.startswith("[") for frame in frames), "the page did not get several messages in one frame"


def test_zooming_refetches_downsampled_series_at_full_detail(page: Any, live_server: str) -> None:
    run = create_run(live_server, name="long")
    steps = list(range(20_000))
    post_series(live_server, run["id"], series("loss", "batch", steps, [1 + (s % 97) / 100 for s in steps], 1000))
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    overview = len(trace_data(page, "loss")[0]["x"])
    assert overview < 5000
    count = drawn(page)
    page.evaluate("Plotly.relayout(document.querySelector('.chart[data-key=loss]'), {'xaxis.range': [1000, 1100]})")
    wait_until(lambda: drawn(page) > count)
    xs = trace_data(page, "loss")[0]["x"]
    assert set(range(1000, 1101)) <= set(xs)  # every point in the window
    count = drawn(page)
    page.evaluate("Plotly.relayout(document.querySelector('.chart[data-key=loss]'), {'xaxis.autorange': true})")
    wait_until(lambda: drawn(page) > count)
    assert len(trace_data(page, "loss")[0]["x"]) == overview


def test_csv_download_matches_the_api(page: Any, live_server: str) -> None:
    run = training_run(live_server, name="csv", epochs=2)
    post_series(live_server, run["id"], series("loss", "eval", [0], ["NaN"]))
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    with page.expect_download() as info:
        page.click("#download-csv")
    path = info.value.path()
    with open(path, encoding="utf-8") as handle:
        downloaded = handle.read()
    expected = httpx.get(f"{live_server}/api/v1/runs/{run['id']}/export", params={"format": "csv"}).text
    assert downloaded == expected
    assert downloaded.startswith("key,scope,step,epoch,value,wall_time")


@pytest.mark.parametrize("where", ["run", "runs", "compare"])
def test_a_run_name_with_html_is_shown_as_text(page: Any, live_server: str, where: str) -> None:
    name = '<img src=x onerror="window.__xss=1"><b>bold</b>'
    run = training_run(live_server, name=name, project="xss", epochs=1, config={"note": "<script>window.__xss=2</script>"})
    url, selector = {
        "run": (f"{live_server}/run.html?run={run['id']}", "#run-name"),
        "runs": (f"{live_server}/?project=xss", "td.name a"),
        "compare": (f"{live_server}/compare.html?runs={run['id']}", "#run-legend a"),
    }[where]
    open_ready(page, url)
    assert page.text_content(selector) == name
    assert page.locator("main img").count() == 0 and page.locator("main b:text('bold')").count() == 0
    assert page.evaluate("window.__xss") is None


def test_x_axis_modes_and_log_scale(page: Any, live_server: str) -> None:
    run = training_run(live_server, name="axes", epochs=2, steps_per_epoch=10)
    open_ready(page, f"{live_server}/run.html?run={run['id']}&smooth=0")
    count = drawn(page)
    page.select_option("#x-axis", "epoch")
    wait_until(lambda: drawn(page) > count)
    raw, _smoothed, _marks, val = trace_data(page, "loss")[:4]
    assert raw["x"][:2] == [0.1, 0.2] and raw["x"][-1] == 2.0  # epochs completed
    assert val["name"] == "val_loss" and val["x"] == [1, 2]  # at the end of each epoch
    count = drawn(page)
    page.select_option("#x-axis", "wall")
    wait_until(lambda: drawn(page) > count)
    assert trace_data(page, "loss")[0]["x"][0] == 1_795_000_000_000  # ms since the epoch (Date)
    count = drawn(page)
    page.check("#log-scale")
    wait_until(lambda: drawn(page) > count)
    assert page.evaluate("document.querySelector('.chart[data-key=loss]').layout.yaxis.type") == "log"
    assert "x=wall" in page.url and "log=1" in page.url


def test_the_run_page_reconnects_and_resumes_after_a_server_restart(page: Any, server_process: Any, tmp_path: Any) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'resume.db'}").start()
    run = create_run(server.url, name="resumed")
    post_series(server.url, run["id"], series("loss", "epoch", [0, 1, 2, 3, 4], [1.0, 0.9, 0.8, 0.7, 0.6]))
    open_ready(page, f"{server.url}/run.html?run={run['id']}&smooth=0")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    page.evaluate("window.__noReload = true")
    server.stop()
    page.wait_for_selector("#offline-banner", state="visible")
    server_process(server.database_url, server.port).start()
    # Written before the page is back: the websocket's resume cursors replay them.
    post_series(server.url, run["id"], series("loss", "epoch", [5, 6, 7], [0.5, 0.4, 0.3]))
    page.wait_for_selector("#offline-banner", state="hidden", timeout=30_000)
    wait_until(lambda: trace_data(page, "loss")[0]["x"] == list(range(8)), timeout=30)
    assert trace_data(page, "loss")[0]["y"][-3:] == [0.5, 0.4, 0.3]
    assert page.evaluate("window.__noReload === true")


def test_run_url_from_the_sdk_opens_the_run(page: Any, live_server: str) -> None:
    import fitwatch

    run = fitwatch.init(project="web", name="from-the-sdk", url=live_server)
    run.log({"loss": 0.5}, step=0)
    assert run.finish(timeout=30) is True
    open_ready(page, run.url)
    assert page.locator("#empty-state").count() == 0
    assert page.text_content("#run-name") == "from-the-sdk"


def test_hyperparameters_are_named_as_filters_name_them_and_a_click_filters_by_one(
    page: Any, live_server: str
) -> None:
    run = training_run(live_server, name="named", lr=0.003, config={"dropout": 0.2})
    training_run(live_server, name="other", lr=0.01)
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    names = page.eval_on_selector_all("#hyperparameters th", "cells => cells.map(c => c.textContent)")
    assert {"config.optimizer.learning_rate", "config.optimizer.class_name", "config.dropout",
            "config.batch_size"} <= set(names)
    page.click("#hyperparameters a.filter-link[data-path='config.optimizer.learning_rate']")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert page.input_value("#filter") == "config.optimizer.learning_rate = 0.003"
    page.wait_for_selector("#runs-table tbody tr")
    shown = page.eval_on_selector_all("#runs-table tbody tr td a", "links => links.map(a => a.textContent)")
    assert "named" in shown and "other" not in shown


def test_a_run_without_keras_has_no_keras_note_and_its_epochs_sit_where_they_ended(
    page: Any, live_server: str
) -> None:
    import fitwatch

    # A plain loop, as in the README: batch points without epochs, one val_loss per epoch.
    run = fitwatch.init(project="web", name="plain-loop", url=live_server)
    step = 0
    for epoch in range(3):
        for _ in range(10):
            run.log({"loss": 1.0 / (step + 1)}, step=step, scope="batch")
            step += 1
        run.log({"val_loss": 0.5 / (epoch + 1)}, step=epoch)
    assert run.finish(timeout=30) is True
    open_ready(page, f"{live_server}/run.html?run={run.id}")
    note = page.text_content("#scope-note")
    assert "Keras" not in note and "running mean" not in note
    val = [t for t in trace_data(page, "loss") if t["name"] == "val_loss" and t["x"]]
    assert val and val[0]["x"] == [9, 19, 29]  # the last batch step of each epoch, not 0, 1, 2
    page.click("#scope button[data-scope=epoch]")
    page.wait_for_function("() => document.querySelector('#scope-note').textContent.startsWith('epoch')")
    assert "Keras" not in page.text_content("#scope-note")


def test_throughput_and_eta_come_from_the_system_scope_and_follow_it_live(page: Any, live_server: str) -> None:
    run = create_run(live_server, name="throughput")
    post_series(live_server, run["id"], series("loss", "epoch", [0], [1.0]))
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    assert page.is_hidden("#run-throughput") and page.is_hidden("#run-eta")  # no samples yet
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    post_series(live_server, run["id"], series("train/steps_per_s", "system", [0], [41.25]))
    post_series(live_server, run["id"], series("train/samples_per_s", "system", [0], [1320.0]))
    post_series(live_server, run["id"], series("train/eta_s", "system", [0], [95.0]))
    wait_until(lambda: page.is_visible("#run-eta"))
    assert page.text_content("#run-throughput") == "throughput 41.3 steps/s \u00b7 1320 samples/s"
    assert page.text_content("#run-eta").startswith("ETA 1m")
    page.click("#scope button[data-scope=system]")
    page.wait_for_selector(".chart[data-key='train/steps_per_s']")
    assert "sampled by the SDK" in page.text_content("#scope-note")
