"""The `dns` check against a real DNS server on 127.0.0.1, over UDP and TCP (dnspython's
messages, served from threads): authoritative for example.lan, recursion refused elsewhere."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from pydantic import ValidationError

import graders.dns
from graders.contract import CheckContext, CheckResult, Process
from graders.runner import parse_check

ZONE = {
    ("www.example.lan.", "A"): ["192.0.2.10"],
    ("example.lan.", "MX"): ["10 mail.example.lan.", "20 backup.example.lan."],
    ("example.lan.", "TXT"): ['"v=spf1 mx -all"'],
    ("10.2.0.192.in-addr.arpa.", "PTR"): ["www.example.lan."],
}
OURS = ("example.lan.", "2.0.192.in-addr.arpa.")


@dataclass
class Zone:
    """How the server answers: authoritative for OURS, recursion refused elsewhere unless
    `recursion`; every query it was asked, for the tests to look at."""

    recursion: bool = False
    asked: list[dns.message.Message] = field(default_factory=list)

    def reply(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        self.asked.append(query)
        response = dns.message.make_response(query)
        question = query.question[0]
        name, kind = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        if self.recursion:
            response.flags |= dns.flags.RA
        if name.endswith(OURS):
            response.flags |= dns.flags.AA
            values = ZONE.get((name, kind))
            if values:
                response.answer.append(dns.rrset.from_text_list(name, 300, "IN", kind, values))
            elif not any(known == name for known, _ in ZONE):
                response.set_rcode(dns.rcode.NXDOMAIN)
        elif self.recursion and query.flags & dns.flags.RD:
            response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "198.51.100.7"))
        else:
            response.set_rcode(dns.rcode.REFUSED)
        return response.to_wire()


class _Udp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        wire, sock = self.request
        sock.sendto(self.server.zone.reply(wire), self.client_address)  # type: ignore[attr-defined]


class _Tcp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(2)
        size = int.from_bytes(self.request.recv(2, socket.MSG_WAITALL), "big")
        reply = self.server.zone.reply(self.request.recv(size, socket.MSG_WAITALL))  # type: ignore[attr-defined]
        self.request.sendall(len(reply).to_bytes(2, "big") + reply)


Serve = Callable[..., tuple[int, Zone]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """serve(zone, tcp=True) -> the port where `zone` answers, over UDP and (if asked) TCP."""
    servers: list[socketserver.BaseServer] = []

    def start(zone: Zone | None = None, tcp: bool = True) -> tuple[int, Zone]:
        zone = zone or Zone()
        stream = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Tcp)
        port = stream.server_address[1]
        datagram = socketserver.ThreadingUDPServer(("127.0.0.1", port), _Udp)
        for server in (datagram, stream) if tcp else (datagram,):
            server.zone = zone  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            servers.append(server)
        if not tcp:
            stream.server_close()  # the port refuses TCP connections
        return port, zone

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def check(port: int, **fields: Any) -> tuple[CheckResult, CheckContext]:
    ctx = CheckContext(transports={}, addresses={"ns1": "127.0.0.1"}, params={})
    parsed = parse_check({"type": "dns", "node": "ns1", "port": port, **fields}, {})
    return parsed.run(ctx), ctx


def test_an_authoritative_answer_over_udp_and_tcp(serve: Serve) -> None:
    port, zone = serve()
    result, ctx = check(port, name="www.example.lan", expect="192.0.2.10", flags={"aa": True})
    assert (result.score, result.message) == (
        1,
        "www.example.lan A over udp and tcp: 192.0.2.10 (aa)",
    )
    assert [e.via for e in ctx.evidence] == ["outside", "outside"]
    udp, tcp = ctx.evidence
    assert (
        udp.command
        == f"DNS query www.example.lan. A over udp to 127.0.0.1 port {port} (from the grader)"
    )
    assert "over tcp" in tcp.command and tcp.status == 0
    assert "flags QR AA RD" in udp.output and "www.example.lan. 300 IN A 192.0.2.10" in udp.output
    assert len(zone.asked) == 2 and all(q.flags & dns.flags.RD for q in zone.asked)


def test_a_wrong_address_says_what_the_server_gave(serve: Serve) -> None:
    port, _ = serve()
    result, _ = check(port, name="www.example.lan", expect=["192.0.2.99"])
    assert result.score == 0
    assert (
        result.message
        == "www.example.lan A over udp and tcp: answer lacks 192.0.2.99 (got 192.0.2.10)"
    )
    nothing, _ = check(port, name="nope.example.lan", expect="192.0.2.10")
    assert (
        nothing.message == "nope.example.lan A over udp and tcp: status NXDOMAIN, expected NOERROR"
    )
    gone, _ = check(port, name="nope.example.lan", rcode="nxdomain", flags={"aa": True})
    assert (gone.score, gone.message) == (1, "nope.example.lan A over udp and tcp: NXDOMAIN (aa)")


def test_records_are_compared_normalised(serve: Serve) -> None:
    port, _ = serve()
    mx, _ = check(
        port,
        name="EXAMPLE.lan.",
        record="mx",
        expect=["mail.example.lan", "20 BACKUP.example.lan."],
    )
    # The answer's names come back compressed against the question, so in its case.
    assert mx.score == 1 and mx.message == (
        "EXAMPLE.lan MX over udp and tcp: 10 mail.EXAMPLE.lan., 20 backup.EXAMPLE.lan. (aa)"
    )
    txt, _ = check(port, name="example.lan", record="TXT", expect="v=spf1 mx -all")
    assert txt.score == 1
    ptr, _ = check(port, address="192.0.2.10", expect="www.example.lan")
    assert ptr.message == "10.2.0.192.in-addr.arpa PTR over udp and tcp: www.example.lan. (aa)"
    regex, _ = check(port, name="example.lan", record="MX", expect_regex=r"IN MX 10 mail\.")
    assert regex.score == 1
    wrong, _ = check(port, name="example.lan", record="MX", expect=["10 backup.example.lan"])
    assert (
        wrong.score == 0 and "(got 10 mail.example.lan., 20 backup.example.lan.)" in wrong.message
    )


def test_recursion_refused_to_the_lab_network_and_flags(serve: Serve) -> None:
    port, _ = serve()
    refused, _ = check(port, name="www.debian.org", rcode="REFUSED", flags={"ra": False})
    assert (refused.score, refused.message) == (1, "www.debian.org A over udp and tcp: REFUSED")
    wanted, _ = check(port, name="www.debian.org")
    assert wanted.message == "www.debian.org A over udp and tcp: status REFUSED, expected NOERROR"
    no_ra, _ = check(port, name="www.example.lan", flags={"ra": True})
    assert (no_ra.score, no_ra.message) == (
        0,
        "www.example.lan A over udp and tcp: flag ra is not set",
    )
    aa, _ = check(port, name="www.example.lan", flags={"aa": False})
    assert aa.message == "www.example.lan A over udp and tcp: flag aa is set, which it must not be"
    open_port, _ = serve(Zone(recursion=True))
    offered, _ = check(open_port, name="www.debian.org", rcode="REFUSED", flags={"ra": False})
    assert offered.score == 0 and "status NOERROR, expected REFUSED" in offered.message


def test_the_rd_bit_is_the_examiners_choice(serve: Serve) -> None:
    port, zone = serve(Zone(recursion=True))
    result, ctx = check(
        port, name="www.debian.org", recursion_desired=False, over="udp", rcode="REFUSED"
    )
    assert result.score == 1 and result.message == "www.debian.org A over udp: REFUSED (ra)"
    assert not zone.asked[0].flags & dns.flags.RD
    assert "A, no recursion desired over udp" in ctx.evidence[0].command and len(ctx.evidence) == 1


def test_a_server_without_tcp_earns_half(serve: Serve) -> None:
    port, _ = serve(tcp=False)
    result, ctx = check(port, name="www.example.lan", expect="192.0.2.10")
    assert result.score == 0.5
    assert result.message == (
        "www.example.lan A over udp: 192.0.2.10 (aa); "
        f"www.example.lan A over tcp: no DNS answer from 127.0.0.1 port {port} (connection refused)"
    )
    assert (
        ctx.evidence[1].status is None and ctx.evidence[1].output == "no answer: connection refused"
    )
    assert check(port, name="www.example.lan", over="udp")[0].score == 1


def test_no_server_is_no_answer_and_no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graders.dns, "TIMEOUT", 0.3)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    start = time.monotonic()
    result, ctx = check(port, name="www.example.lan")
    assert time.monotonic() - start < 0.3  # refused at once, over UDP too
    assert result.score == 0 and result.message == (
        "www.example.lan A over udp and tcp: "
        f"no DNS answer from 127.0.0.1 port {port} (connection refused)"
    )
    assert [e.via for e in ctx.evidence] == ["outside", "outside"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:  # bound, never answers
        mute.bind(("127.0.0.1", 0))
        start = time.monotonic()
        silent, _ = check(mute.getsockname()[1], name="www.example.lan", over="udp")
        assert time.monotonic() - start < 0.3 + 0.5
    assert silent.score == 0 and silent.message.endswith("(nothing within 0.3s)")


@dataclass
class View:
    udp: dict[int, list[Process]] = field(default_factory=dict)

    def listeners(self, port: int | str, protocol: str = "tcp") -> list[Process]:
        return self.udp.get(int(port), []) if protocol == "udp" else []


def test_served_by_asks_each_transport_its_own_socket(serve: Serve) -> None:
    port, zone = serve()
    named = Process(53, "/usr/sbin/named", True, "as a verified Debian package ships it")
    ctx = CheckContext(
        transports={},
        addresses={"ns1": "127.0.0.1"},
        params={},
        views={"ns1": View({port: [named]})},
    )
    fields = {
        "type": "dns",
        "node": "ns1",
        "port": port,
        "name": "www.example.lan",
        "served_by": "/usr/sbin/named",
    }
    assert parse_check({**fields, "over": "udp"}, {}).run(ctx).score == 1
    result = parse_check(fields, {}).run(ctx)
    assert (result.score, result.message) == (0, f"nothing listens on tcp port {port} in the node")
    assert len(zone.asked) == 1  # the second check asked nothing: its server is not named


@pytest.mark.parametrize(
    ("fields", "where", "said"),
    [
        ({"record": "AAA"}, ("dns", "record"), "unknown record type 'AAA'"),
        ({"record": "AXFR"}, ("dns", "record"), "unknown record type 'AXFR'"),
        ({"rcode": "REFUSE"}, ("dns", "rcode"), "unknown status 'REFUSE'"),
        ({"flags": {"ar": True}}, ("dns", "flags", "ar", "[key]"), "'ra'"),
        ({"over": "quic"}, ("dns", "over"), "'both'"),
        ({"name": "a..b"}, ("dns", "name"), "invalid DNS name"),
        ({"expect": "192.0.2.300"}, ("dns",), "not an IPv4 address"),
        ({"address": "192.0.2.10"}, ("dns",), "give `name`"),
        ({"name": None}, ("dns",), "give `name`"),
        ({"address": "192.0.2"}, ("dns", "address"), "does not appear to be"),
        ({"expect_regex": "(a)\\1"}, ("dns", "expect_regex"), "invalid regex"),
    ],
)
def test_a_mistyped_check_is_refused_when_loaded(
    fields: dict[str, Any], where: tuple[str, ...], said: str
) -> None:
    raw = {"type": "dns", "node": "ns1", "name": "www.example.lan", **fields}
    with pytest.raises(ValidationError) as refused:
        parse_check(raw, {})
    (error,) = refused.value.errors()
    assert error["loc"] == where and said in error["msg"]


def test_what_loads_is_what_the_guide_shows() -> None:
    check = parse_check(
        {"type": "dns", "node": "ns1", "address": "2001:db8::10", "record": "ptr"}, {}
    )
    assert isinstance(check, graders.dns.DnsCheck)
    assert check.rdtype == "PTR" and check.qname.to_text().endswith(".8.b.d.0.1.0.0.2.ip6.arpa.")
    assert (
        parse_check({"type": "dns", "node": "ns1", "name": "x.lan", "rcode": "nxdomain"}, {}).rcode
        == "NXDOMAIN"
    )  # type: ignore[union-attr]
