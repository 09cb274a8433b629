"""Series reads: ranges, downsampling (extremes, first/last, NaN kept), several runs, export."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from tests.helpers.factories import make_run, post_points, series_body


def post_long_series(client, run_id, values, key="loss", scope="batch", chunk=20_000):
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        steps = list(range(start, start + len(part)))
        post_points(client, run_id, series_body(key, scope, steps, part, epochs=[s // 1000 for s in steps]))


def test_start_and_end_bound_the_steps(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", list(range(10)), [float(i) for i in range(10)]))
    points = client.get(f"/api/v1/runs/{run['id']}/series/loss", params={"start": 3, "end": 5}).json()
    assert points["steps"] == [3, 4, 5]
    assert points["count"] == 10 and points["downsampled"] is False


@pytest.mark.parametrize("length", [5_000, 150_000])
def test_downsampling_keeps_first_last_extremes_and_nan(client, length):
    """5,000 points go through raw MinMaxLTTB; 150,000 through the rollups."""
    run = make_run(client)
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(0, 1, length))
    values[length // 3] = 1e6  # a spike
    values[length // 2] = -1e6  # a dip
    values = values.tolist()
    values[2 * length // 3] = "NaN"
    values[2 * length // 3 + 7] = "Infinity"
    post_long_series(client, run["id"], values)
    points = client.get(
        f"/api/v1/runs/{run['id']}/series/loss", params={"scope": "batch", "max_points": 500}
    ).json()
    assert points["downsampled"] is True
    assert len(points["steps"]) <= 520
    assert points["steps"] == sorted(points["steps"])
    assert points["steps"][0] == 0 and points["steps"][-1] == length - 1
    kept = dict(zip(points["steps"], points["values"], strict=True))
    assert kept[length // 3] == 1e6 and kept[length // 2] == -1e6
    assert kept[2 * length // 3] == "NaN"
    assert kept[2 * length // 3 + 7] == "Infinity"
    # Every returned point is a real stored point with its own time and epoch.
    for step, value in zip(points["steps"], points["values"], strict=True):
        original = values[step]
        assert value == original or (isinstance(value, float) and math.isclose(value, original))
    assert all(e == s // 1000 for s, e in zip(points["steps"], points["epochs"], strict=True))


def test_rollups_follow_overwrites(client):
    run = make_run(client)
    post_long_series(client, run["id"], [1.0] * 100_000)
    post_points(client, run["id"], series_body("loss", "batch", [70_000], [-5.0], epochs=[70]))
    points = client.get(
        f"/api/v1/runs/{run['id']}/series/loss", params={"scope": "batch", "max_points": 300}
    ).json()
    assert dict(zip(points["steps"], points["values"], strict=True))[70_000] == -5.0
    (summary,) = client.get(f"/api/v1/runs/{run['id']}/series").json()["series"]
    assert (summary["count"], summary["min_value"], summary["min_step"]) == (100_000, -5.0, 70_000)


def test_several_runs_in_one_call_share_step_buckets(client):
    a, b = make_run(client, name="a"), make_run(client, name="b")
    post_long_series(client, a["id"], np.sin(np.arange(20_000) / 100).tolist())
    post_long_series(client, b["id"], np.cos(np.arange(10_000) / 100).tolist())
    response = client.get(
        "/api/v1/series",
        params={"runs": f"{a['id']},{b['id']}", "keys": "loss,missing", "scope": "batch", "max_points": 400},
    ).json()
    by_run = {s["run_id"]: s for s in response["series"]}
    assert list(by_run) == [a["id"], b["id"]]
    # b covers half the step range, so it gets about half the points: the same step width.
    assert 150 <= len(by_run[b["id"]]["steps"]) <= 260 < len(by_run[a["id"]]["steps"]) <= 420


def test_several_runs_without_keys_read_every_key_of_the_scope(client):
    """The compare page asks before it knows the keys (issue 11): no `keys` is every key the
    runs logged in the scope, runs in the order asked, keys in key order, the same points."""
    a, b = make_run(client, name="a"), make_run(client, name="b")
    post_points(client, a["id"], series_body("loss", "batch", [0, 1, 2], [3.0, 2.0, 1.0]))
    post_points(client, a["id"], series_body("acc", "batch", [0, 1, 2], [0.1, 0.2, 0.3]))
    post_points(client, a["id"], series_body("val_loss", "epoch", [0], [2.5]))
    post_points(client, b["id"], series_body("loss", "batch", [0, 1], [4.0, 3.5]))
    params = {"runs": f"{b['id']},{a['id']}", "scope": "batch", "max_points": 400}
    every = client.get("/api/v1/series", params=params).json()["series"]
    assert [(s["run_id"], s["key"]) for s in every] == [(b["id"], "loss"), (a["id"], "acc"), (a["id"], "loss")]
    named = client.get("/api/v1/series", params={**params, "keys": "acc,loss"}).json()["series"]
    assert sorted(every, key=lambda s: (s["run_id"], s["key"])) == sorted(
        named, key=lambda s: (s["run_id"], s["key"])
    )


def test_several_runs_with_an_unknown_run_is_404(client):
    a = make_run(client)
    response = client.get("/api/v1/series", params={"runs": f"{a['id']},nope", "keys": "loss"})
    assert response.status_code == 404


def test_unknown_series_is_404(client):
    run = make_run(client)
    response = client.get(f"/api/v1/runs/{run['id']}/series/loss")
    assert response.status_code == 404
    assert "no series 'loss' in scope 'epoch'" in response.json()["detail"]


def test_export_csv_has_every_point(client):
    run = make_run(client)
    post_long_series(client, run["id"], [float(i) for i in range(25_000)])
    post_points(client, run["id"], series_body("val_loss", "epoch", [0, 1], ["NaN", 0.5]))
    response = client.get(f"/api/v1/runs/{run['id']}/export", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 25_002
    loss = [r for r in rows if r["key"] == "loss"]
    assert [int(r["step"]) for r in loss] == list(range(25_000))
    assert float(loss[-1]["value"]) == 24_999.0 and loss[-1]["epoch"] == "24"
    assert [r["value"] for r in rows if r["key"] == "val_loss"] == ["NaN", "0.5"]


def test_export_json_matches_the_series(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", [0, 1], [1.0, "-Infinity"]))
    exported = client.get(f"/api/v1/runs/{run['id']}/export", params={"format": "json"}).json()
    assert exported["run"]["id"] == run["id"]
    assert [(p["step"], p["value"]) for p in exported["points"]] == [(0, 1.0), (1, "-Infinity")]
