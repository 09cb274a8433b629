"""Bad ingest input gets a 4xx that says what to fix, and nothing is half-written."""

from __future__ import annotations

import pytest

from tests.helpers.factories import make_run, post_points, series_body


def post_raw(client, run_id, content, **headers):
    return client.post(
        f"/api/v1/runs/{run_id}/points",
        content=content,
        headers={"content-type": "application/json", **headers},
    )


def stored_series(client, run_id):
    return client.get(f"/api/v1/runs/{run_id}/series").json()["series"]


def test_malformed_json_is_422_and_says_so(client):
    run = make_run(client)
    response = post_raw(client, run["id"], b'{"series": [')
    assert response.status_code == 422
    assert "json" in response.text.lower()


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ({"key": "loss", "scope": "epoch", "steps": [0, 1], "values": [1.0], "times": [1.0, 2.0]},
         "same length"),
        ({"key": "loss", "scope": "epoch", "steps": [0], "values": [True], "times": [1.0]},
         "valid number"),
        ({"key": "loss", "scope": "epoch", "steps": [0], "values": ["1.5"], "times": [1.0]},
         "valid number"),
        ({"key": "loss", "scope": "epoch", "steps": [-1], "values": [1.0], "times": [1.0]},
         "greater than or equal to 0"),
        ({"key": "", "scope": "epoch", "steps": [0], "values": [1.0], "times": [1.0]},
         "at least 1 character"),
        ({"key": "x" * 256, "scope": "epoch", "steps": [0], "values": [1.0], "times": [1.0]},
         "at most 255 characters"),
        ({"key": "a\x00b", "scope": "epoch", "steps": [0], "values": [1.0], "times": [1.0]},
         "control characters"),
        ({"key": "loss", "scope": "weekly", "steps": [0], "values": [1.0], "times": [1.0]},
         "batch"),
        ({"key": "loss", "scope": "epoch", "steps": [], "values": [], "times": []},
         "at least one point"),
    ],
)
def test_invalid_series_rejects_the_whole_batch(client, series, message):
    run = make_run(client)
    good = series_body("acc", "epoch", [0], [0.5])
    response = client.post(f"/api/v1/runs/{run['id']}/points", json={"series": [good, series]})
    assert response.status_code == 422, response.text
    assert message in response.text
    assert stored_series(client, run["id"]) == []


def test_unknown_run_is_404(client):
    response = client.post("/api/v1/runs/missing/points",
                           json={"series": [series_body("loss", "epoch", [0], [1.0])]})
    assert response.status_code == 404
    assert response.json()["detail"] == "no run with id 'missing'"


def test_body_over_the_limit_is_413_and_stores_nothing(app, client):
    app.state.settings.max_body_bytes = 1000  # the middleware reads it at build time: rebuild
    from starlette.testclient import TestClient

    from fitwatch_server.app import create_app

    small = create_app(app.state.settings)
    with TestClient(small, base_url="http://localhost") as limited:
        run = make_run(limited)
        big = {"series": [series_body("loss", "epoch", list(range(200)), [1.0] * 200)]}
        response = limited.post(f"/api/v1/runs/{run['id']}/points", json=big)
        assert response.status_code == 413
        assert "limit is 1000 bytes" in response.json()["detail"]
        assert stored_series(limited, run["id"]) == []


def test_gzip_bomb_is_413_by_decoded_size(app):
    import gzip

    from starlette.testclient import TestClient

    from fitwatch_server.app import create_app

    app.state.settings.max_body_bytes = 10_000
    with TestClient(create_app(app.state.settings), base_url="http://localhost") as limited:
        run = make_run(limited)
        bomb = gzip.compress(b" " * 1_000_000)
        response = post_raw(limited, run["id"], bomb, **{"content-encoding": "gzip"})
        assert response.status_code == 413
        assert "decoded body" in response.json()["detail"]


def test_broken_gzip_is_400(client):
    run = make_run(client)
    response = post_raw(client, run["id"], b"not gzip", **{"content-encoding": "gzip"})
    assert response.status_code == 400
    assert "gzip" in response.json()["detail"]


def test_wrong_top_level_shape_is_422(client):
    run = make_run(client)
    response = post_raw(client, run["id"], b'[1, 2, 3]')
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"key": "loss", "scope": "epoch", "steps": [0], "values": [1.0], "times": [NaN]}',
         "finite number"),
        ('{"key": "loss", "scope": "epoch", "steps": [0], "values": [1.0], "times": [Infinity]}',
         "finite number"),
        # points.epoch is an INTEGER: 32 bits on PostgreSQL, so both backends take that range.
        ('{"key": "loss", "scope": "epoch", "steps": [0], "values": [1.0], "times": [1.0], '
         '"epochs": [2147483648]}', "less than or equal to 2147483647"),
        ('{"key": "loss", "scope": "epoch", "steps": [0], "values": [1.0], "times": [1.0], '
         '"epochs": [9223372036854775808]}', "less than or equal to 2147483647"),
        ('{"key": "loss", "scope": "batch", "steps": [9223372036854775808], "values": [1.0], '
         '"times": [1.0]}', "less than or equal to"),
    ],
)
def test_values_outside_a_columns_range_are_422_and_nothing_is_stored(client, body, message):
    run = make_run(client)
    good = '{"key": "acc", "scope": "epoch", "steps": [0], "values": [0.5], "times": [1.0]}'
    response = post_raw(client, run["id"], f'{{"series": [{good}, {body}]}}'.encode())
    assert response.status_code == 422, response.text
    assert message in response.text
    assert stored_series(client, run["id"]) == []
    # The largest values that fit are stored and read back.
    post_raw(client, run["id"], b'{"series": [{"key": "loss", "scope": "batch", "steps": [0], '
             b'"values": [1.0], "times": [1.0], "epochs": [2147483647]}]}')
    read = client.get(f"/api/v1/runs/{run['id']}/series/loss", params={"scope": "batch"}).json()
    assert read["epochs"] == [2147483647]


@pytest.mark.parametrize("param", ["start", "end"])
def test_a_step_bound_beyond_bigint_is_422(client, param):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", [0], [1.0]))
    path = f"/api/v1/runs/{run['id']}/series/loss"
    response = client.get(path, params={"scope": "epoch", param: str(2**63)})
    assert response.status_code == 422, response.text
    assert "less than or equal to 9223372036854775807" in response.text
    assert client.get(path, params={"scope": "epoch", param: str(2**63 - 1)}).status_code == 200
