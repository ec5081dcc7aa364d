"""Built-in declarative checks, one small model per type, registered explicitly in CHECKS.

Each observes from as far outside the node as it can (graders.contract, `via`): HTTP, DNS
(graders.dns) and TCP from the grader's side, files, sockets and processes from the host, and
only what nothing else can say (`systemctl`, `mysql`, an instructor's command) inside the
node, through the engine, after the integrity scan has checked the node's tools against
Debian's packages.
"""

from __future__ import annotations

import importlib
import shlex
import socket
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from graders import patterns
from graders.contract import (
    CheckContext,
    CheckFunction,
    CheckResult,
    FileInfo,
    GraderError,
    IpProtocol,
    excerpt,
)
from graders.dns import DnsCheck
from graders.host import canonical, dpkg_status, names, served_by, socket_name
from graders.integrity import in_system
from graders.net_checks import (
    AddressCheck,
    BridgeVlanCheck,
    PingCheck,
    RouteCheck,
    SysctlCheck,
    TracerouteCheck,
    VlanInterfaceCheck,
)
from graders.sql import run_sql
from graders.web import http_get

MAX_FILE = 1 << 20


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    node: str

    def run(self, ctx: CheckContext) -> CheckResult:
        raise NotImplementedError


def _verdict(ok: bool, good: str, bad: str) -> CheckResult:
    return CheckResult(1.0 if ok else 0.0, good if ok else bad)


Patterns = str | list[str]


def _listed(value: Patterns | None) -> list[str]:
    return [value] if isinstance(value, str) else value or []


def _shown(line: str) -> str:
    """A line of a node's output as a finding quotes it: short, on one line."""
    line = line.strip()
    return repr(line if len(line) <= 80 else line[:77] + "...")


class CommandCheck(Check):
    type: Literal["command"]
    run_: str = Field(alias="run")
    expect_status: int = 0
    # Each pattern given must match (stdout_regex) / be contained (stdout_contains) / never
    # match (stdout_not_regex) somewhere in the standard output.
    stdout_regex: Patterns | None = None
    stdout_contains: Patterns | None = None
    stdout_not_regex: Patterns | None = None
    _re = field_validator("stdout_regex", "stdout_not_regex")(patterns.validate)

    def run(self, ctx: CheckContext) -> CheckResult:
        result = ctx.run(self.node, self.run_)
        out = result.stdout
        if result.status != self.expect_status:
            return CheckResult(0, f"exit status {result.status}, expected {self.expect_status}")
        shown: list[str] = []
        for text in _listed(self.stdout_contains):
            line = patterns.line_containing(text, out)
            if line is None:
                return CheckResult(0, f"output does not contain {text!r}")
            shown.append(line)
        for pattern in _listed(self.stdout_regex):
            line = patterns.matched_line(pattern, out)
            if line is None:
                return CheckResult(0, f"output does not match /{pattern}/")
            shown.append(line)
        for pattern in _listed(self.stdout_not_regex):
            line = patterns.matched_line(pattern, out)
            if line is not None:
                must_not = f"output matches /{pattern}/, which it must not"
                return CheckResult(0, f"{must_not}: {_shown(line)}")
        found = ", ".join(dict.fromkeys(_shown(line) for line in shown))  # each line once
        absent = ", ".join(f"/{p}/" for p in _listed(self.stdout_not_regex))
        return CheckResult(
            1,
            f"exit status {result.status}"
            + (f", output shows {found}" if found else "")
            + (f", output has no {absent}" if absent else ""),
        )


