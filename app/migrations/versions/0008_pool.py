"""pool: labs made ahead, no one's until handed out

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.add_column(
            sa.Column("pooled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_lab_session_pooled", ["pooled"])


def downgrade() -> None:
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.drop_index("ix_lab_session_pooled")
        batch_op.drop_column("pooled")
