"""Grades: the result with its evidence, examiners' overrides, the audit log."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlmodel import col, select

from app import session_actions as actions
from app.api.deps import CurrentUser, SessionDep, find_lab
from app.errors import Conflict, Invalid, NotFound
from app.models import (
    AuditEntry,
    AuditPublic,
    CriterionPublic,
    LabSession,
    Override,
    OverrideCreate,
    Result,
    ResultPublic,
    Role,
)
from app.results import audit, effective_grade, overrides_of
from labs.scenario import NAME

router = APIRouter(tags=["grades"])


def graded(db: SessionDep, session_id: str) -> tuple[LabSession, Result]:
    lab = find_lab(db, session_id)
    result = db.get(Result, session_id)
    if result is None:
        raise Conflict(f"not graded yet: the session is {lab.state.value}")
    return lab, result


@router.get("/api/sessions/{session_id}/result", response_model=ResultPublic)
def result(session_id: str, db: SessionDep, user: CurrentUser) -> ResultPublic:
    user.require(Role.examiner)
    lab, row = graded(db, session_id)
    grade = effective_grade(row, overrides_of(db, session_id))
    return ResultPublic(
        session_id=lab.id,
        scenario=lab.scenario,
        scenario_version=lab.scenario_version,
        candidate=lab.candidate,
        score=grade.percent,
        original_score=grade.original_percent,
        points=grade.points,
        max_points=grade.max_points,
        graded_at=row.created_at,
        complete=row.report.get("complete", True),
        attempts=row.report.get("attempts", 1),
        integrity=row.report.get("integrity", []),
        criteria=[CriterionPublic(**c) for c in grade.criteria],
    )


@router.post("/api/sessions/{session_id}/overrides", response_model=ResultPublic)
def override(
    session_id: str, body: OverrideCreate, db: SessionDep, user: CurrentUser
) -> ResultPublic:
    """Change one criterion's score, with a justification; the grader's score is kept."""
    user.require(Role.examiner)
    lab, row = graded(db, session_id)
    criterion = next((c for c in row.report["criteria"] if c["id"] == body.criterion), None)
    if criterion is None:
        known = ", ".join(c["id"] for c in row.report["criteria"])
        raise Invalid(f"no criterion {body.criterion!r} in this result; known: {known}")
    previous = overrides_of(db, session_id).get(body.criterion)
    db.add(
        Override(
            session_id=lab.id,
            criterion_id=body.criterion,
            score=body.score,
            justification=body.justification,
            by=user.name,
        )
    )
    audit(
        db,
        user.name,
        "override",
        lab,
        criterion=body.criterion,
        score=body.score,
        previous=previous.score if previous else criterion["score"],
        justification=body.justification,
    )
    db.flush()
    return result(session_id, db, user)


@router.get("/api/audit", response_model=list[AuditPublic])
def audit_log(
    db: SessionDep, user: CurrentUser, session_id: str | None = None
) -> list[AuditPublic]:
    """Every override, extension and end, oldest first. Read-only: nothing edits it."""
    user.require(Role.examiner)
    query = select(AuditEntry).order_by(col(AuditEntry.id))
    if session_id is not None:
        query = query.where(AuditEntry.session_id == session_id)
    return [AuditPublic.model_validate(entry, from_attributes=True) for entry in db.exec(query)]


@router.post("/api/sessions/{session_id}/regrade", status_code=202)
def regrade(session_id: str, request: Request, db: SessionDep, user: CurrentUser) -> dict[str, str]:
    """Grade the kept lab again (after a grader fix, say). The previous grade goes to the audit
    log; overrides stay. Only while the lab is kept (state `graded`)."""
    user.require(Role.examiner)
    lab = find_lab(db, session_id)
    actions.regrade(db, lab, user.name)
    db.commit()
    request.app.state.controller.wake()
    return {"state": lab.state.value}


@router.get("/api/sessions/{session_id}/recordings/{node}.cast", response_class=FileResponse)
def recording(
    session_id: str, node: str, request: Request, db: SessionDep, user: CurrentUser
) -> FileResponse:
    """A node's terminal recording (asciicast v2), for the replay page or any asciinema tool."""
    user.require(Role.examiner)
    if db.get(LabSession, session_id) is None or not re.match(NAME, node):
        raise NotFound(f"no session {session_id!r} or node {node!r}")
    path = request.app.state.terminals.recording(session_id, node)
    if not path.is_file():
        raise NotFound(f"no recording for node {node!r}: nobody opened its terminal")
    return FileResponse(
        path, media_type="application/x-asciicast", filename=f"{session_id}-{node}.cast"
    )
