"""lab hosts: further Docker Engines labs are placed on, and the host each session lives on

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_host",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("docker_url", sa.String(), nullable=False),
        sa.Column("lab_pool", sa.String(), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("docker_url", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("lab_session") as batch_op:
        batch_op.drop_column("docker_url")
        batch_op.drop_column("host")
    op.drop_table("lab_host")
