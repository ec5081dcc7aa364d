"""A scenario's L2 links, wired on the lab host: each link is a Linux bridge of its own.

A container joins its links by veth pairs (the host end in the link's bridge, the other end
moved into the container's network namespace and named as the scenario says); a VM by a tap
libvirt puts in that bridge. A plain bridge forwards frames as they are, 802.1Q tags
included, and one bridge per link and session keeps sessions apart. The platform adds nothing
to a link: no address, no IPv6 autoconfiguration, no DHCP (the host's side has IPv6 off, the
node's side no link-local address); the host neither routes nor answers there
(labs.firewall). Every bridge is named from a hash of its session and labelled with
`ifalias`, so destroy and the reaper find it again after a crash.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from labs.driver import LabError
from labs.scenario import MANAGEMENT, Scenario

BRIDGE_PREFIX = "pl-"  # a link's bridge
PORT_PREFIX = "pv-"  # a container's end of a link, on the host
ALIAS = "praxis-link"  # ifalias: "praxis-link <instance> <session>"
NO_LINK_LOCAL = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", 1)]})]}
log = logging.getLogger("praxis.labs")


@dataclass(frozen=True)
class Port:
    """A node's interface on a link, and the bridge it joins."""

    interface: str
    bridge: str


def ports(instance: str, session_id: str, scenario: Scenario) -> dict[str, list[Port]]:
    """Node -> its ports, in the scenario's order."""
    found: dict[str, list[Port]] = {}
    for index, link in enumerate(scenario.links):
        bridge = _name(BRIDGE_PREFIX, instance, session_id, str(index))
        for end in link.endpoints:
            found.setdefault(end.node, []).append(Port(end.interface, bridge))
    return found


def encode(node_ports: list[Port]) -> str:
    """A node's ports as one label value: `eth1=pl-…,eth2=pl-…`."""
    return ",".join(f"{p.interface}={p.bridge}" for p in node_ports)


def decode(label: str) -> list[Port]:
    pairs = (item.partition("=") for item in label.split(",") if item)
    return [Port(interface, bridge) for interface, _, bridge in pairs]


# Every netlink call runs on this one thread: pyroute2 drives its sockets with an asyncio loop
# of the calling thread's, which fails in a thread whose loop already runs (a test's browser,
# a caller on an event loop); one thread also keeps the host's link changes one at a time.
_netlink = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink")
P = ParamSpec("P")
R = TypeVar("R")


