"""The runs table people configure (issue 11), in Chromium against a real server: columns
for config keys and metric last/min/max with their step, sorting and filtering on the
server, the choice remembered per project, the all-projects view, paging."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import create_run, open_ready, screenshot, training_run
from tests.web.test_run_edits import row_names

pytestmark = pytest.mark.browser


def headers(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "thead tr:first-child th[data-col]", "n => n.map(x => x.dataset.col)"
    )  # type: ignore[no-any-return]


def column_texts(page: Any, col: str) -> list[str]:
    index = headers(page).index(col) + 1  # the first cell holds the checkbox
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        f"tbody tr td:nth-child({index + 1})", "n => n.map(x => x.textContent)"
    )


def test_config_and_metric_columns_sort_filter_and_are_remembered_per_project(
    page: Any, live_server: str
) -> None:
    training_run(
        live_server, name="small", lr=0.001, epochs=3, config={"units": 8, "optimizer_name": "sgd"}
    )
    training_run(
        live_server, name="large", lr=0.01, epochs=4, config={"units": 64, "optimizer_name": "adam"}
    )
    training_run(
        live_server,
        name="mid",
        lr=0.003,
        epochs=2,
        config={"units": 16, "optimizer_name": "rmsprop"},
    )
    create_run(live_server, name="elsewhere", project="other", config={"units": 1})
    open_ready(page, f"{live_server}/?project=web")

    page.click("#choose-columns")
    page.fill("#column-search", "units")
    page.check("#config-columns input[data-column='config:[\"units\"]']")
    page.fill("#column-search", "val_loss")
    page.check("#metric-columns input[data-column='metric:max:epoch:val_loss']")
    page.fill("#column-search", "")
    page.uncheck("#column-chooser input[data-column=epochs]")
    wait_until(lambda: 'config:["units"]' in headers(page) and "epochs" not in headers(page))
    assert "metric:max:epoch:val_loss" in headers(page)
    # max of val_loss with the step (epoch) it was reached at: epoch 0 for a falling loss.
    assert all(text.endswith("@0") for text in column_texts(page, "metric:max:epoch:val_loss"))
    screenshot(page, "runs-columns.png")

    page.click("th[data-col='config:[\"units\"]']")
    wait_until(lambda: row_names(page) == ["small", "mid", "large"])
    page.click("th[data-col='config:[\"units\"]']")
    wait_until(lambda: row_names(page) == ["large", "mid", "small"])
    page.click("th[data-col='metric:min:epoch:val_loss']")
    wait_until(lambda: row_names(page) == ["large", "mid", "small"])  # lower lr: higher loss

    page.fill("input.col-filter[data-col='config:[\"units\"]']", "> 10")
    page.press("input.col-filter[data-col='config:[\"units\"]']", "Enter")
    wait_until(lambda: sorted(row_names(page)) == ["large", "mid"])
    page.fill("input.col-filter[data-col='config:[\"units\"]']", "")
    page.press("input.col-filter[data-col='config:[\"units\"]']", "Enter")
    page.fill("input.col-filter[data-col=name]", "ar")
    page.press("input.col-filter[data-col=name]", "Enter")
    wait_until(lambda: row_names(page) == ["large"])

    # Remembered for this project across reloads; another project keeps the defaults.
    open_ready(page, f"{live_server}/?project=web")
    assert 'config:["units"]' in headers(page) and "epochs" not in headers(page)
    open_ready(page, f"{live_server}/?project=other")
    assert "epochs" in headers(page) and 'config:["units"]' not in headers(page)


def test_all_projects_view_lists_every_project_with_a_project_column(
    page: Any, live_server: str
) -> None:
    create_run(live_server, name="w1")
    create_run(live_server, name="o1", project="other")
    open_ready(page, f"{live_server}/?project=web")
    page.select_option("#project", "*")
    wait_until(lambda: sorted(row_names(page)) == ["o1", "w1"])
    assert "project" in headers(page)
    assert sorted(column_texts(page, "project")) == ["other", "web"]
    page.click("th[data-col=project]")
    wait_until(lambda: row_names(page) == ["o1", "w1"])
    assert "project=*" in page.url or "project=%2A" in page.url


def test_pages_of_runs_page_through_on_the_server(page: Any, live_server: str) -> None:
    for i in range(55):
        create_run(live_server, name=f"r{i:02d}")
    open_ready(page, f"{live_server}/?project=web&size=50&sort=name")
    assert len(row_names(page)) == 50 and row_names(page)[0] == "r00"
    assert page.text_content("#page-label") == "page 1 of 2"
    page.click("#page-next")
    wait_until(lambda: row_names(page) == [f"r{i}" for i in range(50, 55)])
    assert "page=1" in page.url
    page.click("#page-prev")
    wait_until(lambda: len(row_names(page)) == 50)
