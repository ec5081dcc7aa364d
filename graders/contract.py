"""The grader contract: what a check receives, what it returns, what evidence it leaves.

Built-in checks (graders.checks) and scenario modules (``check: {type: python,
function: graders.amp:name}``) both write against this module only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

OUTPUT_EXCERPT = 2000


@dataclass
class Evidence:
    """One thing the grader did and saw, kept for the jury."""

    node: str
    command: str
    status: int | None
    output: str
    duration_ms: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CommandResult:
    status: int
    stdout: str
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass
class CheckResult:
    """A check's verdict: 0..1 and a sentence for the person who reads the result."""

    score: float
    message: str

    def __post_init__(self) -> None:
        self.score = min(1.0, max(0.0, float(self.score)))


class NodeUnreachable(Exception):
    """The grader could not reach or log into a node; the check scores 0."""


class Transport(Protocol):
    def run(self, command: str, timeout: float) -> CommandResult: ...


def excerpt(text: str, limit: int = OUTPUT_EXCERPT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more chars]"


@dataclass
class CheckContext:
    """What a check may use: commands on nodes (recorded), node addresses, parameters."""

    transports: dict[str, Transport]
    addresses: dict[str, str]
    params: dict[str, str]
    evidence: list[Evidence] = field(default_factory=list)

    def run(
        self, node: str, command: str, timeout: float = 10.0, shown: str | None = None
    ) -> CommandResult:
        """Run `command` as root on `node`; the evidence shows `shown` instead when given (secrets).

        Raises NodeUnreachable when the node cannot answer.
        """
        transport = self.transports.get(node)
        if transport is None:
            raise NodeUnreachable(f"unknown node '{node}'")
        start = time.monotonic()
        try:
            result = transport.run(command, timeout)
        except NodeUnreachable as exc:
            self.record(node, shown or command, None, str(exc), start)
            raise
        self.record(node, shown or command, result.status, result.stdout + result.stderr, start)
        return result

    def record(self, node: str, what: str, status: int | None, output: str, start: float) -> None:
        elapsed = int((time.monotonic() - start) * 1000)
        self.evidence.append(Evidence(node, what, status, excerpt(output), elapsed))

    def address(self, node: str) -> str:
        try:
            return self.addresses[node]
        except KeyError:
            raise NodeUnreachable(f"unknown node '{node}'") from None


CheckFunction = Callable[..., CheckResult]
