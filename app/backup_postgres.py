"""A PostgreSQL database in a backup, with PostgreSQL's own tools: `pg_dump --format=custom`
(one consistent snapshot while the service writes) and `pg_restore` in one transaction (the
database is the former one or the restored one, whole). app.backup lists the dump in the
manifest like any file and decides when these run.

The password travels in the tools' environment (PGPASSWORD), never on a command line: `ps`
shows command lines to every user of the host.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import make_engine

DUMP = "praxis.pgdump"
TIMEOUT = 3600.0  # seconds: a dump or restore this long has hung, not worked


class ToolFailed(Exception):
    """pg_dump or pg_restore missing or failed, with what it said."""


def is_postgres(db_url: str) -> bool:
    return make_url(db_url).get_backend_name() == "postgresql"


def dump(db_url: str, path: Path) -> None:
    """The database into `path` (custom format: compressed, checked with `pg_restore --list`).
    Raises ToolFailed."""
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={path}"], db_url)


def dump_problems(path: Path) -> list[str]:
    """What is wrong with the dump at `path`: its table of contents must read whole."""
    try:
        _run(["pg_restore", "--list", str(path)], None)
    except ToolFailed as exc:
        return [f"{DUMP}: {exc}"]
    return []


def load(db_url: str, path: Path) -> None:
    """Replace the database's Praxis objects with the dump's, in one transaction: a failure
    leaves it as it was. Raises ToolFailed."""
    args = ["pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner"]
    # --dbname: without it pg_restore writes SQL to its output instead of restoring.
    database = f"--dbname={make_url(db_url).database}"
    _run([*args, "--exit-on-error", database, str(path)], db_url)


def facts(db_url: str) -> dict[str, str]:
    """The instance id and schema revision. Read from the live database beside the dump: neither
    changes while the service runs (migrations run before it serves)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as db:
            instance = db.execute(text("SELECT value FROM platform WHERE key = 'instance'"))
            revision = db.execute(text("SELECT version_num FROM alembic_version"))
            return {"instance": instance.scalar() or "", "schema": revision.scalar() or ""}
    finally:
        engine.dispose()


def _run(command: list[str], db_url: str | None) -> None:
    env = os.environ | (_libpq_env(db_url) if db_url else {})
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=TIMEOUT)
    except FileNotFoundError as exc:
        raise ToolFailed(f"{command[0]} is not installed (Debian: postgresql-client)") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(f"{command[0]} did not finish within {TIMEOUT:.0f} s") from exc
    except subprocess.CalledProcessError as exc:
        said = exc.stderr.decode(errors="replace").strip().splitlines()
        raise ToolFailed(f"{command[0]} failed: {' / '.join(said[-3:]) or exc}") from exc


def _libpq_env(db_url: str) -> dict[str, str]:
    url = make_url(db_url)
    pairs = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    return {name: str(value) for name, value in pairs.items() if value}
