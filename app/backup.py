"""Backup and restore of a platform's state: its database (SQLite or PostgreSQL), recordings
and whatever else its data folder holds, except caches that are rebuilt when missing.

A backup is a folder: `manifest.json` (format, Praxis version, database kind, schema revision,
instance id, time, and each file's size and sha256), the database and the other files at their
paths in the data folder. A SQLite database is copied with SQLite's online backup, a PostgreSQL
one dumped with pg_dump (app.backup_postgres): one consistent snapshot while the service writes.
Files still being written (recordings) are copied as they are at that moment, a cast cut at its
last complete line. A restore checks everything before it touches the data folder, builds the
new one beside it and swaps them: never a half-restored folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app import backup_postgres as postgres
from app.service_lock import LOCK_FILE, holding

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "praxis.db"
# Not backed up: the database's own side files (the snapshot replaces them), the service's
# lock, and the grading's index of the package cache (rebuilt from the cache when missing).
SKIPPED = {f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal", LOCK_FILE}
CACHES = {"package-index.json"}
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup that cannot be made, or one that cannot be restored, with the reason."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative, with `/`
    size: int
    sha256: str


def backup(data_dir: Path, db_url: str, target: Path) -> dict[str, Any]:
    """Write a backup of `data_dir` and the database at `db_url` into the new folder `target`;
    return its manifest. Raises BackupError (a database neither SQLite nor PostgreSQL, no
    database, pg_dump failing, `target` not new or not writable)."""
    on_postgres = postgres.is_postgres(db_url)
    source = None if on_postgres else _sqlite_path(db_url)
    if source is not None and not source.is_file():
        raise BackupError(f"no database at {source}: nothing to back up")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty folder: give a new path")
    if target.resolve().is_relative_to(data_dir.resolve()):
        raise BackupError(f"{target} is inside the data folder {data_dir}: give another path")
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
        if source is None:
            postgres.dump(db_url, target / postgres.DUMP)
            entries = [_entry(target / postgres.DUMP, postgres.DUMP)]
        else:
            entries = [_snapshot(source, target / DATABASE)]
        entries += [_copy(path, target, data_dir) for path in _kept(data_dir, source)]
        facts = postgres.facts(db_url) if source is None else _facts(target / DATABASE)
    except (OSError, sqlite3.Error, postgres.ToolFailed, SQLAlchemyError) as exc:
        if created:  # no half backup left behind (it would have no manifest anyway)
            shutil.rmtree(target, ignore_errors=True)
        raise BackupError(f"cannot write the backup in {target}: {exc}") from exc
    manifest = {
        "format": FORMAT,
        "praxis": _praxis_version(),
        "database": "sqlite" if source else "postgresql",
        **facts,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [vars(e) for e in entries],
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _sqlite_path(db_url: str) -> Path:
    if not db_url.startswith("sqlite:///"):
        scheme = db_url.partition(":")[0]
        raise BackupError(
            f"this database is {scheme}: back it up with its own tools (e.g. mysqldump); "
            "praxis backup copies SQLite and PostgreSQL databases"
        )
    return Path(db_url.removeprefix("sqlite:///"))


def _snapshot(source: Path, copy: Path) -> Entry:
    """One consistent copy while the service writes: all pages in one step (a step-by-step
    copy starts again whenever the service writes, and may never end under load)."""
    live = sqlite3.connect(source, timeout=30)
    out = sqlite3.connect(copy)
    try:
        live.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        out.close()
        live.close()
    return _entry(copy, DATABASE)


def _kept(data_dir: Path, database: Path | None) -> Iterator[Path]:
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        if path == database or not path.is_file() or path.is_symlink():
            continue
        if relative.name in SKIPPED or str(relative) in CACHES or relative.name.startswith("."):
            continue  # dot files: another writer's temporary files (renamed when complete)
        yield path


def _copy(path: Path, target: Path, data_dir: Path) -> Entry:
    """The file as it is now; a recording still written is cut at its last complete line."""
    relative = path.relative_to(data_dir).as_posix()
    copy = target / relative
    copy.parent.mkdir(parents=True, exist_ok=True)
    with path.open("rb") as src, copy.open("wb") as dst:
        left = os.fstat(src.fileno()).st_size  # what is there now; more may come
        while left > 0 and (chunk := src.read(min(CHUNK, left))):
            dst.write(chunk)
            left -= len(chunk)
    if path.suffix == ".cast":
        _cut_after_last_line(copy)
    return _entry(copy, relative)


def _cut_after_last_line(path: Path) -> None:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def _entry(path: Path, relative: str) -> Entry:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return Entry(relative, path.stat().st_size, digest.hexdigest())


def _facts(database: Path) -> dict[str, str]:
    """The instance id and schema revision, read from the copy (so they match it)."""
    db = sqlite3.connect(database)
    try:
        instance = db.execute("SELECT value FROM platform WHERE key = 'instance'").fetchone()
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"the database is not a migrated Praxis database: {exc}") from exc
    finally:
        db.close()
    return {"instance": instance[0] if instance else "", "schema": revision[0] if revision else ""}


def _praxis_version() -> str:
    try:
        return version("praxis")
    except PackageNotFoundError:
        return "unknown"


def verify(folder: Path, known_schema: Callable[[str], bool]) -> dict[str, Any]:
    """The backup's manifest, once every file is there with its size and checksum, nothing
    else is, the database passes SQLite's integrity check and its schema is one this version
    knows. Raises BackupError listing every problem."""
    manifest = _manifest(folder)
    database = _database_file(manifest)
    listed = {str(f["path"]): f for f in manifest["files"]}
    problems = []
    for relative, item in listed.items():
        path = folder / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
            continue
        found = _entry(path, relative)
        if found.size != item["size"] or found.sha256 != item["sha256"]:
            problems.append(f"{relative}: changed or damaged (size or sha256 differs)")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    problems += [f"{extra}: not in the manifest" for extra in sorted(present - {*listed, MANIFEST})]
    if database not in listed:
        problems.append(f"{database}: not in the manifest")
    elif not problems and database == postgres.DUMP:
        problems += postgres.dump_problems(folder / database)
    elif not problems:
        problems += _database_problems(folder / database)
    if not problems and not known_schema(str(manifest.get("schema", ""))):
        problems.append(f"schema {manifest.get('schema')!r} is newer than this Praxis: upgrade")
    if problems:
        raise BackupError(f"{folder} cannot be restored:\n  " + "\n  ".join(problems))
    return manifest


def _manifest(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise BackupError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{folder}: not a Praxis backup (no {MANIFEST})") from exc
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder / MANIFEST}: unreadable ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder / MANIFEST}: not a backup of format {FORMAT}")
    files = manifest.get("files")
    well_formed = isinstance(files, list) and all(
        isinstance(f, dict)
        and isinstance(f.get("path"), str)
        and _inside(f["path"])
        and isinstance(f.get("size"), int)
        and isinstance(f.get("sha256"), str)
        for f in files
    )
    if not well_formed:
        raise BackupError(f"{folder / MANIFEST}: its file list is malformed")
    return dict(manifest)


def _database_file(manifest: dict[str, Any]) -> str:
    """The backup's database: a SQLite file or a PostgreSQL dump (no `database`: an older
    backup, SQLite's)."""
    return postgres.DUMP if manifest.get("database") == "postgresql" else DATABASE


