"""Read a file of another root filesystem (a node's, seen from the host) without leaving it.

The node's root is hostile: any component of a path may be a symlink to `/etc/shadow` or
`../../..`, and may be swapped while we read. So the kernel never follows a link here:
each directory is opened relative to the previous one with O_NOFOLLOW, links are read and
resolved by this code against the node's root, and `..` never climbs above it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from collections.abc import Callable
from typing import Literal

from graders.contract import FileInfo
from labs import userns

MAX_LINKS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class TooManyLinks(OSError):
    pass


def follow_links(path: str, link_at: Callable[[list[str], str], str | None]) -> list[str]:
    """`path` as components, every link resolved inside its root, `..` never above it.

    `link_at(parents, name)` says what `name` in the directory `parents` is: its target if a
    link, None if anything else; it raises FileNotFoundError when there is no such entry
    (then the rest of the path is returned as it is: the last parts may not exist). Raises
    TooManyLinks for a loop.
    """
    pending = [p for p in path.split("/") if p]
    done: list[str] = []
    links = 0
    while pending:
        name = pending.pop(0)
        if name == ".":
            continue
        if name == "..":
            if done:
                done.pop()
            continue
        try:
            target = link_at(done, name)
        except FileNotFoundError:
            return [*done, name, *pending]
        if target is None:
            done.append(name)
            continue
        links += 1
        if links > MAX_LINKS:
            raise TooManyLinks(f"too many symlinks in {path}")
        if target.startswith("/"):
            done = []
        pending = [p for p in target.split("/") if p] + pending
    return done


def resolve(root: str, path: str) -> list[str]:
    """`path` as components from `root`, every symlink resolved inside `root`.

    Returns the components of the real path (the last may not exist). Raises OSError
    (TooManyLinks for a loop) when a directory on the way cannot be opened.
    """

    def link_at(parents: list[str], name: str) -> str | None:
        parent = _open_dir(root, parents)
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            return os.readlink(name, dir_fd=parent) if stat.S_ISLNK(st.st_mode) else None
        finally:
            os.close(parent)

    return follow_links(path, link_at)


def _open_dir(root: str, parts: list[str]) -> int:
    """A descriptor of root/parts, each step opened with O_NOFOLLOW relative to the last."""
    fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)  # the root is ours: /proc/PID/root is a link
    try:
        for part in parts:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def read(root: str, path: str, limit: int) -> FileInfo | None:
    """The file at `path` inside `root` (None if absent), content up to `limit` bytes.

    Raises OSError when the root itself cannot be opened (the node is gone).
    """
    os.stat(root)  # the node's root must exist: a missing one is not a missing file
    try:
        return _read(root, path, limit)
    except OSError:  # a loop, a component swapped for a link while we read: nothing to read
        return None


def _read(root: str, path: str, limit: int) -> FileInfo | None:
    try:
        parts = resolve(root, path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    real = "/" + "/".join(parts)
    if not parts:
        st = os.stat(root)
        return FileInfo(real, "dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    try:
        parent = _open_dir(root, parts[:-1])
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            kind: Literal["dir", "other"] = "dir" if stat.S_ISDIR(st.st_mode) else "other"
            return FileInfo(real, kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        return None
    finally:
        os.close(parent)
    with contextlib.closing(os.fdopen(fd, "rb")) as handle:
        st = os.fstat(handle.fileno())
        content = handle.read(limit + 1)
    return FileInfo(
        real,
        "file",
        stat.S_IMODE(st.st_mode),
        st.st_uid,
        st.st_gid,
        content[:limit],
        len(content) > limit,
    )


def connect_unix(
    root: str, path: str, timeout: float, peer: tuple[int, int] | None = None
) -> socket.socket:
    """A stream connection to the unix socket at `path` inside `root`, made as the host ids
    `peer` (uid, gid) when given: the server's view of who connects.

    The socket is opened as an O_PATH descriptor found without following any link, and
    connected through /proc/self/fd: a link the node swaps in cannot send us to a host socket.
    Raises OSError (FileNotFoundError when there is no socket there).
    """
    os.stat(root)
    parts = resolve(root, path)
    if not parts:
        raise FileNotFoundError(path)
    parent = _open_dir(root, parts[:-1])
    try:
        fd = os.open(parts[-1], os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    finally:
        os.close(parent)
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            raise FileNotFoundError(f"{path} is not a socket")
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(timeout)
        try:
            with userns.acting_as(*peer) if peer else contextlib.nullcontext():
                client.connect(f"/proc/self/fd/{fd}")
        except OSError:
            client.close()
            raise
        return client
    finally:
        os.close(fd)
