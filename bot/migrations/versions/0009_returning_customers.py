"""Returning customers: conversation.returning_of, returning_asked_at, follow_up

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # All nullable: conversations from before the feature were never asked, and the
    # previous release keeps writing rows without them during a rolling upgrade.
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returning_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("returning_asked_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("follow_up", sa.Boolean(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_conversation_returning_of"), ["returning_of"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_conversation_returning_of", "conversation", ["returning_of"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversation_returning_of", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_conversation_returning_of"))
        batch_op.drop_column("follow_up")
        batch_op.drop_column("returning_asked_at")
        batch_op.drop_column("returning_of")
