"""Exam sessions: start one, follow it, end it, read its grade."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlmodel import Session, col, select

from app import session_actions as actions
from app.api.deps import CatalogDep, CurrentUser, SessionDep, SettingsDep, find_lab
from app.backends import states_within
from app.clock import seconds_left
from app.config import Settings
from app.errors import Conflict, NotFound
from app.incidents import incidents_of
from app.incidents import public as incident_view
from app.models import (
    AccessPublic,
    Event,
    ExtendCreate,
    LabSession,
    NodePublic,
    Role,
    SessionCreate,
    SessionPublic,
    State,
)
from app.new_session import new_session
from app.node_watch import NodeWatch
from app.reports.words import as_utc
from graders.runner import render

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


def _public(
    lab: LabSession,
    settings: Settings,
    states: dict[str, str],
    token: str | None = None,
    exam_code: str | None = None,
) -> SessionPublic:
    nodes = [
        NodePublic(
            name=name,
            address=node["address"],
            state=states.get(name, "unknown"),
            ssh=f"ssh -p {node['port']} {lab.candidate_user}@{settings.access_host}"
            if node.get("port") and lab.state is State.ready
            else None,
        )
        for name, node in lab.nodes.items()
    ]
    return SessionPublic(
        id=lab.id,
        scenario=lab.scenario,
        candidate=lab.candidate,
        state=lab.state,
        reason=lab.reason,
        created_at=lab.created_at,
        ready_at=lab.ready_at,
        deadline=lab.deadline,
        ended_at=lab.ended_at,
        seconds_left=seconds_left(lab),
        nodes=nodes,
        access=AccessPublic(
            user=lab.candidate_user,
            password=lab.candidate_password,
            token=token,
            exam_code=exam_code,
        ),
        params=lab.params,
        host=lab.host,
    )


def _states(request: Request, lab: LabSession) -> dict[str, str]:
    if lab.state in (State.torn_down, State.failed, State.requested):
        return {}
    # The engines' last word on every lab (one call per FRESH_SECONDS, whatever the number of
    # requests: each asking for its own cost the engine ~10 ms), else this lab's, just made.
    if lab.ready_at is not None:
        watch: NodeWatch = request.app.state.controller.watch
        known = watch.states_of(lab.id, as_utc(lab.ready_at))
        if known is not None:
            return known
    driver = request.app.state.driver
    states: dict[str, str] = states_within(lambda: driver.node_states(lab.id), {})
    return states


@router.post("", status_code=202, response_model=SessionPublic)
def create_session(
    body: SessionCreate,
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> SessionPublic:
    """Start a session: ready at once with a lab from the scenario's pool if one is ready
    (`PRAXIS_POOLS`), else its lab is built in the background (follow `state`)."""
    user.require(Role.examiner)
    state = request.app.state
    made = new_session(
        db,
        state.controller.next_session_id,
        catalog,
        settings,
        body.scenario,
        body.candidate,
        user.name,
    )
    db.commit()
    request.app.state.controller.wake()
    return _public(made.lab, settings, {}, made.token, made.exam_code)


@router.get("", response_model=list[SessionPublic])
def list_sessions(
    db: SessionDep, user: CurrentUser, settings: SettingsDep, state: State | None = None
) -> list[SessionPublic]:
    user.require(Role.examiner)
    query = select(LabSession).where(~col(LabSession.pooled))
    query = query.order_by(col(LabSession.created_at).desc())
    if state is not None:
        query = query.where(LabSession.state == state)
    return [_public(lab, settings, {}) for lab in db.exec(query)]


@router.get("/{session_id}", response_model=SessionPublic)
def get_session(
    session_id: str, request: Request, db: SessionDep, user: CurrentUser, settings: SettingsDep
) -> SessionPublic:
    user.require_session(session_id)
    lab = find_lab(db, session_id)
    found = _public(lab, settings, _states(request, lab))
    found.incidents = [incident_view(i) for i in incidents_of(db, session_id)]
    return found


@router.get("/{session_id}/instructions", response_class=PlainTextResponse)
def instructions(
    session_id: str,
    db: SessionDep,
    user: CurrentUser,
    catalog: CatalogDep,
    lang: Annotated[str, Query(pattern="^(fr|en)$")] = "fr",
) -> str:
    """The exam subject in Markdown, with this session's parameters filled in."""
    user.require_session(session_id)
    lab = find_lab(db, session_id)
    folder = catalog.root / lab.scenario
    path = folder / f"instructions.{lang}.md"
    if not path.is_file():
        path = folder / "instructions.fr.md"
    text: str = render(path.read_text(encoding="utf-8"), lab.params)
    return text


def _end(request: Request, db: Session, lab: LabSession, reason: str, actor: str) -> None:
    actions.end(db, lab, reason, actor)
    db.commit()
    request.app.state.controller.wake()


@router.post("/{session_id}/submit", response_model=SessionPublic)
def submit(
    session_id: str, request: Request, db: SessionDep, user: CurrentUser, settings: SettingsDep
) -> SessionPublic:
    """The candidate hands in early: access is cut and grading starts."""
    user.require_session(session_id)
    lab = find_lab(db, session_id)
    if lab.state is not State.ready:
        raise Conflict(f"only a running session can be submitted; this one is {lab.state.value}")
    _end(request, db, lab, f"submitted by {user.name}", user.name)
    return _public(lab, settings, _states(request, lab))


@router.post("/{session_id}/end", response_model=SessionPublic)
def end(
    session_id: str, request: Request, db: SessionDep, user: CurrentUser, settings: SettingsDep
) -> SessionPublic:
    """An examiner ends the session now."""
    user.require(Role.examiner)
    lab = find_lab(db, session_id)
    _end(request, db, lab, f"ended by examiner {user.name}", user.name)
    return _public(lab, settings, _states(request, lab))


@router.get("/{session_id}/events")
def events(session_id: str, db: SessionDep, user: CurrentUser) -> list[dict[str, str]]:
    """The session's history, transition by transition."""
    user.require(Role.examiner)
    find_lab(db, session_id)
    rows = db.exec(select(Event).where(Event.session_id == session_id).order_by(col(Event.id)))
    return [{"state": e.state.value, "detail": e.detail, "at": e.at.isoformat()} for e in rows]


@router.post("/{session_id}/extend", response_model=SessionPublic)
def extend(
    session_id: str,
    body: ExtendCreate,
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> SessionPublic:
    """Give a running session more time (a reason is required and audited)."""
    user.require(Role.examiner)
    lab = find_lab(db, session_id)
    actions.extend(db, lab, body.minutes, body.reason, user.name)
    return _public(lab, settings, _states(request, lab))


class ProgressPublic(BaseModel):
    at: datetime
    criteria: dict[str, str]  # criterion id -> passed, partial, failed, blocked, error
    held: list[str]


@router.get("/{session_id}/progress", response_model=ProgressPublic)
def progress(
    session_id: str, request: Request, db: SessionDep, user: CurrentUser
) -> ProgressPublic:
    """The live progress of a running session (the scenario's `grading.progress`): its built-in
    criteria graded read-only a while ago. A preview for examiners, never a grade."""
    user.require(Role.examiner)
    running = find_lab(db, session_id).state is State.ready  # the watch forgets it within 1 s
    seen = request.app.state.controller.progress.of(session_id) if running else None
    if seen is None:
        raise NotFound(f"no live progress for {session_id}: off for its scenario, or none yet")
    return ProgressPublic(at=seen.at, criteria=seen.statuses, held=seen.held)
