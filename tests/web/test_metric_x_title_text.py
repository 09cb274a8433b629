"""A metric key drawn as the x axis is text in the axis title: Plotly reads `<a href>`, `<b>`
and `<br>` in titles as markup, and the x axis title took the key as it was (a link to anywhere
in the chart made of a metric's name). The chart titles and trace names were escaped already."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.web.dashboard import create_run, open_ready, post_series, series

pytestmark = pytest.mark.browser

EVIL = '<a href="https://attacker.example/">clk</a><b>B</b>'


@pytest.mark.parametrize("page_kind", ["run", "compare"])
def test_a_metric_key_as_the_x_axis_is_shown_as_text(page: Any, live_server: str, page_kind: str) -> None:
    a = create_run(live_server, name="a")
    b = create_run(live_server, name="b")
    for run in (a, b):
        post_series(live_server, run["id"], series(EVIL, "batch", [0, 1, 2], [1, 2, 3]), series("loss", "batch", [0, 1, 2], [3, 2, 1]))
    x = quote("metric:" + EVIL)
    url = {"run": f"/run.html?run={a['id']}&scope=batch&x={x}",
           "compare": f"/compare.html?runs={a['id']},{b['id']}&scope=batch&x={x}"}[page_kind]
    open_ready(page, live_server + url)
    assert page.evaluate("() => document.querySelectorAll('.chart a, .chart b').length") == 0
    titles = page.evaluate("() => [...document.querySelectorAll('.chart .xtitle')].map((e) => e.textContent)")
    assert titles and all(t.startswith(EVIL) for t in titles), titles
