"""Web chat sessions expire: chat_session.expires_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.clock import utc_now

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default HELPDESK_CHAT_SESSION_DAYS at the time of this migration, written here and
# not imported: a migration must do the same thing whenever it runs. A server set to
# another lifetime moves each session's expiry to it on the session's next use.
EXISTING_SESSION_DAYS = 30


def upgrade() -> None:
    # Nullable: during a rolling upgrade the previous release keeps creating sessions
    # without it; the new code counts those from their created_at.
    with op.batch_alter_table("chat_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    # Sessions from before expiry existed count from now: none is cut off by the upgrade,
    # and one that is never used again dies in EXISTING_SESSION_DAYS.
    chat_session = sa.table("chat_session", sa.column("expires_at", UTCDateTime()))
    op.execute(
        chat_session.update().values(expires_at=utc_now() + timedelta(days=EXISTING_SESSION_DAYS))
    )


def downgrade() -> None:
    with op.batch_alter_table("chat_session", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
