"""The scenario model: what an exam is, as pure data (no driver, no grader imports)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

NAME = r"^[a-z][a-z0-9-]{0,30}$"
# A lab interface's name: the kernel's limit is 15 characters.
INTERFACE = r"^[a-z][a-z0-9]{0,14}$"
MANAGEMENT = "eth0"  # every node's management interface: the grader's and the candidate's access
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


class Node(Strict):
    kind: Literal["container", "vm"] = "container"
    image: str
    cpus: float = Field(default=1.0, gt=0, le=8)
    memory: str = "512M"
    pids: int = Field(default=512, ge=32, le=16384)
    internet: Literal["none", "packages"] = "none"
    # Extra Linux capabilities the candidate may need beyond the default set (containers).
    capabilities: list[str] = []
    # VMs: the system disk's size (never below the image's), extra empty disks, a screen.
    disk: str = "4G"
    disks: list[str] = []
    display: bool = False

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
        if self.kind == "container" and given & {"disk", "disks", "display"}:
            raise ValueError("disk, disks and display are for VM nodes (kind: vm)")
        if self.kind == "vm" and given & {"capabilities", "pids"}:
            raise ValueError("capabilities and pids are for container nodes (a VM is whole)")
        return self

    @property
    def memory_bytes(self) -> int:
        return parse_memory(self.memory)


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

    _budget = field_validator("budget")(lambda value: positive_duration(value))

    @property
    def budget_seconds(self) -> float:
        return parse_duration(self.budget).total_seconds()


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


def _endpoint(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    node, sep, interface = value.partition(":")
    if not sep or not re.match(NAME, node) or not re.match(INTERFACE, interface):
        raise ValueError(f"{value!r} is not node:interface (e.g. sw1:eth1)")
    if interface == MANAGEMENT or interface == "lo":
        raise ValueError(f"{value!r}: {interface} is the node's own, not a lab link's")
    return Endpoint(node=node, interface=interface)


class Link(Strict):
    """An L2 link between two node interfaces: it carries only what the candidate configures
    (tagged frames too), and nothing of another session's."""

    endpoints: tuple[
        Annotated[Endpoint, BeforeValidator(_endpoint)],
        Annotated[Endpoint, BeforeValidator(_endpoint)],
    ]

    @model_validator(mode="after")
    def _two_nodes(self) -> Link:
        a, b = self.endpoints
        if a.node == b.node:
            raise ValueError(f"{a} and {b}: a link joins two different nodes")
        return self


class Scenario(Strict):
    id: Annotated[str, Field(pattern=NAME)]
    title: Text
    referential: Referential | None = None
    duration: str
    nodes: dict[Annotated[str, Field(pattern=NAME)], Node]
    links: list[Link] = []
    parameters: dict[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")], str] = {}
    # Parameters generated per session (random passwords), usable as {{ name }} like the others.
    secrets: list[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]] = []
    criteria: list[Criterion]
    grading: Grading = Grading()
    # node name -> script (relative to the scenario folder) run as root on that node.
    solution: dict[str, str] = {}
    folder: Path = Field(default=Path("."), exclude=True)

    _duration = field_validator("duration")(lambda value: positive_duration(value))

    @model_validator(mode="after")
    def _linked_nodes(self) -> Scenario:
        seen: set[str] = set()
        for link in self.links:
            for end in link.endpoints:
                if end.node not in self.nodes:
                    raise ValueError(f"link {end}: no node named {end.node!r}")
                if str(end) in seen:
                    raise ValueError(f"link {end}: that interface is already in another link")
                seen.add(str(end))
        return self

    def interfaces(self, node: str) -> list[str]:
        """The node's lab interfaces (its links' ends), in the scenario's order."""
        return [e.interface for link in self.links for e in link.endpoints if e.node == node]

    @property
    def time_allowed(self) -> timedelta:
        return parse_duration(self.duration)
