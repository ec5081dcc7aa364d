"""Reading iproute2's JSON (`ip -j`, `bridge -j`) as a node printed it: bounded, and
tolerant of shapes other versions print (a field missing or of another type is skipped,
never fatal). Used by graders.net_checks.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from graders.contract import CheckContext, excerpt

MAX_JSON = 1 << 20
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class Unreadable(Exception):
    """The node's answer cannot be read (a command failed, JSON malformed or too large)."""


def address(value: str) -> str:
    """An IP address, written the standard way. Raises ValueError."""
    return str(ipaddress.ip_address(value.strip()))


def read_json(ctx: CheckContext, node: str, command: str) -> Any:
    result = ctx.run(node, command)
    if result.truncated or len(result.stdout) > MAX_JSON:
        raise Unreadable(f"`{command}` printed more than {MAX_JSON >> 20} MiB: not read")
    if not result.ok:
        detail = excerpt(result.stderr.strip(), 200)
        raise Unreadable(f"`{command}` failed (exit status {result.status}): {detail}")
    try:
        return json.loads(result.stdout or "[]")
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"`{command}` gave unreadable JSON: {excerpt(str(exc), 120)}") from exc


def objects(data: Any) -> list[dict[str, Any]]:
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def links(ctx: CheckContext, node: str, command: str) -> dict[str, dict[str, Any]]:
    """Interface name -> its object, from `ip -j [-d] address|link show`."""
    return {
        link["ifname"]: link
        for link in objects(read_json(ctx, node, command))
        if isinstance(link.get("ifname"), str)
    }


def strings(value: Any) -> set[str]:
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def addresses(link: dict[str, Any]) -> list[IPInterface]:
    found = []
    for info in objects(link.get("addr_info")):
        local, prefix = info.get("local"), number(info.get("prefixlen"))
        if isinstance(local, str) and prefix is not None:
            try:
                found.append(ipaddress.ip_interface(f"{local}/{prefix}"))
            except ValueError:
                continue
    return found


def same(found: IPInterface, want: str) -> bool:
    if "/" in want:
        return str(found) == want
    return str(found.ip) == want


def describe_addresses(addresses: list[IPInterface]) -> str:
    shown = [str(a) for a in addresses if not a.ip.is_link_local]
    return ", ".join(shown) if shown else "no address"


def names(held: dict[str, list[IPInterface]]) -> str:
    return ", ".join(sorted(held)) or "no interface"


def on(interface: str | None) -> str:
    return f" on {interface}" if interface else ""


def vlan_of(link: dict[str, Any]) -> tuple[int, str | None] | None:
    """(VLAN id, parent's name) of an 802.1Q interface; the parent is named when it is in the
    same namespace (`link`), else only its index is known."""
    info = link.get("linkinfo")
    if not isinstance(info, dict) or info.get("info_kind") != "vlan":
        return None
    data = info.get("info_data")
    vid = number(data.get("id")) if isinstance(data, dict) else None
    parent = link.get("link")
    return (vid, parent if isinstance(parent, str) else None) if vid is not None else None


def not_filtering(port: str, links: dict[str, dict[str, Any]]) -> str | None:
    """Why `port` is not in a VLAN-filtering bridge (None when it is)."""
    link = links.get(port)
    if link is None:
        return f"no interface {port} (it has {', '.join(sorted(links)) or 'none'})"
    master = link.get("master")
    info = link.get("linkinfo")
    slave = info.get("info_slave_kind") if isinstance(info, dict) else None
    if not isinstance(master, str) or slave != "bridge":
        return f"{port} is in no bridge"
    bridge = links.get(master, {}).get("linkinfo")
    data = bridge.get("info_data") if isinstance(bridge, dict) else None
    filtering = number(data.get("vlan_filtering")) if isinstance(data, dict) else None
    if filtering != 1:
        return f"{port} is in bridge {master}, which does not filter VLANs (vlan_filtering off)"
    return None


def bridge_table(data: Any) -> dict[str, dict[int, set[str]]]:
    """Port -> VLAN -> flags, from `bridge -j vlan show`: iproute2 5.x/6.x lists
    `{"ifname", "vlans": [{"vlan", "vlanEnd"?, "flags"}]}`, older ones map a port's name to
    its list; flags may also come as booleans (`pvid`, `untagged`)."""
    if isinstance(data, dict):
        ports: Iterable[tuple[Any, Any]] = data.items()
    else:
        ports = [(p.get("ifname"), p.get("vlans")) for p in objects(data)]
    table: dict[str, dict[int, set[str]]] = {}
    for name, entries in ports:
        if not isinstance(name, str):
            continue
        vlans = table.setdefault(name, {})
        for entry in objects(entries):
            start = number(entry.get("vlan"))
            end = number(entry.get("vlanEnd", start))
            if start is None or end is None or not 1 <= start <= end <= 4094:
                continue
            flags = strings(entry.get("flags"))
            flags |= {"PVID"} if entry.get("pvid") is True else set()
            flags |= {"Egress Untagged"} if entry.get("untagged") is True else set()
            for vid in range(start, end + 1):
                vlans[vid] = vlans.get(vid, set()) | flags
    return table


def describe_port(vlans: dict[int, set[str]]) -> str:
    if not vlans:
        return "no VLAN"
    untagged = [v for v in sorted(vlans) if "Egress Untagged" in vlans[v]]
    tagged = [v for v in sorted(vlans) if "Egress Untagged" not in vlans[v]]
    pvid = [v for v in sorted(vlans) if "PVID" in vlans[v]]
    parts = [
        f"{kind} VLAN{'s' if len(vids) > 1 else ''} {ranges(vids)}"
        for kind, vids in (("untagged", untagged), ("tagged", tagged))
        if vids
    ]
    parts.append(f"pvid {ranges(pvid)}" if pvid else "no pvid")
    return ", ".join(parts)


def ranges(vids: list[int]) -> str:
    """10, 20-30, 40: a trunk may carry thousands."""
    spans: list[list[int]] = []
    for vid in sorted(vids):
        if spans and vid == spans[-1][1] + 1:
            spans[-1][1] = vid
        else:
            spans.append([vid, vid])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def network(value: str) -> str:
    return str(ipaddress.ip_network(value.strip(), strict=False))


def destination(route: dict[str, Any]) -> str | None:
    if route.get("type") in ("blackhole", "unreachable", "prohibit", "throw"):
        return None  # refuses traffic: not a way there
    dst = route.get("dst")
    if dst == "default" or not isinstance(dst, str):
        return dst if isinstance(dst, str) else None
    try:
        return network(dst)
    except ValueError:
        return None


def hops(route: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """(gateway, device) of a route, or of each of its next hops (multipath)."""
    nexthops = objects(route.get("nexthops")) or [route]
    found = []
    for hop in nexthops:
        gateway, dev = hop.get("gateway"), hop.get("dev")
        found.append(
            (
                address(gateway) if isinstance(gateway, str) and is_ip(gateway) else None,
                dev if isinstance(dev, str) else None,
            )
        )
    return found


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def hop_text(gateway: str | None, dev: str | None) -> str:
    return (f" via {gateway}" if gateway else "") + (f" dev {dev}" if dev else "")


def route_text(route: dict[str, Any]) -> str:
    kind = route.get("type")
    head = f"{kind} " if isinstance(kind, str) else ""
    via = ";".join(hop_text(g, d) for g, d in hops(route))
    return f"{head}{route.get('dst', '?')}{via}"