def _on_netlink_thread(call: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(call)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return _netlink.submit(call, *args, **kwargs).result()

    return run


class Links:
    def __init__(self, instance: str) -> None:
        self.instance = instance

    @_on_netlink_thread
    def make(self, session_id: str, scenario: Scenario) -> None:
        """Every link's bridge, up, before any node joins it; idempotent. Raises LabError."""
        bridges = {
            p.bridge for node in ports(self.instance, session_id, scenario).values() for p in node
        }
        try:
            with IPRoute() as ipr:
                for bridge in sorted(bridges):
                    if not ipr.link_lookup(ifname=bridge):
                        # A wire, not a switch: no spanning tree, no multicast snooping (the
                        # bridge would join the snoopers' group and speak on the link).
                        ipr.link(
                            "add",
                            ifname=bridge,
                            kind="bridge",
                            br_stp_state=0,
                            br_forward_delay=0,
                            br_mcast_snooping=0,
                        )
                    index = ipr.link_lookup(ifname=bridge)[0]
                    _host_side_silent(bridge)
                    ipr.link(
                        "set",
                        index=index,
                        ifalias=f"{ALIAS} {self.instance} {session_id}",
                        state="up",
                    )
        except (NetlinkError, OSError) as exc:
            raise LabError(f"links of {session_id}: {exc}") from exc

    @_on_netlink_thread
    def attach(self, session_id: str, node: str, pid: int, node_ports: list[Port]) -> None:
        """Plug a container just started (its PID 1 on the host: `pid`) into its links; a
        port already there is kept. Raises LabError.

        Its end is made in its namespace under its final name: a network manager there
        ignores an interface renamed after it appeared (systemd-networkd 252). The engine's
        default route through the management interface goes: the lab's routes are the
        candidate's (the management network reaches nothing beyond its own subnet)."""
        netns = f"/proc/{pid}/ns/net"
        try:
            with IPRoute() as ipr, _ipr_in(netns) as inside:
                missing = [p for p in node_ports if not inside.link_lookup(ifname=p.interface)]
                for port in missing:
                    host = _name(PORT_PREFIX, self.instance, session_id, node, port.interface)
                    for stale in ipr.link_lookup(ifname=host):  # from a start that failed
                        ipr.link("del", index=stale)
                    bridge = ipr.link_lookup(ifname=port.bridge)
                    if not bridge:
                        raise LabError(f"link bridge {port.bridge} of {session_id} is gone")
                    ipr.link(
                        "add",
                        ifname=host,
                        kind="veth",
                        peer={"ifname": port.interface, "net_ns_fd": netns},
                    )
                    _host_side_silent(host)
                    index = ipr.link_lookup(ifname=host)[0]
                    ipr.link("set", index=index, master=bridge[0], state="up")
                    index = inside.link_lookup(ifname=port.interface)[0]
                    inside.link("set", index=index, IFLA_AF_SPEC=NO_LINK_LOCAL)
                    inside.link("set", index=index, state="up")
                if missing:
                    management = inside.link_lookup(ifname=MANAGEMENT)
                    for route in inside.get_default_routes(family=socket.AF_INET):
                        if route.get("oif") in management:
                            inside.route("del", dst="0.0.0.0/0", oif=route.get("oif"))
        except (NetlinkError, OSError) as exc:
            raise LabError(f"links of {node} in {session_id}: {exc}") from exc

    @_on_netlink_thread
    def remove(self, session_id: str) -> None:
        """The session's bridges (its containers' ports went with their namespaces)."""
        try:
            with IPRoute() as ipr:
                for link in ipr.get_links():
                    if _owner(link) == (self.instance, session_id):
                        with contextlib.suppress(NetlinkError):
                            ipr.link("del", index=link["index"])
        except (NetlinkError, OSError) as exc:
            raise LabError(f"links of {session_id}: {exc}") from exc

    @_on_netlink_thread
    def sessions(self) -> set[str]:
        """Sessions of this platform instance with a link on this host (for the reaper)."""
        try:
            with IPRoute() as ipr:
                owners = [_owner(link) for link in ipr.get_links()]
        except (NetlinkError, OSError) as exc:
            log.warning("links: cannot list the host's interfaces: %s", exc)
            return set()
        return {owner[1] for owner in owners if owner and owner[0] == self.instance}


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def _ipr_in(netns: str) -> Iterator[IPRoute]:
    """A netlink socket in another network namespace, made without a fork: pyroute2's NetNS
    forks a child to open it, and a fork of this threaded process can deadlock in the child
    (seen: a lab stuck for an hour at its first container). This thread enters the namespace
    (setns moves the calling thread only), opens the socket (a socket keeps the namespace it
    was made in) and comes back before anything else runs on it."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns, os.O_RDONLY)
        try:
            _setns(target)
            try:
                ipr = IPRoute()
            finally:
                _setns(home)
        finally:
            os.close(target)
    finally:
        os.close(home)
    with ipr:
        yield ipr


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def _owner(link: Any) -> tuple[str, str] | None:
    parts = str(link.get("ifalias") or "").split(" ")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == ALIAS else None


def _name(prefix: str, *parts: str) -> str:
    """An interface name (15 characters at most) that says nothing but is the same each time."""
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


def _host_side_silent(interface: str) -> None:
    """The host's end of a link sends nothing (no IPv6 of its own) and answers no ARP."""
    for path, value in (
        (f"/proc/sys/net/ipv6/conf/{interface}/disable_ipv6", "1"),
        (f"/proc/sys/net/ipv4/conf/{interface}/arp_ignore", "8"),
    ):
        with contextlib.suppress(FileNotFoundError):
            Path(path).write_text(value)


@functools.cache
@_on_netlink_thread
def vlan_in_containers() -> str | None:
    """Why containers cannot use 802.1Q on this host (None if they can). Tried, not guessed:
    a VLAN interface and a VLAN-filtering bridge are made and removed (containers share the
    host's kernel; VMs have their own and need none of this)."""
    veth, vlan, bridge = "pl-probe0", "pl-probe0.2", "pl-probe1"
    try:
        with IPRoute() as ipr:
            for name in (vlan, veth, bridge):
                for index in ipr.link_lookup(ifname=name):
                    ipr.link("del", index=index)
            try:
                ipr.link("add", ifname=veth, kind="veth", peer={"ifname": veth + "p"})
                try:
                    ipr.link(
                        "add",
                        ifname=vlan,
                        kind="vlan",
                        link=ipr.link_lookup(ifname=veth)[0],
                        vlan_id=2,
                    )
                except NetlinkError as exc:
                    return f"no 802.1Q in the host kernel (VLAN interface: {exc.args[-1]})"
                try:
                    ipr.link("add", ifname=bridge, kind="bridge", br_vlan_filtering=1)
                except NetlinkError as exc:
                    return f"no VLAN-filtering bridge in the host kernel ({exc.args[-1]})"
                return None
            finally:
                for name in (vlan, veth, bridge):
                    for index in ipr.link_lookup(ifname=name):
                        ipr.link("del", index=index)
    except (NetlinkError, OSError) as exc:
        return f"cannot probe the host's network: {exc}"


def host_cannot(scenario: Scenario) -> dict[str, str]:
    """Node -> what this host lacks to run it, in one line (empty when it can run them all)."""
    needing = [name for name, node in scenario.nodes.items() if "8021q" in node.needs]
    why = vlan_in_containers() if needing else None
    return {
        name: f"node {name} needs 802.1Q in a container: {why}; "
        "make it a VM (kind: vm), or run it on a host whose kernel has 8021q"
        for name in needing
        if why
    }
