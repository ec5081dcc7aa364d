"""Grade a lab: every criterion scored 0..1 with evidence; nothing escapes as an exception.

A check that fails because of the lab scores 0 with the reason; one that fails because the
grader's own path failed (GraderError) is tried again once, then its criterion is marked
`error`, so that a busy host never turns into a lower grade. Each criterion has a wall-clock
budget: past it, the criterion is `error` and grading goes on without it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pydantic import ValidationError

from graders.checks import CHECKS, AnyCheck
from graders.contract import (
    CheckContext,
    CheckResult,
    GraderError,
    NodeUnreachable,
    NodeView,
    Sandbox,
    Transport,
    Untrusted,
)
from graders.debs import PackageIndex
from graders.report import CriterionResult, EvidenceItem, GradeReport, Status
from labs.params import attribute
from labs.scenario import Criterion, Scenario

# `{{ name }}`, or `{{ name.part }}` for a part of a subnet parameter (labs.params.attribute).
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)(?:\.([a-z0-9]{1,10}))?\s*\}\}")
RETRY_PAUSE = 0.5


def placeholder(match: re.Match[str], params: Mapping[str, str]) -> str:
    """A placeholder's value. Raises KeyError for an unknown name, ValueError for a part its
    value does not have (`{{ site.1 }}` when site is not a subnet)."""
    value = params[match.group(1)]
    return value if match.group(2) is None else attribute(value, match.group(2))


def render(value: Any, params: Mapping[str, str]) -> Any:
    """Fill `{{ name }}` placeholders in every string of a check; unknown names and parts a
    value does not have stay as they are."""
    if isinstance(value, str):

        def fill(match: re.Match[str]) -> str:
            try:
                return placeholder(match, params)
            except (KeyError, ValueError):
                return match.group(0)

        return PLACEHOLDER.sub(fill, value)
    if isinstance(value, list):
        return [render(v, params) for v in value]
    if isinstance(value, dict):
        return {k: render(v, params) for k, v in value.items()}
    return value


def parse_check(raw: dict[str, Any], params: Mapping[str, str]) -> AnyCheck:
    """Raises pydantic.ValidationError."""
    return CHECKS.validate_python(render(raw, params))


def _run_one(check: dict[str, Any], ctx: CheckContext) -> CheckResult:
    """A check's verdict. Raises GraderError when the grader's path failed twice."""
    for attempt in range(2):
        recorded, start = len(ctx.evidence), time.monotonic()
        try:
            return parse_check(check, ctx.params).run(ctx)
        except NodeUnreachable as exc:
            if len(ctx.evidence) == recorded:  # the jury sees why, even when nothing ran
                ctx.record(
                    str(check.get("node", "")), "reach the node", None, str(exc), start, "host"
                )
            return CheckResult(0, f"node unreachable: {exc}")
        except Untrusted as exc:
            return CheckResult(0, f"verdict withheld: {exc}")
        except ValidationError as exc:
            return CheckResult(0, f"invalid check: {exc.errors()[0]['msg']}")
        except GraderError:
            if attempt == 1:
                raise
            time.sleep(RETRY_PAUSE)
        except Exception as exc:  # a grader module's bug must not cost the candidate the session
            return CheckResult(0, f"check error: {type(exc).__name__}: {exc}")
    raise AssertionError("unreachable")


def criterion_result(
    criterion: Criterion, params: Mapping[str, str], score: float, status: Status, message: str
) -> CriterionResult:
    return CriterionResult(
        id=criterion.id,
        title=render(criterion.title.model_dump(), params),
        referential=criterion.referential,
        weight=criterion.weight,
        score=round(score, 4),
        status=status,
        message=message,
    )


def _grade_criterion(criterion: Criterion, base: CheckContext) -> CriterionResult:
    start = time.monotonic()
    ctx = base.fresh()
    try:
        results = [_run_one(check, ctx) for check in criterion.all_checks]
    except GraderError as exc:
        result = criterion_result(criterion, base.params, 0, "error", f"could not be graded: {exc}")
    else:
        score = sum(r.score for r in results) / len(results)
        status: Status = "passed" if score >= 1 else "failed" if score <= 0 else "partial"
        message = "; ".join(r.message for r in results)
        result = criterion_result(criterion, base.params, score, status, message)
    result.evidence = [EvidenceItem(**e.as_dict()) for e in ctx.evidence]
    result.duration_ms = int((time.monotonic() - start) * 1000)
    return result


def _collect(
    criterion: Criterion,
    future: Future[CriterionResult],
    due: float,
    params: Mapping[str, str],
    budget_seconds: float,
) -> CriterionResult:
    try:
        return future.result(timeout=max(0.0, due - time.monotonic()))
    except FutureTimeout:
        budget = f"took longer than its budget of {budget_seconds:g}s"
        return criterion_result(criterion, params, 0, "error", f"could not be graded: {budget}")


def grade(
    scenario: Scenario,
    transports: Mapping[str, Transport],
    addresses: Mapping[str, str],
    params: Mapping[str, str],
    views: Mapping[str, NodeView] | None = None,
    untrusted: Mapping[str, str] | None = None,
    packages: PackageIndex | None = None,
    sandbox: Sandbox | None = None,
) -> GradeReport:
    """Score every criterion. Independent criteria run in parallel over the shared transports."""
    start = time.monotonic()
    base = CheckContext(
        dict(transports),
        dict(addresses),
        dict(params),
        dict(views or {}),
        packages or PackageIndex(),
        untrusted or {},
        sandbox,
    )
    done: dict[str, CriterionResult] = {}
    pending = list(scenario.criteria)
    budget_seconds = scenario.grading.criterion_budget_seconds
    # One thread per criterion (up to 32): a criterion waiting for a free thread would spend
    # its budget in the queue.
    pool = ThreadPoolExecutor(max_workers=min(32, max(8, len(scenario.criteria))))
    try:
        while pending:
            ready = [c for c in pending if all(d in done for d in c.depends_on)]
            if not ready:  # a dependency cycle: validation reports it, grading must still end
                ready = pending
            for criterion in ready:
                pending.remove(criterion)
            futures = {}
            due = time.monotonic() + budget_seconds
            for criterion in ready:
                unmet = [d for d in criterion.depends_on if d in done and done[d].score < 1]
                if unmet or any(d not in done for d in criterion.depends_on):
                    deps = ", ".join(unmet or criterion.depends_on)
                    done[criterion.id] = criterion_result(
                        criterion,
                        params,
                        0,
                        "blocked",
                        f"not graded: depends on {deps}, not fully met",
                    )
                else:
                    futures[criterion.id] = (
                        criterion,
                        pool.submit(_grade_criterion, criterion, base),
                    )
            for cid, (criterion, future) in futures.items():
                done[cid] = _collect(criterion, future, due, params, budget_seconds)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a stuck check must not hold the grade
    ordered = [done[c.id] for c in scenario.criteria]
    return GradeReport(criteria=ordered, duration_ms=int((time.monotonic() - start) * 1000))
