"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "lab_session",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("candidate", sa.String(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "provisioning",
                "ready",
                "ending",
                "grading",
                "graded",
                "torn_down",
                "failed",
                name="state",
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("candidate_user", sa.String(), nullable=False),
        sa.Column("candidate_password", sa.String(), nullable=False),
        sa.Column("candidate_token_hash", sa.String(), nullable=False),
        sa.Column("grader_key", sa.String(), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("teardown_after", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lab_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lab_session_candidate_token_hash"),
            ["candidate_token_hash"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_lab_session_state"), ["state"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("admin", "examiner", "instructor", "candidate", name="role"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_name"), ["name"], unique=True)
        batch_op.create_index(batch_op.f("ix_user_token_hash"), ["token_hash"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "provisioning",
                "ready",
                "ending",
                "grading",
                "graded",
                "torn_down",
                "failed",
                name="state",
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["lab_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_session_id"), ["session_id"], unique=False)

    op.create_table(
        "result",
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("max_points", sa.Float(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["lab_session.id"],
        ),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:

    op.drop_table("result")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_session_id"))

    op.drop_table("event")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_token_hash"))
        batch_op.drop_index(batch_op.f("ix_user_name"))

    op.drop_table("user")
    with op.batch_alter_table("lab_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lab_session_state"))
        batch_op.drop_index(batch_op.f("ix_lab_session_candidate_token_hash"))

    op.drop_table("lab_session")
