"""`GET /api/v1/runs?group_by=` (issue 11: mean ± std of a column in the runs table), on SQLite
and PostgreSQL: the runs come with the groups the bands would make of them, and only when
the page holds every run the filter matches (a group's figures must cover all its runs)."""

from __future__ import annotations

from tests.helpers.factories import make_run


def _seed(client) -> dict[tuple[float, int], str]:  # type: ignore[no-untyped-def]
    return {
        (lr, seed): make_run(client, name=f"lr{lr}-s{seed}", config={"lr": lr, "seed": seed})["id"]
        for lr in (0.01, 0.1)
        for seed in (0, 1, 2)
    }


def test_runs_come_with_their_groups(client):
    ids = _seed(client)
    make_run(client, project="elsewhere", config={"lr": 0.01, "seed": 0})
    body = client.get(
        "/api/v1/runs", params={"project": "test", "group_by": "config.lr", "limit": 1000}
    ).json()
    assert body["total"] == 6 and len(body["runs"]) == 6 and body["group_by"] == ["config.lr"]
    groups = {g["label"]: (g["values"], sorted(g["run_ids"])) for g in body["groups"]}
    assert groups == {
        "config.lr=0.01": ({"config.lr": 0.01}, sorted(ids[(0.01, s)] for s in range(3))),
        "config.lr=0.1": ({"config.lr": 0.1}, sorted(ids[(0.1, s)] for s in range(3))),
    }
    # The bands' other form: everything but the seed.
    seeds = client.get(
        "/api/v1/runs", params={"project": "test", "group_by": "-config.seed", "limit": 1000}
    ).json()
    assert sorted(len(g["run_ids"]) for g in seeds["groups"]) == [3, 3]
    # Filtered: groups of the matching runs only.
    some = client.get(
        "/api/v1/runs",
        params={
            "project": "test",
            "filter": "config.seed < 2",
            "group_by": "config.lr",
            "limit": 1000,
        },
    ).json()
    assert sorted(len(g["run_ids"]) for g in some["groups"]) == [2, 2]
    # Without group_by the answer is as it always was.
    assert set(client.get("/api/v1/runs", params={"project": "test"}).json()) == {"runs", "total"}


def test_grouping_needs_every_matching_run_in_the_page(client):
    _seed(client)
    short = client.get(
        "/api/v1/runs", params={"project": "test", "group_by": "config.lr", "limit": 5}
    )
    assert short.status_code == 400
    assert "the filter matches 6 runs, this page holds 5 from offset 0" in short.json()["detail"]
    later = client.get(
        "/api/v1/runs",
        params={"project": "test", "group_by": "config.lr", "limit": 10, "offset": 1},
    )
    assert later.status_code == 400 and "from offset 1" in later.json()["detail"]
    bad = client.get(
        "/api/v1/runs", params={"project": "test", "group_by": "config.lr,-config.seed"}
    )
    assert bad.status_code == 400 and "group_by either names" in bad.json()["detail"]
