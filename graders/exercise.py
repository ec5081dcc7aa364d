"""An exam that must *use* what the candidate built (their script, their service) exercises it
once per grading, step by step; each criterion then judges the steps it rests on, with their
evidence. Using it once keeps the candidate's program from being driven by several criteria at
once (which a fair program need not survive) and keeps a grading's cost bounded.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from graders.contract import (
    CheckContext,
    CheckResult,
    Evidence,
    GraderError,
    NodeUnreachable,
    Transport,
    Untrusted,
)

Finding = tuple[bool, str]  # (holds, what the jury reads)
T = TypeVar("T")


def said(ok: bool, good: str, bad: str) -> Finding:
    return ok, good if ok else bad


@dataclass
class Steps:
    """What one exercise did: each step's findings and the evidence behind them."""

    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    findings: dict[str, list[Finding]] = field(default_factory=dict)

    def run(
        self, ctx: CheckContext, name: str, work: Callable[[CheckContext], list[Finding]]
    ) -> None:
        """Do step `name`; its evidence is kept apart, for the criteria that judge it."""
        own = ctx.fresh()
        try:
            self.findings[name] = work(own)
        finally:
            self.evidence[name] = own.evidence

    def judge(self, ctx: CheckContext, *names: str, unexercised: str) -> CheckResult:
        """Score = share of the steps' findings that hold; the failures said, else the rest."""
        found = [f for name in names for f in self.findings.get(name, [])]
        for name in names:
            ctx.evidence.extend(self.evidence.get(name, []))
        if not found:
            return CheckResult(0, unexercised)
        failed = [text for ok, text in found if not ok]
        passed = [text for ok, text in found if ok]
        return CheckResult(sum(ok for ok, _ in found) / len(found), "; ".join(failed or passed))


_done: weakref.WeakKeyDictionary[Transport, dict[str, Any]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def once(ctx: CheckContext, node: str, kind: str, make: Callable[[], T]) -> T:
    """`make()`'s exercise of `node`, made by the first criterion of the grading that asks (a
    grading has its own transports). What stopped it (a program that never answers:
    GraderError) is raised to every criterion without running it again."""
    transport = ctx.transports[node]
    with _lock:
        made = _done.setdefault(transport, {})
        if kind not in made:
            try:
                made[kind] = make()
            except (GraderError, NodeUnreachable, Untrusted) as exc:
                made[kind] = exc
        done = made[kind]
    if isinstance(done, (GraderError, NodeUnreachable, Untrusted)):
        raise type(done)(*done.args)
    return done  # type: ignore[no-any-return]


class Exercised(Protocol):
    def judge(self, ctx: CheckContext, *names: str) -> CheckResult: ...


def criterion(
    exercise: Callable[[CheckContext, str], Exercised], *steps: str, node: str
) -> Callable[..., CheckResult]:
    """A check function (`type: python`) that judges `steps` of the grading's exercise."""

    def judge(ctx: CheckContext, node: str = node) -> CheckResult:
        return exercise(ctx, node).judge(ctx, *steps)

    judge.__doc__ = f"The {' and '.join(steps)} step(s) of the exercise of `node`, judged."
    return judge
