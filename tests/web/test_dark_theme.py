"""The dark theme follows the system setting: page colours and charts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.dashboard import open_ready, screenshot, training_run

pytestmark = pytest.mark.browser


def colours(page: Any) -> dict[str, str]:
    result: dict[str, str] = page.evaluate("""() => ({
      body: getComputedStyle(document.body).backgroundColor,
      plot: document.querySelector('.chart[data-key=loss]')._fullLayout.plot_bgcolor,
    })""")
    return result


@pytest.mark.parametrize(
    ("scheme", "body", "plot"),
    [
        ("dark", "rgb(13, 17, 23)", "#161b22"),
        ("light", "rgb(245, 247, 250)", "#ffffff"),
    ],
)
def test_the_compare_page_follows_the_system_colour_scheme(
    browser: Any, live_server: str, scheme: str, body: str, plot: str
) -> None:
    a = training_run(live_server, name="a")
    b = training_run(live_server, name="b", lr=0.01)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        open_ready(page, f"{live_server}/compare.html?runs={a['id']},{b['id']}")
        assert colours(page) == {"body": body, "plot": plot}
        if scheme == "dark":
            screenshot(page, "compare-dark.png")
    finally:
        context.close()
    assert not errors
