"""Backup and restore on a real PostgreSQL database (pg_dump, pg_restore): what the backup
holds, that a restore brings the database back, and the backups a restore must refuse. Runs
whenever a PostgreSQL test server is configured (tests/postgres.py), in `make test` too."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from app.auth import create_user
from app.backup import MANIFEST, BackupError, backup, restore, verify
from app.backup_postgres import DUMP
from app.db import instance_id, known_revision, make_engine, migrate, unit_of_work
from app.models import AuditEntry, Role, User


def names(url: str) -> list[str]:
    engine = make_engine(url)
    with unit_of_work(engine) as db:
        found = sorted(user.name for user in db.exec(select(User)))
    engine.dispose()
    return found


@pytest.fixture
def data(tmp_path: Path, postgres_url: str) -> Path:
    """A data folder with a recording, beside a PostgreSQL database with a user and an entry
    of the append-only audit log (its trigger must come back with it)."""
    folder = tmp_path / "data"
    (folder / "recordings" / "s1").mkdir(parents=True)
    (folder / "recordings" / "s1" / "web.cast").write_bytes(b'{"version": 2}\n')
    engine = make_engine(postgres_url)
    with unit_of_work(engine) as db:
        create_user(db, "ada", Role.admin)
        db.add(AuditEntry(actor="ada", action="backup test"))
    engine.dispose()
    return folder


def test_backup_holds_a_dump_listed_with_its_checksum(
    data: Path, tmp_path: Path, postgres_url: str
) -> None:
    manifest = backup(data, postgres_url, tmp_path / "b")
    assert [f["path"] for f in manifest["files"]] == [DUMP, "recordings/s1/web.cast"]
    dumped = (tmp_path / "b" / DUMP).read_bytes()
    assert dumped.startswith(b"PGDMP")  # pg_dump's custom format
    assert manifest["files"][0]["sha256"] == hashlib.sha256(dumped).hexdigest()
    assert manifest["database"] == "postgresql" and known_revision(manifest["schema"])
    assert manifest["instance"] == instance_id(make_engine(postgres_url))
    assert verify(tmp_path / "b", known_revision) == manifest


def test_restore_brings_the_database_and_the_folder_back(
    data: Path, tmp_path: Path, postgres_url: str
) -> None:
    backup(data, postgres_url, tmp_path / "b")
    engine = make_engine(postgres_url)
    with unit_of_work(engine) as db:
        create_user(db, "after", Role.examiner)
    (data / "recordings" / "later.cast").write_text("x")
    former = restore(tmp_path / "b", data, known_revision, postgres_url)
    assert names(postgres_url) == ["ada"]
    assert former is not None and (former / "recordings" / "later.cast").exists()
    assert sorted(p.name for p in data.rglob("*")) == ["recordings", "s1", "web.cast"]
    with pytest.raises(DBAPIError, match="append-only"), unit_of_work(engine) as db:
        db.delete(db.exec(select(AuditEntry)).one())  # the trigger came back with the table
    engine.dispose()


def test_a_damaged_dump_is_refused_and_the_database_untouched(
    data: Path, tmp_path: Path, postgres_url: str
) -> None:
    backup(data, postgres_url, tmp_path / "b")
    dump = tmp_path / "b" / DUMP
    damaged = dump.read_bytes()[:200]  # cut: its table of contents does not read whole
    dump.write_bytes(damaged)
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    manifest["files"][0] |= {"size": 200, "sha256": hashlib.sha256(damaged).hexdigest()}
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(manifest))
    engine = make_engine(postgres_url)
    with unit_of_work(engine) as db:
        create_user(db, "after", Role.examiner)
    engine.dispose()
    with pytest.raises(BackupError, match=f"{DUMP}: pg_restore failed"):
        restore(tmp_path / "b", data, known_revision, postgres_url)
    assert names(postgres_url) == ["ada", "after"]


def test_a_backup_restores_only_onto_its_own_kind_of_database(
    data: Path, tmp_path: Path, postgres_url: str
) -> None:
    backup(data, postgres_url, tmp_path / "b")
    with pytest.raises(BackupError, match=r"holds a PostgreSQL database and .* names SQLite"):
        restore(tmp_path / "b", data, known_revision)
    sqlite_url = f"sqlite:///{tmp_path / 'other' / 'praxis.db'}"
    migrate(make_engine(sqlite_url))
    backup(tmp_path / "other", sqlite_url, tmp_path / "s")
    with pytest.raises(BackupError, match=r"holds a SQLite database and .* names PostgreSQL"):
        restore(tmp_path / "s", data, known_revision, postgres_url)
