"""PostgreSQL as the models: sitting's state and start mode as the enum types the models
declare, and the audit log's refusal an integrity error

0007 made the sitting's columns VARCHAR; the models declare StrEnums, which are enum types on
PostgreSQL (as lab_session.state is since 0001) and plain text on SQLite. 0002's trigger raised
PostgreSQL's generic P0001, which reaches the code as a ProgrammingError; SQLite's
RAISE(ABORT) is an IntegrityError, as a refused write is. Nothing changes on SQLite.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# column: (its type's name, the values, the default), as the models have them at 0009
ENUMS = {
    "state": ("sittingstate", ("planned", "started", "cancelled"), "planned"),
    "start_mode": ("startmode", ("scheduled", "first_sign_in"), "scheduled"),
}
REFUSAL = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = '{code}'; "
    "END $$ LANGUAGE plpgsql"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, (name, values, default) in ENUMS.items():
        # checkfirst: a restore of an older backup (pg_restore --clean) drops only what its
        # dump holds, and leaves these types behind.
        postgresql.ENUM(*values, name=name).create(op.get_bind(), checkfirst=True)
        _retype(column, name, default)
    op.execute(REFUSAL.format(code="integrity_constraint_violation"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(REFUSAL.format(code="raise_exception"))
    for column, (name, _, default) in ENUMS.items():
        _retype(column, "varchar", default)
        op.execute(f"DROP TYPE {name}")


def _retype(column: str, to: str, default: str) -> None:
    # The default is typed too: off while the column changes type, then back in the new one.
    op.execute(f"ALTER TABLE sitting ALTER COLUMN {column} DROP DEFAULT")
    op.execute(f"ALTER TABLE sitting ALTER COLUMN {column} TYPE {to} USING {column}::text::{to}")
    op.execute(f"ALTER TABLE sitting ALTER COLUMN {column} SET DEFAULT '{default}'")
