"""The grader contract: what a check receives, what it returns, what evidence it leaves.

Built-in checks (graders.checks) and scenario modules (``check: {type: python,
function: graders.amp:name}``) both write against this module only.

Every piece of evidence says how it was observed (`via`), from most to least trustworthy:
``outside`` (the grader's side of the lab network), ``host`` (the lab host's view of the
node: its files, processes and sockets, which nothing inside the node can falsify) and
``node`` (a command run inside the node through the engine, with a clean environment, using
the node's own tools, which the integrity scan checks against Debian's packages first).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

from graders.debs import PackageIndex

OUTPUT_EXCERPT = 2000
TIMED_OUT = 124  # a sandbox run's status when stopped at its time limit, as timeout(1) says
Via = Literal["outside", "host", "node"]
IpProtocol = Literal["tcp", "udp"]


@dataclass
class Evidence:
    """One thing the grader did and saw, kept for the jury."""

    node: str
    command: str
    status: int | None
    output: str
    duration_ms: int
    via: Via = "node"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CommandResult:
    status: int
    stdout: str
    stderr: str = ""
    truncated: bool = False  # the output passed the transport's cap and was cut

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
    """The node is down or gone: a fact about the lab, so the check scores 0 with the reason."""


class GraderError(Exception):
    """The grader's own path failed (engine error, time-out): not a fact about the lab.

    Retried; if it persists the criterion is marked `error` (never `failed`) and the grade
    is incomplete, to be graded again."""


class Untrusted(Exception):
    """The node's own tools were changed outside Debian's packages: a verdict resting on them
    is withheld (the check scores 0 and says why)."""


class AskedOnce:
    """A node's answers within one grading: the same command asked twice runs once (checks
    only read). A failure is not remembered: the next ask tries again."""

    def __init__(self) -> None:
        self._answers: dict[str, Future[CommandResult]] = {}
        self._lock = threading.Lock()

    def __call__(self, command: str, run: Callable[[], CommandResult]) -> CommandResult:
        with self._lock:
            answer = self._answers.get(command)
            mine = answer is None
            if answer is None:
                answer = self._answers[command] = Future()
        if not mine:
            return answer.result()
        try:
            answer.set_result(run())
        except BaseException as exc:
            with self._lock:
                del self._answers[command]
            answer.set_exception(exc)
        return answer.result()


class Transport(Protocol):
    def run(self, command: str, timeout: float) -> CommandResult:
        """Run a shell command as root inside the node. Raises NodeUnreachable, GraderError."""
        ...


class Sandbox(Protocol):
    def run(self, files: Mapping[str, bytes], argv: list[str], timeout: float) -> CommandResult:
        """Run `argv` in a fresh container of a clean image, away from every lab, holding only
        `files` (path in its work folder -> content); status TIMED_OUT past `timeout` seconds.
        Raises GraderError (graders.sandbox)."""
        ...


@dataclass(frozen=True)
class FileInfo:
    """A file as the host sees it in the node's filesystem (symlinks resolved inside the node)."""

    path: str
    kind: Literal["file", "dir", "other"]
    mode: int  # permission bits
    uid: int
    gid: int
    content: bytes | None = None  # regular files, up to the limit asked
    truncated: bool = False


@dataclass(frozen=True)
class Process:
    """A process of the node as the host sees it: its executable cannot be faked from inside."""

    pid: int  # inside the node
    exe: str  # path inside the node, " (deleted)" when replaced since it started
    genuine: bool  # the running executable is the image's or a verified Debian package's
    why: str  # for the evidence


class NodeView(Protocol):
    """What the lab host sees of a node without asking it (level 2 in DESIGN)."""

    def read(self, path: str, limit: int) -> FileInfo | None:
        """The file at `path` (None if absent). Raises NodeUnreachable when the node is down."""
        ...

    def listeners(self, port: int | str, protocol: IpProtocol = "tcp") -> list[Process]:
        """Processes waiting for peers on `port` (int) of `protocol` (a TCP socket listening, a
        UDP socket bound and connected to no peer), or on a unix socket (`port`: its path)."""
        ...

    def process(self, pid: int) -> Process | None:
        """The process `pid` (as numbered inside the node)."""
        ...

    def changed(self, path: str) -> bool:
        """Does `path` differ from the platform's image (written, added or removed since)?"""
        ...

    def digest(self, path: str) -> str | None:
        """The md5 of the file at `path` as the host reads it (None if absent)."""
        ...

    def connect(self, path: str, timeout: float) -> socket.socket:
        """A connection to the unix socket at `path` in the node. Raises OSError."""
        ...


def excerpt(text: str, limit: int = OUTPUT_EXCERPT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more chars]"


@dataclass
class CheckContext:
    """What a check may use: commands on nodes, host views, addresses, parameters; all recorded.

    `untrusted` maps a node whose system files were changed outside packages to a summary:
    what commands there answer is not believed (Untrusted). It may be a lazy mapping that
    waits for the node's integrity scan, which runs while the first checks do.
    """

    transports: dict[str, Transport]
    addresses: dict[str, str]
    params: dict[str, str]
    views: dict[str, NodeView] = field(default_factory=dict)
    packages: PackageIndex = field(default_factory=PackageIndex)
    untrusted: Mapping[str, str] = field(default_factory=dict)
    sandbox: Sandbox | None = None
    evidence: list[Evidence] = field(default_factory=list)

    def fresh(self) -> CheckContext:
        """The same means, with evidence of its own (a criterion's, a step's)."""
        return replace(self, evidence=[])

    def run(
        self, node: str, command: str, timeout: float = 10.0, shown: str | None = None
    ) -> CommandResult:
        """Run `command` as root on `node`; the evidence shows `shown` instead when given (secrets).

        Raises NodeUnreachable, GraderError, and Untrusted when the node's tools turn out to be
        changed (the integrity scan may finish after the command: its verdict still wins).
        """
        transport = self.transports.get(node)
        if transport is None:
            raise NodeUnreachable(f"unknown node '{node}'")
        start = time.monotonic()
        try:
            result = transport.run(command, timeout)
        except (NodeUnreachable, GraderError) as exc:
            self.record(node, shown or command, None, str(exc), start)
            self._trusted(node)
            raise
        output = result.stdout + result.stderr
        if result.truncated:  # said first: the excerpt kept as evidence shows only the start
            output = "[output cut by the grader's cap]\n" + output
        self.record(node, shown or command, result.status, output, start)
        self._trusted(node)
        return result

    def _trusted(self, node: str) -> None:
        why = self.untrusted.get(node)
        if why:
            raise Untrusted(f"{node}: {why}")

    def view(self, node: str) -> NodeView:
        try:
            return self.views[node]
        except KeyError:
            raise NodeUnreachable(f"no host view of node '{node}'") from None

    def record(
        self,
        node: str,
        what: str,
        status: int | None,
        output: str,
        start: float,
        via: Via = "node",
    ) -> None:
        elapsed = int((time.monotonic() - start) * 1000)
        self.evidence.append(Evidence(node, what, status, excerpt(output), elapsed, via))

    def address(self, node: str) -> str:
        try:
            return self.addresses[node]
        except KeyError:
            raise NodeUnreachable(f"unknown node '{node}'") from None


CheckFunction = Callable[..., CheckResult]
