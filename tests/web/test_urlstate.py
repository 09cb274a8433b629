"""js/urlstate.js: page state <-> query string, evaluated in the browser (pure module)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.dashboard import open_ready

pytestmark = pytest.mark.browser

SCHEMA = {
    "project": {"type": "string", "default": ""},
    "runs": {"type": "list", "default": []},
    "smooth": {"type": "number", "default": 0.6},
    "log": {"type": "bool", "default": False},
}


def call(page: Any, fn: str, *args: Any) -> Any:
    return page.evaluate(
        f"async (args) => (await import('/js/urlstate.js')).{fn}(...args)", list(args)
    )


def test_state_round_trips_through_the_query_string(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    state = {"project": "digits & co", "runs": ["a1", "b2"], "smooth": 0.25, "log": True}
    query = call(page, "serializeState", state, SCHEMA)
    assert query.startswith("?") and "runs=a1,b2" in query
    assert call(page, "parseState", query, SCHEMA) == state


def test_defaults_are_left_out_and_filled_back_in(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/compare.html")
    defaults = {"project": "", "runs": [], "smooth": 0.6, "log": False}
    assert call(page, "serializeState", defaults, SCHEMA) == ""
    assert call(page, "parseState", "", SCHEMA) == defaults
    assert call(page, "parseState", "?smooth=oops&log=0", SCHEMA) == defaults
