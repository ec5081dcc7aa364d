"""The tests' database: SQLite in each test's folder by default; with PRAXIS_TEST_DB=postgres
every test gets a fresh PostgreSQL database instead (tests/postgres.py), as PRAXIS_DATABASE_URL,
which any Settings() built without a database URL reads. Tests that name a SQLite URL keep it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.db import make_engine, migrate
from tests.postgres import Databases, reachable, server_url

ON_POSTGRES = os.environ.get("PRAXIS_TEST_DB", "sqlite") == "postgres"


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Databases]:
    """The PostgreSQL test server; skips when there is none (fails under PRAXIS_TEST_DB=postgres:
    a run asked for PostgreSQL must not pass on SQLite)."""
    url = server_url()
    why = "no PostgreSQL server configured" if url is None else reachable(url)
    if why is not None or url is None:
        message = f"PostgreSQL: {why} (set PRAXIS_TEST_POSTGRES_URL or run scripts/postgres.sh)"
        if ON_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    databases = Databases(url)
    yield databases
    databases.close()


@pytest.fixture
def postgres_url(postgres_databases: Databases) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of its own for this test."""
    url = postgres_databases.fresh()
    yield url
    postgres_databases.release(url)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """This test's database URL: PostgreSQL's under PRAXIS_TEST_DB=postgres, else SQLite's."""
    if ON_POSTGRES:
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'praxis.db'}"


@pytest.fixture
def migrated(db_url: str) -> Iterator[Engine]:
    """This test's database, migrated, as an engine."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _database_from_the_switch(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if ON_POSTGRES:
        monkeypatch.setenv("PRAXIS_DATABASE_URL", request.getfixturevalue("postgres_url"))
