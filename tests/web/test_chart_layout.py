"""The chart layout saved per project (issue 11), in Chromium against a real server: hide and
reorder charts on the run and compare pages, reload and find the layout back, watch a second
open page of the project follow, and a read-only session see the layout without controls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers.auth import AuthServer
from tests.web.dashboard import open_ready, training_run
from tests.web.test_signin import sign_in

pytestmark = pytest.mark.browser

SHOWN = "() => [...document.querySelectorAll('#charts .chart-card')].filter((c) => !c.hidden).map((c) => c.dataset.chart)"
HIDDEN_LIST = "() => [...document.querySelectorAll('#hidden-charts .hidden-chart')].map((c) => c.dataset.chart)"


def shown(page: Any) -> list[str]:
    result: list[str] = page.evaluate(SHOWN)
    return result


def wait_shown(page: Any, expected: list[str]) -> None:
    page.wait_for_function(f"(want) => JSON.stringify(({SHOWN})()) === JSON.stringify(want)", arg=expected)


def saves(page: Any) -> int:
    return int(page.evaluate("() => Number(document.documentElement.dataset.layoutSaved || 0)"))


def click(page: Any, chart: str, act: str) -> None:
    before = saves(page)
    page.click(f".chart-card[data-chart='{chart}'] button[data-act='{act}']")
    page.wait_for_function("(n) => Number(document.documentElement.dataset.layoutSaved || 0) > n", arg=before)


@pytest.fixture
def second_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    other = context.new_page()
    errors: list[str] = []
    other.on("pageerror", lambda error: errors.append(str(error)))
    other.set_default_timeout(20_000)
    yield other
    context.close()
    assert not errors, errors


def test_run_page_hide_and_reorder_come_back_after_a_reload_and_a_second_page_follows(
    page: Any, second_page: Any, live_server: str
) -> None:
    a = training_run(live_server, name="a", project="layout")
    b = training_run(live_server, name="b", project="layout", lr=0.01)
    open_ready(page, f"{live_server}/run.html?run={a['id']}")
    # Another run of the same project, open in another browser.
    open_ready(second_page, f"{live_server}/run.html?run={b['id']}")
    second_page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    assert shown(page) == shown(second_page) == ["loss", "accuracy"]
    assert page.is_hidden("#hidden-charts")

    click(page, "loss", "down")
    assert shown(page) == ["accuracy", "loss"]
    wait_shown(second_page, ["accuracy", "loss"])
    click(page, "accuracy", "hide")
    assert shown(page) == ["loss"]
    assert page.evaluate(HIDDEN_LIST) == ["accuracy"]
    wait_shown(second_page, ["loss"])
    assert second_page.evaluate(HIDDEN_LIST) == ["accuracy"]

    saved = httpx.get(f"{live_server}/api/v1/projects/layout/layout", params={"page": "run"}).json()
    assert (saved["order"], saved["hidden"]) == (["accuracy", "loss"], ["accuracy"])
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert shown(page) == ["loss"] and page.evaluate(HIDDEN_LIST) == ["accuracy"]

    # Back from the hidden list: in its saved place, and drawn at the card's width.
    before = saves(page)
    page.click("#hidden-charts .hidden-chart[data-chart='accuracy'] button[data-act='show']")
    page.wait_for_function("(n) => Number(document.documentElement.dataset.layoutSaved || 0) > n", arg=before)
    assert shown(page) == ["accuracy", "loss"] and page.is_hidden("#hidden-charts")
    wait_shown(second_page, ["accuracy", "loss"])
    page.wait_for_function("""() => {
      const card = document.querySelector(".chart-card[data-chart='accuracy']");
      const svg = card.querySelector('.main-svg');
      return svg && Math.abs(svg.getBoundingClientRect().width - card.querySelector('.chart').clientWidth) < 2;
    }""")
    # A scope change rebuilds the charts: the layout still applies.
    page.click("#scope button[data-scope=epoch]")
    page.wait_for_function("() => document.querySelectorAll('#charts .chart-card').length === 2 && document.querySelector(\".chart-card[data-chart='accuracy'] .chart-tools\")")
    assert shown(page) == ["accuracy", "loss"]


def test_the_compare_page_keeps_a_layout_of_its_own(page: Any, live_server: str) -> None:
    a = training_run(live_server, name="a", project="layout")
    b = training_run(live_server, name="b", project="layout", lr=0.01)
    httpx.put(f"{live_server}/api/v1/projects/layout/layout", params={"page": "run"},
              json={"hidden": ["loss"]}).raise_for_status()
    open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}")
    assert shown(page) == ["loss", "accuracy"]  # the run pages' layout is not the compare pages'
    click(page, "accuracy", "up")
    click(page, "loss", "hide")
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert shown(page) == ["accuracy"] and page.evaluate(HIDDEN_LIST) == ["loss"]
    # Bands mode draws other charts from the same cards: the same layout.
    page.select_option("#bands", "tags")
    page.wait_for_function("() => document.querySelector(\".chart-card[data-chart='accuracy'] .chart-tools\") && document.querySelectorAll('#charts .chart-card').length === 2")
    assert shown(page) == ["accuracy"]


def test_a_read_only_session_sees_the_layout_but_cannot_change_it(page: Any, auth_live_server: AuthServer) -> None:
    http = auth_live_server.stored.http
    run = http.post("/runs", json={"project": "web", "name": "secured"}).json()
    epoch = [{"key": k, "scope": "epoch", "steps": [0, 1], "values": [1.0, 0.5], "times": [1.0, 2.0]} for k in ("loss", "accuracy")]
    http.post(f"/runs/{run['id']}/points", json={"series": epoch}).raise_for_status()
    http.put("/projects/web/layout", params={"page": "run"}, json={"order": ["accuracy"], "hidden": ["loss"]}).raise_for_status()
    sign_in(page, auth_live_server, auth_live_server.token("read"), f"/run.html?run={run['id']}")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    assert shown(page) == ["accuracy"] and page.evaluate(HIDDEN_LIST) == ["loss"]
    assert page.is_visible("#hidden-charts")
    assert page.locator(".chart-tools").count() == 2 and not page.is_visible(".chart-tools")
    assert not page.is_visible("#hidden-charts button[data-act='show']")
    status = page.evaluate("""async () => (await fetch('/api/v1/projects/web/layout?page=run', {method: 'PUT',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({hidden: []})})).status""")
    assert status == 403
