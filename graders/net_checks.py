"""Network checks: a node's addresses, VLAN interfaces, bridge VLANs, sysctls and routes, read
as iproute2's JSON (`ip -j`, `bridge -j`), and what it reaches, probed with its `ping`.

They run inside the node (`via: node`) with the node's own tools, whose programs the
integrity scan checks against Debian's packages; the answers are structured output, parsed
with bounds (the transport caps it at 1 MiB) and never by the candidate's text. Each verdict
says what was seen ("eth2: untagged VLAN 10, pvid 10"), for the jury.

Every value may come from a placeholder (`{{ vlan_admin }}` -> "23"): numbers accept numeric
text, and the schema editors use says so.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from graders import iproute
from graders.contract import CheckContext, CheckResult, excerpt
from graders.iproute import Unreadable

MAX_HOPS = 8
# How long a probe waits for its answer. Lab routers and switches are often emulated VMs: on a
# busy host their first packet waits for ARP and forwarding takes up to a second, and a
# shorter wait made the same lab reach a host at one grading and not at the next.
REPLY_DEADLINE = 5  # a ping check: it keeps probing until COUNT replies or this many seconds
HOP_WAIT = 3  # each hop of a traceroute
_TEXT_NUMBER = {"type": "string", "pattern": r"^(\s*\d+\s*|.*\{\{.*\}\}.*)$"}
VlanId = Annotated[
    int,
    Field(ge=1, le=4094),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 4094}, _TEXT_NUMBER]}),
]
Count = Annotated[
    int,
    Field(ge=1, le=10),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 10}, _TEXT_NUMBER]}),
]
Interface = Annotated[str, Field(min_length=1, max_length=15)]


class NetCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    node: str

    def run(self, ctx: CheckContext) -> CheckResult:
        try:
            return self.judge(ctx)
        except Unreadable as exc:
            return CheckResult(0, str(exc))

    def judge(self, ctx: CheckContext) -> CheckResult:
        raise NotImplementedError


def _cidr(value: str) -> str:
    """An address with its prefix ("172.16.5.10/24"), or alone (any prefix will do)."""
    text = value.strip()
    return str(ipaddress.ip_interface(text)) if "/" in text else iproute.address(text)


class AddressCheck(NetCheck):
    """The node has `address` (on `interface` if given). `ip -j address show`."""

    type: Literal["address"]
    address: str
    interface: Interface | None = None
    _valid = field_validator("address")(lambda v: _cidr(v))

    def judge(self, ctx: CheckContext) -> CheckResult:
        links = iproute.links(ctx, self.node, "ip -j address show")
        held = {name: iproute.addresses(link) for name, link in links.items()}
        want = self.address
        ip = ipaddress.ip_address(want.split("/")[0])
        if self.interface is not None and self.interface not in held:
            return CheckResult(0, f"no interface {self.interface} (it has {iproute.names(held)})")
        places = [self.interface] if self.interface else list(held)
        for name in places:
            for found in held[name]:
                if found.ip == ip and ("/" not in want or str(found) == want):
                    return CheckResult(1, f"{name} has {found}")
        same_ip = [
            f"{found} on {name}"
            for name, addrs in held.items()
            for found in addrs
            if found.ip == ip
        ]
        if same_ip:
            return CheckResult(0, f"{', '.join(same_ip)}, not {want}" + iproute.on(self.interface))
        if self.interface:
            seen = iproute.describe_addresses(held[self.interface])
            return CheckResult(0, f"{self.interface} has {seen}, not {want}")
        seen = "; ".join(
            f"{n}: {iproute.describe_addresses(a)}" for n, a in held.items() if n != "lo"
        )
        return CheckResult(0, f"no interface has {want} ({seen or 'no interface'})")


class VlanInterfaceCheck(NetCheck):
    """An 802.1Q interface of VLAN `id` on `parent`, whatever its name, with `addresses`
    and up. `ip -j -d address show`."""

    type: Literal["vlan_interface"]
    parent: Interface
    id: VlanId
    addresses: list[str] = []
    up: bool = True  # false: its state is not checked
    _valid = field_validator("addresses")(lambda v: [_cidr(a) for a in v])

    def judge(self, ctx: CheckContext) -> CheckResult:
        links = iproute.links(ctx, self.node, "ip -j -d address show")
        vlans = {name: vlan for name, link in links.items() if (vlan := iproute.vlan_of(link))}
        mine = [
            name
            for name, (vid, parent) in vlans.items()
            if vid == self.id and parent == self.parent
        ]
        if not mine:
            seen = ", ".join(f"{n} (VLAN {v} on {p or '?'})" for n, (v, p) in vlans.items())
            where = f"no VLAN {self.id} interface on {self.parent}"
            return CheckResult(0, f"{where} (VLAN interfaces: {seen or 'none'})")
        verdicts = [self._one(name, links[name]) for name in mine]
        return max(verdicts, key=lambda r: r.score)

    def _one(self, name: str, link: dict[str, Any]) -> CheckResult:
        have = iproute.addresses(link)
        what = f"{name} (VLAN {self.id} on {self.parent}) has {iproute.describe_addresses(have)}"
        missing = [a for a in self.addresses if not any(iproute.same(found, a) for found in have)]
        if missing:
            return CheckResult(0, f"{what}, not {', '.join(missing)}")
        flags = iproute.strings(link.get("flags"))
        state = str(link.get("operstate", "?")).lower()
        if self.up and not {"UP", "LOWER_UP"} <= flags:
            return CheckResult(0, f"{what}, but it is not up (state {state})")
        return CheckResult(1, what + (", up" if self.up else ""))


class BridgeVlanCheck(NetCheck):
    """A bridge port's VLANs: `pvid`, `untagged` and `tagged` ones, and (`only`) no other.
    `ip -j -d link show` (its bridge filters VLANs?), then `bridge -j vlan show`."""

    type: Literal["bridge_vlan"]
    port: Interface
    pvid: VlanId | None = None
    untagged: list[VlanId] = []
    tagged: list[VlanId] = []
    only: bool = False

    def judge(self, ctx: CheckContext) -> CheckResult:
        links = iproute.links(ctx, self.node, "ip -j -d link show")
        problem = iproute.not_filtering(self.port, links)
        if problem:
            return CheckResult(0, problem)
        table = iproute.bridge_table(iproute.read_json(ctx, self.node, "bridge -j vlan show")).get(
            self.port, {}
        )
        seen = f"{self.port}: {iproute.describe_port(table)}"
        pvids = [vid for vid, flags in table.items() if "PVID" in flags]
        wrong = []
        if self.pvid is not None and pvids != [self.pvid]:
            wrong.append(f"pvid {self.pvid}")
        wrong += [
            f"VLAN {v} untagged"
            for v in self.untagged
            if "Egress Untagged" not in table.get(v, set())
        ]
        wrong += [
            f"VLAN {v} tagged"
            for v in self.tagged
            if v not in table or "Egress Untagged" in table[v]
        ]
        allowed = {*self.untagged, *self.tagged, *([self.pvid] if self.pvid else [])}
        extra = sorted(set(table) - allowed) if self.only else []
        if extra:
            wrong.append(f"no other VLAN (has {iproute.ranges(extra)})")
        if wrong:
            return CheckResult(0, f"{seen}; expected {', '.join(wrong)}")
        return CheckResult(1, seen)


class SysctlCheck(NetCheck):
    """A kernel setting's live value, from the node's own namespace. `sysctl -n KEY`."""

    type: Literal["sysctl"]
    key: Annotated[str, Field(pattern=r"^[a-z0-9_]+(?:[./][A-Za-z0-9_@:-]+)+$")]
    value: str | int

    def judge(self, ctx: CheckContext) -> CheckResult:
        result = ctx.run(self.node, f"sysctl -n {shlex.quote(self.key)}")
        if not result.ok:
            raise Unreadable(f"{self.key}: {excerpt(result.stderr.strip(), 200) or 'no value'}")
        seen, want = " ".join(result.stdout.split()), " ".join(str(self.value).split())
        if seen == want:
            return CheckResult(1, f"{self.key} = {seen}")
        return CheckResult(0, f"{self.key} = {seen}, expected {want}")


class RouteCheck(NetCheck):
    """A route to `to` (`default` or a CIDR), through `via` and/or out of `dev` if given.
    `ip -j route show` (`ip -6` for IPv6), the main table."""

    type: Literal["route"]
    to: str
    via: str | None = None
    dev: Interface | None = None
    _to = field_validator("to")(lambda v: v if v.strip() == "default" else iproute.network(v))
    _via = field_validator("via")(lambda v: iproute.address(v) if v is not None else v)

    def judge(self, ctx: CheckContext) -> CheckResult:
        six = ":" in self.to or ":" in (self.via or "")
        routes = iproute.objects(
            iproute.read_json(ctx, self.node, f"ip{' -6' if six else ''} -j route show")
        )
        to_here = [r for r in routes if iproute.destination(r) == self.to]
        hops = [hop for route in to_here for hop in iproute.hops(route)]
        for gateway, dev in hops:
            if self.via in (None, gateway) and self.dev in (None, dev):
                return CheckResult(1, f"{self.to}{iproute.hop_text(gateway, dev)}")
        if not hops:
            seen = "; ".join(iproute.route_text(r) for r in routes[:8]) or "none"
            return CheckResult(0, f"no route to {self.to} (routes: {seen})")
        seen = "; ".join(f"{self.to}{iproute.hop_text(g, d)}" for g, d in hops)
        return CheckResult(0, f"{seen}, expected{iproute.hop_text(self.via, self.dev)}")


class PingCheck(NetCheck):
    """Does the node reach `to`? `ping -n -c COUNT -i 0.2 -w 5` (probes until COUNT replies or
    5 s): reached if a reply came."""

    type: Literal["ping"]
    to: str
    reachable: bool = True
    count: Count = 3
    _to = field_validator("to")(lambda v: iproute.address(v))

    def judge(self, ctx: CheckContext) -> CheckResult:
        command = f"ping -n -c {self.count} -i 0.2 -w {REPLY_DEADLINE} {self.to}"
        result = ctx.run(self.node, command, timeout=5.0 + REPLY_DEADLINE)
        text = result.stdout + result.stderr
        stats = re.search(r"(\d+) packets transmitted, (\d+) received", result.stdout)
        if stats:
            sent, got = int(stats[1]), int(stats[2])
        elif result.status == 2 and re.search(r"unreachable|no route", text, re.I):
            sent, got = 0, 0  # refused before sending: no route from the node
        else:
            raise Unreadable(
                f"ping did not run (exit status {result.status}): {excerpt(text.strip(), 200)}"
            )
        why = _ping_errors(text)
        seen = f"{got}/{sent} replies" + (f" ({why})" if why and not got else "")
        if got and self.reachable:
            return CheckResult(1, f"{self.node} reaches {self.to}: {seen}")
        if not got and not self.reachable:
            return CheckResult(1, f"{self.node} does not reach {self.to}, as required: {seen}")
        if got:
            return CheckResult(0, f"{self.node} reaches {self.to} ({seen}), which it must not")
        return CheckResult(0, f"{self.node} does not reach {self.to}: {seen}")


class TracerouteCheck(NetCheck):
    """The path from the node to `to` passes `via`, in that order, and reaches it: one
    `ping -n -c 1 -W 3 -t TTL` per hop, TTL 1 to 8 (the images have no traceroute)."""

    type: Literal["traceroute"]
    to: str
    via: Annotated[list[str], Field(min_length=1)]
    _to = field_validator("to")(lambda v: iproute.address(v))
    _via = field_validator("via")(lambda v: [iproute.address(a) for a in v])

    def judge(self, ctx: CheckContext) -> CheckResult:
        hops, reached = self._trace(ctx)
        path = " → ".join([*hops, self.to if reached else "(not reached)"])
        expected = " → ".join(self.via)
        remaining = iter(hops)
        in_order = all(any(hop == want for hop in remaining) for want in self.via)
        if reached and in_order:
            return CheckResult(1, f"path to {self.to}: {path}")
        if not reached:
            return CheckResult(0, f"{self.to} not reached: {path}; expected via {expected}")
        return CheckResult(0, f"path to {self.to}: {path}; expected via {expected}")

    def _trace(self, ctx: CheckContext) -> tuple[list[str], bool]:
        hops: list[str] = []
        for ttl in range(1, MAX_HOPS + 1):
            probe = f"ping -n -c 1 -W {HOP_WAIT} -t {ttl} {self.to}"
            result = ctx.run(self.node, probe, timeout=5.0 + HOP_WAIT)
            text = result.stdout + result.stderr
            if re.search(rf"bytes from {re.escape(self.to)}:", text):
                return hops, True
            hop = re.search(r"^From (\S+?):? icmp_seq=\d+ Time to live exceeded", text, re.M)
            if hop:
                hops.append(hop[1])
                continue
            dead = re.search(r"^From (\S+?):? icmp_seq=\d+ (.*unreachable.*)$", text, re.M | re.I)
            if dead:
                return [*hops, f"{dead[1]} ({dead[2].strip()})"], False
            if result.status == 2:  # nothing sent: no route from the node
                last = text.strip().splitlines()[-1] if text.strip() else "ping failed"
                return [*hops, f"({excerpt(last, 80)})"], False
            hops.append("*")
        return hops, False


def _ping_errors(text: str) -> str:
    """The first error ping printed (a router's "Destination Net Unreachable", ...)."""
    found = re.search(r"^(From \S+ icmp_seq=\d+ .+|ping: .+)$", text, re.M)
    return excerpt(found[1].strip(), 120) if found else ""
