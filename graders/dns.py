"""DNS as the grader sees it: a query from outside the node, over the lab network.

The grader is one more machine of the lab network, so the server's ACLs (`allow-query`,
`allow-recursion`) judge it as they judge the candidate's clients; a `dig` run inside the node
would be `localhost` to BIND, which offers it recursion whatever the exam asked. Both
transports are asked by default: a DNS server must answer over TCP too (RFC 7766).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Literal

import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.reversename
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graders import patterns
from graders.contract import CheckContext, CheckResult, IpProtocol
from graders.host import served_by

TIMEOUT = 3.0  # per query: a lab's server answers in milliseconds
DEADLINE = 5.0  # the whole check, both transports
PAYLOAD = 1232  # the EDNS buffer size dig asks for (DNS Flag Day 2020)
SHOWN = 5  # records a finding names; the evidence keeps the whole answer
Flag = Literal["qr", "aa", "tc", "rd", "ra", "ad", "cd"]
_SHOWN_FLAGS = ("aa", "tc", "ra", "ad", "cd")  # qr and rd only echo the question


class NoAnswer(Exception):
    """Nothing readable came back in time: the server is down, filtered or mute."""


class DnsCheck(BaseModel):
    """The DNS server `node` answers a query from the grader as the exam asks."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["dns"]
    node: str
    name: str | None = None
    address: str | None = None  # asks the PTR of its reverse name (in-addr.arpa, ip6.arpa)
    record: str | None = None  # the record type asked: A, or PTR with `address`
    over: Literal["udp", "tcp", "both"] = "both"
    port: int = Field(53, ge=1, le=65535)
    recursion_desired: bool = True  # the query's RD bit, set as dig sets it
    rcode: str = "NOERROR"
    flags: dict[Flag, bool] = {}
    expect: str | list[str] = []
    expect_regex: str | None = None
    served_by: str | None = None  # the program that must hold the port, as Debian ships it
    _re = field_validator("expect_regex")(patterns.validate)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                dns.name.from_text(value)
            except dns.exception.DNSException as exc:
                raise ValueError(f"invalid DNS name {value!r}: {exc}") from None
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.ip_address(value.strip()))

    @field_validator("record")
    @classmethod
    def _record(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            rdtype = dns.rdatatype.from_text(value.strip().upper())
        except (dns.exception.DNSException, ValueError):
            rdtype = None
        if rdtype is None or dns.rdatatype.is_metatype(rdtype):
            known = "A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT…"
            raise ValueError(f"unknown record type {value!r} ({known})")
        return dns.rdatatype.to_text(rdtype)

    @field_validator("rcode")
    @classmethod
    def _rcode(cls, value: str) -> str:
        try:
            return dns.rcode.to_text(dns.rcode.from_text(value.strip().upper()))
        except (dns.exception.DNSException, ValueError):
            known = "NOERROR, NXDOMAIN, REFUSED, SERVFAIL…"
            raise ValueError(f"unknown status {value!r} ({known})") from None

    @model_validator(mode="after")
    def _what_is_asked(self) -> DnsCheck:
        if (self.name is None) == (self.address is None):
            raise ValueError("give `name` (the name asked) or `address` (its PTR is asked)")
        version = {"A": 4, "AAAA": 6}.get(self.rdtype)
        for value in self.expected if version else []:
            try:
                ok = ipaddress.ip_address(value.strip()).version == version
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"expect: {value!r} is not an IPv{version} address")
        return self

    @property
    def rdtype(self) -> str:
        return self.record or ("PTR" if self.address else "A")

    @property
    def qname(self) -> dns.name.Name:
        if self.address is not None:
            return dns.reversename.from_address(self.address)
        return dns.name.from_text(self.name or "")

    @property
    def expected(self) -> list[str]:
        return [self.expect] if isinstance(self.expect, str) else list(self.expect)

    @property
    def protocols(self) -> list[IpProtocol]:
        return ["udp", "tcp"] if self.over == "both" else [self.over]

    def run(self, ctx: CheckContext) -> CheckResult:
        if self.served_by:
            for protocol in self.protocols:  # the program behind each transport asked
                problem = served_by(ctx, self.node, self.port, self.served_by, protocol)
                if problem:
                    return CheckResult(0, problem)
        flags = dns.flags.RD if self.recursion_desired else 0
        query = dns.message.make_query(
            self.qname, self.rdtype, use_edns=0, payload=PAYLOAD, flags=flags
        )
        deadline = time.monotonic() + DEADLINE
        verdicts: dict[str, tuple[bool, str]] = {}
        for protocol in self.protocols:
            timeout = max(0.1, min(TIMEOUT, deadline - time.monotonic()))
            try:
                response = ask(ctx, self.node, query, self.port, protocol, timeout)
            except NoAnswer as exc:
                verdicts[protocol] = (False, str(exc))
            else:
                verdicts[protocol] = self._judge(response)
        return self._verdict(verdicts)

    def _judge(self, response: dns.message.Message) -> tuple[bool, str]:
        """(passed, what was found) for one answer."""
        status = dns.rcode.to_text(response.rcode())
        if status != self.rcode:
            return False, f"status {status}, expected {self.rcode}"
        for flag, wanted in self.flags.items():
            if bool(response.flags & dns.flags.from_text(flag)) != wanted:
                how = "not set" if wanted else "set, which it must not be"
                return False, f"flag {flag} is {how}"
        found = records(response, self.rdtype)
        missing = [v for v in self.expected if not any(matches(v, r) for r in found)]
        if missing:
            got = _listed(found or records(response, None))
            return False, f"answer lacks {', '.join(missing)} (got {got})"
        answer = "\n".join(rrset.to_text() for rrset in response.answer)
        if self.expect_regex is not None and not patterns.search(self.expect_regex, answer):
            return False, f"answer does not match /{self.expect_regex}/"
        return True, _summary(response, found or records(response, None))

    def _verdict(self, verdicts: dict[str, tuple[bool, str]]) -> CheckResult:
        """Each transport asked is an equal share; one finding when they say the same."""
        asked = f"{self.qname.to_text(omit_final_dot=True)} {self.rdtype}"
        score = sum(ok for ok, _ in verdicts.values()) / len(verdicts)
        said = {text for _, text in verdicts.values()}
        if len(said) == 1:
            return CheckResult(score, f"{asked} over {' and '.join(verdicts)}: {said.pop()}")
        parts = (f"{asked} over {protocol}: {text}" for protocol, (_, text) in verdicts.items())
        return CheckResult(score, "; ".join(parts))


