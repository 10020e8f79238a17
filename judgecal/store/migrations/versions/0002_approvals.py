"""approval records (certificates)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("rubric_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("rubric_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("template_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("gold_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("split_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("policy_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("record_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_approvals_created_at"), "approvals", ["created_at"], unique=False)
    op.create_index(op.f("ix_approvals_rubric_name"), "approvals", ["rubric_name"], unique=False)
    op.create_index(op.f("ix_approvals_model"), "approvals", ["model"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_approvals_model"), table_name="approvals")
    op.drop_index(op.f("ix_approvals_rubric_name"), table_name="approvals")
    op.drop_index(op.f("ix_approvals_created_at"), table_name="approvals")
    op.drop_table("approvals")
