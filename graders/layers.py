"""What a container node changed against the platform's image, read from the host.

The engine's storage driver decides how: overlay2 keeps every written, added or removed file
in an upper layer; btrfs (the labs' pool, for disk caps) makes the node's root a snapshot of
the image's. In a snapshot an unchanged file keeps its inode number and its ctime, and nothing
the candidate can do in the node (a write, chmod, chown, rename, link, or a new file) leaves
both as they were: the kernel sets ctime, and setting the clock back is not a node's right.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from graders import rootfs

Entry = tuple[str, os.stat_result]  # a path in the node, and its lstat on the host


class Changes(Protocol):
    def walk(self, top: str) -> list[Entry]:
        """Every changed or added file, link or device below `/top` (never a directory)."""

    def host(self, path: str) -> Path:
        """Where a changed file's bytes are, on the host (open it without following links)."""

    def changed(self, path: str) -> bool:
        """Was `path` (links resolved inside the node) written, added or removed?"""


def _walk(root: Path, top: str) -> list[Entry]:
    """(path in the node, lstat) of everything below root/top; links are never followed."""
    found = []
    for folder, dirs, files in os.walk(root / top, followlinks=False):
        for name in dirs + files:
            host = Path(folder) / name
            st = host.lstat()
            if not stat.S_ISDIR(st.st_mode):
                found.append(("/" + str(host.relative_to(root)), st))
    return found


@dataclass(frozen=True)
class UpperLayer:
    """overlay2: the upper layer holds exactly what changed (removals as whiteouts)."""

    upper: Path

    def walk(self, top: str) -> list[Entry]:
        return _walk(self.upper, top)

    def host(self, path: str) -> Path:
        return self.upper / path[1:]

    def changed(self, path: str) -> bool:
        return rootfs.read(str(self.upper), path, 0) is not None


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except OSError:
        return None


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_ino, st.st_ctime_ns, st.st_size, st.st_mode, st.st_uid, st.st_gid)


@dataclass(frozen=True)
class Snapshot:
    """btrfs: the node's root (`now`) against the image's (`image`, the engine's init layer)."""

    now: Path
    image: Path

    def _differs(self, path: str, st: os.stat_result) -> bool:
        then = _lstat(self.image / path[1:])
        return then is None or _identity(then) != _identity(st)

    def walk(self, top: str) -> list[Entry]:
        st = _lstat(self.now / top)
        if st is None:
            return []
        if stat.S_ISLNK(st.st_mode):  # /bin -> usr/bin: judged as a link, never walked through
            return [("/" + top, st)] if self._differs("/" + top, st) else []
        return [(path, st) for path, st in _walk(self.now, top) if self._differs(path, st)]

    def host(self, path: str) -> Path:
        return self.now / path[1:]

    def changed(self, path: str) -> bool:
        try:
            real = "/" + "/".join(rootfs.resolve(str(self.now), path))
        except OSError:
            return True
        now = _lstat(self.now / real[1:])
        if now is None:
            return _lstat(self.image / real[1:]) is not None
        return self._differs(real, now)
