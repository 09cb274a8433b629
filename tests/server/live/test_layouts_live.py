"""A saved chart layout reaches the open pages of its project over the websocket (issue 11),
from the same worker and, on PostgreSQL, from another worker (inline or read back)."""

from __future__ import annotations

import httpx

from tests.helpers.server import ServerProcess
from tests.server.live.client import LiveClient, of_type
from tests.server.live.helpers import create_run

LAYOUT = "/api/v1/projects/{}/layout"


def test_a_saved_layout_reaches_the_pages_that_follow_the_project(start_server, api):
    server = start_server()
    create_run(api, server.url, project="live")
    create_run(api, server.url, project="other")
    follower = LiveClient(server.url)
    ack = follower.subscribe(layouts=["live"])
    assert ack["layouts"] == ["live"] and ack["projects"] == []
    bystander = LiveClient(server.url)
    bystander.subscribe(layouts=["other"], projects=["live"])
    try:
        api.put(
            f"{server.url}{LAYOUT.format('live')}",
            params={"page": "compare"},
            json={"order": ["val_loss", "loss"], "hidden": ["accuracy"]},
        ).raise_for_status()
        message = follower.next_of("layout")["layout"]
        assert (message["project"], message["page"]) == ("live", "compare")
        assert (message["order"], message["hidden"]) == (["val_loss", "loss"], ["accuracy"])
        # The bystander follows another project's layout (and the runs of this one): a run
        # change reaches it, the layout does not.
        create_run(api, server.url, project="live", name="later")
        bystander.until(lambda ms: of_type(ms, "run"))
        assert of_type(bystander.messages, "layout") == []
        follower.send({"type": "unsubscribe", "layouts": ["live"]})
        assert follower.next_of("subscribed")["layouts"] == []
    finally:
        follower.close()
        bystander.close()


def test_a_layout_saved_through_one_worker_reaches_a_page_on_another(
    pg_url: str, server_process: type[ServerProcess], api: httpx.Client
) -> None:
    saving, watching = server_process(pg_url).start(), server_process(pg_url).start()
    create_run(api, saving.url, project="live")
    follower = LiveClient(watching.url)
    follower.subscribe(layouts=["live"])
    try:
        api.put(
            f"{saving.url}{LAYOUT.format('live')}", json={"hidden": ["loss"]}
        ).raise_for_status()
        assert follower.next_of("layout")["layout"]["hidden"] == ["loss"]
        # Too large for one notice (8000 bytes): the other worker reads it from the database.
        order = [f"{i:03d}" + "k" * 60 for i in range(200)]
        api.put(f"{saving.url}{LAYOUT.format('live')}", json={"order": order}).raise_for_status()
        assert follower.next_of("layout")["layout"]["order"] == order
    finally:
        follower.close()


def test_a_token_bound_to_another_project_cannot_follow_its_layout(start_server, api):
    admin = {"Authorization": "Bearer " + "a" * 40}
    server = start_server(FITWATCH_AUTH="on", FITWATCH_ADMIN_TOKEN="a" * 40, FITWATCH_RATE_LIMIT_PER_S="0")
    for project in ("live", "other"):
        api.post(f"{server.url}/api/v1/runs", headers=admin, json={"project": project}).raise_for_status()
    token = api.post(f"{server.url}/api/v1/tokens", headers=admin,
                     json={"name": "bound", "scope": "read", "project": "other"}).json()["token"]
    bound = LiveClient(server.url, headers={"Authorization": f"Bearer {token}"})
    try:
        ack = bound.subscribe(layouts=["live", "other"])
        assert ack["layouts"] == ["other"]
        assert any(m["type"] == "error" and "bound to project 'other'" in m["detail"] for m in bound.messages)
        api.put(f"{server.url}{LAYOUT.format('live')}", headers=admin, json={"hidden": ["x"]}).raise_for_status()
        api.put(f"{server.url}{LAYOUT.format('other')}", headers=admin, json={"hidden": ["y"]}).raise_for_status()
        # Messages arrive in order: the second layout without the first proves it never came.
        assert bound.next_of("layout")["layout"]["project"] == "other"
        assert [m["layout"]["project"] for m in of_type(bound.messages, "layout")] == ["other"]
    finally:
        bound.close()
