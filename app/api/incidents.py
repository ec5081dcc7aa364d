"""Incidents: nodes found down during an exam. Examiners restart a node (its disk kept) and
give the time lost back; both are audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.api.deps import CurrentUser, SessionDep, find_lab
from app.errors import Conflict, NotFound
from app.incidents import MAX_CREDIT_SECONDS, credit, incidents_of, public
from app.models import Event, IncidentPublic, Role, State
from app.results import audit

router = APIRouter(prefix="/api/sessions", tags=["incidents"])


class CreditCreate(BaseModel):
    seconds: int | None = Field(default=None, ge=1, le=MAX_CREDIT_SECONDS)  # None: the outage
    reason: str = Field(min_length=3, max_length=500)


class RestartAccepted(BaseModel):
    node: str
    restarting: bool


@router.get("/{session_id}/incidents", response_model=list[IncidentPublic])
def list_incidents(session_id: str, db: SessionDep, user: CurrentUser) -> list[IncidentPublic]:
    """Every node outage of the session, past and present (the candidate sees theirs)."""
    user.require_session(session_id)
    find_lab(db, session_id)
    return [public(i) for i in incidents_of(db, session_id)]


@router.post("/{session_id}/nodes/{node}/restart", status_code=202, response_model=RestartAccepted)
def restart_node(
    session_id: str, node: str, request: Request, db: SessionDep, user: CurrentUser
) -> RestartAccepted:
    """Start a node again, its disk kept; the candidate's access follows (202: it boots in the
    background, the incident closes when it answers)."""
    user.require(Role.examiner)
    lab = find_lab(db, session_id)
    if lab.state is not State.ready:
        raise Conflict(f"a node can be restarted only while the exam runs; it is {lab.state.value}")
    if node not in lab.nodes:
        raise NotFound(f"no node {node!r} in session {session_id}")
    if not request.app.state.controller.watch.restart(session_id, node):
        raise Conflict(f"node {node} is already being restarted")
    db.add(Event(session_id=lab.id, state=lab.state, detail=f"node {node} restart by {user.name}"))
    audit(db, user.name, "restart_node", lab, node=node)
    return RestartAccepted(node=node, restarting=True)


@router.post("/{session_id}/incidents/{incident_id}/credit", response_model=IncidentPublic)
def credit_time(
    session_id: str,
    incident_id: int,
    body: CreditCreate,
    request: Request,
    db: SessionDep,
    user: CurrentUser,
) -> IncidentPublic:
    """Give the candidate the time an incident cost them: the deadline moves (audited)."""
    user.require(Role.examiner)
    lab = find_lab(db, session_id)
    incident = credit(db, lab, incident_id, body.seconds, body.reason, user.name)
    request.app.state.controller.wake()
    return public(incident)
