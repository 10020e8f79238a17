"""labelling: queues of items to label and the labels people gave

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_queues",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("rubric_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("rubric_path", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rubric_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("template_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("for_record", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("overlap", sa.Float(), nullable=False),
        sa.Column("items_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("annotators_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("admin_token_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("plan_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(op.f("ix_label_queues_rubric_name"), "label_queues", ["rubric_name"], unique=False)
    op.create_table(
        "labels",
        sa.Column("queue_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_id", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("annotator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("failure_modes_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rubric_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("item_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["label_queues.id"]),
        sa.PrimaryKeyConstraint("queue_id", "item_id", "annotator"),
    )
    op.create_index(op.f("ix_labels_updated_at"), "labels", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_labels_updated_at"), table_name="labels")
    op.drop_table("labels")
    op.drop_index(op.f("ix_label_queues_rubric_name"), table_name="label_queues")
    op.drop_table("label_queues")
