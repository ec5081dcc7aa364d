"""What a jury report states about one session: plain data, assembled by the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

DEFAULT_TZ: Final = "Europe/Paris"


# --- The data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceItem:
    """One command the grader ran on a lab node, as proof of a criterion's score."""

    node: str
    command: str
    status: int | None  # exit status; None when the command never completed
    output: str
    duration_ms: int


@dataclass(frozen=True)
class Override:
    """An examiner's change of one criterion's score; the jury must see who, when and why."""

    score: float
    justification: str
    by: str
    at: datetime


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
    status: str  # passed | partial | failed | blocked
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
