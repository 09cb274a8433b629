"""Run changes made while a page was disconnected are not replayed by the websocket: after
the reconnect the run and compare pages read their runs again. Before, a run renamed and
finished while the page was away stayed "running" under its old name until a reload."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.helpers.wait import wait_until
from tests.web.dashboard import open_ready, training_run

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("page_kind", ["run", "compare"])
def test_changes_made_while_the_page_was_away_show_after_the_reconnect(
    page: Any, server_process: Any, tmp_path: Any, page_kind: str
) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'away.db'}").start()
    run = training_run(server.url, name="before", status="running")
    other = training_run(server.url, name="other", status="running")
    url = {"run": f"/run.html?run={run['id']}&scope=epoch", "compare": f"/compare.html?runs={run['id']},{other['id']}&scope=epoch"}
    open_ready(page, server.url + url[page_kind])
    page.wait_for_function("() => document.documentElement.dataset.liveSubscribed === '1'")
    server.stop()
    page.wait_for_function("() => document.documentElement.dataset.live === 'closed'")
    time.sleep(3)  # the page's reconnect delay has grown to 4 s
    server_process(server.database_url, server.port).start()
    httpx.patch(f"{server.url}/api/v1/runs/{run['id']}", json={"name": "after", "status": "finished"}).raise_for_status()
    assert page.evaluate("() => document.documentElement.dataset.live") == "closed"  # changed while away
    page.wait_for_function("() => document.documentElement.dataset.live === 'open'", timeout=30_000)
    badge = "#run-status" if page_kind == "run" else f"[data-status-of='{run['id']}']"
    wait_until(lambda: page.text_content(badge) == "finished", timeout=15)
    wait_until(lambda: "after" in page.text_content("main") and "before" not in page.text_content("main"), timeout=15)
