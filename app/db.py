"""Engine, migrations and the unit of work. Schema changes go through alembic only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Connections: the controller's thread, the grading workers and requests' threads each hold one
# briefly. Requests run in at most REQUEST_THREADS threads, well under the pool: a request's
# session is closed by a thread of the same kind, and with every thread waiting for a connection
# none would be left to give one back (each waited out the pool's timeout, then failed).
POOL_SIZE, POOL_OVERFLOW = 10, 20
REQUEST_THREADS = 20
CONTROLLER_THREADS = 64  # most wait on engines, SSH or graders, holding no connection meanwhile


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the controller
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith(("postgresql://", "postgres://")):  # the driver installed: psycopg 3
        url = "postgresql+psycopg://" + url.partition("://")[2]
    # pre_ping: a server restarted under the service costs one reconnect, not a failed request;
    # connections recycled before a proxy or firewall drops idle ones.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_recycle=1800,
    )


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def known_revision(revision: str) -> bool:
    """Whether this version's migrations know `revision` (a database from a newer Praxis: no)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return (
            bool(revision) and ScriptDirectory(str(MIGRATIONS)).get_revision(revision) is not None
        )
    except CommandError:
        return False


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def instance_id(engine: Engine) -> str:
    """This platform's id (made by the migrations, kept in the database)."""
    from app.models import Platform

    with Session(engine) as session:
        row = session.get(Platform, "instance")
        assert row is not None, "the database is not migrated"
        return row.value
