"""Built-in declarative checks, one small model per type, registered explicitly in CHECKS.

Where the platform can observe from outside the node (HTTP, TCP ports) it does, so the
answer does not rest on a binary the candidate could have replaced.
"""

from __future__ import annotations

import importlib
import re
import shlex
import socket
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from graders.contract import CheckContext, CheckFunction, CheckResult, excerpt
from graders.web import http_get


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    node: str

    def run(self, ctx: CheckContext) -> CheckResult:
        raise NotImplementedError


def _verdict(ok: bool, good: str, bad: str) -> CheckResult:
    return CheckResult(1.0 if ok else 0.0, good if ok else bad)


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from exc
    return value


class CommandCheck(Check):
    type: Literal["command"]
    run_: str = Field(alias="run")
    expect_status: int = 0
    stdout_regex: str | None = None
    stdout_contains: str | None = None
    _re = field_validator("stdout_regex")(_regex)

    def run(self, ctx: CheckContext) -> CheckResult:
        result = ctx.run(self.node, self.run_)
        if result.status != self.expect_status:
            return CheckResult(0, f"exit status {result.status}, expected {self.expect_status}")
        if self.stdout_contains is not None and self.stdout_contains not in result.stdout:
            return CheckResult(0, f"output does not contain {self.stdout_contains!r}")
        if self.stdout_regex is not None and not re.search(self.stdout_regex, result.stdout, re.M):
            return CheckResult(0, f"output does not match /{self.stdout_regex}/")
        return CheckResult(1, "command output as expected")


class ServiceActiveCheck(Check):
    type: Literal["service_active"]
    service: str
    enabled: bool = False

    def run(self, ctx: CheckContext) -> CheckResult:
        unit = shlex.quote(self.service)
        active = ctx.run(self.node, f"systemctl is-active {unit}").stdout.strip()
        if active != "active":
            return CheckResult(0, f"{self.service} is {active or 'unknown'}, not active")
        if self.enabled:
            state = ctx.run(self.node, f"systemctl is-enabled {unit}").stdout.strip()
            if state not in {"enabled", "alias", "static", "generated"}:
                return CheckResult(
                    0, f"{self.service} is active but {state or 'not enabled'} at boot"
                )
        return CheckResult(
            1, f"{self.service} is active" + (" and enabled" if self.enabled else "")
        )


class PackageInstalledCheck(Check):
    type: Literal["package_installed"]
    package: str

    def run(self, ctx: CheckContext) -> CheckResult:
        pkg = shlex.quote(self.package)
        result = ctx.run(self.node, f"dpkg-query -W -f='${{Status}} ${{Version}}' {pkg}")
        ok = result.ok and result.stdout.startswith("install ok installed")
        return _verdict(
            ok,
            f"{self.package} installed ({result.stdout.split()[-1] if ok else ''})",
            f"{self.package} is not installed",
        )


