"""Backup and restore on a real SQLite database and real files: what a backup holds, and every
backup a restore must refuse before it touches the data folder."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from app.backup import MANIFEST, BackupError, backup, restore, verify
from app.db import known_revision, make_engine, migrate
from app.service_lock import ServiceRunning, holding


def url(data: Path) -> str:
    return f"sqlite:///{data / 'praxis.db'}"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A migrated data folder with a recording still being written and a cache."""
    folder = tmp_path / "data"
    engine = make_engine(url(folder))
    migrate(engine)
    engine.dispose()
    (folder / "recordings" / "s1").mkdir(parents=True)
    (folder / "recordings" / "s1" / "web.cast").write_bytes(b'{"version": 2}\n[0.1, "o", "ab')
    (folder / "package-index.json").write_text("{}")
    return folder


def test_backup_holds_the_database_and_recordings_but_not_caches(
    data: Path, tmp_path: Path
) -> None:
    manifest = backup(data, url(data), tmp_path / "b")
    paths = [f["path"] for f in manifest["files"]]
    assert paths == ["praxis.db", "recordings/s1/web.cast"]
    assert manifest["instance"] and manifest["schema"] and manifest["created"]
    # The line still being written is left out: the copy is a valid cast.
    assert (tmp_path / "b/recordings/s1/web.cast").read_bytes() == b'{"version": 2}\n'
    assert verify(tmp_path / "b", known_revision) == manifest


def test_restore_swaps_the_data_folder_and_keeps_the_former(data: Path, tmp_path: Path) -> None:
    backup(data, url(data), tmp_path / "b")
    target = tmp_path / "restored"
    target.mkdir()
    (target / "junk").write_text("x")
    former = restore(tmp_path / "b", target, known_revision)
    assert former is not None and (former / "junk").exists()
    assert sorted(p.name for p in target.iterdir()) == ["praxis.db", "recordings"]
    check = sqlite3.connect(target / "praxis.db").execute("PRAGMA integrity_check").fetchall()
    assert check == [("ok",)]


def test_backup_refuses_a_used_path_and_another_database(data: Path, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(BackupError, match="not an empty folder"):
        backup(data, url(data), tmp_path / "used")
    with pytest.raises(BackupError, match="inside the data folder"):
        backup(data, url(data), data / "recordings" / "backup")
    with pytest.raises(BackupError, match="not a folder"):
        restore(data / "praxis.db", tmp_path / "elsewhere", known_revision)
    with pytest.raises(BackupError, match="mysql"):
        backup(data, "mysql+pymysql://u@h/db", tmp_path / "b")
    with pytest.raises(BackupError, match="no database"):
        backup(tmp_path / "none", url(tmp_path / "none"), tmp_path / "b")


def damage(folder: Path, how: str) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    if how == "missing":
        (folder / "recordings/s1/web.cast").unlink()
    elif how == "changed":
        (folder / "recordings/s1/web.cast").write_bytes(b"other\n")
    elif how == "extra":
        (folder / "stray.txt").write_text("?")
    elif how == "escape":
        manifest["files"][1]["path"] = "../outside"
    elif how == "format":
        manifest["format"] = 99
    elif how == "no manifest":
        (folder / MANIFEST).unlink()
        return
    elif how == "corrupt db":
        db = bytearray((folder / "praxis.db").read_bytes())
        db[4096:8192] = b"\xff" * 4096  # a page of garbage, size unchanged
        (folder / "praxis.db").write_bytes(db)
        manifest["files"][0]["sha256"] = hashlib.sha256(db).hexdigest()  # damaged before
    (folder / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("missing", "web.cast: missing"),
        ("changed", "web.cast: changed or damaged"),
        ("extra", "stray.txt: not in the manifest"),
        ("escape", "file list is malformed"),
        ("format", "not a backup of format 1"),
        ("no manifest", "not a Praxis backup"),
        ("corrupt db", "praxis.db"),
    ],
)
def test_a_bad_backup_is_refused_and_the_data_folder_untouched(
    data: Path, tmp_path: Path, how: str, said: str
) -> None:
    backup(data, url(data), tmp_path / "b")
    damage(tmp_path / "b", how)
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    with pytest.raises(BackupError, match=said):
        restore(tmp_path / "b", data, known_revision)
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir() if "restoring" in p.name] == []


def test_a_newer_schema_is_refused(data: Path, tmp_path: Path) -> None:
    backup(data, url(data), tmp_path / "b")
    with pytest.raises(BackupError, match="newer than this Praxis"):
        restore(tmp_path / "b", data, lambda revision: False)
    assert known_revision("0001") and not known_revision("9999") and not known_revision("")


def test_restore_refuses_while_a_service_holds_the_data_folder(data: Path, tmp_path: Path) -> None:
    backup(data, url(data), tmp_path / "b")
    with holding(data), pytest.raises(ServiceRunning, match="stop it first"):
        restore(tmp_path / "b", data, known_revision)
    assert restore(tmp_path / "b", data, known_revision) is not None  # released: it restores


def test_a_failed_swap_puts_the_former_folder_back(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup(data, url(data), tmp_path / "b")
    rename = Path.rename

    def failing(self: Path, target: Path) -> Path:  # the file system refuses the second rename
        if self.name.endswith(".restoring"):
            raise OSError(28, "No space left on device")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(BackupError, match="cannot put the restored folder"):
        restore(tmp_path / "b", data, known_revision)
    assert (data / "package-index.json").exists()  # the former folder, whole, in its place
    assert {p.name for p in tmp_path.iterdir()} == {"data", "b"}  # no staging, no copy left
