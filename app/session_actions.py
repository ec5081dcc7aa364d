"""What an examiner (or a candidate handing in) does to a session: end it, give it more time,
grade it again. One place for each, with its guard, its event and its audit entry, for the
session's API and for a whole sitting at once. The caller commits and wakes the controller."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from app.errors import Conflict
from app.models import Event, LabSession, Result, State, utcnow
from app.results import audit


def end(db: Session, lab: LabSession, reason: str, actor: str) -> None:
    """End now: a running lab goes to grading, one still being made fails. Raises Conflict for
    a session that has already ended."""
    if lab.state in (State.requested, State.provisioning):
        lab.state, lab.reason = State.failed, f"{reason} before the lab was ready"
    elif lab.state is State.ready:
        lab.state, lab.reason = State.ending, reason
    else:
        raise Conflict(f"session is {lab.state.value}: it has already ended")
    lab.ended_at = lab.ended_at or utcnow()
    db.add(lab)
    db.add(Event(session_id=lab.id, state=lab.state, detail=reason))
    audit(db, actor, "end", lab, reason=reason)


def extend(db: Session, lab: LabSession, minutes: int, reason: str, actor: str) -> None:
    """More time on a running clock (the reason is audited). Raises Conflict otherwise."""
    if lab.state is not State.ready or lab.deadline is None:
        raise Conflict(f"only a running session can be extended; this one is {lab.state.value}")
    lab.deadline += timedelta(minutes=minutes)
    db.add(lab)
    db.add(Event(session_id=lab.id, state=lab.state, detail=f"+{minutes} min: {reason}"))
    deadline = lab.deadline.isoformat()
    audit(db, actor, "extend", lab, minutes=minutes, reason=reason, deadline=deadline)


def regrade(db: Session, lab: LabSession, actor: str) -> None:
    """Grade the kept lab again; the previous grade goes to the audit log, overrides stay.
    Raises Conflict unless the session is graded and its lab kept."""
    row = db.get(Result, lab.id)
    if row is None or lab.state is not State.graded:
        raise Conflict(f"the lab is {lab.state.value}: only a kept lab can be graded again")
    audit(db, actor, "regrade", lab, previous_score=row.score, previous=row.report)
    db.delete(row)
    lab.state = State.grading
    db.add(lab)
    db.add(Event(session_id=lab.id, state=State.grading, detail=f"grading again, asked by {actor}"))
