"""Transactional outbox of domain events: event_delivery

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", AutoString(), nullable=False),
        sa.Column("subscriber", AutoString(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("group_key", AutoString(), nullable=False),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", AutoString(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key", "subscriber", name="uq_event_delivery"),
    )
    with op.batch_alter_table("event_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_delivery_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_event_delivery_group_key"), ["group_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_event_delivery_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_delivery_status"))
        batch_op.drop_index(batch_op.f("ix_event_delivery_group_key"))
        batch_op.drop_index(batch_op.f("ix_event_delivery_due_at"))
    op.drop_table("event_delivery")
