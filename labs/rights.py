"""Node rights: which Linux capabilities a container node gets, and which a scenario may ask.

Every node gets Docker's default set without MKNOD (BASE_CAPS). A scenario may add the safe
ones (SAFE_EXTRA: namespaced to the node, measured as what the shipped scenarios need); any
other (SYS_ADMIN, SYS_MODULE, SYS_TIME...) reaches the host or its neighbours and needs the
operator's consent, given by the caller as `allowed` (the platform's settings).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

BASE_CAPS = frozenset(
    {
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    }
)
# NET_ADMIN acts on the node's own network namespace only (its interfaces, routes, bridges).
SAFE_EXTRA = frozenset({"NET_ADMIN"})
SAFE = BASE_CAPS | SAFE_EXTRA
# Every capability Linux knows (capabilities(7)), and Docker's ALL: anything else is a typo.
KNOWN = SAFE | {
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "DAC_READ_SEARCH",
    "IPC_LOCK",
    "IPC_OWNER",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_BROADCAST",
    "PERFMON",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
}


def capability(name: str) -> str:
    """The canonical name Docker would apply: `cap_sys_admin` and `SYS_ADMIN` are one."""
    return name.strip().upper().removeprefix("CAP_")


def refused(
    nodes: Mapping[str, Collection[str]], allowed: Collection[str]
) -> Iterable[tuple[str, int, str]]:
    """(node, index in its list, capability) of every capability asked beyond `allowed`."""
    permitted = {capability(c) for c in allowed}
    for node, asked in nodes.items():
        for i, name in enumerate(asked):
            if capability(name) not in permitted:
                yield node, i, capability(name)
