"""browser sign-in: staff passwords, candidate exam codes, logins

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROLE = sa.Enum("admin", "examiner", "instructor", "candidate", name="role")


def upgrade() -> None:
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(), nullable=True))
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.add_column(
            sa.Column("exam_code_hash", sa.String(), nullable=False, server_default="")
        )
        batch_op.create_index("ix_lab_session_exam_code_hash", ["exam_code_hash"])
    op.create_table(
        "login",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("role", ROLE, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("login")
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.drop_index("ix_lab_session_exam_code_hash")
        batch_op.drop_column("exam_code_hash")
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("password_hash")