class ServiceActiveCheck(Check):
    type: Literal["service_active"]
    service: str
    enabled: bool = False
    # The main process must run this program (as Debian ships it): a look-alike unit fails.
    exe: str | None = None

    def run(self, ctx: CheckContext) -> CheckResult:
        unit = shlex.quote(self.service)
        shown = ctx.run(self.node, f"systemctl show -p ActiveState,UnitFileState,MainPID {unit}")
        state = dict(line.partition("=")[::2] for line in shown.stdout.splitlines())
        if "ActiveState" not in state:  # systemd did not answer (its bus is busy): no verdict
            raise GraderError(f"systemctl gave no state: {excerpt(shown.stderr.strip(), 200)}")
        active = state["ActiveState"]
        if active != "active":
            return CheckResult(0, f"{self.service} is {active or 'unknown'}, not active")
        enabled = state.get("UnitFileState", "")
        if self.enabled and enabled not in {"enabled", "alias", "static", "generated"}:
            return CheckResult(
                0, f"{self.service} is active but {enabled or 'not enabled'} at boot"
            )
        main = state.get("MainPID", "")
        problem = self._main_process(ctx, int(main) if main.isdigit() else 0)
        if problem:
            return CheckResult(0, problem)
        return CheckResult(
            1, f"{self.service} is active" + (" and enabled" if self.enabled else "")
        )

    def _main_process(self, ctx: CheckContext, pid: int) -> str | None:
        if pid == 0:
            return f"{self.service} has no main process" if self.exe else None
        start = time.monotonic()
        process = ctx.view(self.node).process(pid)
        what = f"main process {pid} of {self.service} (seen from the host)"
        if process is None:
            ctx.record(self.node, what, 1, "no such process", start, "host")
            return f"{self.service}'s main process {pid} is not running"
        ctx.record(self.node, what, 0, f"{process.exe}: {process.why}", start, "host")
        if self.exe is not None and canonical(process.exe) != canonical(self.exe):
            return f"{self.service} runs {process.exe}, not {self.exe}"
        if not process.genuine:
            return f"{self.service} runs {process.exe}: {process.why}"
        return None


class PackageInstalledCheck(Check):
    type: Literal["package_installed"]
    package: str

    def run(self, ctx: CheckContext) -> CheckResult:
        start = time.monotonic()
        view = ctx.view(self.node)
        entry = dpkg_status(view).get(self.package)
        if entry is None or entry.get("Status") != "install ok installed":
            ctx.record(self.node, "read /var/lib/dpkg/status", 1, str(entry), start, "host")
            return CheckResult(0, f"{self.package} is not installed")
        version, arch = entry.get("Version", ""), entry.get("Architecture", "")
        deb = ctx.packages.deb(self.package, version, arch)
        if deb is None:
            lists = [
                f"/var/lib/dpkg/info/{n}.list" for n in (self.package, f"{self.package}:{arch}")
            ]
            # Installed with the image: its file list is there, as the image had it.
            image = any(view.read(p, 0) is not None and not view.changed(p) for p in lists)
            ctx.record(
                self.node, "read /var/lib/dpkg/status", 0, f"{version} {arch}", start, "host"
            )
            return _verdict(
                image,
                f"{self.package} {version} installed (with the platform's image)",
                f"{self.package} {version} is recorded as installed, but no verified Debian "
                "package of that version came through the platform's cache",
            )
        wrong = []
        for path, md5 in deb.md5sums.items():
            if in_system(path):
                found = view.digest(path) or view.digest(canonical(path))
                if found != md5:
                    wrong.append(f"{path} {'changed' if found else 'missing'}")
        detail = "; ".join(wrong) or f"{len(deb.md5sums)} files as Debian ships them"
        ctx.record(self.node, f"verify {self.package} {version}", len(wrong), detail, start, "host")
        return _verdict(
            not wrong,
            f"{self.package} {version} installed (verified against Debian's package)",
            f"{self.package} {version}: {', '.join(wrong[:3])}",
        )


