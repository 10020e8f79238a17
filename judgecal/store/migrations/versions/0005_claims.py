"""durability and claims: which process owns a run (and its heartbeat), and claimed units

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table(
        "claims",
        sa.Column("cache_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cache_key"),
    )
    op.create_index(op.f("ix_claims_owner"), "claims", ["owner"], unique=False)
    op.create_index(op.f("ix_claims_expires_at"), "claims", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_claims_expires_at"), table_name="claims")
    op.drop_index(op.f("ix_claims_owner"), table_name="claims")
    op.drop_table("claims")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker")
