"""The compare page against a real server: overlaid runs, colours, config differences,
final/best values and the parallel-coordinates chart."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


def test_two_runs_overlaid_with_their_config_difference(page: Any, live_server: str) -> None:
    a = training_run(live_server, name="lr-small", lr=0.001, config={"hidden": 32})
    b = training_run(live_server, name="lr-large", lr=0.01, config={"hidden": 32})
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}")
    assert page.locator("#run-legend > span").count() == 2

    loss = [t for t in trace_data(page, "loss") if t["visible"] is True and t["x"]]
    assert [t["name"] for t in loss] == [
        "lr-small \u00b7 loss",
        "lr-small \u00b7 val_loss",
        "lr-large \u00b7 loss",
        "lr-large \u00b7 val_loss",
    ]
    colours = page.evaluate("""() => {
      const c = (key) => document.querySelector(`.chart[data-key=${key}]`).data.filter((t) => t.mode === 'lines' && t.visible !== false).map((t) => t.line.color);
      return {loss: c('loss'), accuracy: c('accuracy')};
    }""")
    assert colours["loss"] == colours["accuracy"]  # one colour per run across charts
    assert colours["loss"][0] == colours["loss"][1] != colours["loss"][2]

    rows = page.eval_on_selector_all(
        "#config-diff tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))",
    )
    assert rows == [
        ["config.optimizer.learning_rate", "0.001", "0.01"]
    ]  # only what differs, named as a filter names it
    assert page.locator("#config-diff td.diff").count() == 2

    values = page.eval_on_selector_all(
        "#metric-values tbody tr", "rows => rows.map(r => r.cells[0].textContent)"
    )
    assert "val_loss best (min)" in values and "accuracy best (max)" in values
    best = page.locator("#metric-values tr", has_text="val_loss best (min)").locator("td.best")
    assert best.count() == 1 and "@4" in best.text_content()
    page.locator("#parcoords").scroll_into_view_if_needed()  # drawn when it comes into view
    page.wait_for_selector("#parcoords[data-drawn='1']")
    labels = page.evaluate(
        "document.querySelector('#parcoords').data[0].dimensions.map((d) => d.label)"
    )
    assert labels == ["log10 config.optimizer.learning_rate", "min val_loss"]
    # Every axis title is drawn whole inside the chart (the first one used to be clipped).
    outside = page.evaluate("""() => {
      const box = document.querySelector('#parcoords').getBoundingClientRect();
      return [...document.querySelectorAll('#parcoords text.axis-title')].map((t) => t.getBoundingClientRect())
        .filter((r) => r.left < box.left || r.right > box.right).length;
    }""")
    assert page.locator("#parcoords text.axis-title").count() == 2 and outside == 0


def test_scope_toggle_redraws_with_batch_points(page: Any, live_server: str) -> None:
    a = training_run(live_server, name="a", epochs=3, steps_per_epoch=10)
    b = training_run(live_server, name="b", epochs=3, steps_per_epoch=10)
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}&scope=batch")
    loss = [t for t in trace_data(page, "loss") if t["visible"] is True and t["x"]]
    assert [len(t["x"]) for t in loss] == [30, 30]


def test_no_runs_chosen_says_what_to_do(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    assert "Tick two or more runs" in page.text_content("#empty-state")


def seed_runs(
    base: str, lrs: tuple[float, ...] = (0.01, 0.1), seeds: int = 3
) -> dict[float, list[list[float]]]:
    """Runs that differ by learning rate and seed; their val_loss per epoch, by learning rate."""
    from tests.web.dashboard import create_run, post_series, series

    found: dict[float, list[list[float]]] = {}
    for lr in lrs:
        for seed in range(seeds):
            run = create_run(base, name=f"lr{lr}-seed{seed}", config={"lr": lr, "seed": seed})
            values = [1.0 / (1 + e * lr * 10) + 0.05 * seed for e in range(6)]
            post_series(
                base,
                run["id"],
                series("loss", "epoch", list(range(6)), values),
                series("val_loss", "epoch", list(range(6)), [v * 1.1 for v in values]),
            )
            found.setdefault(lr, []).append([v * 1.1 for v in values])
    return found


def test_bands_average_the_seeds_per_group(page: Any, live_server: str) -> None:
    import numpy as np

    found = seed_runs(live_server)
    runs = httpx_runs(live_server)
    open_ready(page, f"{live_server}/compare.html?runs={','.join(runs)}")
    options = page.eval_on_selector_all(
        "#bands option", "os => os.map(o => [o.value, o.textContent])"
    )
    assert ["-config.seed", "mean of the seeds"] in options and ["config.lr", "by lr"] in options
    page.select_option("#bands", "-config.seed")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=loss]').dataset.groups === '2'"
    )
    assert "group=-config.seed" in page.url
    traces = page.evaluate("""() => document.querySelector('.chart[data-key=loss]').data.map(
        (t) => ({name: t.name, meta: t.meta, y: Array.from(t.y), fill: t.fill || null}))""")
    means = {t["name"]: t["y"] for t in traces if t["meta"] == "band-mean"}
    assert sorted(means) == [
        "config.lr=0.01 \u00b7 loss",
        "config.lr=0.01 \u00b7 val_loss",
        "config.lr=0.1 \u00b7 loss",
        "config.lr=0.1 \u00b7 val_loss",
    ]
    for lr, table in found.items():
        values = np.array(table)
        np.testing.assert_allclose(
            means[f"config.lr={lr} \u00b7 val_loss"], values.mean(axis=0), rtol=1e-12
        )
        hi = next(
            t["y"]
            for t in traces
            if t["meta"] == "band-hi" and t["name"].startswith(f"config.lr={lr} \u00b7 val_loss")
        )
        np.testing.assert_allclose(hi, values.mean(axis=0) + values.std(axis=0), rtol=1e-12)
    # Each group draws two filled bands (min-max and mean +/- std) around its mean, per key.
    assert sum(1 for t in traces if t["fill"] == "tonexty") == 2 * 4
    screenshot(page, "compare-bands.png")


def test_a_band_of_one_value_is_drawn_on_an_axis_around_it(page: Any, live_server: str) -> None:
    from tests.web.dashboard import create_run, post_series, series

    for seed in range(3):
        run = create_run(live_server, name=f"seed{seed}", config={"seed": seed})
        post_series(live_server, run["id"], series("lr", "epoch", list(range(6)), [0.001] * 6))
    open_ready(
        page,
        f"{live_server}/compare.html?runs={','.join(httpx_runs(live_server))}&group=-config.seed",
    )
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=lr]').dataset.groups === '1'"
    )
    low, high = page.evaluate(
        "document.querySelector('.chart[data-key=lr]')._fullLayout.yaxis.range"
    )
    assert 0.0005 < low < 0.001 < high < 0.002  # not Plotly's -1..1 around a flat band


def test_bands_from_the_address_and_back_to_lines(page: Any, live_server: str) -> None:
    seed_runs(live_server, lrs=(0.05,), seeds=2)
    runs = httpx_runs(live_server)
    open_ready(page, f"{live_server}/compare.html?runs={','.join(runs)}&group=config.lr")
    assert page.evaluate("document.querySelector('.chart[data-key=loss]').dataset.groups") == "1"
    page.select_option("#bands", "")
    page.wait_for_function("""() => {
      const div = document.querySelector('.chart[data-key=loss]');
      return div && div.data && div.data.length && div.data.every((t) => t.meta === undefined);
    }""")
    assert "group=" not in page.url


def httpx_runs(base: str) -> list[str]:
    import httpx

    return [
        r["id"] for r in httpx.get(f"{base}/api/v1/runs", params={"sort": "name"}).json()["runs"]
    ]


def test_metrics_line_up_by_what_keras_computed_and_best_follows_the_manifest(
    page: Any, live_server: str
) -> None:
    import httpx

    from tests.web.dashboard import create_run, post_series, series

    runs = []
    for name, acc in (("spelled-acc", "acc"), ("spelled-accuracy", "accuracy")):
        run = create_run(live_server, name=name)
        keys = (acc, f"val_{acc}", "loss", "val_loss", "my_err", "mean_pred")
        post_series(
            live_server, run["id"], *[series(k, "epoch", [0, 1, 2], [0.5, 0.7, 0.6]) for k in keys]
        )
        entry = {
            "metric": "SparseCategoricalAccuracy",
            "canonical": "accuracy",
            "direction": "max",
            "aggregation": "mean",
        }
        manifest = [
            {"key": acc, "pair": f"val_{acc}", **entry},
            {"key": f"val_{acc}", "pair": acc, "validation": True, **entry},
            # A custom function whose direction the user's callback knows, and one nobody knows.
            {"key": "my_err", "metric": "my_err", "direction": "min", "aggregation": "mean"},
            {"key": "mean_pred", "metric": "mean_pred", "aggregation": "mean"},
        ]
        httpx.patch(
            f"{live_server}/api/v1/runs/{run['id']}", json={"metrics": manifest}
        ).raise_for_status()
        runs.append(run["id"])
    open_ready(page, f"{live_server}/compare.html?runs={','.join(runs)}")
    names = [t["name"] for t in trace_data(page, "accuracy") if t["visible"] is True and t["x"]]
    assert names == [
        "spelled-acc \u00b7 acc",
        "spelled-acc \u00b7 val_acc",
        "spelled-accuracy \u00b7 accuracy",
        "spelled-accuracy \u00b7 val_accuracy",
    ]
    assert page.locator(".chart[data-key=acc]").count() == 0
    rows = page.eval_on_selector_all(
        "#metric-values tbody tr", "rows => rows.map(r => r.cells[0].textContent)"
    )
    assert "accuracy best (max)" in rows and "my_err best (min)" in rows
    assert "mean_pred final" in rows and not any(r.startswith("mean_pred best") for r in rows)
    page.select_option("#parcoords-metric", "my_err")
    page.locator("#parcoords").scroll_into_view_if_needed()
    page.wait_for_selector("#parcoords[data-drawn='1']")
    line = page.evaluate("document.querySelector('#parcoords').data[0].line")
    assert line["reversescale"] is True  # lower is better: the better end gets the bright colour


def test_bands_line_up_by_canonical_metric_whatever_the_runs_spelled(
    page: Any, live_server: str
) -> None:
    """Seeds of one setup, two logged `acc` and two `accuracy` (the manifest maps both to the
    same metric): one band per metric over the four runs, the real keys in its name."""
    import httpx
    import numpy as np

    from tests.web.dashboard import create_run, post_series, series

    runs, table = [], []
    for seed, acc in enumerate(["acc", "acc", "accuracy", "accuracy"]):
        run = create_run(live_server, name=f"{acc}-{seed}", config={"seed": seed})
        values = [0.5 + 0.1 * e + 0.02 * seed for e in range(3)]
        table.append(values)
        post_series(
            live_server,
            run["id"],
            series(acc, "epoch", [0, 1, 2], values),
            series("loss", "epoch", [0, 1, 2], [1.0, 0.8, 0.7]),
        )
        entry = {
            "metric": "SparseCategoricalAccuracy",
            "canonical": "accuracy",
            "direction": "max",
            "aggregation": "mean",
        }
        httpx.patch(
            f"{live_server}/api/v1/runs/{run['id']}", json={"metrics": [{"key": acc, **entry}]}
        ).raise_for_status()
        runs.append(run["id"])
    open_ready(page, f"{live_server}/compare.html?runs={','.join(runs)}&group=-config.seed")
    page.wait_for_function(
        "() => document.querySelector('.chart[data-key=accuracy]')?.dataset.groups === '1'"
    )
    traces = page.evaluate("""() => document.querySelector('.chart[data-key=accuracy]').data.map(
        (t) => ({name: t.name, meta: t.meta, y: Array.from(t.y), hover: t.hovertemplate || ''}))""")
    means = [t for t in traces if t["meta"] == "band-mean"]
    assert [t["name"] for t in means] == ["all runs \u00b7 accuracy (acc, accuracy)"]
    assert "acc, accuracy" in means[0]["hover"]
    np.testing.assert_allclose(means[0]["y"], np.array(table).mean(axis=0), rtol=1e-12)
    assert page.locator(".chart[data-key=acc]").count() == 0


def loss_lines(page: Any) -> list[str]:
    """The names of the lines the loss chart draws."""
    return [t["name"] for t in trace_data(page, "loss") if t["visible"] is True and t["x"]]


def test_the_series_are_asked_for_beside_the_runs_and_afresh_after(
    page: Any, live_server: str
) -> None:
    """Issue 11: the first drawing's GET /series goes out with GET /runs, without keys; a run
    not found makes the page ask again with the keys; a later drawing always asks afresh."""
    a = training_run(live_server, name="early-a", lr=0.001)
    b = training_run(live_server, name="early-b", lr=0.01)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/v1/series?" in r.url else None)
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}")
    assert len(sent) == 1 and "keys=" not in sent[0]
    assert loss_lines(page) == [
        "early-a \u00b7 loss",
        "early-a \u00b7 val_loss",
        "early-b \u00b7 loss",
        "early-b \u00b7 val_loss",
    ]

    sent.clear()
    page.evaluate("delete document.documentElement.dataset.ready")
    page.click("#scope button[data-scope=batch]")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert len(sent) == 1 and "keys=" in sent[0] and "scope=batch" in sent[0]

    sent.clear()
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},nope,{b['id']}")
    assert len(sent) == 2 and "keys=" not in sent[0] and "keys=" in sent[1]
    assert loss_lines(page) == [
        "early-a \u00b7 loss",
        "early-a \u00b7 val_loss",
        "early-b \u00b7 loss",
        "early-b \u00b7 val_loss",
    ]


def test_the_first_reads_go_out_before_the_rest_of_the_page_has_loaded(
    page: Any, live_server: str
) -> None:
    """Issue 11: boot/compare.js sends GET /runs and GET /series as soon as the few modules
    they need have loaded, so the server reads while the browser loads the rest of the page.
    pages/compare.js is held back here for a second: both reads are sent long before it
    arrives, and the page then draws from them without asking again."""
    a = training_run(live_server, name="first-a", lr=0.001)
    b = training_run(live_server, name="first-b", lr=0.01)

    def held_back(route: Any) -> None:
        response = route.fetch()
        time.sleep(1.0)
        route.fulfill(response=response)

    page.route("**/js/pages/compare.js", held_back)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/v1/series?" in r.url else None)
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}")
    timings = page.evaluate(
        """() => Object.fromEntries(performance.getEntriesByType("resource").map((r) =>
             [new URL(r.name).pathname, [r.startTime, r.responseEnd]]))"""
    )
    page_arrived = timings["/js/pages/compare.js"][1]
    assert page_arrived > 900
    assert timings["/api/v1/series"][0] < page_arrived - 500
    assert timings["/api/v1/runs"][0] < page_arrived - 500
    assert len(sent) == 1 and "keys=" not in sent[0]
    assert loss_lines(page) == [
        "first-a \u00b7 loss",
        "first-a \u00b7 val_loss",
        "first-b \u00b7 loss",
        "first-b \u00b7 val_loss",
    ]


def test_a_point_logged_between_the_series_and_the_runs_answers_is_drawn(
    page: Any, live_server: str
) -> None:
    """The two first reads go out together, and the runs' answer can be the newer one: a point
    logged between them is in the run's summary but not in the series drawn. The live resume
    must start from what was drawn, not from the summary, or that point is never shown."""
    run = training_run(live_server, name="between", status="running")

    def runs_late(route: Any) -> None:
        if "include=series" in route.request.url and not logged:
            time.sleep(0.7)  # the series read has its answer by now
            post_series(live_server, run["id"], series("loss", "epoch", [5], [0.05]))
            logged.append(5)
        route.continue_()

    logged: list[int] = []
    page.route("**/api/v1/runs?*", runs_late)
    open_ready(page, f"{live_server}/compare.html?runs={run['id']}")
    assert logged == [5]
    wait_until(
        lambda: (
            [t["x"] for t in trace_data(page, "loss") if t["name"] == "between \u00b7 loss"]
            == [[0, 1, 2, 3, 4, 5]]
        )
    )


def test_a_compare_page_opened_while_the_api_is_unreachable_says_so_then_draws(
    page: Any, live_server: str
) -> None:
    """The first reads fail before the page has a banner to show (they leave before the
    page is built): the banner still shows, and the page draws once the API answers."""
    a = training_run(live_server, name="unreachable-a", lr=0.001)
    down = True
    page.route("**/api/v1/**", lambda route: route.abort() if down else route.continue_())
    page.goto(f"{live_server}/compare.html?runs={a['id']}")
    page.wait_for_selector("#offline-banner", state="visible")
    assert "unreachable" in page.text_content("#offline-banner")
    down = False
    page.wait_for_selector("#offline-banner", state="hidden", timeout=30_000)
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert loss_lines(page) == ["unreachable-a \u00b7 loss", "unreachable-a \u00b7 val_loss"]


def test_many_runs_ask_each_line_for_its_share_of_the_points_and_a_zoom_for_full_detail(
    page: Any, live_server: str
) -> None:
    """Issue 11: 20 runs x one point per pixel was far more than a chart shows; each line asks
    for max(MIN_POINTS_PER_LINE, POINTS_PER_PIXEL x width / runs), never above the width, and
    the downsampling keeps each bucket's extremes, so a spike in one run still shows. A zoom
    asks for the chart's full width in its window, and a reset for the budget again."""
    steps = list(range(20_000))
    runs = []
    for i in range(12):
        run = create_run(live_server, name=f"many-{i:02d}")
        # Run 3 has one spike, which no budget may average away.
        values = [1.0 + (s % 89) / 1000 + (50.0 if i == 3 and s == 12_345 else 0.0) for s in steps]
        post_series(live_server, run["id"], series("loss", "batch", steps, values, 1000))
        runs.append(run)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/v1/series?" in r.url else None)
    open_ready(
        page, f"{live_server}/compare.html?runs={','.join(r['id'] for r in runs)}&scope=batch"
    )
    width = page.evaluate("document.querySelector('.chart[data-key=loss]').clientWidth")
    module = "(await import('/js/pages/compare_first_reads.js'))"
    per_line = page.evaluate(f"async ([w, n]) => {module}.pointsPerLine(w, n)", [width, len(runs)])
    floor = page.evaluate(f"async () => {module}.MIN_POINTS_PER_LINE")
    assert per_line == max(floor, round(4 * width / len(runs))) < width
    assert [parse_qs(urlsplit(url).query)["max_points"] for url in sent] == [[str(per_line)]]
    lines = [t for t in trace_data(page, "loss") if t["visible"] is True and t["x"]]
    assert len(lines) == 12 and all(len(t["x"]) <= per_line + 4 for t in lines)
    assert max(lines[3]["y"]) > 50
    screenshot(page, "compare-many-runs.png")

    sent.clear()
    chart = "document.querySelector('.chart[data-key=loss]')"
    page.evaluate(f"Plotly.relayout({chart}, {{'xaxis.range': [5000, 15000]}})")
    wait_until(lambda: len(sent) == 1 and page.evaluate(f"{chart}.data[0].x[0]") >= 4000)
    query = parse_qs(urlsplit(sent[0]).query)
    assert query["max_points"] == [
        str(
            page.evaluate(
                "Math.max(200, Math.min(4000, Math.round(document.querySelector('.chart').clientWidth)))"
            )
        )
    ]
    sent.clear()
    page.evaluate(f"Plotly.relayout({chart}, {{'xaxis.autorange': true}})")
    wait_until(lambda: len(sent) == 1 and page.evaluate(f"{chart}.data[0].x[0]") == 0)
    assert parse_qs(urlsplit(sent[0]).query)["max_points"] == [str(per_line)]


