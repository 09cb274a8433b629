"""A run moved out of the project a token is bound to stops reaching that token's websocket:
it gets `run_deleted` (naming its own project, nothing of where the run went) and then no
`run`, `points` or `series` of it. Before, a connection subscribed to the run kept receiving
its new project, config, notes and points (docs/security.md: a run of another project is as
if it did not exist; REST answers 404)."""

from __future__ import annotations

from tests.helpers.wait import wait_until
from tests.server.live.client import LiveClient, of_type

ADMIN = "a" * 40


ENV = {"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN, "FITWATCH_RATE_LIMIT_PER_S": "0"}


def test_a_run_moved_away_from_a_bound_token_is_gone_for_its_socket(start_server, api):
    server = start_server(**ENV)
    check_moved_run(api, server.url, server.url)


def test_the_same_when_the_move_goes_through_another_process(pg_url, server_process, api):
    """The move is made on one server process, the socket is on another (PostgreSQL notices)."""
    writer = server_process(pg_url, env=ENV).start()
    watcher = server_process(pg_url, env=ENV).start()
    check_moved_run(api, writer.url, watcher.url)


def check_moved_run(api, writer_url: str, watcher_url: str) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    base = f"{writer_url}/api/v1"
    run = api.post(f"{base}/runs", headers=admin, json={"project": "mine", "name": "r"}).json()
    stays = api.post(f"{base}/runs", headers=admin, json={"project": "mine", "name": "stays"}).json()
    api.post(f"{base}/runs", headers=admin, json={"project": "theirs", "name": "t"}).raise_for_status()
    token = api.post(f"{base}/tokens", headers=admin, json={"name": "bound", "scope": "read", "project": "mine"}).json()["token"]
    bound_headers = {"Authorization": f"Bearer {token}"}
    wait_until(lambda: api.get(f"{base}/auth/whoami", headers=bound_headers).status_code == 200, timeout=10)
    wait_until(lambda: api.get(f"{watcher_url}/api/v1/auth/whoami", headers=bound_headers).status_code == 200, timeout=10)
    bound = LiveClient(watcher_url, headers=bound_headers)
    try:
        ack = bound.subscribe(runs=[run["id"], stays["id"]], projects=["mine"])
        assert sorted(ack["runs"]) == sorted([run["id"], stays["id"]])
        api.patch(f"{base}/runs/{run['id']}", headers=admin, json={"project": "theirs"}).raise_for_status()
        api.patch(f"{base}/runs/{run['id']}", headers=admin,
                  json={"notes": "NOTE-OF-THEIRS", "config": {"k": "SECRET-OF-THEIRS"}}).raise_for_status()
        points = {"series": [{"key": "loss", "scope": "epoch", "steps": [0], "values": [0.5], "times": [1.0]}]}
        api.post(f"{base}/runs/{run['id']}/points", headers=admin, json=points).raise_for_status()
        # A change of a run that stays: messages come in order, so once it is here, anything
        # about the moved run would have come before it.
        api.patch(f"{base}/runs/{stays['id']}", headers=admin, json={"notes": "last"}).raise_for_status()
        bound.until(lambda ms: any(m["type"] == "run" and m["run"]["id"] == stays["id"] and m["run"]["notes"] == "last" for m in ms))
        about_moved = [m for m in bound.messages if m.get("run_id") == run["id"] or (m["type"] == "run" and m["run"]["id"] == run["id"])]
        assert about_moved == [{"type": "run_deleted", "run_id": run["id"], "project": "mine"}]
        assert "theirs" not in str(bound.messages) and "SECRET-OF-THEIRS" not in str(bound.messages)
        assert of_type(bound.messages, "points") == []
        assert api.get(f"{base}/runs/{run['id']}", headers=bound_headers).status_code == 404
    finally:
        bound.close()
