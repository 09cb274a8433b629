"""series ids are never reused; remove points and rollups left by deleted series

Before this revision, deleting a run removed its points and series but left its
point_rollups behind, and SQLite reused the highest series id for the next series, so a new
run could inherit a deleted run's rollups (issue 8). This revision deletes every point and
rollup whose series is gone and, on SQLite, rebuilds `series` with AUTOINCREMENT so an id is
never handed out twice (PostgreSQL's sequence already never reuses one).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _delete_orphans() -> None:
    for table in ("point_rollups", "points"):
        op.execute(f"DELETE FROM {table} WHERE series_id NOT IN (SELECT id FROM series)")


def upgrade() -> None:
    _delete_orphans()
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "series", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "series", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