class PortListeningCheck(Check):
    type: Literal["port_listening"]
    port: int = Field(ge=1, le=65535)
    protocol: IpProtocol = "tcp"
    from_: Literal["grader", "node"] = Field("grader", alias="from")
    expect: Literal["open", "closed"] = "open"
    served_by: str | None = None  # the program that must hold the port, as Debian ships it

    @model_validator(mode="after")
    def _udp_seen_from_the_node(self) -> PortListeningCheck:
        # A UDP port owes no answer to an empty datagram: from outside, a silent server cannot
        # be told from a port a firewall drops.
        if self.protocol == "udp" and self.from_ == "grader":
            raise ValueError(
                "a UDP port cannot be judged from the grader (a silent port looks like a "
                "filtered one): write `from: node` (the node's sockets, read by the host), or "
                "check the service with a protocol check such as `dns`"
            )
        return self

    def run(self, ctx: CheckContext) -> CheckResult:
        where = socket_name(self.port, self.protocol)
        if self.from_ == "node":
            start = time.monotonic()
            owners = ctx.view(self.node).listeners(self.port, self.protocol)
            shown = ", ".join(f"{p.pid} {p.exe}" for p in owners) or "nobody"
            ctx.record(self.node, f"listening on {where} (host view)", 0, shown, start, "host")
            is_open = bool(owners)
            seen = "on the node"
        else:
            is_open = self._probe(ctx, ctx.address(self.node))
            seen = "from the network"
        want = self.expect == "open"
        if is_open == want and want and self.served_by:
            problem = served_by(ctx, self.node, self.port, self.served_by, self.protocol)
            if problem:
                return CheckResult(0, problem)
        return _verdict(
            is_open == want,
            f"{where} is {self.expect} {seen}",
            f"{where} is {'open' if is_open else 'closed'} {seen}, not {self.expect}",
        )

    def _probe(self, ctx: CheckContext, host: str) -> bool:
        start = time.monotonic()
        try:
            with socket.create_connection((host, self.port), timeout=2):
                is_open, what = True, "connected"
        except OSError as exc:
            is_open, what = False, str(exc)
        ctx.record(
            self.node,
            f"tcp connect {host}:{self.port}",
            0 if is_open else 1,
            what,
            start,
            "outside",
        )
        return is_open


class HttpCheck(Check):
    type: Literal["http"]
    path: str = "/"
    port: int = 80
    host: str | None = None
    status: int = 200
    body_contains: str | list[str] = []
    body_regex: str | None = None
    body_not_contains: str | None = None
    header_absent: str | None = None
    header_regex: dict[str, str] = {}
    served_by: str | None = None  # the program that must answer, as Debian ships it
    _re = field_validator("body_regex")(patterns.validate)

    @field_validator("header_regex")
    @classmethod
    def _header_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            patterns.validate(pattern)
        return value

    def run(self, ctx: CheckContext) -> CheckResult:
        reply = http_get(ctx, self.node, self.port, self.path, self.host)
        if reply is None:
            return CheckResult(0, f"no HTTP answer on port {self.port}")
        if self.served_by:
            problem = served_by(ctx, self.node, self.port, self.served_by)
            if problem:
                return CheckResult(0, problem)
        if reply.status != self.status:
            return CheckResult(0, f"HTTP status {reply.status}, expected {self.status}")
        wanted = [self.body_contains] if isinstance(self.body_contains, str) else self.body_contains
        missing = [w for w in wanted if w not in reply.body]
        if missing:
            return CheckResult(1 - len(missing) / (len(wanted) + 1), f"page lacks {missing!r}")
        if self.body_regex is not None and not patterns.search(self.body_regex, reply.body):
            return CheckResult(0, f"page does not match /{self.body_regex}/")
        if self.body_not_contains is not None and self.body_not_contains in reply.body:
            return CheckResult(0, f"page contains {self.body_not_contains!r}")
        if self.header_absent and self.header_absent.lower() in reply.headers:
            return CheckResult(0, f"header {self.header_absent} is present")
        for name, pattern in self.header_regex.items():
            if not patterns.search(pattern, reply.headers.get(name.lower(), "")):
                return CheckResult(0, f"header {name} does not match /{pattern}/")
        return CheckResult(1, f"HTTP {reply.status} with the expected content")


