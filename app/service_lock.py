"""The lock a running service holds on its data folder: a second service, or a restore, on the
same folder is refused while it lives. A kernel lock (flock): it goes with the process, even
one killed with SIGKILL, so no stale pid file is ever left to clean."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "service.lock"


class ServiceRunning(Exception):
    """A service holds the data folder."""


@contextlib.contextmanager
def holding(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir`'s lock while inside. Raises ServiceRunning, naming the holder's pid."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise ServiceRunning(
                f"a service (pid {holder}) is running on {data_dir}: stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
