"""Making a session: its row, secrets and drawn parameters, in one place for the API's
`POST /api/sessions`, for a sitting's candidates (app.sittings.service) and for the labs the
pool makes ahead (app.pool, with `lab_row`). A session takes a pooled lab when one is ready: it
is then ready at once, with no call to the engine.

A pooled lab carries nothing of anyone: its secrets (the candidate account's password, the
grader's key) and drawn parameters were made for that lab alone when it was built, seen by no
one, and they become the candidate's at hand-out; a lab handed out is never pooled again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Network

from sqlalchemy import update
from sqlmodel import Session, col, select

from app import metrics
from app.auth import exam_code_hash, new_exam_code, new_token, token_hash
from app.catalog import Catalog
from app.clock import first_deadline
from app.config import Settings
from app.errors import Invalid
from app.models import Event, LabSession, State, utcnow
from labs.keys import new_keypair, new_password
from labs.links import host_cannot
from labs.params import DrawError, session_params
from labs.scenario import Scenario


@dataclass(frozen=True)
class Made:
    lab: LabSession
    token: str  # the candidate's API token: shown once, only its hash is kept
    exam_code: str


def new_session(
    db: Session,
    next_id: Callable[[], str],
    catalog: Catalog,
    settings: Settings,
    scenario_id: str,
    candidate: str,
    by: str,
    *,
    exam_code: str | None = None,
    sitting_id: str | None = None,
    starts_at: datetime | None = None,
    minutes: int | None = None,
) -> Made:
    """A session for `candidate`: a ready lab from the pool when there is one, else a
    `requested` one the controller builds. Raises NotFound for an unknown scenario, Invalid for
    one this host cannot run or whose parameters cannot be drawn."""
    start = time.monotonic()
    scenario = runnable(catalog, scenario_id)
    token, code = new_token(), exam_code or new_exam_code()
    version = catalog.version(scenario.id)
    taken = _from_pool(db, scenario.id, version, sitting_id)
    lab = taken or lab_row(next_id(), scenario, version, settings)
    lab.candidate, lab.created_by = candidate, by
    lab.candidate_token_hash, lab.exam_code = token_hash(token), code
    lab.exam_code_hash = exam_code_hash(code)
    lab.sitting_id, lab.starts_at, lab.minutes = sitting_id, starts_at, minutes
    if taken:  # ready now: its clock starts now, or at its sitting's time
        lab.ready_at = utcnow()
        lab.deadline = first_deadline(lab, lab.ready_at, scenario)
    db.add(lab)
    db.flush()  # the session row before its first event (foreign key)
    detail = f"by {by}" + (", its lab from the pool (made ahead)" if taken else "")
    db.add(Event(session_id=lab.id, state=lab.state, detail=detail))
    if taken:
        metrics.READY.labels(scenario.id).observe(time.monotonic() - start)
    return Made(lab, token, code)


def runnable(catalog: Catalog, scenario_id: str) -> Scenario:
    """The scenario, if this host can run it. Raises NotFound, Invalid."""
    scenario = catalog.get(scenario_id)
    lacking = host_cannot(scenario)
    if lacking:
        raise Invalid(f"this host cannot run {scenario.id}: " + "; ".join(lacking.values()))
    return scenario


def lab_row(session_id: str, scenario: Scenario, version: str, settings: Settings) -> LabSession:
    """A `requested` row with its own secrets and parameters, no one's yet: the candidate's
    token and code hashes are of values never shown, so that nothing opens it."""
    try:  # drawn from the session's id: a re-grade or a look back finds the same values
        params = session_params(scenario, session_id, [IPv4Network(settings.lab_pool)])
    except DrawError as exc:
        raise Invalid(f"scenario {scenario.id}: {exc}") from exc
    return LabSession(
        id=session_id,
        scenario=scenario.id,
        scenario_version=version,
        candidate="",
        params=params,
        candidate_user=settings.candidate_user,
        candidate_password=new_password(),
        candidate_token_hash=token_hash(new_token()),
        exam_code_hash=exam_code_hash(new_exam_code()),
        grader_key=new_keypair().private,
        state=State.requested,
    )


def _from_pool(
    db: Session, scenario_id: str, version: str, sitting_id: str | None
) -> LabSession | None:
    """A ready pooled lab of this very version of the scenario (one reserved for the sitting
    first, then a standing one, oldest first), now no longer pooled. None when there is none."""
    query = (
        select(LabSession)
        .where(
            LabSession.pooled == True,  # noqa: E712 (SQL)
            LabSession.state == State.ready,
            LabSession.scenario == scenario_id,
            LabSession.scenario_version == version,
            col(LabSession.sitting_id).in_([sitting_id] if sitting_id else [])
            | (col(LabSession.sitting_id).is_(None)),
        )
        .order_by(col(LabSession.sitting_id).is_(None), col(LabSession.ready_at))
    )
    for lab in db.exec(query).all():
        still = (col(LabSession.pooled), col(LabSession.state) == State.ready)
        claim = update(LabSession).where(col(LabSession.id) == lab.id, *still)
        if db.exec(claim.values(pooled=False)).rowcount == 1:  # else another hand-out took it
            db.refresh(lab)
            return lab
    return None
