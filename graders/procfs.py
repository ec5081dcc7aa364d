"""The host's /proc, read for a node's processes: who they are inside the node, which
sockets they hold and listen on, their children; and a kill that cannot be refused."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
_UNIX_ACCEPTING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix


def inner_pid(host_pid: int) -> int | None:
    try:
        with open(f"/proc/{host_pid}/status") as status:
            for line in status:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def listening_inodes(pid: int, port: int | str) -> set[str]:
    inodes: set[str] = set()
    if isinstance(port, int):
        for table in ("tcp", "tcp6"):
            for fields in _table(f"/proc/{pid}/net/{table}"):
                if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    else:
        for fields in _table(f"/proc/{pid}/net/unix"):
            listening = int(fields[3], 16) & _UNIX_ACCEPTING
            if listening and len(fields) > 7 and fields[7] == port:
                inodes.add(fields[6])
    return inodes


def _table(path: str) -> Iterator[list[str]]:
    try:
        with open(path) as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) > 9 or (path.endswith("unix") and len(fields) >= 7):
                    yield fields
    except OSError:
        return


def socket_inodes(host_pid: int) -> set[str]:
    found = set()
    try:
        for fd in os.listdir(f"/proc/{host_pid}/fd"):
            try:
                link = os.readlink(f"/proc/{host_pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                found.add(link[8:-1])
    except OSError:
        pass
    return found


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
