"""comparisons (judgecal compare)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comparisons",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("rubric_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("record_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_comparisons_created_at"), "comparisons", ["created_at"], unique=False)
    op.create_index(op.f("ix_comparisons_rubric_name"), "comparisons", ["rubric_name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_comparisons_rubric_name"), table_name="comparisons")
    op.drop_index(op.f("ix_comparisons_created_at"), table_name="comparisons")
    op.drop_table("comparisons")
