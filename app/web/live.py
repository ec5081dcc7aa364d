"""The staff pages' live tables, polled by htmx every 2 s by each examiner: the dashboard (every
live session) and a sitting's page (its candidates). Read as columns into small typed rows: 200
ORM objects (secrets, nodes and parameters decoded) cost more than the rest of the request, and
templates reach a dataclass's fields without a failed attribute lookup on a dict."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlmodel import Session, col

from app.catalog import Catalog
from app.clock import seconds_left
from app.models import LIVE_STATES, OPEN_STATES, LabSession, SittingCandidate, State, utcnow
from app.progress import Progress
from app.web.listing import scores, titles

_LAB = (
    col(LabSession.id),
    col(LabSession.scenario),
    col(LabSession.candidate),
    col(LabSession.state),
    col(LabSession.ready_at),
    col(LabSession.created_at),
    col(LabSession.deadline),
)


@dataclass(frozen=True)
class LabSummary:
    """What a live table shows of a session (nothing secret)."""

    id: str
    scenario: str
    candidate: str
    state: State
    started: datetime  # when it was ready (its clock may start later), else asked for
    deadline: datetime | None

    @classmethod
    def of(cls, values: tuple[Any, ...]) -> LabSummary:
        """From the _LAB columns, in their order."""
        id, scenario, candidate, state, ready_at, created_at, deadline = values
        return cls(id, scenario, candidate, state, ready_at or created_at, deadline)


@dataclass(frozen=True)
class LabRow:
    """A session's row: its clock, grade, machines and live progress."""

    lab: LabSummary
    left: float | None  # seconds on its clock, None when none runs
    score: float | None  # the percent that counts, once graded
    health: dict[str, str]  # node -> the engine's state
    progress: Progress | None

    def shown(self) -> Hashable:
        """All the row shows but its clock (app.web.row_cache's key)."""
        progress = self.progress and (self.progress.at, tuple(self.progress.statuses.items()))
        return self.lab, self.score, tuple(self.health.items()), progress


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    number: str
    exam_code: str


@dataclass(frozen=True)
class CandidateRow:
    """A sitting's candidate, with their session's row once it is made."""

    person: Person
    row: LabRow | None

    def shown(self) -> Hashable:
        """All the row shows but its clock and, when it has no session, the sitting's state."""
        return self.person, self.row and self.row.shown()


@dataclass(frozen=True)
class Live:
    """Where the rows' live parts come from (the controller's watches)."""

    health: Callable[[], dict[str, dict[str, str]]]  # session -> node -> state
    progress: Callable[[str], Progress | None]


def _rows(db: Session, labs: list[LabSummary], live: Live) -> list[LabRow]:
    ended = [lab.id for lab in labs if lab.state not in OPEN_STATES]  # a grade comes after
    percents = scores(db, ended)
    health = live.health() if labs else {}
    now = utcnow()
    return [
        LabRow(
            lab,
            seconds_left(lab, now),
            percents.get(lab.id),
            health.get(lab.id, {}),
            live.progress(lab.id) if lab.state is State.ready else None,  # the exam's only
        )
        for lab in labs
    ]


def dashboard_table(
    db: Session, catalog: Catalog, lang: str, live: Live
) -> tuple[list[LabRow], dict[str, str]]:
    """Every live session, newest first, and each subject's title."""
    where: list[ColumnElement[bool]] = [
        col(LabSession.state).in_(LIVE_STATES),
        ~col(LabSession.pooled),
    ]
    query = select(*_LAB).where(*where).order_by(col(LabSession.created_at).desc())
    labs = [LabSummary.of(tuple(values)) for values in db.execute(query)]
    return _rows(db, labs, live), titles(catalog, {lab.scenario for lab in labs}, lang)


def sitting_table(db: Session, sitting_id: str, live: Live) -> list[CandidateRow]:
    """A sitting's candidates in their order, with their sessions once made."""
    people = (
        col(SittingCandidate.first_name),
        col(SittingCandidate.last_name),
        col(SittingCandidate.number),
        col(SittingCandidate.exam_code),
    )
    query = (
        select(*people, *_LAB)
        .select_from(SittingCandidate)
        .outerjoin(LabSession, col(LabSession.id) == col(SittingCandidate.session_id))
        .where(col(SittingCandidate.sitting_id) == sitting_id)
        .order_by(col(SittingCandidate.id))
    )
    found = [(Person(*values[:4]), values[4:]) for values in db.execute(query)]
    labs = [LabSummary.of(tuple(lab)) for _, lab in found if lab[0] is not None]
    rows = {row.lab.id: row for row in _rows(db, labs, live)}
    return [CandidateRow(person, rows.get(lab[0])) for person, lab in found]
