"""What checks read from the host's view of a node: the package database, account names,
and who holds a socket."""

from __future__ import annotations

import time

from graders.contract import CheckContext, IpProtocol, NodeView
from graders.integrity import alias

MAX_STATUS = 64 << 20


def canonical(path: str) -> str:
    """/sbin/x and /usr/sbin/x are one file on Debian 12: compare them as /usr/sbin/x."""
    return alias(path) if not path.startswith("/usr/") and alias(path) != path else path


def dpkg_status(view: NodeView) -> dict[str, dict[str, str]]:
    """Package name -> its stanza in /var/lib/dpkg/status (first-line fields only)."""
    info = view.read("/var/lib/dpkg/status", MAX_STATUS)
    packages: dict[str, dict[str, str]] = {}
    for stanza in (info.content or b"").decode("utf-8", "replace").split("\n\n") if info else []:
        fields = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            packages[fields["Package"]] = fields
    return packages


def names(view: NodeView) -> tuple[dict[int, str], dict[int, str]]:
    """uid -> user name and gid -> group name, from the node's /etc/passwd and /etc/group."""
    tables = []
    for path in ("/etc/passwd", "/etc/group"):
        info = view.read(path, 4 << 20)
        table: dict[int, str] = {}
        for line in (info.content or b"").decode("utf-8", "replace").splitlines() if info else []:
            fields = line.split(":")
            if len(fields) >= 3 and fields[2].isdigit():
                table.setdefault(int(fields[2]), fields[0])
        tables.append(table)
    return tables[0], tables[1]


def socket_name(port: int | str, protocol: IpProtocol = "tcp") -> str:
    """How findings name a socket: "udp port 53", "tcp port 80", or a unix socket's path."""
    return f"{protocol} port {port}" if isinstance(port, int) else port


def served_by(
    ctx: CheckContext, node: str, port: int | str, exe: str, protocol: IpProtocol = "tcp"
) -> str | None:
    """None when a genuine `exe` holds `port` of `protocol` (listening in TCP, bound in UDP)
    or the unix socket at path `port`; else why not."""
    start = time.monotonic()
    owners = ctx.view(node).listeners(port, protocol)
    where = socket_name(port, protocol)
    shown = "\n".join(f"{p.pid} {p.exe}: {p.why}" for p in owners) or "nobody listens"
    ctx.record(
        node, f"who listens on {where} (host view)", 0 if owners else 1, shown, start, "host"
    )
    if not owners:
        return f"nothing listens on {where} in the node"
    right = [p for p in owners if canonical(p.exe) == canonical(exe)]
    if not right:
        return f"{where} is held by {owners[0].exe}, not {exe}"
    fake = [p for p in right if not p.genuine]
    if fake:
        return f"{where} is held by {fake[0].exe}, which is {fake[0].why}"
    return None
