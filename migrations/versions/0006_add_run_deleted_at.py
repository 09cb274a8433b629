"""add runs.deleted_at: the trash (issue 11: edit runs from the page)

A run in the trash keeps all its data and is hidden from listings until it is restored or
purged. Adding a nullable column is instant on both backends (no table rewrite).

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004_repair_run_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deleted_at")
