"""A run deleted for good while its page is open: the page says so and no chart of it stays
(before, the charts stayed and the page still said "live"). A move to another project is not a
deletion: the page keeps its charts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import open_ready, trace_data, training_run

pytestmark = pytest.mark.browser


def test_the_run_page_of_a_run_deleted_for_good_says_so(page: Any, live_server: str) -> None:
    run = training_run(live_server, name="<b>doomed</b>", status="running")
    open_ready(page, f"{live_server}/run.html?run={run['id']}&scope=epoch")
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    httpx.patch(f"{live_server}/api/v1/runs/{run['id']}", json={"project": "elsewhere"}).raise_for_status()
    page.wait_for_timeout(500)
    assert trace_data(page, "loss") and page.query_selector("#empty-state") is None
    httpx.delete(f"{live_server}/api/v1/runs/{run['id']}").raise_for_status()
    wait_until(lambda: page.query_selector("#empty-state") is not None)
    assert "Run deleted" in page.text_content("#empty-state")
    assert "<b>doomed</b>" in page.text_content("#empty-state")  # the name as text
    assert page.query_selector(".chart") is None and trace_data(page, "loss") == []
    assert page.query_selector("#live-state") is None  # no "live" badge for a deleted run