def _inside(relative: str) -> bool:
    """A path that stays inside the folder (no `..`, not absolute)."""
    parts = Path(relative).parts
    return bool(parts) and not Path(relative).is_absolute() and ".." not in parts


def _database_problems(path: Path) -> list[str]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()
    except sqlite3.Error as exc:
        return [f"{DATABASE}: {exc}"]
    return [] if rows == ["ok"] else [f"{DATABASE}: integrity check: {'; '.join(rows[:5])}"]


def restore(
    folder: Path, data_dir: Path, known_schema: Callable[[str], bool], db_url: str | None = None
) -> Path | None:
    """Replace `data_dir` with the backup in `folder`, and the PostgreSQL database at `db_url`
    with its dump if it holds one (None: the database is the data folder's SQLite file); return
    where the former data folder was moved (None if there was none). Raises BackupError (a bad
    backup, or one of the other database: nothing changed) or ServiceRunning (a service uses
    `data_dir`)."""
    dumped = _database_file(verify(folder, known_schema)) == postgres.DUMP
    if dumped != bool(db_url and postgres.is_postgres(db_url)):
        held, named = ("PostgreSQL", "SQLite") if dumped else ("SQLite", "PostgreSQL")
        raise BackupError(
            f"{folder} holds a {held} database and PRAXIS_DATABASE_URL names {named}: "
            f"restore it on a platform that runs on {held}"
        )
    data_dir = data_dir.absolute()
    # Held while the folder is replaced: no service starts on it meanwhile.
    with holding(data_dir) if data_dir.is_dir() else contextlib.nullcontext():
        staging = data_dir.with_name(f".{data_dir.name}.restoring")
        shutil.rmtree(staging, ignore_errors=True)  # a restore interrupted before
        try:
            shutil.copytree(folder, staging)
            verify(staging, lambda _: True)  # the copy too: a full disk, a failing device
            (staging / MANIFEST).unlink()
            if dumped and db_url:  # last: a failure before leaves the database untouched
                postgres.load(db_url, staging / postgres.DUMP)
                (staging / postgres.DUMP).unlink()
        except (OSError, BackupError, postgres.ToolFailed) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise BackupError(f"cannot restore into {data_dir}: {exc}") from exc
        return _swap(staging, data_dir)


def _swap(staging: Path, data_dir: Path) -> Path | None:
    """Two renames in one file system: the data folder is the former one or the new one, whole
    (a failed second rename puts the former back)."""
    former = None
    try:
        if data_dir.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            former = data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}")
            data_dir.rename(former)
        staging.rename(data_dir)
    except OSError as exc:
        if former is not None and not data_dir.exists():
            former.rename(data_dir)
        shutil.rmtree(staging, ignore_errors=True)
        raise BackupError(f"cannot put the restored folder in place of {data_dir}: {exc}") from exc
    return former