class FileCheck(Check):
    type: Literal["file"]
    path: str
    exists: bool = True
    contains: str | None = None
    regex: str | None = None
    not_regex: str | None = None
    mode: Annotated[str, Field(pattern=r"^0?[0-7]{3,4}$")] | None = None
    owner: str | None = None
    group: str | None = None
    _re = field_validator("regex", "not_regex")(patterns.validate)

    def run(self, ctx: CheckContext) -> CheckResult:
        start = time.monotonic()
        view = ctx.view(self.node)
        info = view.read(self.path, MAX_FILE)
        ctx.record(self.node, f"read {self.path} (from the host)", 0 if info else 1,
                   _describe(info), start, "host")  # fmt: skip
        if info is None:
            return _verdict(
                not self.exists, f"{self.path} is absent", f"{self.path} does not exist"
            )
        if not self.exists:
            return CheckResult(0, f"{self.path} exists")
        if self.mode is not None and info.mode != int(self.mode, 8):
            return CheckResult(0, f"{self.path} has mode {info.mode:o}, expected {self.mode}")
        users, groups = names(view)
        owner, group = users.get(info.uid, str(info.uid)), groups.get(info.gid, str(info.gid))
        if self.owner is not None and owner != self.owner:
            return CheckResult(0, f"{self.path} is owned by {owner}, expected {self.owner}")
        if self.group is not None and group != self.group:
            return CheckResult(0, f"{self.path} has group {group}, expected {self.group}")
        if self.contains is None and self.regex is None and self.not_regex is None:
            return CheckResult(1, f"{self.path} exists as expected")
        text = (info.content or b"").decode("utf-8", "replace")
        if self.contains is not None and self.contains not in text:
            return CheckResult(0, f"{self.path} does not contain {self.contains!r}")
        if self.regex is not None and not patterns.search(self.regex, text):
            return CheckResult(0, f"{self.path} does not match /{self.regex}/")
        if self.not_regex is not None and patterns.search(self.not_regex, text):
            return CheckResult(0, f"{self.path} matches /{self.not_regex}/, which it must not")
        return CheckResult(1, f"{self.path} content as expected")


def _describe(info: FileInfo | None) -> str:
    if info is None:
        return "absent"
    head = f"{info.path}: {info.kind}, mode {info.mode:o}, uid {info.uid}, gid {info.gid}"
    if info.content is None:
        return head
    cut = " (first 1 MiB)" if info.truncated else ""
    return f"{head}{cut}\n{excerpt(info.content.decode('utf-8', 'replace'))}"


class SqlCheck(Check):
    type: Literal["sql"]
    query: str
    database: str | None = None
    user: str | None = None
    password: str | None = None
    expect_regex: str | None = None
    expect_rows: int | None = Field(None, ge=0)
    socket: str = "/run/mysqld/mysqld.sock"
    served_by: str | None = None  # the server that must hold the socket, as Debian ships it
    _re = field_validator("expect_regex")(patterns.validate)

    def run(self, ctx: CheckContext) -> CheckResult:
        if self.served_by:
            problem = served_by(ctx, self.node, self.socket, self.served_by)
            if problem:
                return CheckResult(0, problem)
        result = run_sql(
            ctx, self.node, self.query, self.socket, self.user, self.password, self.database
        )
        if not result.ok:
            return CheckResult(0, f"query failed: {excerpt(result.stderr.strip(), 200)}")
        rows = [r for r in result.stdout.splitlines() if r]
        if self.expect_rows is not None and len(rows) != self.expect_rows:
            return CheckResult(0, f"{len(rows)} rows, expected {self.expect_rows}")
        if self.expect_regex is not None and not patterns.search(self.expect_regex, result.stdout):
            return CheckResult(0, f"result does not match /{self.expect_regex}/")
        return CheckResult(1, "query result as expected")


def load_function(reference: str) -> CheckFunction:
    """'graders.amp:db_schema' -> the function. Raises ValueError naming what is wrong."""
    module_name, _, name = reference.partition(":")
    if not module_name.startswith("graders.") or not name:
        raise ValueError(f"function must look like 'graders.module:name', got {reference!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name}: {exc}") from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{module_name} has no function {name!r}")
    return function  # type: ignore[no-any-return]


class PythonCheck(Check):
    type: Literal["python"]
    node: str = ""
    function: str
    args: dict[str, Any] = {}

    @field_validator("function")
    @classmethod
    def _importable(cls, value: str) -> str:
        load_function(value)
        return value

    def run(self, ctx: CheckContext) -> CheckResult:
        return load_function(self.function)(ctx, **self.args)


AnyCheck = Annotated[
    CommandCheck
    | ServiceActiveCheck
    | PackageInstalledCheck
    | PortListeningCheck
    | HttpCheck
    | DnsCheck
    | FileCheck
    | SqlCheck
    | PythonCheck
    | AddressCheck
    | VlanInterfaceCheck
    | BridgeVlanCheck
    | SysctlCheck
    | RouteCheck
    | PingCheck
    | TracerouteCheck,
    Field(discriminator="type"),
]
CHECKS: TypeAdapter[AnyCheck] = TypeAdapter(AnyCheck)
