"""partition points by hash of series id on PostgreSQL (issue 13: PostgreSQL at team scale)

PostgreSQL only (SQLite keeps one table): `points` becomes a table partitioned by
`HASH (series_id)` into `point_partitions` partitions (`FITWATCH_POINT_PARTITIONS`, read
when this revision runs; default 16), named `points_p000`, `points_p001`, …. A read of one
series touches one partition; each partition's primary-key index stays a fraction of the
whole, and vacuum works partition by partition.

The rows are copied into the new table inside this revision's transaction: expect about the
time of one `INSERT … SELECT` of the whole table (tens of seconds per 10M points on a small
machine) and twice the disk space until the old table is dropped at the end. The downgrade
copies them back into one table.

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
# The lead re-chains this at merge (issue 13's brief: after 0003_add_tokens_and_sessions).
down_revision = "0007"
branch_labels = None
depends_on = None

DEFAULT_POINT_PARTITIONS = 16
_COLUMNS = "series_id, step, value, wall_time, epoch"
_DEFINITION = (
    "series_id INTEGER NOT NULL, step BIGINT NOT NULL, value DOUBLE PRECISION, "
    "wall_time DOUBLE PRECISION NOT NULL, epoch INTEGER, "
    "CONSTRAINT points_pkey PRIMARY KEY (series_id, step)"
)


def _partitions() -> int:
    count = op.get_context().config.attributes.get("point_partitions", DEFAULT_POINT_PARTITIONS)
    return int(count)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    count = _partitions()
    op.execute("ALTER TABLE points RENAME TO points_unpartitioned")
    op.execute(
        "ALTER TABLE points_unpartitioned RENAME CONSTRAINT points_pkey TO points_unpartitioned_pkey"
    )
    op.execute(f"CREATE TABLE points ({_DEFINITION}) PARTITION BY HASH (series_id)")
    for remainder in range(count):
        op.execute(
            f"CREATE TABLE points_p{remainder:03d} PARTITION OF points "
            f"FOR VALUES WITH (MODULUS {count}, REMAINDER {remainder})"
        )
    op.execute(f"INSERT INTO points ({_COLUMNS}) SELECT {_COLUMNS} FROM points_unpartitioned")
    op.execute("DROP TABLE points_unpartitioned")
    op.execute("ANALYZE points")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE points RENAME TO points_partitioned")
    op.execute(
        "ALTER TABLE points_partitioned RENAME CONSTRAINT points_pkey TO points_partitioned_pkey"
    )
    op.execute(f"CREATE TABLE points ({_DEFINITION})")
    op.execute(f"INSERT INTO points ({_COLUMNS}) SELECT {_COLUMNS} FROM points_partitioned")
    op.execute("DROP TABLE points_partitioned")  # drops its partitions too
