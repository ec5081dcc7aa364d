"""A VM's disk as it was at the end of the exam, read from the host without the VM.

At the cut-off the lab driver powers the VM off and turns its disk into a read-only layer
(`<node>.frozen.qcow2`) under a fresh one the VM boots on: what the candidate left is kept
exactly, and nothing that runs afterwards can change it. The grader reads that layer here:
qemu-img gives a raw copy and which clusters the exam wrote, and Debian's `debugfs` reads the
ext4 file system in user space (the candidate controls every byte of it: a crafted file
system must not meet the host kernel's driver, so it is never mounted).

Links are resolved by this code inside the VM's root, as graders.rootfs does for containers;
what the candidate changed is what differs from the base image (inode, size, times) or lies
in clusters the exam wrote, so an in-place rewrite at the same size is seen too.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from graders import rootfs
from graders.contract import FileInfo, GraderError
from graders.debs import PackageIndex
from graders.integrity import (
    LOADER_DIRS,
    MAX_HASHED,
    PRELOAD,
    SYSTEM_DIRS,
    Integrity,
    in_system,
    md5_of,
)
from graders.report import Finding

MAX_ENTRIES = 200_000  # files below the system directories; Debian with libvirt has ~30,000
LOADER_DIRS_ABS = tuple(f"/{d}" for d in LOADER_DIRS)
DEBUGFS_TIMEOUT = 60.0
_TYPES = {"regular": "file", "directory": "dir", "symlink": "link"}
_EXTENT = re.compile(r"\((?:\d+|ETB\d+|IND|DIND|TIND)(?:-\d+)?\):(\d+)(?:-(\d+))?")
_SAFE_PATH = re.compile(r'^[^"\x00-\x1f\\]*$')  # debugfs's command parser: no quote, no control


@dataclass(frozen=True)
class Entry:
    """One inode as debugfs shows it."""

    inode: int
    kind: Literal["file", "dir", "link", "other"]
    mode: int
    uid: int
    gid: int
    size: int
    ctime: str
    mtime: str
    blocks: tuple[tuple[int, int], ...]  # (first, last) physical blocks, data and index
    target: str | None = None  # a fast symlink's target


class Ext4Image:
    """A raw ext4 image, read with `debugfs -c` (read-only, in user space)."""

    def __init__(self, raw: Path) -> None:
        self.raw = raw
        self._block_size = 0

    @property
    def block_size(self) -> int:
        if not self._block_size:
            found = re.search(r"^Block size:\s+(\d+)", self._batch(["stats -h"])[0], re.M)
            if found is None:
                raise GraderError("debugfs: no block size: not an ext4 file system")
            self._block_size = int(found[1])
        return self._block_size

    def _batch(self, commands: list[str]) -> list[str]:
        """Each command's output, in order (debugfs echoes `debugfs: <command>` before each)."""
        if not commands:
            return []
        with tempfile.NamedTemporaryFile("w", suffix=".debugfs") as script:
            script.write("\n".join(commands) + "\n")
            script.flush()
            try:
                done = subprocess.run(
                    ["debugfs", "-c", "-f", script.name, str(self.raw)],
                    capture_output=True,
                    timeout=DEBUGFS_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise GraderError(f"debugfs gave no answer within {DEBUGFS_TIMEOUT:g}s") from exc
        out = done.stdout.decode("utf-8", "surrogateescape")
        # Split at each command's own echo, in order: a file name may hold "debugfs: ".
        marks = []
        position = 0
        for command in commands:
            position = out.find(f"debugfs: {command}\n", position)
            if position < 0:
                raise GraderError(f"debugfs could not read the disk: {done.stderr[-300:]!r}")
            marks.append(position)
            position += len(command) + 10
        ends = [*marks[1:], len(out)]
        return [
            out[mark + len(command) + 10 : end]
            for mark, end, command in zip(marks, ends, commands, strict=True)
        ]

    def stats(self, paths: list[str]) -> dict[str, Entry | None]:
        """Each path's own inode (a final link is not followed), None when absent."""
        found: dict[str, Entry | None] = dict.fromkeys(paths)
        safe = [p for p in paths if _SAFE_PATH.match(p)]
        for path, text in zip(safe, self._batch([f'stat "{p}"' for p in safe]), strict=True):
            found[path] = _entry(text)
        return found

    def listings(self, folders: list[str]) -> dict[str, dict[str, tuple[int, int, int]]]:
        """Folder -> name -> (inode, mode, size) of its entries ({} when not a directory)."""
        safe = [f for f in folders if _SAFE_PATH.match(f)]
        found: dict[str, dict[str, tuple[int, int, int]]] = {f: {} for f in folders}
        for folder, text in zip(safe, self._batch([f'ls -p "{f}"' for f in safe]), strict=True):
            for line in text.splitlines():
                fields = line.split("/")  # /inode/mode/uid/gid/name/size/ (names have no "/")
                if len(fields) == 8 and fields[5] not in (".", ".."):
                    found[folder][fields[5]] = (
                        int(fields[1]),
                        int(fields[2], 8),
                        int(fields[6] or 0),
                    )
        return found

    def walk(self, tops: list[str], limit: int) -> dict[str, tuple[int, int, int]]:
        """Path -> (inode, mode, size) of everything below `tops`, breadth first, links not
        followed, at most `limit` entries (a hostile tree can be made huge)."""
        found: dict[str, tuple[int, int, int]] = {}
        level = tops
        while level and len(found) < limit:
            below = []
            for folder, entries in self.listings(level).items():
                for name, meta in entries.items():
                    path = f"{folder.rstrip('/')}/{name}"
                    found[path] = meta
                    if stat.S_ISDIR(meta[1]):
                        below.append(path)
            level = below
        return found

    def md5s(self, paths: list[str]) -> dict[str, str]:
        """The md5 of each regular file's content, read in one debugfs run (a file each would
        cost a process each: thousands after a package install)."""
        safe = [p for p in paths if _SAFE_PATH.match(p)]
        found = {}
        with tempfile.TemporaryDirectory(prefix="praxis-vm-") as folder:
            for start in range(0, len(safe), 200):  # bounded disk use: a batch at a time
                batch = safe[start : start + 200]
                self._batch([f'dump "{p}" "{folder}/{i}"' for i, p in enumerate(batch)])
                for i, path in enumerate(batch):
                    dumped = Path(folder) / str(i)
                    if dumped.is_file():
                        with dumped.open("rb") as handle:
                            found[path] = md5_of(handle)
                        dumped.unlink()
        return found

    def cat(self, path: str, limit: int) -> tuple[bytes, bool]:
        """Up to `limit` bytes of a file's content, and whether there was more."""
        if not _SAFE_PATH.match(path):
            return b"", False
        with subprocess.Popen(
            ["debugfs", "-c", "-R", f'cat "{path}"', str(self.raw)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as process:
            assert process.stdout is not None
            data = process.stdout.read(limit + 1)
            process.kill()
        return data[:limit], len(data) > limit


def _entry(text: str) -> Entry | None:
    first = text.split("\n", 1)[0]
    match = re.match(r"Inode: (\d+)\s+Type: (\w+)\s+Mode:\s+(\d+)", first)
    owner = re.search(r"User:\s+(\d+)\s+Group:\s+(\d+).*?Size: (\d+)", text)
    if match is None or owner is None:
        return None
    ctime = re.search(r"^ ctime: (0x[0-9a-f:]+)", text, re.M)
    mtime = re.search(r"^ mtime: (0x[0-9a-f:]+)", text, re.M)
    target = re.search(r'^Fast link dest: "(.*)"$', text, re.M)
    blocks = tuple(
        (int(m[1]), int(m[2] or m[1])) for m in _EXTENT.finditer(text.split("\nEXTENTS:", 1)[-1])
    )
    kind = _TYPES.get(match[2], "other")
    return Entry(
        inode=int(match[1]),
        kind=kind,  # type: ignore[arg-type]
        mode=int(match[3], 8) & 0o7777,
        uid=int(owner[1]),
        gid=int(owner[2]),
        size=int(owner[3]),
        ctime=ctime[1] if ctime else "",
        mtime=mtime[1] if mtime else "",
        blocks=blocks if ("EXTENTS:" in text or "BLOCKS:" in text) else (),
        target=target[1] if target else None,
    )


class Written:
    """Which bytes of the disk the exam wrote: the frozen layer's own clusters."""

    def __init__(self, ranges: list[tuple[int, int]], block_size: int = 4096) -> None:
        self.block_size = block_size
        self.starts = [start for start, _ in ranges]
        self.ends = [end for _, end in ranges]

    @classmethod
    def of(cls, layer: Path, block_size: int) -> Written:
        done = subprocess.run(
            ["qemu-img", "map", "-U", "--output=json", str(layer)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise GraderError(f"qemu-img map {layer.name}: {done.stderr.strip()[-300:]}")
        ranges = [
            (int(r["start"]), int(r["start"]) + int(r["length"]))
            for r in json.loads(done.stdout)
            if r.get("depth") == 0 and r.get("data")
        ]
        return cls(sorted(ranges), block_size)

    def touches(self, first_block: int, last_block: int) -> bool:
        start, end = first_block * self.block_size, (last_block + 1) * self.block_size
        i = bisect.bisect_right(self.starts, end - 1) - 1
        return i >= 0 and self.ends[i] > start


def raw_copy(qcow2: Path, raw: Path) -> Path:
    """A raw copy of a qcow2 chain (made once, kept beside it: the layer never changes), its
    ext4 journal replayed: a VM whose power was cut (it did not stop within the time given)
    has its last writes there only."""
    if raw.exists():
        return raw
    partial = raw.with_suffix(f".partial-{os.getpid()}")
    done = subprocess.run(
        ["qemu-img", "convert", "-U", "-O", "raw", str(qcow2), str(partial)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise GraderError(f"qemu-img convert {qcow2.name}: {done.stderr.strip()[-300:]}")
    # In user space, on the grader's own copy; nothing else is repaired. An answer other
    # than "done" leaves the copy as it is: graded as the candidate left it.
    subprocess.run(
        ["e2fsck", "-E", "journal_only", "-p", str(partial)],
        capture_output=True,
        timeout=300,
        check=False,
    )
    os.replace(partial, raw)
    return raw


class FrozenDisk:
    """The frozen layer's file system, compared with the base image's."""

    def __init__(self, frozen: Ext4Image, base: Ext4Image, written: Written) -> None:
        self.frozen, self.base, self.written = frozen, base, written

    def resolve(self, path: str) -> str:
        """`path` with every link resolved inside the VM's root (the last part may not exist).
        Raises OSError for a loop."""

        def link_at(parents: list[str], name: str) -> str | None:
            here = "/" + "/".join([*parents, name])
            entry = self.frozen.stats([here])[here]
            if entry is None:
                raise FileNotFoundError(here)
            if entry.kind != "link":
                return None
            if entry.target is not None:
                return entry.target
            # A long target lives in a data block.
            return self.frozen.cat(here, 4096)[0].decode("utf-8", "surrogateescape")

        return "/" + "/".join(rootfs.follow_links(path, link_at))

    def read(self, path: str, limit: int) -> FileInfo | None:
        real = self.resolve(path)
        entry = self.frozen.stats([real])[real]
        if entry is None:
            return None
        kind: Literal["file", "dir", "other"] = (
            entry.kind if entry.kind in ("file", "dir") else "other"
        )
        content, truncated = None, False
        if kind == "file":
            content, truncated = self.frozen.cat(real, limit) if limit else (b"", entry.size > 0)
        return FileInfo(real, kind, entry.mode, entry.uid, entry.gid, content, truncated)

    def changed(self, path: str) -> bool:
        """Does `path` differ from the base image? A missing file in both is not a change."""
        now, then = self.frozen.stats([path])[path], self.base.stats([path])[path]
        return self.differs(path, now, then)

    def differing(
        self, paths: list[str], now: dict[str, Entry | None], then: dict[str, Entry | None]
    ) -> set[str]:
        """`differs` for many regular files at once (contents compared in one run each)."""
        found: set[str] = set()
        touched = []
        for path in paths:
            a, b = now[path], then[path]
            if a is None or b is None:
                if a is not b:
                    found.add(path)
            elif _identity(a) != _identity(b):
                found.add(path)
            elif any(self.written.touches(*blocks) for blocks in a.blocks):
                touched.append(path)
        mine, theirs = self.frozen.md5s(touched), self.base.md5s(touched)
        return found | {p for p in touched if mine.get(p) != theirs.get(p)}

    def differs(self, path: str, now: Entry | None, then: Entry | None) -> bool:
        """Its inode, owner, mode, size, times or link differ; or, when its blocks lie in
        clusters the exam wrote (qcow2 clusters hold many blocks), its content does: an
        in-place rewrite that kept every inode field is seen too."""
        if now is None or then is None:
            return now is not then
        if _identity(now) != _identity(then):
            return True
        if not any(self.written.touches(*b) for b in now.blocks):
            return False
        if now.kind == "dir":
            return self.frozen.listings([path]) != self.base.listings([path])
        return self.frozen.cat(path, MAX_HASHED) != self.base.cat(path, MAX_HASHED)


def _identity(entry: Entry) -> tuple[object, ...]:
    e = entry
    return (e.inode, e.kind, e.mode, e.uid, e.gid, e.size, e.ctime, e.mtime, e.target)


def scan(disk: FrozenDisk, index: PackageIndex) -> Integrity:
    """Judge every executable, library and link of the system directories that differs from
    the base image, as graders.integrity does for a container's upper layer."""
    result = Integrity(index)
    tops = [f"/{d}" for d in SYSTEM_DIRS]
    now = disk.frozen.walk(tops, MAX_ENTRIES)
    then = disk.base.walk(tops, MAX_ENTRIES)
    if len(now) >= MAX_ENTRIES:
        result.findings.append(Finding(path="/usr", problem="too many files to verify"))
    programs = [
        path
        for path, (_, mode, _) in now.items()
        if stat.S_ISREG(mode) and (mode & 0o111 or ".so" in path.rsplit("/", 1)[-1])
    ]
    # Same inode, mode and size as the image: compare times and written blocks to be sure.
    alike = [p for p in programs if now[p] == then.get(p)]
    entries, before = disk.frozen.stats(alike), disk.base.stats(alike)
    changed = {p for p in now if now[p] != then.get(p)}
    changed |= disk.differing(alike, entries, before)
    result.changed = changed
    hashable = [p for p in sorted(changed) if p in programs and now[p][2] <= MAX_HASHED]
    result.digests = disk.frozen.md5s(hashable)
    for path in sorted(changed):
        mode = now[path][1]
        if path in programs and path not in result.digests:
            result.findings.append(Finding(path=path, problem="too large or unreadable to verify"))
        elif path in programs:
            ok, why = result.genuine(path, result.digests[path])
            if not ok:
                result.findings.append(Finding(path=path, problem=why))
        elif stat.S_ISLNK(mode):
            problem = _link_problem(disk, result, path)
            if problem:
                result.findings.append(Finding(path=path, problem=problem))
    result.checked = len(result.digests)
    for path, (_, mode, _) in disk.frozen.walk(list(LOADER_DIRS_ABS), 1000).items():
        if stat.S_ISREG(mode) and ".so" in path.rsplit("/", 1)[-1]:
            result.findings.append(
                Finding(path=path, problem="a library in the loader's path, from no package")
            )
    preload = disk.read(PRELOAD, 4096)
    if preload is not None and preload.content and preload.content.strip():
        result.findings.append(
            Finding(path=PRELOAD, problem="preloads a library into every program")
        )
    return result


def _link_problem(disk: FrozenDisk, result: Integrity, path: str) -> str | None:
    try:
        real = disk.resolve(path)
    except OSError:
        return "a link loop"
    if in_system(real):
        return None  # judged as a file of its own, if it changed
    info = disk.read(real, MAX_HASHED)
    if info is None or info.kind != "file" or info.content is None:
        return None
    md5 = hashlib.md5(info.content, usedforsecurity=False).hexdigest()
    ok, _ = result.genuine(real, md5)
    return None if ok else f"links to {real}, which no verified Debian package ships"
