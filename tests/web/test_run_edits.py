"""Editing runs from the dashboard (issue 11) in Chromium against a real server: rename, tags,
notes (Markdown, an XSS attempt stays text), moves, the trash, bulk edits, deleting a
project; other open pages follow over the websocket; read-only sessions see no edit control."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.auth import AuthServer
from tests.helpers.wait import wait_until
from tests.web.dashboard import create_run, open_ready, screenshot, training_run
from tests.web.test_signin import admin_run, sign_in

pytestmark = pytest.mark.browser

XSS_NOTES = (
    "## Findings\n\n**Adam** beats *SGD* here; see `lr=1e-3`.\n\n"
    '- <img src=x onerror="window.__xss = 1">\n- [bad](javascript:window.__xss=2)\n'
    "- [paper](https://example.com/paper)\n\n<script>window.__xss = 3</script>"
)



def get_run(base: str, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = httpx.get(f"{base}/api/v1/runs/{run_id}").json()
    return run


def row_names(page: Any) -> list[str]:
    return page.eval_on_selector_all("td.name a", "nodes => nodes.map(n => n.textContent)")  # type: ignore[no-any-return]


def test_rename_tags_notes_and_move_from_the_run_page_reach_another_open_page(
    page: Any, browser: Any, live_server: str
) -> None:
    run = training_run(live_server, name="before", epochs=3, config={"seed": 1})
    url = f"{live_server}/run.html?run={run['id']}"
    other_context = browser.new_context()
    other = other_context.new_page()
    open_ready(page, url)
    open_ready(other, url)

    page.click("#rename-run")
    page.fill("#rename-input", "after")
    page.press("#rename-input", "Enter")
    wait_until(lambda: get_run(live_server, run["id"])["name"] == "after")
    wait_until(lambda: other.text_content("#run-name") == "after")

    page.fill("#add-tag", "baseline")
    page.press("#add-tag", "Enter")
    page.fill("#add-tag", "v2")
    page.press("#add-tag", "Enter")
    wait_until(lambda: get_run(live_server, run["id"])["tags"] == ["baseline", "v2"])
    page.click(".tag[data-tag=baseline] .tag-remove")
    wait_until(lambda: get_run(live_server, run["id"])["tags"] == ["v2"])
    wait_until(
        lambda: (
            other.eval_on_selector_all("#run-tags .tag", "n => n.map(x => x.dataset.tag)") == ["v2"]
        )
    )

    page.click("#edit-notes")
    page.fill("#notes-input", XSS_NOTES)
    wait_until(lambda: page.locator("#notes-preview strong").count() == 1)
    screenshot(page, "run-edit-notes.png")
    page.click("#save-notes")
    wait_until(lambda: get_run(live_server, run["id"])["notes"] == XSS_NOTES)
    for viewer in (page, other):
        wait_until(lambda v=viewer: v.locator("#run-notes strong").count() == 1)
        notes = viewer.locator("#run-notes")
        assert notes.locator("h3").text_content() == "Findings"
        assert notes.locator("code").text_content() == "lr=1e-3"
        assert notes.locator("img, script").count() == 0  # raw HTML is text
        assert '<img src=x onerror="window.__xss = 1">' in notes.text_content()
        assert notes.locator("a").count() == 1
        assert notes.locator("a").get_attribute("href") == "https://example.com/paper"
        assert "[bad](javascript:window.__xss=2)" in notes.text_content()
        assert viewer.evaluate("() => window.__xss") is None

    page.click("#move-run")
    page.fill("#move-project", "elsewhere")
    page.click("#move-submit")
    wait_until(lambda: get_run(live_server, run["id"])["project"] == "elsewhere")
    wait_until(lambda: other.text_content("#run-project") == "elsewhere")
    other_context.close()


def test_the_trash_from_the_runs_page_restores_and_purges_while_another_page_follows(
    page: Any, browser: Any, live_server: str
) -> None:
    runs = {name: training_run(live_server, name=name, epochs=2) for name in ("a", "b", "c")}
    url = f"{live_server}/?project=web"
    watcher_context = browser.new_context()
    watcher = watcher_context.new_page()
    open_ready(page, url)
    open_ready(watcher, url)
    page.on("dialog", lambda dialog: dialog.accept())

    for name in ("a", "b"):
        page.locator("tr", has=page.locator("a", has_text=name)).locator("input.select").check()
    page.click("#trash-selected")
    wait_until(lambda: row_names(page) == ["c"])
    wait_until(lambda: row_names(watcher) == ["c"])  # live, without a reload
    assert get_run(live_server, runs["a"]["id"])["deleted_at"] is not None
    wait_until(lambda: page.text_content("#view-trash") == "Trash (2)")

    page.click("#view-trash")
    wait_until(lambda: sorted(row_names(page)) == ["a", "b"])
    assert "view=trash" in page.url
    page.locator("tr", has=page.locator("a", has_text="a")).locator("input.select").check()
    screenshot(page, "runs-trash.png")
    page.click("#restore-selected")
    wait_until(lambda: row_names(page) == ["b"])
    wait_until(lambda: sorted(row_names(watcher)) == ["a", "c"])

    page.locator("tr", has=page.locator("a", has_text="b")).locator("input.select").check()
    page.click("#purge-selected")
    wait_until(lambda: page.locator("#empty-state").count() == 1)
    assert httpx.get(f"{live_server}/api/v1/runs/{runs['b']['id']}").status_code == 404
    assert httpx.get(f"{live_server}/api/v1/trash").json()["total"] == 0
    watcher_context.close()


def test_trash_from_the_run_page_and_empty_the_trash(page: Any, live_server: str) -> None:
    run = training_run(live_server, name="doomed", epochs=2)
    keep = training_run(live_server, name="keep", epochs=2)
    page.on("dialog", lambda dialog: dialog.accept())
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    page.click("#trash-run")
    page.wait_for_url("**/?project=web")
    open_ready(page, f"{live_server}/?project=web&view=trash")
    wait_until(lambda: row_names(page) == ["doomed"])
    page.click("#empty-trash")
    wait_until(lambda: page.locator("#empty-state").count() == 1)
    assert httpx.get(f"{live_server}/api/v1/runs/{run['id']}").status_code == 404
    assert httpx.get(f"{live_server}/api/v1/runs/{keep['id']}").status_code == 200


def test_bulk_tag_move_and_deleting_a_project_from_the_runs_page(
    page: Any, live_server: str
) -> None:
    one, two = create_run(live_server, name="one"), create_run(live_server, name="two")
    create_run(live_server, name="other", project="keep")
    open_ready(page, f"{live_server}/?project=web")
    # The prompts in order: the tag, the project to move to, then the project's name typed
    # wrong and right to confirm deleting it.
    answers = iter(["sweep-1", "archive", "wrong name", "archive"])
    page.on("dialog", lambda dialog: dialog.accept(next(answers)))
    page.check("#select-page")
    page.click("#tag-selected")
    wait_until(
        lambda: all(get_run(live_server, r["id"])["tags"] == ["sweep-1"] for r in (one, two))
    )
    page.click("#move-selected")
    wait_until(
        lambda: all(get_run(live_server, r["id"])["project"] == "archive" for r in (one, two))
    )
    wait_until(lambda: page.locator("#empty-state").count() == 1)

    open_ready(page, f"{live_server}/?project=archive")
    page.click("#delete-project")
    wait_until(lambda: "is not" in page.text_content("#action-error"))
    assert httpx.get(f"{live_server}/api/v1/runs/{one['id']}").status_code == 200
    page.click("#delete-project")
    page.wait_for_url(f"{live_server}/**")
    wait_until(
        lambda: (
            "archive"
            not in [
                p["name"] for p in httpx.get(f"{live_server}/api/v1/projects").json()["projects"]
            ]
        )
    )
    assert httpx.get(f"{live_server}/api/v1/runs/{one['id']}").status_code == 404


EDIT_CONTROLS = {
    "write": ["#rename-run", "#add-tag", "#edit-notes", "#move-run"],
    "admin": ["#trash-run", "#delete-run"],
}
TABLE_CONTROLS = {
    "write": ["#tag-selected", "#move-selected"],
    "admin": ["#trash-selected", "#delete-project"],
}


@pytest.mark.parametrize("scope", ["read", "write", "admin"])
def test_a_session_sees_only_the_edit_controls_its_scope_can_use(
    page: Any, auth_live_server: AuthServer, scope: str
) -> None:
    run = admin_run(auth_live_server)
    auth_live_server.stored.http.patch(
        f"/runs/{run['id']}", json={"tags": ["t"]}
    ).raise_for_status()
    sign_in(page, auth_live_server, auth_live_server.token(scope), f"/run.html?run={run['id']}")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    allowed = {"read": set(), "write": {"write"}, "admin": {"write", "admin"}}[scope]
    for needs, selectors in EDIT_CONTROLS.items():
        for selector in selectors:
            assert page.locator(selector).count() == 1, selector
            assert page.is_visible(selector) == (needs in allowed), (scope, selector)
    assert page.is_visible(".tag-remove") == ("write" in allowed)
    page.goto(f"{auth_live_server.url}/?project=web")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    for needs, selectors in TABLE_CONTROLS.items():
        for selector in selectors:
            assert page.is_visible(selector) == (needs in allowed), (scope, selector)
    if scope == "read":
        # The server refuses anyway: a read session's PATCH is a 403 that says what is needed.
        status = page.evaluate(
            """async (id) => (await fetch(`/api/v1/runs/${id}`, {method: "PATCH",
                 headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "x"})})).status""",
            run["id"],
        )
        assert status == 403


def test_a_live_update_while_editing_keeps_what_the_user_is_typing(
    page: Any, live_server: str
) -> None:
    run = training_run(live_server, name="draft", epochs=2)
    open_ready(page, f"{live_server}/run.html?run={run['id']}")
    page.click("#rename-run")
    page.fill("#rename-input", "half-typed name")
    page.click("#edit-notes")
    page.fill("#notes-input", "half-typed notes")

    # Another client changes the run: the page follows it without losing either draft.
    patched = httpx.patch(
        f"{live_server}/api/v1/runs/{run['id']}", json={"tags": ["from-elsewhere"]}
    )
    assert patched.status_code == 200, patched.text
    wait_until(
        lambda: (
            page.eval_on_selector_all("#run-tags .tag", "n => n.map(x => x.dataset.tag)")
            == ["from-elsewhere"]
        )
    )
    assert page.input_value("#rename-input") == "half-typed name"
    assert page.input_value("#notes-input") == "half-typed notes"

    page.press("#rename-input", "Enter")
    wait_until(lambda: get_run(live_server, run["id"])["name"] == "half-typed name")
    wait_until(lambda: page.text_content("#run-name") == "half-typed name")
    assert page.input_value("#notes-input") == "half-typed notes"
