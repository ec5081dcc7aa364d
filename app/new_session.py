"""Making a session: its row, secrets and drawn parameters, in one place for the API's
`POST /api/sessions` and for a sitting's candidates (app.sittings.service)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Network

from sqlmodel import Session

from app.auth import exam_code_hash, new_exam_code, new_token, token_hash
from app.catalog import Catalog
from app.config import Settings
from app.errors import Invalid
from app.models import Event, LabSession, State
from labs.keys import new_keypair, new_password
from labs.links import host_cannot
from labs.params import DrawError, session_params


@dataclass(frozen=True)
class Made:
    lab: LabSession
    token: str  # the candidate's API token: shown once, only its hash is kept
    exam_code: str


def new_session(
    db: Session,
    session_id: str,
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
    """Add a `requested` session (the controller builds its lab). Raises NotFound for an unknown
    scenario, Invalid for one this host cannot run or whose parameters cannot be drawn."""
    scenario = catalog.get(scenario_id)
    lacking = host_cannot(scenario)
    if lacking:
        raise Invalid(f"this host cannot run {scenario.id}: " + "; ".join(lacking.values()))
    token, code = new_token(), exam_code or new_exam_code()
    try:  # drawn from the session's id: a re-grade or a look back finds the same values
        params = session_params(scenario, session_id, [IPv4Network(settings.lab_pool)])
    except DrawError as exc:
        raise Invalid(f"scenario {scenario.id}: {exc}") from exc
    lab = LabSession(
        id=session_id,
        scenario=scenario.id,
        scenario_version=catalog.version(scenario.id),
        candidate=candidate,
        created_by=by,
        params=params,
        candidate_user=settings.candidate_user,
        candidate_password=new_password(),
        candidate_token_hash=token_hash(token),
        exam_code_hash=exam_code_hash(code),
        exam_code=code,
        grader_key=new_keypair().private,
        sitting_id=sitting_id,
        starts_at=starts_at,
        minutes=minutes,
    )
    db.add(lab)
    db.flush()  # the session row before its first event (foreign key)
    db.add(Event(session_id=lab.id, state=State.requested, detail=f"by {by}"))
    return Made(lab, token, code)
