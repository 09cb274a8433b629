"""point_rollups leaves room on each page for updates (fillfactor 70, PostgreSQL; issue 13)

Every ingest updates the rollup rows of each series' latest buckets (~300 rows per
10,000-point batch), rows that sit on the pages new rollup rows have just filled. With full
pages each update is a new row version elsewhere plus a new index entry; with room on the
page it is a heap-only (HOT) update: no index entry, about half the WAL records of the merge
(docs/scale.md). Applies to pages written from now on; SQLite has no such setting.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FILLFACTOR = 70


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE point_rollups SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE point_rollups RESET (fillfactor)")
