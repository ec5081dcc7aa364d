"""sittings: an exam day's candidates and codes; a sitting's sessions start at its time

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sitting",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("scenario_version", sa.String(), nullable=False, server_default=""),
        sa.Column("room", sa.String(), nullable=False, server_default=""),
        sa.Column("starts_at", _WHEN, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("start_mode", sa.String(), nullable=False, server_default="scheduled"),
        sa.Column("window_minutes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(), nullable=False, server_default="planned"),
        sa.Column("created_by", sa.String(), nullable=False, server_default=""),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("started_at", _WHEN, nullable=True),
        sa.Column("cancelled_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sitting_state", "sitting", ["state"])
    op.create_table(
        "sitting_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.String(), nullable=False),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False, server_default=""),
        sa.Column("exam_code", sa.String(), nullable=False, server_default=""),
        sa.Column("exam_code_hash", sa.String(), nullable=False, server_default=""),
        sa.Column("session_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["sitting_id"], ["sitting.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["lab_session.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sitting_id", "number"),
    )
    op.create_index("ix_sitting_candidate_sitting_id", "sitting_candidate", ["sitting_id"])
    op.create_index("ix_sitting_candidate_exam_code_hash", "sitting_candidate", ["exam_code_hash"])
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.add_column(sa.Column("sitting_id", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("starts_at", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("minutes", sa.Integer(), nullable=True))
        batch_op.create_index("ix_lab_session_sitting_id", ["sitting_id"])


def downgrade() -> None:
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.drop_index("ix_lab_session_sitting_id")
        batch_op.drop_column("minutes")
        batch_op.drop_column("starts_at")
        batch_op.drop_column("sitting_id")
    op.drop_index("ix_sitting_candidate_exam_code_hash", "sitting_candidate")
    op.drop_index("ix_sitting_candidate_sitting_id", "sitting_candidate")
    op.drop_table("sitting_candidate")
    op.drop_index("ix_sitting_state", "sitting")
    op.drop_table("sitting")
