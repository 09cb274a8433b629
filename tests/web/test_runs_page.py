"""The runs page against a real server: table, filters in the URL, sorting, selection to
the comparison, live rows, empty state and the offline banner."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import create_run, open_ready, training_run

pytestmark = pytest.mark.browser


def row_names(page: Any) -> list[str]:
    return page.eval_on_selector_all("td.name a", "nodes => nodes.map(n => n.textContent)")  # type: ignore[no-any-return]


def test_empty_server_shows_the_callback_snippet(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/")
    text = page.text_content("#empty-state")
    assert "from fitwatch.keras import FitWatchCallback" in text
    assert "callbacks=[FitWatchCallback(project=" in text


def test_table_shows_metrics_best_epoch_and_sorts(page: Any, live_server: str) -> None:
    training_run(live_server, name="slow", lr=0.001, epochs=3, config={"hidden": 8})
    training_run(live_server, name="fast", lr=0.01, epochs=4, config={"hidden": 8}, status="running")
    open_ready(page, f"{live_server}/?project=web")
    assert row_names(page) == ["fast", "slow"]  # newest first
    headers = page.eval_on_selector_all("thead th", "nodes => nodes.map(n => n.textContent)")
    assert {"loss", "val_loss", "accuracy", "min loss", "min val_loss", "Epochs"} <= set(headers)
    fast = page.locator("tr", has=page.locator("a", has_text="fast"))
    assert fast.locator(".status.running").count() == 1
    assert "@3" in fast.locator("td").nth(10).text_content()  # min val_loss at the last epoch
    page.click("th[data-col=name]")  # sorted on the server: wait for the answer
    wait_until(lambda: "sort=name" in page.url and row_names(page) == ["fast", "slow"])
    page.click("th[data-col=name]")
    wait_until(lambda: row_names(page) == ["slow", "fast"])
    assert "sort=-name" in page.url


def test_filters_live_in_the_url_and_reach_the_server(page: Any, live_server: str) -> None:
    training_run(live_server, name="adam-a", config={"tags_hint": 1})
    create_run(live_server, name="sgd-b", tags=["baseline"])
    open_ready(page, f"{live_server}/?project=web&tag=baseline")
    wait_until(lambda: row_names(page) == ["sgd-b"])
    page.fill("#tag", "")
    wait_until(lambda: len(row_names(page)) == 2)
    page.fill("#name", "adam")
    wait_until(lambda: row_names(page) == ["adam-a"])
    assert "name=adam" in page.url
    page.fill("#name", "")
    page.fill("#filter", "min(val_loss) < 100")
    page.press("#filter", "Enter")
    wait_until(lambda: row_names(page) == ["adam-a"])
    page.fill("#filter", "min(val_loss <")
    page.press("#filter", "Enter")
    wait_until(lambda: "Filter:" in (page.text_content("#filter-error") or ""))


def test_selected_runs_open_in_the_comparison(page: Any, live_server: str) -> None:
    a = training_run(live_server, name="a")
    b = training_run(live_server, name="b")
    open_ready(page, f"{live_server}/?project=web")
    page.check(f"tr[data-run='{a['id']}'] input.select")
    page.check(f"tr[data-run='{b['id']}'] input.select")
    assert f"sel={b['id']},{a['id']}" in page.url or f"sel={a['id']},{b['id']}" in page.url
    page.click("#compare")
    page.wait_for_url("**/compare.html?**")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert page.locator("#run-legend > span").count() == 2


def test_new_runs_and_status_changes_appear_live(page: Any, live_server: str) -> None:
    training_run(live_server, name="first")
    open_ready(page, f"{live_server}/?project=web")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    page.evaluate("window.__noReload = true")
    run = create_run(live_server, name="second")
    wait_until(lambda: "second" in row_names(page))
    row = f"tr[data-run='{run['id']}'] .status"
    assert page.text_content(row) == "running"
    httpx.patch(f"{live_server}/api/v1/runs/{run['id']}", json={"status": "failed"}).raise_for_status()
    wait_until(lambda: page.text_content(row) == "failed")
    assert page.evaluate("window.__noReload === true")


def test_banner_when_the_server_is_unreachable_then_reconnects(page: Any, server_process: Any, tmp_path: Any) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'banner.db'}").start()
    training_run(server.url, name="steady")
    open_ready(page, f"{server.url}/?project=web")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    assert page.is_hidden("#offline-banner")
    server.stop()
    page.wait_for_selector("#offline-banner", state="visible")
    assert "unreachable" in page.text_content("#offline-banner")
    server_process(server.database_url, server.port).start()
    page.wait_for_selector("#offline-banner", state="hidden", timeout=30_000)
    create_run(server.url, name="after-restart")
    wait_until(lambda: "after-restart" in row_names(page), timeout=20)


@pytest.mark.parametrize("fields", ["", "&status=finished&name=a"])
def test_a_filter_error_points_at_its_place_in_the_users_own_text(page: Any, live_server: str, fields: str) -> None:
    from fitwatch_server.errors import InvalidFilter
    from fitwatch_server.query_lang import parse_filter

    text = "loss < 1 and min(val_loss <"
    with pytest.raises(InvalidFilter) as raised:
        parse_filter(text)
    expected = raised.value.position  # where the parser says the mistake is, in `text` alone
    training_run(live_server, name="a")
    open_ready(page, f"{live_server}/?project=web{fields}")
    page.fill("#filter", text)
    page.press("#filter", "Enter")
    page.wait_for_selector("#filter-caret")
    message = page.text_content("#filter-message")
    assert message.startswith("Filter: ") and message.endswith(f"(at position {expected})")
    shown, caret = page.text_content("#filter-caret").split("\n")
    assert shown == text
    assert caret == " " * expected + "^"
