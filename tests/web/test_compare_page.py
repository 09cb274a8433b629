"""The compare page against a real server: overlaid runs, colours, config differences,
final/best values and the parallel-coordinates chart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.dashboard import open_ready, trace_data, training_run

pytestmark = pytest.mark.browser


def test_two_runs_overlaid_with_their_config_difference(page: Any, live_server: str) -> None:
    a = training_run(live_server, name="lr-small", lr=0.001, config={"hidden": 32})
    b = training_run(live_server, name="lr-large", lr=0.01, config={"hidden": 32})
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}")
    assert page.locator("#run-legend > span").count() == 2

    loss = [t for t in trace_data(page, "loss") if t["visible"] is True and t["x"]]
    assert [t["name"] for t in loss] == ["lr-small \u00b7 loss", "lr-small \u00b7 val_loss",
                                        "lr-large \u00b7 loss", "lr-large \u00b7 val_loss"]
    colours = page.evaluate("""() => {
      const c = (key) => document.querySelector(`.chart[data-key=${key}]`).data.filter((t) => t.mode === 'lines' && t.visible !== false).map((t) => t.line.color);
      return {loss: c('loss'), accuracy: c('accuracy')};
    }""")
    assert colours["loss"] == colours["accuracy"]  # one colour per run across charts
    assert colours["loss"][0] == colours["loss"][1] != colours["loss"][2]

    rows = page.eval_on_selector_all("#config-diff tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    assert rows == [["config.optimizer.learning_rate", "0.001", "0.01"]]  # only what differs, named as a filter names it
    assert page.locator("#config-diff td.diff").count() == 2

    values = page.eval_on_selector_all("#metric-values tbody tr", "rows => rows.map(r => r.cells[0].textContent)")
    assert "val_loss best (min)" in values and "accuracy best (max)" in values
    best = page.locator("#metric-values tr", has_text="val_loss best (min)").locator("td.best")
    assert best.count() == 1 and "@4" in best.text_content()
    page.locator("#parcoords").scroll_into_view_if_needed()  # drawn when it comes into view
    page.wait_for_selector("#parcoords[data-drawn='1']")
    labels = page.evaluate("document.querySelector('#parcoords').data[0].dimensions.map((d) => d.label)")
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
