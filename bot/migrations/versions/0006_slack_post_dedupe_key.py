"""Daily digest: slack_post.dedupe_key (unique), slack_post.conversation_id nullable

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:30:56.793058
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slack_post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", AutoString(), nullable=True))
        batch_op.alter_column("conversation_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_unique_constraint("uq_slack_post_dedupe_key", ["dedupe_key"])


def downgrade() -> None:
    # Digest posts belong to no conversation; the older schema cannot hold them.
    op.execute("DELETE FROM slack_post WHERE conversation_id IS NULL")
    with op.batch_alter_table("slack_post", schema=None) as batch_op:
        batch_op.drop_constraint("uq_slack_post_dedupe_key", type_="unique")
        batch_op.alter_column("conversation_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("dedupe_key")
