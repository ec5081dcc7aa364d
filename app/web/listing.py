"""Lists of sessions for the staff pages: subject titles, scores with overrides, and the history
(filtered, sorted and paged in SQL, so that it stays fast with thousands of sessions)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from app.catalog import Catalog
from app.errors import PraxisError
from app.models import AuditEntry, LabSession, Override, Result
from app.results import effective_grade

PAGE_SIZE = 50
START = func.coalesce(col(LabSession.ready_at), col(LabSession.created_at))  # the clock's start
SORTS: dict[str, Any] = {
    "candidate": col(LabSession.candidate),
    "scenario": col(LabSession.scenario),
    "start": START,
    "end": col(LabSession.ended_at),
    "score": col(Result.score),
    "state": col(LabSession.state),
}


def titles(catalog: Catalog, scenario_ids: Iterable[str], lang: str) -> dict[str, str]:
    """Each subject's title; its id when the scenario was removed or broken since."""
    found = {}
    for scenario_id in set(scenario_ids):
        try:
            found[scenario_id] = catalog.get(scenario_id).title.get(lang)
        except PraxisError:
            found[scenario_id] = scenario_id
    return found


def scores(db: Session, session_ids: list[str]) -> dict[str, float]:
    """The percent that counts (overrides included) of each graded session, in two queries
    (none for no session: a table in the middle of an exam has no grade yet)."""
    if not session_ids:
        return {}
    results = db.exec(select(Result).where(col(Result.session_id).in_(session_ids))).all()
    overrides: dict[str, dict[str, Override]] = defaultdict(dict)
    rows = db.exec(
        select(Override).where(col(Override.session_id).in_(session_ids)).order_by(col(Override.id))
    )
    for row in rows:
        overrides[row.session_id][row.criterion_id] = row  # later rows win
    return {r.session_id: effective_grade(r, overrides[r.session_id]).percent for r in results}


@dataclass(frozen=True)
class HistoryQuery:
    q: str = ""  # part of the candidate's name or of the session id
    scenario: str = ""
    state: str = ""
    since: str = ""  # local dates, YYYY-MM-DD, both included
    until: str = ""
    sort: str = "start"
    order: str = "desc"
    page: int = 1


def history(db: Session, query: HistoryQuery, zone: ZoneInfo) -> tuple[list[LabSession], int]:
    """One page of sessions matching `query`, and how many match in all."""
    where: list[ColumnElement[bool]] = [~col(LabSession.pooled)]
    if query.q:
        needle = query.q.lower()
        where.append(
            func.lower(col(LabSession.candidate)).contains(needle, autoescape=True)
            | col(LabSession.id).contains(query.q, autoescape=True)
        )
    if query.scenario:
        where.append(col(LabSession.scenario) == query.scenario)
    if query.state:
        where.append(col(LabSession.state) == query.state)
    if query.since:
        where.append(_start_of(query.since, zone) <= START)
    if query.until:
        where.append(_start_of(query.until, zone, next_day=True) > START)
    total = db.exec(
        select(func.count()).select_from(LabSession).outerjoin(Result).where(*where)
    ).one()
    key = SORTS[query.sort]
    ordered = key.asc().nulls_last() if query.order == "asc" else key.desc().nulls_last()
    page = db.exec(
        select(LabSession)
        .outerjoin(Result)
        .where(*where)
        .order_by(ordered, col(LabSession.id).desc())
        .offset((query.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return list(page), int(total)


def _start_of(day: str, zone: ZoneInfo, next_day: bool = False) -> datetime:
    """A local day's first moment, in UTC as the database stores times."""
    local = datetime.combine(
        date.fromordinal(date.fromisoformat(day).toordinal() + next_day), time()
    )
    return local.replace(tzinfo=zone).astimezone(UTC)


def scenario_ids(db: Session) -> list[str]:
    """Every subject a session was ever sat on, removed ones included."""
    return sorted(db.exec(select(LabSession.scenario).distinct()).all())


def extensions(db: Session, session_id: str) -> list[AuditEntry]:
    """A session's extensions with their reasons, oldest first (the audit log keeps them)."""
    query = select(AuditEntry).where(
        AuditEntry.session_id == session_id, AuditEntry.action == "extend"
    )
    return list(db.exec(query.order_by(col(AuditEntry.id))).all())


def clock(seconds: float | None) -> str:
    """A duration as the candidate's page shows it: H:MM:SS from an hour up, MM:SS below."""
    if seconds is None:
        return ""
    whole = max(0, int(seconds))
    hours, minutes, rest = whole // 3600, whole // 60 % 60, whole % 60
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes:02d}:{rest:02d}"