class PortListeningCheck(Check):
    type: Literal["port_listening"]
    port: int = Field(ge=1, le=65535)
    from_: Literal["grader", "node"] = Field("grader", alias="from")
    expect: Literal["open", "closed"] = "open"

    def run(self, ctx: CheckContext) -> CheckResult:
        if self.from_ == "node":
            out = ctx.run(self.node, f"ss -Hltn 'sport = :{self.port}'").stdout
            is_open = bool(out.strip())
        else:
            is_open = self._probe(ctx, ctx.address(self.node))
        want = self.expect == "open"
        where = "on the node" if self.from_ == "node" else "from the network"
        return _verdict(
            is_open == want,
            f"port {self.port} is {self.expect} {where}",
            f"port {self.port} is {'open' if is_open else 'closed'} {where}, not {self.expect}",
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
            f"tcp connect {host}:{self.port} (from grader)",
            0 if is_open else 1,
            what,
            start,
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
    _re = field_validator("body_regex")(_regex)

    @field_validator("header_regex")
    @classmethod
    def _header_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            _regex(pattern)
        return value

    def run(self, ctx: CheckContext) -> CheckResult:
        reply = http_get(ctx, self.node, self.port, self.path, self.host)
        if reply is None:
            return CheckResult(0, f"no HTTP answer on port {self.port}")
        if reply.status != self.status:
            return CheckResult(0, f"HTTP status {reply.status}, expected {self.status}")
        wanted = [self.body_contains] if isinstance(self.body_contains, str) else self.body_contains
        missing = [w for w in wanted if w not in reply.body]
        if missing:
            return CheckResult(1 - len(missing) / (len(wanted) + 1), f"page lacks {missing!r}")
        if self.body_regex is not None and not re.search(self.body_regex, reply.body, re.M):
            return CheckResult(0, f"page does not match /{self.body_regex}/")
        if self.body_not_contains is not None and self.body_not_contains in reply.body:
            return CheckResult(0, f"page contains {self.body_not_contains!r}")
        if self.header_absent and self.header_absent.lower() in reply.headers:
            return CheckResult(0, f"header {self.header_absent} is present")
        for name, pattern in self.header_regex.items():
            if not re.search(pattern, reply.headers.get(name.lower(), "")):
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
    _re = field_validator("regex", "not_regex")(_regex)

    def run(self, ctx: CheckContext) -> CheckResult:
        path = shlex.quote(self.path)
        stat = ctx.run(self.node, f"stat -L -c '%a %U %G' -- {path}")
        if not stat.ok:
            return _verdict(
                not self.exists, f"{self.path} is absent", f"{self.path} does not exist"
            )
        if not self.exists:
            return CheckResult(0, f"{self.path} exists")
        mode, owner, group = stat.stdout.split()
        if self.mode is not None and int(mode, 8) != int(self.mode, 8):
            return CheckResult(0, f"{self.path} has mode {mode}, expected {self.mode}")
        if self.owner is not None and owner != self.owner:
            return CheckResult(0, f"{self.path} is owned by {owner}, expected {self.owner}")
        if self.group is not None and group != self.group:
            return CheckResult(0, f"{self.path} has group {group}, expected {self.group}")
        if self.contains is None and self.regex is None and self.not_regex is None:
            return CheckResult(1, f"{self.path} exists as expected")
        text = ctx.run(self.node, f"head -c 1000000 -- {path}").stdout
        if self.contains is not None and self.contains not in text:
            return CheckResult(0, f"{self.path} does not contain {self.contains!r}")
        if self.regex is not None and not re.search(self.regex, text, re.M):
            return CheckResult(0, f"{self.path} does not match /{self.regex}/")
        if self.not_regex is not None and re.search(self.not_regex, text, re.M):
            return CheckResult(0, f"{self.path} matches /{self.not_regex}/, which it must not")
        return CheckResult(1, f"{self.path} content as expected")


class SqlCheck(Check):
    type: Literal["sql"]
    query: str
    database: str | None = None
    user: str | None = None
    password: str | None = None
    expect_regex: str | None = None
    expect_rows: int | None = Field(None, ge=0)
    _re = field_validator("expect_regex")(_regex)

    def run(self, ctx: CheckContext) -> CheckResult:
        # utf8mb4: the lab's locale is empty and the client would otherwise talk latin1.
        argv = [
            "mysql",
            "--batch",
            "--skip-column-names",
            "--connect-timeout=5",
            "--default-character-set=utf8mb4",
        ]
        argv += [f"--user={self.user}"] if self.user else []
        argv += [f"--database={self.database}"] if self.database else []
        argv += ["-e", self.query]
        command = shlex.join(argv)
        if self.password:  # through the environment, and hidden in the evidence
            result = ctx.run(
                self.node,
                f"MYSQL_PWD={shlex.quote(self.password)} {command}",
                shown=f"MYSQL_PWD=*** {command}",
            )
        else:
            result = ctx.run(self.node, command)
        if not result.ok:
            return CheckResult(0, f"query failed: {excerpt(result.stderr.strip(), 200)}")
        rows = [r for r in result.stdout.splitlines() if r]
        if self.expect_rows is not None and len(rows) != self.expect_rows:
            return CheckResult(0, f"{len(rows)} rows, expected {self.expect_rows}")
        if self.expect_regex is not None and not re.search(self.expect_regex, result.stdout, re.M):
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
    | FileCheck
    | SqlCheck
    | PythonCheck,
    Field(discriminator="type"),
]
CHECKS: TypeAdapter[AnyCheck] = TypeAdapter(AnyCheck)
