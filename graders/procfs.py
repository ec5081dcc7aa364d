"""The host's /proc, read for a node's processes: who they are inside the node, which
sockets they hold and listen on, their children; and a kill that cannot be refused."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from collections.abc import Iterable, Iterator

from graders.contract import IpProtocol

# A socket waiting for peers, by its state in /proc/net/{tcp,udp}[6]: TCP in LISTEN; UDP has
# no such state, and a server's socket is bound and connected to no peer (TCP_CLOSE, 07),
# where a client's is connected (ESTABLISHED, 01).
_WAITING: dict[IpProtocol, str] = {"tcp": "0A", "udp": "07"}
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


def listening_inodes(pid: int, port: int | str, protocol: IpProtocol = "tcp") -> set[str]:
    """Inodes of the sockets waiting for peers on `port` of `protocol`, or on the unix socket
    at path `port`, in the network namespace of `pid`."""
    inodes: set[str] = set()
    if isinstance(port, int):
        for table in (protocol, f"{protocol}6"):
            inodes |= port_inodes(_lines(f"/proc/{pid}/net/{table}"), port, protocol)
    else:
        for fields in _rows(_lines(f"/proc/{pid}/net/unix"), 7):
            listening = int(fields[3], 16) & _UNIX_ACCEPTING
            if listening and len(fields) > 7 and fields[7] == port:
                inodes.add(fields[6])
    return inodes


def port_inodes(table: Iterable[str], port: int, protocol: IpProtocol) -> set[str]:
    """Inodes of the sockets of `table` (the lines of /proc/net/tcp, tcp6, udp or udp6, header
    first) waiting for peers on local `port`."""
    return {
        fields[9]
        for fields in _rows(table, 10)
        if fields[3] == _WAITING[protocol] and int(fields[1].rsplit(":", 1)[1], 16) == port
    }


def _lines(path: str) -> list[str]:
    try:
        with open(path) as table:
            return table.readlines()
    except OSError:
        return []


def _rows(lines: Iterable[str], least: int) -> Iterator[list[str]]:
    """The fields of each line after the header, when there are at least `least`."""
    for line in itertools.islice(lines, 1, None):
        fields = line.split()
        if len(fields) >= least:
            yield fields


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
