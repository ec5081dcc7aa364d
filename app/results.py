"""A session's grade as the jury sees it: the grader's scores with examiners' overrides on top.

The grader's own report is never changed; overrides are rows of their own, the latest per
criterion counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session, col, select

from app.models import AuditEntry, LabSession, Override, Result
from graders.report import totals


@dataclass(frozen=True)
class Grade:
    criteria: list[dict[str, Any]]  # the grader's criteria, plus `original_score` and `override`
    points: float
    max_points: float
    percent: float
    original_percent: float


def overrides_of(db: Session, session_id: str) -> dict[str, Override]:
    rows = db.exec(
        select(Override).where(Override.session_id == session_id).order_by(col(Override.id))
    )
    return {row.criterion_id: row for row in rows}  # later rows win


def effective_grade(result: Result, overrides: dict[str, Override]) -> Grade:
    criteria = []
    for criterion in result.report["criteria"]:
        override = overrides.get(criterion["id"])
        entry = {**criterion, "original_score": criterion["score"], "override": None}
        if override is not None:
            entry["score"] = override.score
            entry["override"] = {
                "score": override.score,
                "justification": override.justification,
                "by": override.by,
                "at": override.at.isoformat(),
            }
        criteria.append(entry)
    points, total, percent = totals(SimpleNamespace(**c) for c in criteria)
    return Grade(criteria, points, total, percent, result.score)


def audit(db: Session, actor: str, action: str, lab: LabSession | None, **detail: Any) -> None:
    db.add(
        AuditEntry(actor=actor, action=action, session_id=lab.id if lab else None, detail=detail)
    )
