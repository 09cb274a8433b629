"""Concurrent writes against real server processes: nothing acknowledged is hidden or lost,
and the derived state equals a scan of the points (issue 8).

Each test releases its requests at the same moment (`together`) from separate keep-alive
clients, as the SDK's retries and several runs do, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.consistency import inconsistencies, together
from tests.helpers.factories import series_body
from tests.helpers.server import ServerProcess


@pytest.fixture
def server(database_url: str, server_process: type[ServerProcess]) -> ServerProcess:
    return server_process(database_url).start()


def _create_run(url: str, **fields: object) -> str:
    response = httpx.post(f"{url}/api/v1/runs", json={"project": "race", **fields}, timeout=30)
    assert response.status_code in (200, 201), response.text
    run_id: str = response.json()["id"]
    return run_id


def _post(client: httpx.Client, url: str, run_id: str, *series: dict[str, object]) -> httpx.Response:
    return client.post(f"{url}/api/v1/runs/{run_id}/points", json={"series": list(series)})


def _summary(url: str, run_id: str, key: str, scope: str) -> dict[str, object]:
    series = httpx.get(f"{url}/api/v1/runs/{run_id}/series", timeout=30).json()["series"]
    (found,) = [s for s in series if s["key"] == key and s["scope"] == scope]
    return found


def _steps(url: str, run_id: str, key: str, scope: str) -> list[int]:
    response = httpx.get(f"{url}/api/v1/runs/{run_id}/series/{key}", params={"scope": scope}, timeout=30)
    assert response.status_code == 200, response.text
    steps: list[int] = response.json()["steps"]
    return steps


def _clients(n: int) -> list[httpx.Client]:
    return [httpx.Client(timeout=60) for _ in range(n)]


def test_two_simultaneous_appends_to_one_series_are_both_readable(server, database_url):
    url = server.url
    clients = _clients(2)
    run_ids = []
    try:
        for _ in range(10):
            run_id = _create_run(url)
            run_ids.append(run_id)
            first = _post(clients[0], url, run_id, series_body("loss", "batch", [0], [1.0]))
            assert first.status_code == 200, first.text
            halves = [list(range(1, 101)), list(range(101, 201))]
            responses = together([
                lambda c=c, steps=steps, r=run_id: _post(
                    c, url, r, series_body("loss", "batch", steps, [0.5] * len(steps))
                )
                for c, steps in zip(clients, halves, strict=True)
            ])
            assert [r.status_code for r in responses] == [200, 200]
            summary = _summary(url, run_id, "loss", "batch")
            assert (summary["count"], summary["last_step"]) == (201, 200)
            assert _steps(url, run_id, "loss", "batch") == list(range(201))
    finally:
        for client in clients:
            client.close()
    assert inconsistencies(database_url, run_ids) == {}


def test_twenty_clients_writing_one_run_lose_nothing(server, database_url):
    url = server.url
    run_id = _create_run(url)
    clients = _clients(20)
    try:
        for round_ in range(3):
            calls = []
            for i, client in enumerate(clients):
                steps = list(range((round_ * 20 + i) * 50, (round_ * 20 + i + 1) * 50))
                calls.append(lambda c=client, s=steps, i=i, k=round_: _post(
                    c, url, run_id,
                    series_body("loss", "batch", s, [float(i + v % 7) for v in s]),
                    series_body(f"metric_{i % 5}", "epoch", [k * 20 + i], [float(i)]),
                ))
            responses = together(calls)
            assert {r.status_code for r in responses} == {200}
    finally:
        for client in clients:
            client.close()
    assert _steps(url, run_id, "loss", "batch") == list(range(3000))
    assert _summary(url, run_id, "loss", "batch")["count"] == 3000
    assert inconsistencies(database_url, [run_id]) == {}


def test_simultaneous_overwrites_leave_one_writers_value_and_a_true_summary(server, database_url):
    url = server.url
    run_id = _create_run(url)
    clients = _clients(10)
    try:
        # Every client writes the same steps with its own value (a retry racing the original
        # with different content is the worst case), and appends a range of its own.
        responses = together([
            lambda c=c, i=i: _post(
                c, url, run_id,
                series_body("loss", "batch", list(range(100)), [float(i)] * 100),
                series_body("loss", "batch", list(range(1000 + i * 10, 1010 + i * 10)), [-float(i)] * 10),
            )
            for i, c in enumerate(clients)
        ])
        assert {r.status_code for r in responses} == {200}
    finally:
        for client in clients:
            client.close()
    points = httpx.get(f"{url}/api/v1/runs/{run_id}/series/loss", params={"scope": "batch"}, timeout=30).json()
    assert points["steps"][:100] == list(range(100))
    assert all(v in {float(i) for i in range(10)} for v in points["values"][:100])
    assert len(points["steps"]) == 200
    assert inconsistencies(database_url, [run_id]) == {}


def test_simultaneous_creates_in_a_new_project_all_succeed(server):
    url = server.url
    responses = together([
        lambda n=n: httpx.post(
            f"{url}/api/v1/runs", json={"project": "brand-new", "name": f"r{n}"}, timeout=60
        )
        for n in range(20)
    ])
    assert [r.status_code for r in responses] == [201] * 20
    projects = httpx.get(f"{url}/api/v1/projects", timeout=30).json()["projects"]
    assert [(p["name"], p["run_count"]) for p in projects] == [("brand-new", 20)]


def test_simultaneous_creates_of_one_client_id_make_one_run(server):
    url = server.url
    responses = together([
        lambda: httpx.post(
            f"{url}/api/v1/runs", json={"project": "p", "id": "same-id", "name": "x"}, timeout=60
        )
        for _ in range(10)
    ])
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert {r.json()["id"] for r in responses} == {"same-id"}
    assert httpx.get(f"{url}/api/v1/runs", timeout=30).json()["total"] == 1


def test_simultaneous_first_writes_to_a_new_series_all_succeed(server, database_url):
    url = server.url
    run_id = _create_run(url)
    clients = _clients(20)
    try:
        responses = together([
            lambda c=c, i=i: _post(c, url, run_id, series_body("fresh", "epoch", [i], [float(i)]))
            for i, c in enumerate(clients)
        ])
    finally:
        for client in clients:
            client.close()
    assert [r.status_code for r in responses] == [200] * 20
    assert _steps(url, run_id, "fresh", "epoch") == list(range(20))
    assert inconsistencies(database_url, [run_id]) == {}


def test_two_server_processes_writing_one_series_agree(database_url, server_process):
    """Two processes on one database (PostgreSQL for a team; SQLite too, serialised by its
    write lock) append and overwrite the same series at the same time."""
    servers = [server_process(database_url).start(), server_process(database_url).start()]
    run_id = _create_run(servers[0].url)
    clients = _clients(8)
    try:
        for round_ in range(5):
            calls = []
            for i, client in enumerate(clients):
                url = servers[i % 2].url
                steps = list(range((round_ * 8 + i) * 25, (round_ * 8 + i + 1) * 25))
                calls.append(lambda c=client, u=url, s=steps, i=i, k=round_: _post(
                    c, u, run_id,
                    series_body("loss", "batch", s, [float(i)] * len(s)),
                    series_body("loss", "batch", [0, 1, 2], [float(k * 10 + i)] * 3),
                ))
            responses = together(calls)
            assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    finally:
        for client in clients:
            client.close()
    for server in servers:
        assert _steps(server.url, run_id, "loss", "batch") == list(range(1000))
    assert inconsistencies(database_url, [run_id]) == {}


def test_token_and_session_writes_beside_a_busy_ingest_all_succeed(
    database_url: str, server_process: type[ServerProcess]
) -> None:
    # A revoke reads the token, then writes. On SQLite a transaction that began DEFERRED
    # cannot upgrade after another connection committed in between, and fails at once with
    # "database is locked" (a 503) while a run writes: seen when revoking a run's token.
    import threading

    admin = "conc-admin-" + "c" * 40
    limits_off = {"FITWATCH_RATE_LIMIT_PER_S": "0"}  # the ingest threads go as fast as they can
    server = server_process(
        database_url, env={"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": admin, **limits_off}
    ).start()
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as api:
        writer = api.post("/tokens", json={"name": "writer", "scope": "write"}).json()["token"]
        run_id = api.post("/runs", json={"project": "race"}, headers={"Authorization": f"Bearer {writer}"}).json()["id"]
        stop = threading.Event()
        ingest_failures: list[int] = []

        def ingest() -> None:
            with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {writer}"}) as client:
                step = 0
                while not stop.is_set():
                    steps = list(range(step, step + 5))
                    answer = _post(client, server.url, run_id, series_body("loss", "batch", steps, [1.0] * 5))
                    if answer.status_code != 200:
                        ingest_failures.append(answer.status_code)
                    step += 5

        threads = [threading.Thread(target=ingest) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            answers = []
            for n in range(15):
                made = api.post("/tokens", json={"name": f"t{n}", "scope": "read"})
                answers.append(made)
                if made.status_code != 201:
                    continue
                token = made.json()["token"]
                signed_in = httpx.post(
                    f"{server.url}/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"}, timeout=60
                )
                answers.append(signed_in)
                answers.append(api.delete(f"/tokens/{made.json()['id']}"))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    assert [(a.request.method, a.status_code) for a in answers if a.status_code >= 300] == []
    assert ingest_failures == []


def test_simultaneous_summary_and_config_merges_keep_every_key(server, database_url):
    # Each PATCH merged into the documents it had read; on PostgreSQL two at once both
    # answered 200 and the later commit dropped the earlier one's keys.
    url = server.url
    run_id = _create_run(url)
    clients = _clients(12)
    try:
        answers = together(
            [
                (lambda c=c, i=i: c.patch(
                    f"{url}/api/v1/runs/{run_id}",
                    json={"summary": {f"s{i}": i}, "config": {f"c{i}": i}},
                ))
                for i, c in enumerate(clients)
            ]
        )
    finally:
        for client in clients:
            client.close()
    assert [a.status_code for a in answers] == [200] * len(clients)
    run = httpx.get(f"{url}/api/v1/runs/{run_id}", timeout=30).json()
    assert run["summary"] == {f"s{i}": i for i in range(len(clients))}
    assert {f"c{i}": i for i in range(len(clients))}.items() <= run["config"].items()
