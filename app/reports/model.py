"""What a jury report states about one session: plain data, assembled by the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

# The grader's own models (graders.report): a report states what the grader recorded, as is.
from app.reports.incidents import IncidentLine
from graders.report import EvidenceItem, Finding, NodeIntegrity
from labs.topology import Layout

__all__ = ["EvidenceItem", "Finding", "NodeIntegrity"]

DEFAULT_TZ: Final = "Europe/Paris"


# --- The data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Override:
    """An examiner's change of one criterion's score; the jury must see who, when and why."""

    score: float
    justification: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Credit:
    """Time an examiner gave back to the candidate for an incident (the deadline moved)."""

    at: datetime
    seconds: int
    node: str
    reason: str
    by: str


@dataclass(frozen=True)
class CriterionLine:
    """One graded criterion, with the score that counts and the grader's original one."""

    id: str
    title: str
    referential: str | None
    referential_text: str | None
    weight: float
    score: float  # the score that counts (overridden if any)
    original_score: float
    status: str  # passed | partial | failed | blocked | error (the grader failed)
    message: str
    evidence: list[EvidenceItem]
    override: Override | None


@dataclass(frozen=True)
class SessionReport:
    """Everything a signed report states about one candidate's exam session.

    Naive datetimes are taken as UTC: that is what the database stores (SQLite drops offsets).
    """

    session_id: str
    candidate: str
    scenario_id: str
    scenario_title: str
    scenario_version: str  # a hash
    referential: str | None  # e.g. "BLOC4 — C3 Mise en situation professionnelle"
    created_at: datetime
    ready_at: datetime | None
    deadline: datetime | None
    ended_at: datetime | None
    graded_at: datetime | None
    extensions: list[tuple[datetime, int, str, str]]  # (at, minutes, reason, by)
    end_reason: str
    criteria: list[CriterionLine]
    points: float
    max_points: float
    percent: float  # totals with overrides
    original_percent: float  # before overrides
    lang: str = "fr"
    integrity: list[NodeIntegrity] = field(default_factory=list)  # empty: not scanned (old grade)
    attempts: int = 1  # how many times the platform graded the lab
    incidents: list[IncidentLine] = field(default_factory=list)  # nodes found down
    credits: list[Credit] = field(default_factory=list)  # time given back for incidents
    topology: Layout | None = None  # the lab's picture, in the report's language; None: no links

    @property
    def ungraded(self) -> int:
        """Criteria the grader could not grade (status `error`): the grade is incomplete."""
        return sum(1 for line in self.criteria if line.status == "error")
