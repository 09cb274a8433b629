"""The dashboard works under its Content-Security-Policy, and the policy does its job.

The `page` fixture fails a test on any CSP violation, so every dashboard test checks the
first half; this file visits each page once on purpose (the compare page down to its
WebGL parallel-coordinates chart) and shows that an injected inline script does not run.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.dashboard import open_ready, training_run

pytestmark = pytest.mark.browser


def test_every_page_runs_without_a_policy_violation(page: Any, live_server: str):
    a = training_run(live_server, name="a", lr=0.001)
    b = training_run(live_server, name="b", lr=0.01, config={"units": 64})
    for path in ("/", f"/run.html?run={a['id']}", f"/compare.html?runs={a['id']},{b['id']}"):
        open_ready(page, live_server + path)
        assert page.locator(".js-plotly-plot, table.data").count() > 0, path
    page.locator("#parcoords").scroll_into_view_if_needed()
    # Drawn with the full Plotly.js bundle, fetched and parsed only now (web/vendor/README.md):
    # on a loaded 2-core machine that alone can take longer than the default 20 s.
    page.wait_for_selector("#parcoords[data-drawn='1']", timeout=90_000)
    page.goto(f"{live_server}/signin.html")
    page.wait_for_selector("#auth-off")


def test_an_injected_inline_script_does_not_run(browser: Any, live_server: str):
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    open_ready(page, f"{live_server}/")
    # An inline script runs as it is inserted, or never: no waiting needed.
    ran = page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__injected = true";
        document.head.append(s);
        return window.__injected === true;
    }""")
    context.close()
    assert ran is False
    assert any("script-src" in v for v in violations), violations
