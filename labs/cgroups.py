"""A node's own cgroup tree for its systemd, and nothing of the host's or its neighbours'.

Every node gets a private cgroup namespace: it sees its own subtree as the whole tree. On
cgroup v2 systemd uses that as it is. On v1 systemd must write its named hierarchy
(name=systemd), which the engine mounts read-only in an unprivileged container; bind-mounting
the host's /sys/fs/cgroup instead (the old way) showed every lab's container ids and resource
use, and mounted the host's hierarchies writable (`:ro` holds for the top directory only): a
candidate could change a neighbour's limits. So on v1 the node's PID 1 waits (WAIT) until the
driver has made that one mount, which shows the node's own subtree only, writable. With
user-namespace remapping the subtree must also belong to the node's root (a host uid), as a
delegated cgroup does: systemd cannot make its /init.scope otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys

from labs import userns
from labs.driver import LabError

HIERARCHY = "/sys/fs/cgroup/systemd"
WAIT = f"[ -w {HIERARCHY} ] || m=1; "  # a condition of the node's PID-1 wait loop
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND = 2, 4, 8, 32, 4096
_FLAGS = _MS_REMOUNT | _MS_BIND | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC  # read-write
# Run in a fresh interpreter: entering a mount namespace needs a single-threaded process. The
# node's files are the candidate's: nothing of theirs may run or be read as the host's root,
# so the program loads all it needs, then enters, makes one system call and leaves.
_REMOUNT = f"""
import ctypes, os, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
fd = os.open("/proc/%d/ns/mnt" % int(sys.argv[1]), os.O_RDONLY)
flags, path = ctypes.c_ulong({_FLAGS}), ctypes.c_char_p({HIERARCHY.encode()!r})
ok = libc.setns(fd, 0x20000) == 0 and libc.mount(None, path, None, flags, None) == 0
os._exit(0 if ok else ctypes.get_errno() or 1)
"""


def give_systemd_its_tree(pid: int) -> None:
    """Make the name=systemd mount of the node whose PID 1 is `pid` writable (cgroup v1, an
    engine on this host). Raises LabError."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _REMOUNT, str(pid)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode:
        why = done.stderr.decode().strip() or os.strerror(done.returncode)
        raise LabError(f"the node's cgroup tree could not be given to its systemd: {why}")
    try:
        uids, gids = userns.of_node(pid)
        if not uids.identity:
            _chown_tree(_host_path(pid), uids.host(0), gids.host(0))
    except (OSError, LookupError) as exc:
        raise LabError(f"the node's cgroup tree could not be given to its root: {exc}") from exc


def _host_path(pid: int) -> str:
    """The host's directory of the node's name=systemd cgroup (read from the host's side)."""
    with open(f"/proc/{pid}/cgroup") as found:
        for line in found:
            _, hierarchy, path = line.rstrip("\n").split(":", 2)
            if hierarchy == "name=systemd":
                return HIERARCHY + path
    raise OSError(f"process {pid} has no name=systemd cgroup")


def _chown_tree(top: str, uid: int, gid: int) -> None:
    for folder, _, files in os.walk(top):
        for path in (folder, *(os.path.join(folder, name) for name in files)):
            os.chown(path, uid, gid)
