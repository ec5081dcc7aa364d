"""incidents: nodes found down during an exam, and the time given back

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("down_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credited_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("credited_by", sa.String(), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(["session_id"], ["lab_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incident_session_id", "incident", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_session_id", "incident")
    op.drop_table("incident")
