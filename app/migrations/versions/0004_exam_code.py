"""exam codes kept for staff: shown again, reissued

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.add_column(sa.Column("exam_code", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.drop_column("exam_code")
