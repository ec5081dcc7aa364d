"""Addresses for VMs that boot from their own disk (imported images: Windows Server, pfSense).

Built images read their address from the kernel command line; an imported system cannot, it
asks DHCP. Each session with such VMs gets its own dnsmasq on the session's bridge, serving
only fixed leases (MAC -> address, the addresses the driver chose) and nothing else: no
dynamic range, so a machine the candidate adds gets nothing, and no DNS. Its pid, lease and
log files live in the session's disk folder, so destroying the session finds it again.
The host firewall must let DHCP in from that bridge (labs.firewall.allow_dhcp).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import time
from pathlib import Path

from labs.driver import LabError

DNSMASQ = "/usr/sbin/dnsmasq"  # Debian's dnsmasq-base (setup.sh installs it)
PID_FILE = "dnsmasq.pid"
LEASE_FILE = "dnsmasq.leases"
LOG_FILE = "dnsmasq.log"  # start-up and errors only (--quiet-dhcp): a guest can't fill it
STOP_TIMEOUT = 5.0


def start(folder: Path, bridge: str, gateway: str, leases: dict[str, str]) -> None:
    """Serve `leases` (MAC -> address) on `bridge`, whose address is `gateway` (also given
    as the router). Idempotent: a dnsmasq already serving `folder` the same way is left as
    it is, one serving other leases is replaced. Raises LabError when dnsmasq is missing or
    does not start."""
    if not Path(DNSMASQ).is_file():
        raise LabError(f"{DNSMASQ} is missing: VMs from imported images need it (`make setup`)")
    network = _network(bridge, gateway)
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        DNSMASQ,
        "--conf-file=/dev/null",  # nothing from the host's /etc/dnsmasq.conf
        "--port=0",  # no DNS
        f"--interface={bridge}",
        "--except-interface=lo",
        "--bind-interfaces",  # its socket bound to this bridge: sessions' servers coexist
        f"--dhcp-range={network.network_address},static,{network.netmask},infinite",
        # On the command line, not in a file: dnsmasq reads its files again as `nobody`.
        *(f"--dhcp-host={mac.lower()},{address}" for mac, address in sorted(leases.items())),
        f"--dhcp-option=option:router,{gateway}",
        "--dhcp-authoritative",  # answer a guest that asks for its old lease at once
        f"--dhcp-leasefile={folder / LEASE_FILE}",
        f"--pid-file={folder / PID_FILE}",
        f"--log-facility={folder / LOG_FILE}",
        "--quiet-dhcp",
    ]
    pid = running(folder)
    if pid is not None and _argv(pid) == argv:
        return
    stop(folder)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:  # it forks once ready: a zero exit means it serves
        reason = (done.stderr.strip() or _log_tail(folder)).splitlines()
        raise LabError(f"dnsmasq on {bridge} did not start: {' '.join(reason)[-300:]}")


def stop(folder: Path) -> None:
    """Stop the session's dnsmasq, if any; idempotent. Only a process that really is the
    dnsmasq of `folder` is signalled (a stale pid file may name someone else's pid)."""
    pid = running(folder)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while running(folder) == pid and time.monotonic() < deadline:
            time.sleep(0.05)
    (folder / PID_FILE).unlink(missing_ok=True)


def running(folder: Path) -> int | None:
    """The pid of the dnsmasq serving `folder`, or None."""
    try:
        pid = int((folder / PID_FILE).read_text().strip())
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[:1]
    except (OSError, ValueError):
        return None
    argv = _argv(pid)
    mine = f"--pid-file={folder / PID_FILE}"
    if argv[:1] != [DNSMASQ] or mine not in argv or state == ["Z"]:
        return None
    return pid


def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def _network(bridge: str, gateway: str) -> ipaddress.IPv4Network:
    """The bridge's subnet, from the address the host holds on it."""
    done = subprocess.run(
        ["ip", "-o", "-4", "addr", "show", "dev", bridge],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        words = line.split()
        if "inet" in words:
            interface = ipaddress.ip_interface(words[words.index("inet") + 1])
            if str(interface.ip) == gateway and isinstance(interface, ipaddress.IPv4Interface):
                return interface.network
    raise LabError(f"bridge {bridge} does not hold the address {gateway}: no DHCP served")


def _log_tail(folder: Path) -> str:
    with contextlib.suppress(OSError):
        return (folder / LOG_FILE).read_text(errors="replace")[-300:]
    return "no reason given"
