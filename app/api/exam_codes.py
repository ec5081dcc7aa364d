"""A session's exam code, for staff: shown again on demand, or reissued to a candidate who lost
it. Both are audited: the code is a secret on a page that may be projected."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import col, select

from app.api.deps import CurrentUser, SessionDep, find_lab
from app.auth import exam_code_hash, new_exam_code
from app.errors import Conflict
from app.models import OPEN_STATES, LabSession, Login, Role
from app.results import audit

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


class ExamCodePublic(BaseModel):
    exam_code: str
    signed_out: int = 0  # candidate browsers signed in with the old code, now signed out


def _usable(db: SessionDep, session_id: str) -> LabSession:
    lab = find_lab(db, session_id)
    if lab.state not in OPEN_STATES or not lab.exam_code:
        raise Conflict(f"the session is {lab.state.value}: its exam code no longer opens anything")
    return lab


@router.get("/{session_id}/exam-code", response_model=ExamCodePublic)
def show(session_id: str, db: SessionDep, user: CurrentUser) -> ExamCodePublic:
    """The code the candidate types at /exam; the audit log records who looked."""
    user.require(Role.examiner)
    lab = _usable(db, session_id)
    audit(db, user.name, "show_code", lab)
    return ExamCodePublic(exam_code=lab.exam_code)


@router.post("/{session_id}/exam-code", response_model=ExamCodePublic)
def reissue(session_id: str, db: SessionDep, user: CurrentUser) -> ExamCodePublic:
    """A new code; the old one stops working at once. Browsers signed in with the old code are
    signed out too: a code is reissued because it may be in someone else's hands, and the
    candidate gets back to the same lab and shells by typing the new one."""
    user.require(Role.examiner)
    lab = _usable(db, session_id)
    code = new_exam_code()
    lab.exam_code, lab.exam_code_hash = code, exam_code_hash(code)
    db.add(lab)
    logins = db.exec(
        select(Login).where(Login.session_id == lab.id, col(Login.role) == Role.candidate)
    ).all()
    for login in logins:
        db.delete(login)
    audit(db, user.name, "reissue_code", lab, signed_out=len(logins))
    return ExamCodePublic(exam_code=code, signed_out=len(logins))
