"""The grade report: one typed model from the grader to the database, the pages and the PDF.

`score` is always 0..1 per criterion; `percent` is the only percentage. Totals are computed
in one place (`totals`), for the grader's report and for the jury's view with overrides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol

from pydantic import BaseModel

Status = Literal["passed", "partial", "failed", "blocked", "error"]


class EvidenceItem(BaseModel):
    node: str
    command: str
    status: int | None
    output: str
    duration_ms: int
    via: str = "node"  # outside | host | node (graders.contract)


class CriterionResult(BaseModel):
    id: str
    title: dict[str, str | None]
    referential: str | None
    weight: float
    score: float
    status: Status
    message: str
    evidence: list[EvidenceItem] = []
    duration_ms: int = 0


class Finding(BaseModel):
    path: str
    problem: str


class NodeIntegrity(BaseModel):
    """What the integrity scan found on one node (graders.integrity)."""

    node: str
    checked: int = 0
    findings: list[Finding] = []
    error: str | None = None  # the scan could not run: verdicts from the node are not vouched for


class Weighted(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def weight(self) -> float: ...


def totals(criteria: Iterable[Weighted]) -> tuple[float, float, float]:
    """(points, max points, percent rounded to 0.1)."""
    items = list(criteria)
    points = sum(c.score * c.weight for c in items)
    maximum = sum(c.weight for c in items)
    return round(points, 3), maximum, round(100 * points / maximum, 1) if maximum else 0.0


class GradeReport(BaseModel):
    criteria: list[CriterionResult]
    duration_ms: int
    integrity: list[NodeIntegrity] = []
    attempts: int = 1

    @property
    def complete(self) -> bool:
        """False when a criterion could not be graded (status `error`): grade again."""
        return all(c.status != "error" for c in self.criteria)

    @property
    def points(self) -> float:
        return totals(self.criteria)[0]

    @property
    def max_points(self) -> float:
        return totals(self.criteria)[1]

    @property
    def percent(self) -> float:
        return totals(self.criteria)[2]

    @property
    def tampered(self) -> list[NodeIntegrity]:
        return [n for n in self.integrity if n.findings]

    def as_dict(self) -> dict[str, object]:
        """What is stored and served: the model plus its totals."""
        return {
            **self.model_dump(),
            "score": self.percent,
            "points": self.points,
            "max_points": self.max_points,
            "complete": self.complete,
        }