def ask(
    ctx: CheckContext,
    node: str,
    query: dns.message.Message,
    port: int,
    protocol: IpProtocol,
    timeout: float,
) -> dns.message.Message:
    """`query` sent to `node`'s address over `protocol`, the answer recorded as evidence seen
    from outside. Raises NoAnswer saying why none came."""
    address = ctx.address(node)
    question = query.question[0]
    rd = "" if query.flags & dns.flags.RD else ", no recursion desired"
    asked = f"{question.name} {dns.rdatatype.to_text(question.rdtype)}{rd}"
    what = f"DNS query {asked} over {protocol} to {address} port {port} (from the grader)"
    start = time.monotonic()
    try:
        response = _exchange(query, address, port, protocol, timeout)
    except dns.exception.Timeout:
        why = f"nothing within {timeout:g}s"
    except ConnectionRefusedError:
        why = "connection refused"
    except EOFError:
        why = "connection closed before a whole answer"
    except OSError as exc:
        why = exc.strerror or str(exc)
    except (dns.exception.DNSException, ValueError) as exc:
        why = f"unreadable answer: {exc}"
    else:
        ctx.record(node, what, response.rcode(), response.to_text(), start, "outside")
        return response
    ctx.record(node, what, None, f"no answer: {why}", start, "outside")
    raise NoAnswer(f"no DNS answer from {address} port {port} ({why})")


def _exchange(
    query: dns.message.Message, address: str, port: int, protocol: IpProtocol, timeout: float
) -> dns.message.Message:
    """One query and its answer, within `timeout` (dnspython's bound on the whole exchange)."""
    if protocol == "tcp":
        return dns.query.tcp(query, address, timeout=timeout, port=port)
    # Connected, the socket hears the ICMP "port unreachable" of a node where nothing is bound
    # to the port: refused at once, where an unconnected socket would wait out the timeout.
    with socket.socket(dns.inet.af_for_address(address), socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect((address, port))
        return dns.query.udp(query, address, timeout=timeout, port=port, sock=sock)


def records(response: dns.message.Message, rdtype: str | None) -> list[str]:
    """The answer's records of `rdtype` as text; None: all of them, each after its type."""
    found = []
    for rrset in response.answer:
        kind = dns.rdatatype.to_text(rrset.rdtype)
        if rdtype is None or kind == rdtype:
            for rdata in rrset:
                strings = getattr(rdata, "strings", None)  # TXT: its text, unquoted and whole
                text = (
                    rdata.to_text()
                    if strings is None
                    else b"".join(strings).decode("utf-8", "replace")
                )
                found.append(text if rdtype else f"{kind} {text}")
    return sorted(found)


def matches(expected: str, record: str) -> bool:
    """Does `record` hold the `expected` value? Compared field by field, case-insensitively,
    a name's final dot and an address's spelling aside; leading fields may be left out
    ("mail.example.lan" matches "10 mail.example.lan.")."""
    want, have = _fields(expected.strip().strip('"')), _fields(record)
    return bool(want) and have[-len(want) :] == want


def _fields(text: str) -> list[str]:
    fields = []
    for field in text.split():
        try:
            fields.append(str(ipaddress.ip_address(field)))
        except ValueError:
            fields.append(field.lower().rstrip("."))
    return fields


def _listed(found: list[str]) -> str:
    if not found:
        return "no records"
    more = f", and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return ", ".join(found[:SHOWN]) + more


def _summary(response: dns.message.Message, found: list[str]) -> str:
    """What the server said, for a passed check: "192.0.2.10 (aa)", "REFUSED", "NXDOMAIN (aa)"."""
    status = dns.rcode.to_text(response.rcode())
    head = _listed(found) if status == "NOERROR" else " ".join([status, *found[:SHOWN]])
    flags = [f for f in _SHOWN_FLAGS if response.flags & dns.flags.from_text(f)]
    return head + (f" ({', '.join(flags)})" if flags else "")
