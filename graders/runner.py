"""Grade a lab: every criterion scored 0..1 with evidence; nothing escapes as an exception."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError

from graders.checks import CHECKS, AnyCheck
from graders.contract import CheckContext, CheckResult, NodeUnreachable, Transport
from labs.scenario import Criterion, Scenario

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def render(value: Any, params: Mapping[str, str]) -> Any:
    """Fill `{{ name }}` placeholders in every string of a check; unknown names stay as they are."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [render(v, params) for v in value]
    if isinstance(value, dict):
        return {k: render(v, params) for k, v in value.items()}
    return value


def parse_check(raw: dict[str, Any], params: Mapping[str, str]) -> AnyCheck:
    """Raises pydantic.ValidationError."""
    return CHECKS.validate_python(render(raw, params))


@dataclass
class CriterionResult:
    id: str
    title: dict[str, str | None]
    referential: str | None
    weight: float
    score: float
    status: str  # passed | partial | failed | blocked
    message: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: int = 0


@dataclass
class GradeReport:
    criteria: list[CriterionResult]
    duration_ms: int

    @property
    def points(self) -> float:
        return sum(c.score * c.weight for c in self.criteria)

    @property
    def max_points(self) -> float:
        return sum(c.weight for c in self.criteria)

    @property
    def percent(self) -> float:
        return round(100 * self.points / self.max_points, 1) if self.max_points else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.percent,
            "points": round(self.points, 3),
            "max_points": self.max_points,
            "duration_ms": self.duration_ms,
            "criteria": [asdict(c) for c in self.criteria],
        }


def _run_one(check: dict[str, Any], ctx: CheckContext) -> CheckResult:
    try:
        return parse_check(check, ctx.params).run(ctx)
    except NodeUnreachable as exc:
        return CheckResult(0, f"node unreachable: {exc}")
    except ValidationError as exc:
        return CheckResult(0, f"invalid check: {exc.errors()[0]['msg']}")
    except Exception as exc:  # a grader module's bug must not cost the candidate the session
        return CheckResult(0, f"check error: {type(exc).__name__}: {exc}")


def _grade_criterion(criterion: Criterion, base: CheckContext) -> CriterionResult:
    start = time.monotonic()
    ctx = CheckContext(base.transports, base.addresses, base.params)
    results = [_run_one(check, ctx) for check in criterion.all_checks]
    score = sum(r.score for r in results) / len(results)
    status = "passed" if score >= 1 else "failed" if score <= 0 else "partial"
    message = "; ".join(r.message for r in results)
    return CriterionResult(
        criterion.id,
        render(criterion.title.model_dump(), base.params),
        criterion.referential,
        criterion.weight,
        round(score, 4),
        status,
        message,
        [e.as_dict() for e in ctx.evidence],
        int((time.monotonic() - start) * 1000),
    )


def _blocked(criterion: Criterion, deps: list[str], params: Mapping[str, str]) -> CriterionResult:
    return CriterionResult(
        criterion.id,
        render(criterion.title.model_dump(), params),
        criterion.referential,
        criterion.weight,
        0.0,
        "blocked",
        f"not graded: depends on {', '.join(deps)}, not fully met",
    )


def grade(
    scenario: Scenario,
    transports: Mapping[str, Transport],
    addresses: Mapping[str, str],
    params: Mapping[str, str],
    workers: int = 8,
) -> GradeReport:
    """Score every criterion. Independent criteria run in parallel over the shared transports."""
    start = time.monotonic()
    base = CheckContext(dict(transports), dict(addresses), dict(params))
    done: dict[str, CriterionResult] = {}
    pending = list(scenario.criteria)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while pending:
            ready = [c for c in pending if all(d in done for d in c.depends_on)]
            if not ready:  # a dependency cycle: validation reports it, grading must still end
                ready = pending
            for criterion in ready:
                pending.remove(criterion)
            futures = {}
            for criterion in ready:
                unmet = [d for d in criterion.depends_on if d in done and done[d].score < 1]
                if unmet or any(d not in done for d in criterion.depends_on):
                    done[criterion.id] = _blocked(criterion, unmet or criterion.depends_on, params)
                else:
                    futures[criterion.id] = pool.submit(_grade_criterion, criterion, base)
            done.update({cid: f.result() for cid, f in futures.items()})
    ordered = [done[c.id] for c in scenario.criteria]
    return GradeReport(ordered, int((time.monotonic() - start) * 1000))
