"""The network checks against recorded outputs of the nodes' own tools.

net_outputs/ holds what iproute2 6.1 and iputils 20221126 (Debian 12's) printed: `vm-*` in a
debian-vm VM (an 802.1Q interface up, one down, a VLAN-filtering bridge with an access port),
the others in network namespaces joined by veth pairs on this host (addresses, routes, a
bridge without VLAN filtering, pings, a TTL exceeded at a router). This host's kernel has no
802.1Q: the trunk and access ports of `switch-*.json` are those captures with the fields the
VM showed, and `switch-bridge-vlan-iproute2-4.json` the other shape of `bridge -j vlan show`,
which iproute2 4.x printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from app.schema import scenario_schema
from graders.contract import CheckContext, CheckResult, CommandResult
from graders.runner import parse_check

OUT = Path(__file__).parent / "net_outputs"
PING_OK = "ping -n -c 3 -i 0.2 -w 5 10.10.2.20"


def _ok(name: str, status: int = 0) -> CommandResult:
    return CommandResult(status, (OUT / name).read_text())


class Recorded:
    """Answers each command with its recorded output; records what it was asked."""

    def __init__(self, answers: dict[str, CommandResult]) -> None:
        self.answers, self.asked = answers, []  # type: ignore[var-annotated]

    def run(self, command: str, timeout: float) -> CommandResult:
        self.asked.append(command)
        return self.answers.get(command, CommandResult(127, "", f"sh: {command}: not found"))


def judge(
    check: dict[str, Any], answers: dict[str, CommandResult], **params: str
) -> tuple[CheckResult, list[str]]:
    node = Recorded(answers)
    ctx = CheckContext({"n": node}, {"n": "192.0.2.10"}, params)
    return parse_check({"node": "n", **check}, params).run(ctx), node.asked


# -- address --------------------------------------------------------------------------------
PC = {"ip -j address show": _ok("pc-ip-address.json")}


@pytest.mark.parametrize(
    ("check", "score", "message"),
    [
        ({"address": "10.10.1.10/24", "interface": "eth1"}, 1, "eth1 has 10.10.1.10/24"),
        ({"address": "10.10.1.10"}, 1, "eth1 has 10.10.1.10/24"),  # any prefix
        ({"address": "{{ pc }}/{{ prefix }}"}, 1, "eth1 has 10.10.1.10/24"),
        (
            {"address": "10.10.1.10/16", "interface": "eth1"},
            0,
            "10.10.1.10/24 on eth1, not 10.10.1.10/16 on eth1",
        ),
        (
            {"address": "10.10.1.10/24", "interface": "eth2"},
            0,
            "no interface eth2 (it has eth1, lo)",
        ),
        (
            {"address": "10.10.1.11/24", "interface": "eth1"},
            0,
            "eth1 has 10.10.1.10/24, not 10.10.1.11/24",
        ),
        ({"address": "10.10.3.1/24"}, 0, "no interface has 10.10.3.1/24 (eth1: 10.10.1.10/24)"),
    ],
)
def test_address(check: dict[str, Any], score: float, message: str) -> None:
    result, asked = judge({"type": "address", **check}, PC, pc="10.10.1.10", prefix="24")
    assert (result.score, result.message) == (score, message)
    assert asked == ["ip -j address show"]


def test_an_address_must_be_one() -> None:
    with pytest.raises(ValidationError):
        parse_check({"type": "address", "node": "n", "address": "10.10.1.300/24"}, {})


# -- vlan_interface --------------------------------------------------------------------------
ROUTER = {"ip -j -d address show": _ok("vm-ip-d-address.json")}


@pytest.mark.parametrize(
    ("check", "score", "message"),
    [
        (
            {"id": 10, "addresses": ["10.0.10.1/24"]},
            1,
            "eth1.10 (VLAN 10 on eth1) has 10.0.10.1/24, up",
        ),
        ({"id": "{{ vlan }}"}, 1, "eth1.10 (VLAN 10 on eth1) has 10.0.10.1/24, up"),
        (
            {"id": 30, "addresses": ["10.0.30.1/24"]},
            0,
            "admin (VLAN 30 on eth1) has 10.0.30.1/24, but it is not up (state down)",
        ),
        # Whatever its name; its state unchecked.
        ({"id": 30, "up": False}, 1, "admin (VLAN 30 on eth1) has 10.0.30.1/24"),
        (
            {"id": 10, "addresses": ["10.0.10.254/24"]},
            0,
            "eth1.10 (VLAN 10 on eth1) has 10.0.10.1/24, not 10.0.10.254/24",
        ),
        (
            {"id": 40},
            0,
            "no VLAN 40 interface on eth1 (VLAN interfaces: eth1.10 (VLAN 10 on eth1), "
            "admin (VLAN 30 on eth1))",
        ),
    ],
)
def test_vlan_interface(check: dict[str, Any], score: float, message: str) -> None:
    result, asked = judge({"type": "vlan_interface", "parent": "eth1", **check}, ROUTER, vlan="10")
    assert (result.score, result.message) == (score, message)
    assert asked == ["ip -j -d address show"]


def test_vlan_interface_on_another_parent_does_not_count() -> None:
    result, _ = judge({"type": "vlan_interface", "parent": "lan", "id": 10}, ROUTER)
    assert result.score == 0
    assert result.message.startswith("no VLAN 10 interface on lan")


@pytest.mark.parametrize("vid", [0, 4095, "ten"])
def test_vlan_ids_are_802_1q_ones(vid: object) -> None:
    with pytest.raises(ValidationError):
        parse_check({"type": "vlan_interface", "node": "n", "parent": "eth1", "id": vid}, {})


# -- bridge_vlan -----------------------------------------------------------------------------
SWITCH = {
    "ip -j -d link show": _ok("switch-ip-d-link.json"),
    "bridge -j vlan show": _ok("switch-bridge-vlan.json"),
}


@pytest.mark.parametrize(
    ("check", "score", "message"),
    [
        (
            {"port": "eth2", "pvid": "{{ vlan }}", "untagged": ["{{ vlan }}"], "only": True},
            1,
            "eth2: untagged VLAN 10, pvid 10",
        ),
        (
            {"port": "eth1", "tagged": [10, 20, 30], "only": True},
            1,
            "eth1: tagged VLANs 10, 20, 30, no pvid",
        ),
        (
            {"port": "eth1", "tagged": [10, 20, 30, 40]},
            0,
            "eth1: tagged VLANs 10, 20, 30, no pvid; expected VLAN 40 tagged",
        ),
        (
            {"port": "eth2", "tagged": [10]},
            0,
            "eth2: untagged VLAN 10, pvid 10; expected VLAN 10 tagged",
        ),
        ({"port": "eth3", "tagged": [20]}, 1, "eth3: untagged VLAN 1, tagged VLAN 20, pvid 1"),
        (
            {"port": "eth3", "pvid": 20, "untagged": [20], "only": True},
            0,
            "eth3: untagged VLAN 1, tagged VLAN 20, pvid 1; expected pvid 20, VLAN 20 untagged, "
            "no other VLAN (has 1)",
        ),
        ({"port": "eth4", "untagged": [10]}, 0, "eth4 is in no bridge"),
        (
            {"port": "eth9", "untagged": [10]},
            0,
            "no interface eth9 (it has br0, eth1, eth2, eth3, eth4, lo)",
        ),
    ],
)
def test_bridge_vlan(check: dict[str, Any], score: float, message: str) -> None:
    result, _ = judge({"type": "bridge_vlan", **check}, SWITCH, vlan="10")
    assert (result.score, result.message) == (score, message)


VM_SWITCH = {
    "ip -j -d link show": _ok("vm-ip-d-link.json"),
    "bridge -j vlan show": _ok("vm-bridge-vlan.json"),
}


@pytest.mark.parametrize(
    ("check", "score", "message"),
    [
        (
            {"pvid": 20, "untagged": [20], "tagged": [30, 40, 41], "only": True},
            1,
            "lan: untagged VLAN 20, tagged VLANs 30, 40-41, pvid 20",
        ),
        (
            {"pvid": 20, "untagged": [20], "only": True},
            0,
            "lan: untagged VLAN 20, tagged VLANs 30, 40-41, pvid 20; "
            "expected no other VLAN (has 30, 40-41)",
        ),
        (
            {"pvid": 30, "untagged": [30]},
            0,
            "lan: untagged VLAN 20, tagged VLANs 30, 40-41, pvid 20; "
            "expected pvid 30, VLAN 30 untagged",
        ),
    ],
)
def test_bridge_vlan_on_a_vm(check: dict[str, Any], score: float, message: str) -> None:
    result, asked = judge({"type": "bridge_vlan", "port": "lan", **check}, VM_SWITCH)
    assert (result.score, result.message) == (score, message)
    assert asked == ["ip -j -d link show", "bridge -j vlan show"]
    result, _ = judge({"type": "bridge_vlan", "port": "eth1", "tagged": [10]}, VM_SWITCH)
    assert (result.score, result.message) == (0, "eth1 is in no bridge")


def test_a_port_of_a_bridge_that_does_not_filter_vlans_fails() -> None:
    answers = {"ip -j -d link show": _ok("bridge-unfiltered-ip-link.json")}
    result, asked = judge({"type": "bridge_vlan", "port": "p1", "untagged": [1]}, answers)
    assert result.score == 0
    assert result.message == "p1 is in bridge br0, which does not filter VLANs (vlan_filtering off)"
    assert asked == ["ip -j -d link show"]


def test_bridge_vlan_reads_iproute2_4_shape_and_ranges() -> None:
    answers = {**SWITCH, "bridge -j vlan show": _ok("switch-bridge-vlan-iproute2-4.json")}
    tagged = [10, *range(20, 31)]
    result, _ = judge(
        {"type": "bridge_vlan", "port": "eth1", "tagged": tagged, "only": True}, answers
    )
    assert (result.score, result.message) == (1, "eth1: tagged VLANs 10, 20-30, no pvid")
    result, _ = judge(
        {"type": "bridge_vlan", "port": "eth1", "tagged": [10], "only": True}, answers
    )
    assert result.message.endswith("expected no other VLAN (has 20-30)")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (CommandResult(137, "[" * 100, truncated=True), "printed more than 1 MiB: not read"),
        (CommandResult(0, "[" * (2 << 20)), "printed more than 1 MiB: not read"),
        (CommandResult(0, '[{"ifname": "eth2", "vlans": [{"vlan": 10'), "gave unreadable JSON"),
        (CommandResult(0, "[" * 200_000 + "]" * 200_000), "gave unreadable JSON"),  # too deep
        (CommandResult(1, "", "Error: unknown command"), "failed (exit status 1): Error: unknown"),
    ],
)
def test_malformed_or_huge_output_scores_0_and_says_so(answer: CommandResult, message: str) -> None:
    result, _ = judge(
        {"type": "bridge_vlan", "port": "eth2", "untagged": [10]},
        {**SWITCH, "bridge -j vlan show": answer},
    )
    assert result.score == 0
    assert message in result.message


def test_odd_json_shapes_are_ignored_not_fatal() -> None:
    vlans = '[{"vlan": true}, {"vlan": 9999}, {"vlan": 10, "flags": ["PVID", 5]}]'
    odd = f'[1, "x", {{"ifname": 3}}, {{"ifname": "eth2", "vlans": {vlans}}}]'
    result, _ = judge(
        {"type": "bridge_vlan", "port": "eth2", "pvid": 10},
        {**SWITCH, "bridge -j vlan show": CommandResult(0, odd)},
    )
    assert (result.score, result.message) == (1, "eth2: tagged VLAN 10, pvid 10")


# -- sysctl ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "answer", "score", "message"),
    [
        ("1", CommandResult(0, "1\n"), 1, "net.ipv4.ip_forward = 1"),
        (1, CommandResult(0, "1\n"), 1, "net.ipv4.ip_forward = 1"),
        ("1", CommandResult(0, "0\n"), 0, "net.ipv4.ip_forward = 0, expected 1"),
        (
            "1",
            CommandResult(
                255, "", "sysctl: cannot stat /proc/sys/net/ipv4/ip_forward: No such file"
            ),
            0,
            "net.ipv4.ip_forward: sysctl: cannot stat /proc/sys/net/ipv4/ip_forward: No such file",
        ),
    ],
)
def test_sysctl(value: object, answer: CommandResult, score: float, message: str) -> None:
    check = {"type": "sysctl", "key": "net.ipv4.ip_forward", "value": value}
    result, asked = judge(check, {"sysctl -n net.ipv4.ip_forward": answer})
    assert (result.score, result.message) == (score, message)
    assert asked == ["sysctl -n net.ipv4.ip_forward"]


def test_sysctl_keys_are_keys_not_shell() -> None:
    assert parse_check(
        {"type": "sysctl", "node": "n", "key": "net.ipv4.conf.eth1/10.forwarding", "value": "1"}, {}
    )
    with pytest.raises(ValidationError):
        parse_check({"type": "sysctl", "node": "n", "key": "kernel.x; reboot", "value": "1"}, {})


# -- route -----------------------------------------------------------------------------------
ROUTES = {
    "ip -j route show": _ok("pc-ip-route.json"),
}
MULTIPATH = CommandResult(
    0,
    json.dumps(
        [
            {
                "dst": "default",
                "flags": [],
                "nexthops": [
                    {"gateway": "10.0.1.1", "dev": "eth1", "weight": 1, "flags": []},
                    {"gateway": "10.0.2.1", "dev": "eth2", "weight": 1, "flags": []},
                ],
            },
            {"type": "unreachable", "dst": "10.9.0.0/16", "flags": []},
        ]
    ),
)


@pytest.mark.parametrize(
    ("check", "answer", "score", "message"),
    [
        (
            {"to": "default", "via": "10.10.1.1", "dev": "eth1"},
            "pc-ip-route.json",
            1,
            "default via 10.10.1.1 dev eth1",
        ),
        (
            {"to": "default", "via": "10.10.1.254"},
            "pc-ip-route.json",
            0,
            "default via 10.10.1.1 dev eth1, expected via 10.10.1.254",
        ),
        ({"to": "10.10.2.9/24", "dev": "eth2"}, "router-ip-route.json", 1, "10.10.2.0/24 dev eth2"),
        (
            {"to": "default"},
            "router-ip-route.json",
            0,
            "no route to default (routes: 10.10.1.0/24 dev eth1; 10.10.2.0/24 dev eth2)",
        ),
    ],
)
def test_route(check: dict[str, Any], answer: str, score: float, message: str) -> None:
    result, _ = judge({"type": "route", **check}, {"ip -j route show": _ok(answer)})
    assert (result.score, result.message) == (score, message)


def test_route_multipath_and_refusing_routes() -> None:
    answers = {"ip -j route show": MULTIPATH}
    result, _ = judge({"type": "route", "to": "default", "via": "10.0.2.1"}, answers)
    assert (result.score, result.message) == (1, "default via 10.0.2.1 dev eth2")
    result, _ = judge({"type": "route", "to": "10.9.0.0/16"}, answers)
    assert result.score == 0  # an unreachable route is no way there
    assert "unreachable 10.9.0.0/16" in result.message


def test_an_ipv6_route_is_asked_of_ip_6() -> None:
    answer = CommandResult(0, '[{"dst":"default","gateway":"fd00::1","dev":"eth1","flags":[]}]')
    result, asked = judge(
        {"type": "route", "to": "default", "via": "fd00::1"}, {"ip -6 -j route show": answer}
    )
    assert result.score == 1
    assert asked == ["ip -6 -j route show"]


# -- ping ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reachable", "answer", "score", "message"),
    [
        (True, _ok("ping-3-of-3.txt"), 1, "n reaches 10.10.2.20: 3/3 replies"),
        (False, _ok("ping-3-of-3.txt"), 0, "n reaches 10.10.2.20 (3/3 replies), which it must not"),
        (True, _ok("ping-0-of-2.txt", 1), 0, "n does not reach 10.10.2.20: 0/2 replies"),
        (
            False,
            _ok("ping-net-unreachable.txt", 1),
            1,
            "n does not reach 10.10.2.20, as required: 0/3 replies "
            "(From 10.10.1.1 icmp_seq=1 Destination Net Unreachable)",
        ),
        (
            False,
            CommandResult(2, "", "ping: connect: Network is unreachable\n"),
            1,
            "n does not reach 10.10.2.20, as required: 0/0 replies "
            "(ping: connect: Network is unreachable)",
        ),
        # ping gone: nothing was observed, whatever was expected.
        (
            False,
            CommandResult(127, "", "sh: 1: ping: not found"),
            0,
            "ping did not run (exit status 127): sh: 1: ping: not found",
        ),
    ],
)
def test_ping(reachable: bool, answer: CommandResult, score: float, message: str) -> None:
    check = {"type": "ping", "to": "10.10.2.20", "reachable": reachable}
    result, asked = judge(check, {PING_OK: answer})
    assert (result.score, result.message) == (score, message)
    assert asked == [PING_OK]


def test_ping_count_from_a_parameter_and_addresses_only() -> None:
    _, asked = judge(
        {"type": "ping", "to": "{{ pc }}", "count": "{{ n }}"}, {}, pc="10.0.0.9", n="5"
    )
    assert asked == ["ping -n -c 5 -i 0.2 -w 5 10.0.0.9"]
    for to in ("10.0.0.1; reboot", "pc2"):
        with pytest.raises(ValidationError):
            parse_check({"type": "ping", "node": "n", "to": to}, {})


# -- traceroute ------------------------------------------------------------------------------
def _probe(ttl: int) -> str:
    return f"ping -n -c 1 -W 3 -t {ttl} 10.10.2.20"


SILENT = CommandResult(
    1,
    "PING 10.10.2.20 (10.10.2.20) 56(84) bytes of data.\n\n--- 10.10.2.20 ping statistics ---\n"
    "1 packets transmitted, 0 received, 100% packet loss\n",
)
THROUGH_ROUTER = {
    _probe(1): _ok("ping-ttl-1-exceeded.txt", 1),
    _probe(2): _ok("ping-ttl-2-reached.txt"),
}


def test_traceroute_through_the_router() -> None:
    check = {"type": "traceroute", "to": "10.10.2.20", "via": ["10.10.1.1"]}
    result, asked = judge(check, THROUGH_ROUTER)
    assert (result.score, result.message) == (1, "path to 10.10.2.20: 10.10.1.1 → 10.10.2.20")
    assert asked == [_probe(1), _probe(2)]  # stops at the destination


def test_traceroute_wrong_hop_or_order() -> None:
    result, _ = judge(
        {"type": "traceroute", "to": "10.10.2.20", "via": ["10.10.9.1"]}, THROUGH_ROUTER
    )
    assert (result.score, result.message) == (
        0,
        "path to 10.10.2.20: 10.10.1.1 → 10.10.2.20; expected via 10.10.9.1",
    )
    two = {
        _probe(1): _ok("ping-ttl-1-exceeded.txt", 1),
        _probe(2): CommandResult(1, "From 10.10.2.1 icmp_seq=1 Time to live exceeded\n"),
        _probe(3): _ok("ping-ttl-2-reached.txt"),
    }
    ordered = {"type": "traceroute", "to": "10.10.2.20", "via": ["10.10.1.1", "10.10.2.1"]}
    assert judge(ordered, two)[0].score == 1
    assert judge({**ordered, "via": ["10.10.2.1", "10.10.1.1"]}, two)[0].score == 0


def test_traceroute_not_reached_probes_8_hops_at_most() -> None:
    check = {"type": "traceroute", "to": "10.10.2.20", "via": ["10.10.1.1"]}
    result, asked = judge(check, {_probe(t): SILENT for t in range(1, 20)})
    assert result.score == 0
    assert result.message == (
        "10.10.2.20 not reached: * → * → * → * → * → * → * → * → (not reached); "
        "expected via 10.10.1.1"
    )
    assert asked == [_probe(t) for t in range(1, 9)]


def test_traceroute_stops_where_a_router_says_unreachable() -> None:
    answers = {_probe(1): _ok("ping-net-unreachable.txt", 1)}
    result, asked = judge({"type": "traceroute", "to": "10.10.2.20", "via": ["10.10.1.1"]}, answers)
    assert result.message == (
        "10.10.2.20 not reached: 10.10.1.1 (Destination Net Unreachable) → (not reached); "
        "expected via 10.10.1.1"
    )
    assert asked == [_probe(1)]


# -- the registry and the editors' schema ----------------------------------------------------
def test_placeholders_are_valid_numbers_for_editors() -> None:
    schema = scenario_schema()
    check: dict[str, Any] = {
        "type": "bridge_vlan",
        "node": "sw1",
        "port": "eth1",
        "pvid": "{{ vlan_admin }}",
        "tagged": [10, "{{ vlan_staff }}"],
    }
    criterion = {
        "id": "trunk",
        "title": {"fr": "t", "en": "t"},
        "weight": 1,
        "check": check,
    }
    doc = {
        "id": "x",
        "title": {"fr": "x", "en": "x"},
        "referential": {"block": "BLOC3", "modality": "C3"},
        "duration": "1h",
        "nodes": {"sw1": {"image": "debian-bookworm"}},
        "criteria": [criterion],
    }
    jsonschema.validate(doc, schema)
    check["pvid"] = "ten"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
