"""Incidents: a node of a running lab found down. One row per outage, opened by the platform's
watch and closed when the node is back; the examiner may give the time lost back (audited).

A dead node is the platform's failure, not the candidate's: the jury report states it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound
from app.models import Event, Incident, IncidentPublic, LabSession, State, utcnow
from app.reports.incidents import cause_words
from app.reports.words import as_utc
from app.results import audit

MAX_CREDIT_SECONDS = 4 * 3600


def lost_seconds(incident: Incident, now: datetime | None = None) -> int:
    """The outage's length as the platform measured it (so far, when the node is still down)."""
    end = as_utc(incident.up_at) if incident.up_at else (now or utcnow())
    return max(0, round((end - as_utc(incident.down_at)).total_seconds()))


def incidents_of(db: Session, session_id: str) -> list[Incident]:
    query = select(Incident).where(Incident.session_id == session_id)
    return list(db.exec(query.order_by(col(Incident.id))))


def open_incidents(db: Session) -> list[Incident]:
    """Nodes still down, in every session (the dashboard's alert, the watch's memory)."""
    query = select(Incident).where(col(Incident.up_at).is_(None))
    return list(db.exec(query.order_by(col(Incident.id))))


def public(incident: Incident) -> IncidentPublic:
    assert incident.id is not None
    return IncidentPublic(
        id=incident.id,
        node=incident.node,
        cause=incident.cause,
        down_at=as_utc(incident.down_at),
        up_at=as_utc(incident.up_at) if incident.up_at else None,
        credited_seconds=incident.credited_seconds,
        lost_seconds=lost_seconds(incident),
    )


def record_down(db: Session, lab: LabSession, node: str, cause: str) -> Incident | None:
    """Open an incident for the node, unless one is already open (one per outage)."""
    query = select(Incident).where(
        Incident.session_id == lab.id, Incident.node == node, col(Incident.up_at).is_(None)
    )
    if db.exec(query).first() is not None:
        return None
    incident = Incident(session_id=lab.id, node=node, cause=cause)
    db.add(incident)
    detail = f"incident: node {node} down ({cause_words(cause, 'en')})"
    db.add(Event(session_id=lab.id, state=lab.state, detail=detail))
    return incident


def record_up(db: Session, lab: LabSession, node: str, how: str) -> Incident | None:
    """Close the node's open incident, if any; the history says how it came back."""
    query = select(Incident).where(
        Incident.session_id == lab.id, Incident.node == node, col(Incident.up_at).is_(None)
    )
    incident = db.exec(query).first()
    if incident is None:
        return None
    incident.up_at = utcnow()
    db.add(incident)
    lost = lost_seconds(incident)
    detail = f"incident: node {node} back after {lost} s ({how})"
    db.add(Event(session_id=lab.id, state=lab.state, detail=detail))
    return incident


def credit(
    db: Session, lab: LabSession, incident_id: int, seconds: int | None, reason: str, actor: str
) -> Incident:
    """Move the deadline by the time lost (the measured outage unless `seconds` is given),
    once per incident. Raises NotFound, Conflict."""
    incident = db.get(Incident, incident_id)
    if incident is None or incident.session_id != lab.id:
        raise NotFound(f"no incident {incident_id} in session {lab.id}")
    if lab.state is not State.ready or lab.deadline is None:
        raise Conflict(f"time can only be given back while the exam runs; it is {lab.state.value}")
    if incident.credited_seconds:
        raise Conflict(f"the time of incident {incident_id} was already given back")
    amount = seconds if seconds is not None else lost_seconds(incident)
    if not 1 <= amount <= MAX_CREDIT_SECONDS:
        raise Conflict(f"nothing to give back: {amount} s (1 to {MAX_CREDIT_SECONDS} s)")
    lab.deadline = as_utc(lab.deadline) + timedelta(seconds=amount)
    incident.credited_seconds, incident.credited_by = amount, actor
    db.add(lab)
    db.add(incident)
    detail = f"+{amount} s given back for incident on {incident.node}: {reason}"
    db.add(Event(session_id=lab.id, state=lab.state, detail=detail))
    audit(
        db,
        actor,
        "credit",
        lab,
        incident=incident_id,
        node=incident.node,
        seconds=amount,
        reason=reason,
        deadline=lab.deadline.isoformat(),
    )
    return incident
