"""A sitting's life: made with its candidates and their codes, edited until it starts, its
sessions made ahead of the start (each clock starting at the sitting's time, or at the
candidate's first sign-in within the window), or cancelled.

Every change goes through here, checked against the sitting's state: the API and the
controller only call these functions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app import session_actions as actions
from app.auth import ExamNotOpen, exam_code_hash, new_exam_code
from app.catalog import Catalog
from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.models import LabSession, Sitting, SittingCandidate, SittingState, StartMode, utcnow
from app.new_session import new_session, runnable
from app.reports.words import as_utc
from app.sittings.roster import Candidate

MAX_CANDIDATES = 200
MAX_MINUTES = 12 * 60
MAX_AHEAD = timedelta(days=366)
# A pooled sitting's labs are handed out this long before its time (its clocks start at it).
HAND_OUT_AHEAD = timedelta(minutes=1)


def find(db: Session, sitting_id: str) -> Sitting:
    sitting = db.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(f"no sitting {sitting_id}")
    return sitting


def candidates_of(db: Session, sitting_id: str) -> list[SittingCandidate]:
    query = select(SittingCandidate).where(SittingCandidate.sitting_id == sitting_id)
    return list(db.exec(query.order_by(col(SittingCandidate.id))))


def _check(
    catalog: Catalog,
    scenario_id: str,
    starts_at: datetime,
    minutes: int,
    mode: StartMode,
    window: int,
    now: datetime,
) -> None:
    runnable(catalog, scenario_id)
    if as_utc(starts_at) <= now:
        raise Invalid("the start time is past: a sitting is planned ahead")
    if as_utc(starts_at) > now + MAX_AHEAD:
        raise Invalid("the start time is more than a year ahead")
    if not 1 <= minutes <= MAX_MINUTES:
        raise Invalid(f"the duration must be 1 to {MAX_MINUTES} minutes")
    if mode is StartMode.first_sign_in and not 1 <= window <= MAX_MINUTES:
        raise Invalid("a start at first sign-in needs a window of 1 to 720 minutes")


def _candidate_rows(sitting_id: str, candidates: Sequence[Candidate]) -> list[SittingCandidate]:
    if not candidates:
        raise Invalid("a sitting needs at least one candidate")
    if len(candidates) > MAX_CANDIDATES:
        raise Invalid(f"at most {MAX_CANDIDATES} candidates in a sitting")
    numbers = [c.number for c in candidates]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise Invalid("candidate numbers given twice: " + ", ".join(repeated))
    rows = []
    for c in candidates:
        code = new_exam_code()
        rows.append(
            SittingCandidate(
                sitting_id=sitting_id,
                last_name=c.last_name,
                first_name=c.first_name,
                number=c.number,
                email=c.email or "",
                exam_code=code,
                exam_code_hash=exam_code_hash(code),
            )
        )
    return rows


def create(
    db: Session,
    catalog: Catalog,
    by: str,
    *,
    scenario: str,
    starts_at: datetime,
    candidates: Sequence[Candidate],
    minutes: int | None = None,
    room: str = "",
    start_mode: StartMode = StartMode.scheduled,
    window_minutes: int = 0,
) -> Sitting:
    """A planned sitting with its candidates, each given an exam code. Raises Invalid,
    NotFound (the scenario). Nothing is added unless everything is right."""
    minutes = minutes or int(catalog.get(scenario).time_allowed.total_seconds() // 60)
    _check(catalog, scenario, starts_at, minutes, start_mode, window_minutes, utcnow())
    sitting = Sitting(
        id="st-" + secrets.token_hex(5),
        scenario=scenario,
        scenario_version=catalog.version(scenario),
        room=room,
        starts_at=as_utc(starts_at),
        minutes=minutes,
        start_mode=start_mode,
        window_minutes=window_minutes,
        created_by=by,
    )
    rows = _candidate_rows(sitting.id, candidates)
    db.add(sitting)
    db.flush()  # the sitting before its candidates (foreign key)
    db.add_all(rows)
    return sitting


def _planned(db: Session, sitting: Sitting, what: str) -> None:
    """Refuse `what` once the sitting has started."""
    if sitting.state is not SittingState.planned:
        raise Conflict(f"sitting {sitting.id} is {sitting.state.value}: {what} no longer")


def edit(
    db: Session,
    catalog: Catalog,
    sitting: Sitting,
    *,
    starts_at: datetime | None = None,
    minutes: int | None = None,
    room: str | None = None,
    start_mode: StartMode | None = None,
    window_minutes: int | None = None,
) -> Sitting:
    """Change what was given (until the sitting starts). Raises Conflict, Invalid."""
    _planned(db, sitting, "it can be edited")
    changed = sitting.model_copy(
        update={
            k: v
            for k, v in {
                "starts_at": as_utc(starts_at) if starts_at else None,
                "minutes": minutes,
                "room": room,
                "start_mode": start_mode,
                "window_minutes": window_minutes,
            }.items()
            if v is not None
        }
    )
    _check(
        catalog,
        changed.scenario,
        changed.starts_at,
        changed.minutes,
        changed.start_mode,
        changed.window_minutes,
        utcnow(),
    )
    for name in ("starts_at", "minutes", "room", "start_mode", "window_minutes"):
        setattr(sitting, name, getattr(changed, name))
    db.add(sitting)
    return sitting


def replace_candidates(db: Session, sitting: Sitting, candidates: Sequence[Candidate]) -> None:
    """The sitting's candidates become these (new codes for all: print the slips again)."""
    _planned(db, sitting, "its candidates can be changed")
    rows = _candidate_rows(sitting.id, candidates)
    for old in candidates_of(db, sitting.id):
        db.delete(old)
    db.flush()  # the old numbers gone before the new rows (unique per sitting)
    db.add_all(rows)


