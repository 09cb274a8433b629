"""add project_layouts: a project's chart layout per page kind, saved on the server (issue 11)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "project_layouts",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("page", sa.String(length=16), nullable=False),
        sa.Column("document", JSONType, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # A deleted project takes its layouts with it (SQLite: the server turns foreign keys on).
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "page"),
    )


def downgrade() -> None:
    op.drop_table("project_layouts")