def test_two_runs_keep_one_point_per_pixel(page: Any, live_server: str) -> None:
    steps = list(range(20_000))
    ids = []
    for i in range(2):
        run = create_run(live_server, name=f"pair-{i}")
        post_series(
            live_server,
            run["id"],
            series("loss", "batch", steps, [1 + (s % 89) / 1000 for s in steps], 1000),
        )
        ids.append(run["id"])
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/v1/series?" in r.url else None)
    open_ready(page, f"{live_server}/compare.html?runs={','.join(ids)}&scope=batch")
    width = page.evaluate("document.querySelector('.chart[data-key=loss]').clientWidth")
    assert parse_qs(urlsplit(sent[0]).query)["max_points"] == [str(max(200, min(4000, width)))]


def test_only_the_traces_shown_are_drawn_and_live_points_still_land(
    page: Any, live_server: str
) -> None:
    """Issue 11: the compare page hands Plotly no hidden smoothed line and no empty markers
    (a chart of 20 runs held 40 hidden traces). Live points still extend each run's line, a
    first NaN arriving live brings its markers, and smoothing brings the smoothed lines."""
    a = create_run(live_server, name="lean-a")
    b = create_run(live_server, name="lean-b")
    post_series(live_server, a["id"], series("loss", "epoch", [0, 1, 2], [1.0, "NaN", 0.8]))
    post_series(live_server, b["id"], series("loss", "epoch", [0, 1, 2], [1.1, 0.9, 0.7]))
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}&smooth=0")
    names = [t["name"] for t in trace_data(page, "loss")]
    assert names == ["lean-a \u00b7 loss", "lean-a \u00b7 loss non-finite", "lean-b \u00b7 loss"]
    assert trace_data(page, "loss")[1]["x"] == [1]

    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    post_series(live_server, a["id"], series("loss", "epoch", [3], [0.6]))
    post_series(live_server, b["id"], series("loss", "epoch", [3, 4], [0.6, "Infinity"]))
    wait_until(lambda: len(trace_data(page, "loss")) == 4)
    wait_until(
        lambda: (
            {t["name"]: t for t in trace_data(page, "loss")}["lean-a \u00b7 loss"]["x"]
            == [0, 1, 2, 3]
        )
    )
    traces = {t["name"]: t for t in trace_data(page, "loss")}
    assert traces["lean-b \u00b7 loss"]["x"] == [0, 1, 2, 3, 4]
    assert traces["lean-b \u00b7 loss"]["y"] == [1.1, 0.9, 0.7, 0.6, None]
    assert traces["lean-b \u00b7 loss non-finite"]["x"] == [4]
    assert traces["lean-b \u00b7 loss non-finite"]["visible"] is True

    page.evaluate("""() => { const s = document.querySelector('#smoothing');
      s.value = '0.5'; s.dispatchEvent(new Event('input', {bubbles: true})); }""")
    wait_until(lambda: len(trace_data(page, "loss")) == 6)
    smoothed = [
        t
        for t in trace_data(page, "loss")
        if t["name"] in ("lean-a \u00b7 loss", "lean-b \u00b7 loss")
    ]
    assert all(t["visible"] is True and len(t["x"]) >= 4 for t in smoothed)