def cancel(db: Session, sitting: Sitting) -> None:
    """A planned sitting is called off; its codes never open anything."""
    _planned(db, sitting, "it can be cancelled (end its sessions instead)")
    sitting.state, sitting.cancelled_at = SittingState.cancelled, utcnow()
    db.add(sitting)


def due(db: Session, now: datetime) -> list[Sitting]:
    """Planned sittings whose sessions must be made now: a minute before their start, when the
    pool has made their labs ahead (app.pool)."""
    query = select(Sitting).where(Sitting.state == SittingState.planned)
    return [s for s in db.exec(query) if as_utc(s.starts_at) - HAND_OUT_AHEAD <= now]


def start(
    db: Session,
    catalog: Catalog,
    settings: Settings,
    sitting: Sitting,
    next_id: Callable[[], str],
) -> list[LabSession]:
    """Make every candidate's session, in this one transaction: each with a lab from the
    sitting's pool, or, failing that, one the controller builds. A scheduled sitting's clocks
    start at its time, the others' at each candidate's first sign-in."""
    planned = (col(Sitting.id) == sitting.id, col(Sitting.state) == SittingState.planned)
    claim = update(Sitting).where(*planned).values(state=SittingState.started, started_at=utcnow())
    claimed = db.exec(claim).rowcount == 1  # guarded: started or cancelled meanwhile
    db.refresh(sitting)  # its state now, for the answer either way
    if not claimed:
        raise Conflict(f"sitting {sitting.id} is {sitting.state.value}: it cannot start")
    made = []
    scheduled = sitting.start_mode is StartMode.scheduled
    for candidate in candidates_of(db, sitting.id):
        lab = new_session(
            db,
            next_id,
            catalog,
            settings,
            sitting.scenario,
            f"{candidate.first_name} {candidate.last_name.upper()}",
            f"sitting {sitting.id}",
            exam_code=candidate.exam_code,
            sitting_id=sitting.id,
            starts_at=sitting.starts_at if scheduled else None,
            minutes=sitting.minutes,
        ).lab
        candidate.session_id = lab.id
        db.add(candidate)
        made.append(lab)
    return made


def not_yet(db: Session, code_hash: str) -> None:
    """A code of a sitting whose sessions are not made yet: refused, saying when it opens."""
    query = select(SittingCandidate).where(SittingCandidate.exam_code_hash == code_hash)
    person = db.exec(query).first()
    sitting = db.get(Sitting, person.sitting_id) if person else None
    if sitting is not None and sitting.state is SittingState.planned:
        raise ExamNotOpen(as_utc(sitting.starts_at), closed=False)


def sign_in(db: Session, lab: LabSession, now: datetime | None = None) -> None:
    """A candidate signs into a sitting's session: refused (Forbidden) before the sitting's
    time, or past its window when each clock starts at the first sign-in; that first sign-in
    starts the candidate's clock."""
    if lab.sitting_id is None:
        return
    sitting, now = find(db, lab.sitting_id), now or utcnow()
    start_at = as_utc(sitting.starts_at)
    if now < start_at:
        raise ExamNotOpen(start_at, closed=False)
    if sitting.start_mode is StartMode.first_sign_in and lab.starts_at is None:
        closes = start_at + timedelta(minutes=sitting.window_minutes)
        if now > closes:
            raise ExamNotOpen(closes, closed=True)
        lab.starts_at = now
        db.add(lab)


def act_on_all(
    db: Session, sitting: Sitting, action: str, actor: str, minutes: int = 0, reason: str = ""
) -> dict[str, str]:
    """End, extend (`minutes`, `reason`) or grade again every session of the sitting that it
    applies to. Returns session id -> "" when done, or why it did not apply (already ended, not
    graded yet...): one candidate's state does not stop the others'. The caller commits."""
    ended = f"ended by examiner {actor} (whole sitting)"
    acts: dict[str, Callable[[LabSession], None]] = {
        "end": lambda lab: actions.end(db, lab, ended, actor),
        "extend": lambda lab: actions.extend(db, lab, minutes, reason, actor),
        "regrade": lambda lab: actions.regrade(db, lab, actor),
    }
    if action not in acts:
        raise Invalid(f"no action {action!r} on a sitting: end, extend or regrade")
    outcome: dict[str, str] = {}
    for person in candidates_of(db, sitting.id):
        lab = db.get(LabSession, person.session_id) if person.session_id else None
        if lab is None:
            continue
        try:
            acts[action](lab)
            outcome[lab.id] = ""
        except Conflict as exc:
            outcome[lab.id] = exc.detail
    return outcome
