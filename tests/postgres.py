"""Fresh PostgreSQL databases for the tests: one template migrated per run, copied per test
(a copy takes a fifth of a second, the migrations a second), emptied after each test.

The server is PRAXIS_TEST_POSTGRES_URL's, else the one scripts/postgres.sh made for the platform
(its URL in /etc/praxis/postgres.env). Its role needs CREATEDB.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)
from app.db import make_engine, migrate

APPEND_ONLY = "audit_log_append_only"  # the audit log's trigger (migration 0002)
ENV_FILE = Path(os.environ.get("PRAXIS_POSTGRES_ENV", "/etc/praxis/postgres.env"))


def server_url() -> str | None:
    """The test server's URL, or None when none is configured."""
    if url := os.environ.get("PRAXIS_TEST_POSTGRES_URL"):
        return url
    try:
        lines = ENV_FILE.read_text().splitlines()
    except OSError:
        return None
    return next(
        (v for k, _, v in (ln.partition("=") for ln in lines) if k == "PRAXIS_DATABASE_URL"), None
    )


def reachable(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        with _admin(make_url(url)):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


class Url(str):
    """A database URL whose repr hides its password: pytest prints fixture values in failures."""

    def __repr__(self) -> str:
        return repr(make_url(str(self)).render_as_string(hide_password=True))


class Databases:
    """Databases made for this run, named after the process: two runs never share one.

    A test's database is emptied afterwards and handed to the next test, not dropped: on this
    server a DROP DATABASE costs ~0.9 s (it syncs to disk), emptying ~0.05 s.
    """

    def __init__(self, url: str) -> None:
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.prefix = f"praxis_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._made: list[str] = []
        self._idle: list[str] = []

    def fresh(self) -> str:
        """The URL of a database with the schema at head and only what the migrations put in
        (a new instance id)."""
        if not self._idle:
            if not self._made:
                self._make_template()
            name = f"{self.prefix}_{len(self._made)}"
            self._execute(self.url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            self._made.append(name)
            self._idle.append(name)
        return Url(self.url.set(database=self._idle.pop()).render_as_string(hide_password=False))

    def release(self, url: str) -> None:
        """Empty the database a test used, for the next one."""
        name = make_url(url).database
        assert name in self._made, name  # never another's database
        _empty(self.url.set(database=name))
        self._idle.append(name)

    def close(self) -> None:
        for name in reversed(self._made):
            self._execute(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _make_template(self) -> None:
        self._execute(self.url, f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._execute(self.url, f'CREATE DATABASE "{self.template}"')
        self._made.append(self.template)
        engine = make_engine(self.url.set(database=self.template).render_as_string(False))
        migrate(engine)
        engine.dispose()  # a template with a connection open cannot be copied

    @staticmethod
    def _execute(url: URL, statement: str) -> None:
        with _admin(url) as connection:
            connection.execute(statement.encode())


def _empty(url: URL) -> None:
    """Every table emptied, children first, as the migrations left it: sequences restarted,
    a new instance id. The connections the test left open are closed first (their locks)."""
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as db:
        db.execute("SET LOCAL synchronous_commit = off")  # a test's data needs no durability
        db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND usename = current_user"  # not autovacuum's workers: the server's own
        )
        db.execute(f"ALTER TABLE audit_log DISABLE TRIGGER {APPEND_ONLY}")  # the log refuses
        for table in reversed(SQLModel.metadata.sorted_tables):
            db.execute(f'DELETE FROM "{table.name}"'.encode())
        db.execute(f"ALTER TABLE audit_log ENABLE TRIGGER {APPEND_ONLY}")
        sequences = db.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        for (sequence,) in sequences.fetchall():
            db.execute(f'ALTER SEQUENCE "{sequence}" RESTART'.encode())
        db.execute(
            "INSERT INTO platform (key, value) VALUES ('instance', %s)", [secrets.token_hex(4)]
        )


def _admin(url: URL) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the server's maintenance database (CREATE DATABASE needs autocommit)."""
    conninfo = url.set(drivername="postgresql", database="postgres")
    return psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True)
