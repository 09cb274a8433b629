"""The auth matrix: every route of the OpenAPI schema, and the websocket, with each kind of
caller, against a real server process with FITWATCH_AUTH=on, on SQLite and PostgreSQL.

Callers: no token, a wrong token, a revoked token, read, write bound to another project,
write, admin. Each refused answer is the right 401/403/404 and carries no data (only a
`detail` message that quotes nothing of the project it hides).

HOW TO FIX `test_every_route_has_a_rule`: you added a route. Add it to RULES with the
scope it needs (api/auth.py applies the HTTP method's by default) and, if it takes a body,
an example in BODIES. If the route must be public, it does not belong under /api/v1.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.server import ServerProcess
from tests.server.live.client import LiveClient, ws_url

ADMIN_TOKEN = "bootstrap-" + "x" * 40
SECRET = "SECRET-123"
RUN_NAME = "secret-run-name"
HIDDEN = "alpha"  # the project the bound token must not see
OWN = "other"  # the project it is bound to
RANK = {"read": 0, "write": 1, "admin": 2}


@dataclass(frozen=True)
class Rule:
    scope: str  # the least scope that may call the route
    ok: int = 200
    run: bool = False  # addresses one run of HIDDEN (path or query): bound callers get 404
    kind: str = ""  # "list": answered, filtered; "create_run": 403 for bound callers


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/runs"): Rule("read", kind="list"),
    ("POST", "/api/v1/runs"): Rule("write", ok=201, kind="create_run"),
    ("GET", "/api/v1/runs/{run_id}"): Rule("read", run=True),
    ("PATCH", "/api/v1/runs/{run_id}"): Rule("write", run=True),
    ("DELETE", "/api/v1/runs/{run_id}"): Rule("admin", ok=204, run=True),
    ("POST", "/api/v1/runs/{run_id}/heartbeat"): Rule("write", ok=204, run=True),
    ("POST", "/api/v1/runs/{run_id}/points"): Rule("write", run=True),
    ("GET", "/api/v1/runs/{run_id}/series"): Rule("read", run=True),
    ("GET", "/api/v1/runs/{run_id}/series/{key}"): Rule("read", run=True),
    ("DELETE", "/api/v1/runs/{run_id}/series/{key}"): Rule("admin", ok=204, run=True),
    ("GET", "/api/v1/runs/{run_id}/export"): Rule("read", run=True),
    ("GET", "/api/v1/series"): Rule("read", run=True),
    ("GET", "/api/v1/series/groups"): Rule("read", kind="list"),  # runs of the caller's projects
    ("GET", "/api/v1/metrics/catalog"): Rule("read"),  # the SDK's catalog: no run data
    ("GET", "/api/v1/projects"): Rule("read", kind="list"),
    ("DELETE", "/api/v1/projects/{project}"): Rule("admin", run=True),
    # A project's chart layout: HIDDEN's, so a token bound to another project gets a 404.
    ("GET", "/api/v1/projects/{project}/layout"): Rule("read", run=True),
    ("PUT", "/api/v1/projects/{project}/layout"): Rule("write", run=True),
    ("GET", "/api/v1/trash"): Rule("read", kind="list"),
    ("POST", "/api/v1/trash"): Rule("admin", run=True),
    ("POST", "/api/v1/trash/restore"): Rule("admin", run=True),
    ("DELETE", "/api/v1/trash"): Rule("admin"),
    ("GET", "/api/v1/live/status"): Rule("read"),
    ("GET", "/api/v1/tokens"): Rule("admin"),
    ("POST", "/api/v1/tokens"): Rule("admin", ok=201),
    ("DELETE", "/api/v1/tokens/{ident}"): Rule("admin"),
    ("POST", "/api/v1/admin/purge"): Rule("admin"),
    ("GET", "/api/v1/auth/whoami"): Rule("read"),
    ("POST", "/api/v1/auth/session"): Rule("read"),
    ("DELETE", "/api/v1/auth/session"): Rule("read", ok=204),
    # Keras's RemoteMonitor: the run is named by the path (project HIDDEN) or by headers.
    ("POST", "/api/v1/keras/remote-monitor/{project}/{name}"): Rule("write", kind="create_run"),
    ("POST", "/publish/epoch/end/"): Rule("write", kind="create_run"),
}


def _series(key: str) -> dict[str, Any]:
    return {"key": key, "scope": "epoch", "steps": [0, 1], "values": [0.5, 0.25], "times": [1.0, 2.0]}


BODIES: dict[str, Any] = {
    "RunIdsIn": lambda run_id: {"runs": [run_id]},
    "RunCreate": lambda: {"project": HIDDEN, "name": "made-by-the-matrix"},
    "RunUpdate": lambda: {"notes": "changed by the matrix"},
    "PointBatchIn": lambda: {"series": [_series("secret_loss")]},
    "PurgeRequest": lambda: {"older_than_days": 90},
    "TokenCreate": lambda: {"name": f"made-{uuid.uuid4().hex[:8]}", "scope": "read"},
    "RemoteMonitorEpoch": lambda: {"epoch": 0, "loss": 0.5},
    "LayoutDocument": lambda: {"order": ["secret_loss"], "hidden": []},
}


@dataclass
class Caller:
    name: str
    token: str | None
    scope: str | None  # None: not a valid credential
    bound: bool = False


class World:
    """The server, its callers, and a fresh run of HIDDEN (with a secret) per case."""

    def __init__(self, server: ServerProcess) -> None:
        self.base = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30.0)
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        made = {name: self.make_token(name, scope, project) for name, scope, project in [
            ("read", "read", None), ("write-other", "write", OWN), ("write", "write", None),
            ("admin", "admin", None), ("revoked", "admin", None),
        ]}
        self.ok(self.http.delete("/api/v1/tokens/revoked", headers=self.admin))
        self.callers = [
            Caller("no token", None, None),
            Caller("wrong token", "fw_" + uuid.uuid4().hex, None),
            Caller("revoked token", made["revoked"], None),
            Caller("read", made["read"], "read"),
            Caller("write for another project", made["write-other"], "write", bound=True),
            Caller("write", made["write"], "write"),
            Caller("admin", made["admin"], "admin"),
        ]

    @staticmethod
    def ok(response: httpx.Response) -> httpx.Response:
        assert response.status_code < 300, response.text
        return response

    def make_token(self, name: str, scope: str, project: str | None) -> str:
        body = {"name": name, "scope": scope, **({"project": project} if project else {})}
        token: str = self.ok(self.http.post("/api/v1/tokens", json=body, headers=self.admin)).json()["token"]
        return token

    def seed_run(self, project: str = HIDDEN) -> str:
        run = self.ok(self.http.post("/api/v1/runs", headers=self.admin, json={
            "project": project, "name": RUN_NAME, "config": {"wandb_api_key": SECRET}})).json()
        self.ok(self.http.post(f"/api/v1/runs/{run['id']}/points", headers=self.admin,
                               json={"series": [_series("secret_loss")]}))
        return str(run["id"])

    def request(self, method: str, path: str, operation: dict[str, Any], caller: Caller) -> httpx.Response:
        run_id = self.seed_run()
        url = path.replace("{run_id}", run_id).replace("{key}", "secret_loss")
        url = url.replace("{project}", HIDDEN).replace("{name}", "made-by-the-matrix")
        if "{ident}" in url:
            throwaway = self.ok(self.http.post("/api/v1/tokens", headers=self.admin, json={
                "name": f"throwaway-{uuid.uuid4().hex[:8]}", "scope": "read"})).json()
            url = url.replace("{ident}", str(throwaway["id"]))
        params = {}
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter.get("required"):
                params[parameter["name"]] = {"runs": run_id, "keys": "secret_loss"}[parameter["name"]]
        body = None
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is not None:
            name = content["schema"]["$ref"].rsplit("/", 1)[-1]
            assert name in BODIES, f"add an example {name} body to BODIES (see the module docstring)"
            body = BODIES[name](run_id) if name == "RunIdsIn" else BODIES[name]()
        headers = {"Authorization": f"Bearer {caller.token}"} if caller.token else {}
        self.http.cookies.clear()
        return self.http.request(method, url, params=params, json=body, headers=headers)


def expected(rule: Rule, caller: Caller) -> int:
    if caller.scope is None:
        return 401
    if RANK[caller.scope] < RANK[rule.scope]:
        return 403
    if caller.bound and rule.run:
        return 404  # a run of another project is, to this caller, a run that does not exist
    if caller.bound and rule.kind == "create_run":
        return 403
    return rule.ok


@pytest.fixture
def world(database_url: str, server_process: type[ServerProcess]) -> World:
    server = server_process(database_url, env={
        "FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN_TOKEN, "FITWATCH_RATE_LIMIT_PER_S": "0",
    }).start()
    return World(server)


def operations(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    schema = world.http.get("/openapi.json").json()
    return {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


def test_every_route_has_a_rule(world: World) -> None:
    found = set(operations(world))
    assert found - set(RULES) == set(), f"routes without a rule (see HOW TO FIX above): {sorted(found - set(RULES))}"
    assert set(RULES) - found == set(), f"rules for routes that no longer exist: {sorted(set(RULES) - found)}"


def test_every_route_answers_each_caller_as_its_scope_and_project_allow(world: World) -> None:
    failures = []
    for (method, path), operation in sorted(operations(world).items()):
        rule = RULES.get((method, path))
        if rule is None:
            failures.append(f"{method} {path}: no rule (see HOW TO FIX above)")
            continue
        for caller in world.callers:
            response = world.request(method, path, operation, caller)
            want = expected(rule, caller)
            text = response.text
            if response.status_code != want:
                failures.append(f"{method} {path} as {caller.name}: {response.status_code}, expected {want}: {text[:200]}")
                continue
            if want >= 400:
                body = response.json()
                if set(body) != {"detail"} or not isinstance(body["detail"], str):
                    failures.append(f"{method} {path} as {caller.name}: a refusal with more than a detail: {text[:200]}")
                if SECRET in text or RUN_NAME in text:
                    failures.append(f"{method} {path} as {caller.name}: the refusal leaks data: {text[:200]}")
                if want == 401 and response.headers.get("www-authenticate", "").split()[0:1] != ["Bearer"]:
                    failures.append(f"{method} {path} as {caller.name}: 401 without WWW-Authenticate: Bearer")
            elif caller.bound and (SECRET in text or RUN_NAME in text or f'"{HIDDEN}"' in text):
                failures.append(f"{method} {path} as {caller.name}: the answer shows project {HIDDEN!r}: {text[:200]}")
    assert not failures, "\n".join(failures)


def test_a_bound_token_asking_to_list_another_project_is_refused(world: World) -> None:
    world.seed_run()
    bound = next(c for c in world.callers if c.bound)
    headers = {"Authorization": f"Bearer {bound.token}"}
    response = world.http.get("/api/v1/runs", params={"project": HIDDEN}, headers=headers)
    assert response.status_code == 403
    assert "bound to project 'other'" in response.json()["detail"]
    # Its own project lists normally, with its own runs only.
    mine = world.seed_run(project=OWN)
    listed = world.http.get("/api/v1/runs", headers=headers).json()
    assert [r["id"] for r in listed["runs"]] == [mine]


def test_a_bound_token_cannot_learn_where_a_taken_run_id_lives(world: World) -> None:
    run_id = world.seed_run()
    bound = next(c for c in world.callers if c.bound)
    response = world.http.post("/api/v1/runs", headers={"Authorization": f"Bearer {bound.token}"},
                               json={"project": OWN, "id": run_id})
    assert response.status_code == 409
    assert HIDDEN not in response.text and "is taken" in response.json()["detail"]


def _handshake_status(base: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with connect(ws_url(base), additional_headers=headers, open_timeout=10):
            return 101
    except InvalidStatus as refused:
        body = refused.response.body or b""
        assert SECRET.encode() not in body
        assert set(json.loads(body)) == {"detail"}
        return int(refused.response.status_code)


def test_the_websocket_answers_each_caller_as_its_scope_and_project_allow(world: World) -> None:
    for caller in world.callers:
        if caller.scope is None:
            assert _handshake_status(world.base, caller.token) == 401, caller.name
    run_id = world.seed_run()
    own_run = world.seed_run(project=OWN)
    sockets = {}
    for caller in world.callers:
        if caller.scope is None:
            continue
        client = LiveClient(world.base, headers={"Authorization": f"Bearer {caller.token}"})
        ack = client.subscribe(runs=[run_id, own_run] if caller.bound else [run_id], projects=[HIDDEN])
        sockets[caller.name] = (caller, client, ack)
    try:
        # New points of the hidden run, then (after every allowed socket has them) points of
        # the bound token's own run: a subscriber's data arrives in order, so the bound socket
        # getting the second without the first proves the first never reached it.
        world.ok(world.http.post(f"/api/v1/runs/{run_id}/points", headers=world.admin,
                                 json={"series": [{**_series("secret_loss"), "steps": [5], "values": [9.0], "times": [5.0]}]}))
        for caller, client, ack in sockets.values():
            if caller.bound:
                assert ack["runs"] == [own_run] and ack["projects"] == [] and run_id in ack["unknown_runs"]
                continue
            assert ack["runs"] == [run_id] and ack["projects"] == [HIDDEN]
            client.until(lambda ms: any(m["type"] == "points" and m["run_id"] == run_id for m in ms))
        world.ok(world.http.post(f"/api/v1/runs/{own_run}/points", headers=world.admin,
                                 json={"series": [{**_series("own_loss"), "steps": [5], "values": [1.0], "times": [5.0]}]}))
        caller, client, _ = sockets["write for another project"]
        client.until(lambda ms: any(m["type"] == "points" and m["run_id"] == own_run for m in ms))
        # Only its own subscribe echoed back (the ack, an error quoting the request) names the run.
        leaked = [m for m in client.messages if run_id in json.dumps(m) and m["type"] not in ("subscribed", "error")]
        assert leaked == [], leaked
        assert SECRET not in json.dumps(client.messages) and RUN_NAME not in json.dumps(client.messages)
        assert any(m["type"] == "error" and "bound to project" in m["detail"] for m in client.messages)
    finally:
        for _, client, _ in sockets.values():
            client.close()


def test_moving_a_run_needs_write_and_a_token_that_sees_both_projects(world: World) -> None:
    mine = world.seed_run(project=OWN)
    by = {c.name: c for c in world.callers}

    def move(caller: str, run_id: str, project: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {by[caller].token}"}
        return world.http.patch(f"/api/v1/runs/{run_id}", headers=headers, json={"project": project})

    assert move("read", mine, HIDDEN).status_code == 403
    refused = move("write for another project", mine, HIDDEN)
    assert refused.status_code == 403 and "bound to project 'other'" in refused.json()["detail"]
    # Into its own project from a hidden one: the hidden run does not exist for it.
    hidden = world.seed_run()
    assert move("write for another project", hidden, OWN).status_code == 404
    moved = move("write", mine, HIDDEN)
    assert moved.status_code == 200 and moved.json()["project"] == HIDDEN


def test_a_bound_admin_purges_and_lists_only_its_own_trash(world: World) -> None:
    bound_admin = world.make_token(f"admin-other-{uuid.uuid4().hex[:6]}", "admin", OWN)
    headers = {"Authorization": f"Bearer {bound_admin}"}
    hidden, mine = world.seed_run(), world.seed_run(project=OWN)
    world.ok(world.http.post("/api/v1/trash", headers=world.admin, json={"runs": [hidden]}))
    assert world.http.post("/api/v1/trash", headers=headers, json={"runs": [hidden]}).status_code == 404
    world.ok(world.http.post("/api/v1/trash", headers=headers, json={"runs": [mine]}))
    listed = world.ok(world.http.get("/api/v1/trash", headers=headers)).json()
    assert [r["id"] for r in listed["runs"]] == [mine]
    purged = world.ok(world.http.delete("/api/v1/trash", headers=headers)).json()
    assert purged == {"runs": [mine]}
    assert world.http.get(f"/api/v1/runs/{hidden}", headers=world.admin).status_code == 200
    assert world.http.delete(f"/api/v1/projects/{HIDDEN}", headers=headers).status_code == 404
