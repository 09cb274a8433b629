"""add run_metrics: the metric manifest the Keras callback sends (issue 11)

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_metrics",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("metric", sa.String(length=255), nullable=True),
        sa.Column("canonical", sa.String(length=255), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("aggregation", sa.String(length=8), nullable=True),
        sa.Column("output", sa.String(length=255), nullable=True),
        sa.Column("pair", sa.String(length=255), nullable=True),
        sa.Column("validation", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("run_metrics")
