"""Chart layouts saved per project and page kind (issue 11), on SQLite and PostgreSQL: read
back as saved, bounded, refused for unknown projects, gone with their project; the live side is in
tests/server/live/test_layouts_live.py."""

from __future__ import annotations

from fitwatch_server import schemas
from tests.helpers.factories import make_run

LAYOUT = "/api/v1/projects/{}/layout"


def test_a_saved_layout_reads_back_per_page_kind(client):
    make_run(client, project="digits")
    empty = client.get(LAYOUT.format("digits"), params={"page": "run"})
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "project": "digits",
        "page": "run",
        "order": [],
        "hidden": [],
        "updated_at": None,
    }

    saved = client.put(
        LAYOUT.format("digits"),
        params={"page": "run"},
        json={"order": ["accuracy", "loss"], "hidden": ["lr"]},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["updated_at"] is not None
    back = client.get(LAYOUT.format("digits")).json()  # page defaults to run
    assert (back["order"], back["hidden"]) == (["accuracy", "loss"], ["lr"])
    # The compare page's layout is its own.
    assert client.get(LAYOUT.format("digits"), params={"page": "compare"}).json()["order"] == []
    client.put(LAYOUT.format("digits"), params={"page": "compare"}, json={"order": ["val_loss"]})
    assert client.get(LAYOUT.format("digits"), params={"page": "compare"}).json()["order"] == [
        "val_loss"
    ]
    # A second save replaces the first whole.
    client.put(LAYOUT.format("digits"), json={"hidden": ["loss"]})
    again = client.get(LAYOUT.format("digits")).json()
    assert (again["order"], again["hidden"]) == ([], ["loss"])


def test_layouts_are_bounded_and_refused_with_a_message(client):
    make_run(client, project="digits")
    unknown = client.put(LAYOUT.format("nope"), json={"order": ["loss"]})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no project named 'nope'"
    assert client.get(LAYOUT.format("nope")).status_code == 404

    too_many = client.put(
        LAYOUT.format("digits"),
        json={"order": [f"m{i}" for i in range(schemas.MAX_LAYOUT_CHARTS + 1)]},
    )
    assert too_many.status_code == 422 and "at most 200" in too_many.text
    twice = client.put(LAYOUT.format("digits"), json={"order": ["loss", "loss"]})
    assert twice.status_code == 422 and "each chart may appear once" in twice.text
    extra = client.put(LAYOUT.format("digits"), json={"order": [], "charts": []})
    assert extra.status_code == 422
    bad_page = client.get(LAYOUT.format("digits"), params={"page": "runs"})
    assert bad_page.status_code == 422 and "'run' or 'compare'" in bad_page.text
    # 200 keys of 255 characters fit the count but not the size.
    large = client.put(
        LAYOUT.format("digits"), json={"order": [f"{i:03d}" + "k" * 252 for i in range(100)]}
    )
    assert large.status_code == 413
    assert f"at most {schemas.MAX_LAYOUT_BYTES} bytes" in large.json()["detail"]
    assert client.get(LAYOUT.format("digits")).json()["order"] == []  # nothing was stored


def test_a_deleted_project_takes_its_layouts_with_it(client, database_url):
    import sqlalchemy as sa

    make_run(client, project="gone")
    make_run(client, project="kept")
    for project in ("gone", "kept"):
        for page in ("run", "compare"):
            assert (
                client.put(
                    LAYOUT.format(project), params={"page": page}, json={"hidden": ["loss"]}
                ).status_code
                == 200
            )
    assert client.delete("/api/v1/projects/gone").status_code == 200
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT p.name, l.page FROM project_layouts l JOIN projects p ON p.id = l.project_id ORDER BY 1, 2"
                )
            ).all()
            orphans = conn.execute(
                sa.text(
                    "SELECT count(*) FROM project_layouts WHERE project_id NOT IN (SELECT id FROM projects)"
                )
            ).scalar()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("kept", "compare"), ("kept", "run")]
    assert orphans == 0
    # A new project of the same name starts with no layout.
    make_run(client, project="gone")
    assert client.get(LAYOUT.format("gone")).json()["hidden"] == []
