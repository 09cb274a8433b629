"""Charts of one page act together (web/js/charts.js): hovering one shows the same x on the others."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.dashboard import open_ready, training_run

pytestmark = pytest.mark.browser


def hover_chart(page: Any, key: str, x: float) -> None:
    """Move the mouse over the chart of `key` at data coordinate `x`, onto the first line drawn
    there (a "closest" hover needs the mouse near a point)."""
    box = page.evaluate(
        """([key, x]) => {
          const div = document.querySelector(`.chart[data-key="${key}"]`);
          const l = div._fullLayout; const r = div.getBoundingClientRect();
          const trace = div._fullData.find((t) => t.visible === true && Array.from(t.x).includes(x));
          const y = trace.y[Array.from(trace.x).indexOf(x)];
          return {x: r.left + l._size.l + l.xaxis.l2p(x), y: r.top + l._size.t + l.yaxis.l2p(y)};
        }""",
        [key, x],
    )
    page.mouse.move(box["x"], box["y"])


def hovered(page: Any, key: str) -> list[Any]:
    """The x of each point Plotly shows the hover of, on the chart of `key`."""
    found: list[Any] = page.evaluate(
        """(key) => (document.querySelector(`.chart[data-key="${key}"]`)._hoverdata || []).map((p) => p.x)""",
        key,
    )
    return found


def spike_shown(page: Any, key: str) -> bool:
    shown: bool = page.evaluate(
        """(key) => document.querySelector(`.chart[data-key="${key}"]`).querySelectorAll('.spikeline').length > 0""",
        key,
    )
    return shown


@pytest.mark.parametrize("where", ["run", "compare", "bands"])
def test_hovering_one_chart_hovers_the_others_at_the_same_step(
    page: Any, live_server: str, where: str
) -> None:
    a = training_run(live_server, name="a", epochs=3, steps_per_epoch=10, config={"seed": 0})
    b = training_run(live_server, name="b", epochs=3, steps_per_epoch=10, config={"seed": 1})
    url = {
        "run": f"run.html?run={a['id']}&scope=batch&smooth=0",
        "compare": f"compare.html?runs={a['id']},{b['id']}&scope=batch",
        "bands": f"compare.html?runs={a['id']},{b['id']}&scope=batch&group=-config.seed",
    }[where]
    open_ready(page, f"{live_server}/{url}")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')].every((d) => d._fullLayout)"
    )
    # Bands sit at each bucket's middle step; with 30 steps a bucket is one step wide.
    hover_chart(page, "loss", 17)
    page.wait_for_function(
        "() => (document.querySelector('.chart[data-key=accuracy]')._hoverdata || []).length > 0"
    )
    assert 17 in hovered(page, "loss")
    assert set(hovered(page, "accuracy")) == {17}
    assert spike_shown(page, "accuracy")
    # The mouse leaves: the other chart's hover goes too.
    page.mouse.move(2, 2)
    page.wait_for_function(
        "() => !document.querySelector('.chart[data-key=accuracy]').querySelector('.hovertext')"
    )
