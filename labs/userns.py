"""A node's user namespace, as the host sees it.

With the engine's `userns-remap` (set by `make setup`), root in a node is an unprivileged user
of the host (100000 and up by default): what a candidate escapes to is nobody's. The host
reads the node's files and processes with host ids; these maps give them back as the node
knows them (root 0, the candidate 1000), and the node's root as the host knows it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator
from dataclasses import dataclass

OVERFLOW_ID = 65534  # what the kernel shows for an id with no mapping: `nobody`


@dataclass(frozen=True)
class IdMap:
    """/proc/PID/uid_map or gid_map: (first id inside, first id on the host, count) ranges."""

    ranges: tuple[tuple[int, int, int], ...]

    @property
    def identity(self) -> bool:
        return all(inside == host for inside, host, _ in self.ranges)

    def inside(self, host_id: int) -> int:
        """The node's id for a host id; the overflow id when the node has none for it."""
        for inside, host, count in self.ranges:
            if host <= host_id < host + count:
                return inside + host_id - host
        return OVERFLOW_ID

    def host(self, inside_id: int) -> int:
        """The host's id for one of the node's ids. Raises LookupError when it has none."""
        for inside, host, count in self.ranges:
            if inside <= inside_id < inside + count:
                return host + inside_id - inside
        raise LookupError(f"id {inside_id} is not mapped")


IDENTITY = IdMap(((0, 0, 4294967295),))


def parse(text: str) -> IdMap:
    ranges = tuple(
        (int(fields[0]), int(fields[1]), int(fields[2]))
        for fields in (line.split() for line in text.splitlines())
        if len(fields) == 3
    )
    return IdMap(ranges) if ranges else IDENTITY


def of_process(pid: int, kind: str = "uid") -> IdMap:
    """The `kind` ("uid" or "gid") map of a host process. Raises OSError when it is gone."""
    with open(f"/proc/{pid}/{kind}_map") as found:
        return parse(found.read())


def of_node(pid: int) -> tuple[IdMap, IdMap]:
    """The uid and gid maps of a node whose PID 1 is host process `pid`. Raises OSError."""
    return of_process(pid, "uid"), of_process(pid, "gid")


# setresuid/setresgid by system call: the C library's apply to every thread of the process,
# the kernel's to the calling thread only (its credentials are its own).
_SETRES = {"x86_64": (117, 119), "aarch64": (147, 149)}
_LIBC = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def acting_as(uid: int, gid: int) -> Iterator[None]:
    """The calling thread's effective ids are `uid`/`gid` within the block (it must be root:
    its saved ids bring it back). A unix socket connected here shows its peer as that user, so
    a remapped node's server (MariaDB's unix_socket sign-in) sees its own root, not nobody."""
    setresuid, setresgid = _SETRES[os.uname().machine]
    keep = ctypes.c_long(-1)

    def call(number: int, effective: int) -> None:
        if _LIBC.syscall(number, keep, ctypes.c_long(effective), keep) != 0:
            raise OSError(ctypes.get_errno(), f"cannot act as {uid}:{gid}")

    call(setresgid, gid)
    try:
        call(setresuid, uid)
        try:
            yield
        finally:
            call(setresuid, 0)
    finally:
        call(setresgid, 0)
