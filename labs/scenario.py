"""The scenario model: what an exam is, as pure data (no driver, no grader imports)."""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from labs.params import PARAMETER, Draw, group_problems
from labs.rights import KNOWN, capability

NAME = r"^[a-z][a-z0-9-]{0,30}$"
# A lab interface's name: the kernel's limit is 15 characters.
INTERFACE = r"^[a-z][a-z0-9]{0,14}$"
MANAGEMENT = "eth0"  # every node's management interface: the grader's and the candidate's access
RESERVED = (MANAGEMENT, "lo")  # a node's own interfaces, never a lab link's end
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_MEMORY = re.compile(r"^(\d+)([KMG])$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in French (required: exams are French first) and optionally English."""

    fr: str
    en: str | None = None

    def get(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.fr


def tree_hash(folder: Path) -> str:
    """A short hash of every file below `folder` (names, contents, modes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
        digest.update(oct(path.stat().st_mode & 0o777).encode())
    return digest.hexdigest()[:16]


def parse_duration(value: str) -> timedelta:
    match = _DURATION.match(value.strip())
    if not value.strip() or not match:
        raise ValueError(f"not a duration: {value!r} (write e.g. 90m, 1h30m, 45s)")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def positive_duration(value: str) -> str:
    """A validator: `value` is a duration longer than zero."""
    if parse_duration(value) <= timedelta(0):
        raise ValueError("must be a positive duration")
    return value


def parse_memory(value: str) -> int:
    """'768M' -> bytes."""
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"not a memory size: {value!r} (write e.g. 512M or 2G)")
    return int(match.group(1)) * {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)]


@functools.cache
def device_types() -> frozenset[str]:
    """netmiko's device types; imported when a scenario names one (netmiko is heavy)."""
    from netmiko.ssh_dispatcher import CLASS_MAPPER

    return frozenset(CLASS_MAPPER)


class Node(Strict):
    kind: Literal["container", "vm"] = "container"
    image: str
    cpus: float = Field(default=1.0, gt=0, le=8)
    memory: str = "512M"
    pids: int = Field(default=512, ge=32, le=16384)
    internet: Literal["none", "packages"] = "none"
    # Extra Linux capabilities the candidate may need beyond the default set (containers):
    # NET_ADMIN, others only if the operator allows them (labs.rights).
    capabilities: list[str] = []
    # The node's disk: a container's writable layer is capped there (the image counts in it),
    # a VM's system disk has that size (never below the image's).
    disk: str = "4G"
    # VMs: extra empty disks, a screen.
    disks: list[str] = []
    display: bool = False
    # The grader reaches the node with netmiko as this device type over the management network
    # (`linux` for a Debian node; a real switch's type, e.g. `cisco_ios`, elsewhere).
    device_type: Annotated[str, Field(examples=["linux", "cisco_ios"])] | None = None
    # Kernel features a container needs from the host's kernel (a VM has its own): `8021q` for
    # VLAN sub-interfaces and VLAN-filtering bridges.
    needs: list[Literal["8021q"]] = []

    @field_validator("device_type")
    @classmethod
    def _device_type(cls, value: str | None) -> str | None:
        if value is not None and value not in device_types():
            close = difflib.get_close_matches(value, device_types(), n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ValueError(
                f"unknown netmiko device type {value!r}: {hint}"
                "valid ones are e.g. linux, cisco_ios, arista_eos, juniper_junos"
            )
        return value

    @field_validator("capabilities")
    @classmethod
    def _capabilities(cls, value: list[str]) -> list[str]:
        names = [capability(c) for c in value]  # as Docker reads them: cap_x is X
        for name in names:
            if name not in KNOWN:
                raise ValueError(f"unknown capability {name!r} (see capabilities(7))")
        return names

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if parse_memory(value) < 64 << 20:
            raise ValueError("memory must be at least 64M")
        return value

    @field_validator("disk")
    @classmethod
    def _disk(cls, value: str) -> str:
        if parse_memory(value) < 1 << 30:
            raise ValueError("disk must be at least 1G")
        return value

    @field_validator("disks")
    @classmethod
    def _disks(cls, value: list[str]) -> list[str]:
        for size in value:
            parse_memory(size)
        if len(value) > 8:
            raise ValueError("at most 8 extra disks")
        return value

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Node:
        given = self.model_fields_set
        if self.kind == "container" and given & {"disks", "display"}:
            raise ValueError("disks and display are for VM nodes (kind: vm)")
        if self.kind == "vm" and given & {"capabilities", "pids"}:
            raise ValueError("capabilities and pids are for container nodes (a VM is whole)")
        if self.kind == "vm" and self.needs:
            raise ValueError(
                "needs is for container nodes: a VM has its own kernel (8021q works there)"
            )
        return self

    @property
    def memory_bytes(self) -> int:
        return parse_memory(self.memory)

    @property
    def disk_bytes(self) -> int:
        return parse_memory(self.disk)


class Referential(Strict):
    block: str
    modality: str


class Grading(Strict):
    """How the lab is graded when the exam ends."""

    # Restart every node from the host before grading: nothing the candidate started survives
    # the cut-off, and what is graded is what survives a reboot. Opt out only for labs whose
    # state would not (then the candidate's processes are killed instead).
    restart: bool = True
    budget: str = "5m"  # the whole grading's wall clock; past it, the grade is incomplete
    # Each criterion's own clock: past it, that criterion is `error` (graded again later) and
    # grading goes on without it. Checks that ask a slow machine (a VM under TCG, a nested
    # hypervisor) need more than the default.
    criterion_budget: str = "60s"
    # Live progress for the examiners: while the exam runs, the criteria whose checks are all
    # built in (no `python` check: those may exercise the candidate's work) are graded this
    # often, read-only, as a preview never stored and never shown to the candidate. Off unless
    # given (e.g. "5m"); the checks' commands must then not change the lab.
    progress: str | None = None

    _budget = field_validator("budget", "criterion_budget")(lambda value: positive_duration(value))
    _progress = field_validator("progress")(
        lambda value: None if value is None else positive_duration(value)
    )

    @property
    def progress_seconds(self) -> float | None:
        return None if self.progress is None else parse_duration(self.progress).total_seconds()

    @property
    def budget_seconds(self) -> float:
        return parse_duration(self.budget).total_seconds()

    @property
    def criterion_budget_seconds(self) -> float:
        return parse_duration(self.criterion_budget).total_seconds()


class Criterion(Strict):
    id: Annotated[str, Field(pattern=NAME)]
    title: Text
    weight: float = Field(default=1.0, gt=0)
    # One check, or several for partial credit (score = share of checks passed).
    check: dict[str, Any] | None = None
    checks: list[dict[str, Any]] | None = None
    depends_on: list[str] = []
    referential: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Criterion:
        if (self.check is None) == (self.checks is None):
            raise ValueError("give exactly one of 'check' or 'checks'")
        if self.checks == []:
            raise ValueError("'checks' must not be empty")
        return self

    @property
    def all_checks(self) -> list[dict[str, Any]]:
        return [self.check] if self.check is not None else list(self.checks or [])


class Endpoint(Strict):
    """One end of a link: a node's interface, written `node:interface`."""

    node: str
    interface: str

    def __str__(self) -> str:
        return f"{self.node}:{self.interface}"


def _endpoint(value: Any) -> Endpoint:
    if isinstance(value, Endpoint):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not node:interface (e.g. sw1:eth1)")
    node, sep, interface = value.partition(":")
    if not sep or not re.match(NAME, node) or not re.match(INTERFACE, interface):
        raise ValueError(f"{value!r} is not node:interface (e.g. sw1:eth1)")
    if interface in RESERVED:
        raise ValueError(f"{value!r}: {interface} is the node's own, not a lab link's")
    return Endpoint(node=node, interface=interface)


# Written and shown as text, `sw1:eth1`; the schema says so for editors.
_ENDPOINT_PATTERN = (
    f"^{NAME[1:-1]}:(?!(?:{'|'.join(RESERVED)})$){INTERFACE[1:-1]}$"  # never eth0 nor lo
)
EndpointText = Annotated[
    Endpoint,
    BeforeValidator(_endpoint),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _ENDPOINT_PATTERN, "examples": ["sw1:eth1"]}),
]


class Link(Strict):
    """An L2 link between two node interfaces: it carries only what the candidate configures
    (tagged frames too), and nothing of another session's."""

    endpoints: tuple[EndpointText, EndpointText]

    @field_validator("endpoints", mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) != 2:
            raise ValueError("a link has two ends, e.g. endpoints: [sw1:eth1, r1:eth1]")
        return value

    @model_validator(mode="after")
    def _two_nodes(self) -> Link:
        a, b = self.endpoints
        if a.node == b.node:
            raise ValueError(f"{a} and {b}: a link joins two different nodes")
        return self


Loc = tuple[str | int, ...]


def _located(title: str, problems: Iterable[tuple[Loc, str]]) -> ValidationError | None:
    """Problems found across a model's fields, each at its own place in the file (a plain
    ValueError from a model validator would point at the model, i.e. line 1)."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError("scenario", "{message}", {"message": message}),
            loc=loc,
            input=None,
        )
        for loc, message in problems
    ]
    return ValidationError.from_exception_data(title, details) if details else None


class Scenario(Strict):
    id: Annotated[str, Field(pattern=NAME)]
    title: Text
    referential: Referential | None = None
    duration: str
    nodes: dict[Annotated[str, Field(pattern=NAME)], Node]
    links: list[Link] = []
    parameters: dict[Annotated[str, Field(pattern=PARAMETER)], str] = {}
    # Parameters generated per session (random passwords), usable as {{ name }} like the others.
    secrets: list[Annotated[str, Field(pattern=PARAMETER)]] = []
    # Parameters drawn per session from its seed: VLAN ids, subnets, names (labs/params.py).
    draw: dict[Annotated[str, Field(pattern=PARAMETER)], Draw] = {}
    criteria: list[Criterion]
    grading: Grading = Grading()
    # node name -> script (relative to the scenario folder) run as root on that node.
    solution: dict[str, str] = {}
    folder: Path = Field(default=Path("."), exclude=True)

    _duration = field_validator("duration")(lambda value: positive_duration(value))

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        error = _located("Scenario", [*self._link_problems(), *self._name_problems()])
        if error is not None:
            raise error
        return self

    def _link_problems(self) -> Iterable[tuple[Loc, str]]:
        seen: set[Endpoint] = set()
        for i, link in enumerate(self.links):
            for j, end in enumerate(link.endpoints):
                loc: Loc = ("links", i, "endpoints", j)
                if end.node not in self.nodes:
                    yield loc, f"link {end}: no node named {end.node!r}"
                elif end in seen:
                    yield loc, f"link {end}: that interface is already in another link"
                seen.add(end)

    def _name_problems(self) -> Iterable[tuple[Loc, str]]:
        """One name, one value: a name given twice would silently take one of its values."""
        for i, name in enumerate(self.secrets):
            if name in self.parameters:
                yield ("secrets", i), f"'{name}' is also in parameters"
        for name in self.draw:
            if name in self.parameters or name in self.secrets:
                yield ("draw", name), f"'{name}' is also in parameters or secrets"
        for name, problem in group_problems(self.draw):
            yield ("draw", name, "distinct"), problem

    def interfaces(self, node: str) -> list[str]:
        """The node's lab interfaces (its links' ends), in the scenario's order."""
        return [e.interface for link in self.links for e in link.endpoints if e.node == node]

    @property
    def time_allowed(self) -> timedelta:
        return parse_duration(self.duration)
