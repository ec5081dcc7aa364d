"""Database tables (SQLModel) and the API's public shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger
from sqlmodel import JSON, Column, Field, SQLModel, UniqueConstraint

from graders.report import NodeIntegrity


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    admin = "admin"
    examiner = "examiner"
    instructor = "instructor"
    candidate = "candidate"


class State(StrEnum):
    requested = "requested"
    provisioning = "provisioning"
    ready = "ready"
    ending = "ending"
    grading = "grading"
    graded = "graded"
    torn_down = "torn_down"
    failed = "failed"


# Before the exam is over: an exam code and a candidate's API token open the session only then.
OPEN_STATES = (State.requested, State.provisioning, State.ready)

LIVE_STATES = {
    State.requested,
    State.provisioning,
    State.ready,
    State.ending,
    State.grading,
    State.graded,
}


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    role: Role
    token_hash: str = Field(index=True)
    password_hash: str | None = None  # argon2; staff without one use their API token only
    created_at: datetime = Field(default_factory=utcnow)


class Login(SQLModel, table=True):
    """A browser's sign-in: a staff member by password, or a candidate by exam code."""

    token_hash: str = Field(primary_key=True)
    role: Role
    name: str
    session_id: str | None = None  # a candidate's one session
    expires_at: datetime


class LabSession(SQLModel, table=True):
    __tablename__ = "lab_session"
    id: str = Field(primary_key=True)
    scenario: str
    scenario_version: str = ""  # hash of the scenario folder when the session was created
    candidate: str
    state: State = Field(default=State.requested, index=True)
    reason: str = ""  # why it failed, or how it ended
    created_by: str = ""
    # Secrets: never logged, never in API answers except to their owner.
    params: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    candidate_user: str = ""
    candidate_password: str = ""
    candidate_token_hash: str = Field(default="", index=True)
    exam_code_hash: str = Field(default="", index=True)  # what the candidate types in the browser
    exam_code: str = ""  # the same, for staff to show again (a secret like the password)
    grader_key: str = ""
    nodes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)
    ready_at: datetime | None = None
    deadline: datetime | None = None
    ended_at: datetime | None = None
    graded_at: datetime | None = None
    teardown_after: datetime | None = None
    # A sitting's session: built ahead, its clock starts at `starts_at` (not when it is ready),
    # for `minutes` (the sitting's duration; None: the scenario's).
    sitting_id: str | None = Field(default=None, index=True)
    starts_at: datetime | None = None
    minutes: int | None = None
    # A lab made ahead and no one's yet (app.pool): hidden from every list, handed out whole
    # (then False for good). Its sitting_id, if any, reserves it for that sitting.
    pooled: bool = Field(default=False, index=True)
    # The lab host it lives on (app.fleet): "" for this machine's engines, else an enrolled
    # LabHost's name and its engine's URL (the grader's way to the nodes). Set once, when its
    # lab is first made.
    host: str = ""
    docker_url: str = ""


class LabHost(SQLModel, table=True):
    """A further Docker Engine labs may be placed on (`praxis hosts add`)."""

    __tablename__ = "lab_host"
    name: str = Field(primary_key=True)
    docker_url: str
    lab_pool: str  # its labs' addresses: distinct from every other host's
    # What its labs may take at most, their nodes' caps summed (bytes: beyond a 32-bit int).
    memory_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    added_at: datetime = Field(default_factory=utcnow)


class Lease(SQLModel, table=True):
    """Which service replica drives a piece of work, until `expires_at` (app.leases)."""

    name: str = Field(primary_key=True)  # a session's id, or a duty's name
    holder: str
    expires_at: datetime


@dataclass(frozen=True)
class RunningLab:
    """A ready session as the controller's watches see it each second: a few columns, not the
    ORM object (200 of those took ~12 ms of the interpreter, every request waiting; ~4 ms so)."""

    id: str
    scenario: str
    state: State
    pooled: bool
    deadline: datetime | None
    nodes: dict[str, Any]


class Result(SQLModel, table=True):
    session_id: str = Field(primary_key=True, foreign_key="lab_session.id")
    score: float
    points: float
    max_points: float
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class Override(SQLModel, table=True):
    """An examiner's change of one criterion's score; the grader's score stays in Result."""

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(index=True, foreign_key="lab_session.id")
    criterion_id: str
    score: float
    justification: str
    by: str
    at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Append-only record of what staff did (overrides, extensions, ends); no route edits it
    and the database refuses UPDATE and DELETE on it."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str
    action: str
    session_id: str | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Platform(SQLModel, table=True):
    """Facts about this platform instance, e.g. `instance`: the id every lab object it creates
    carries, so that two platforms on one engine never reap each other's labs."""

    key: str = Field(primary_key=True)
    value: str


class Event(SQLModel, table=True):
    """Every state change of a session, in order: the session's history for the jury."""

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(index=True, foreign_key="lab_session.id")
    state: State
    detail: str = ""
    at: datetime = Field(default_factory=utcnow)


class Incident(SQLModel, table=True):
    """A node found down during the exam: one row per outage, from the platform's own watch,
    so that a dead lab is read as an incident, not as the candidate's failure."""

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(index=True, foreign_key="lab_session.id")
    node: str
    cause: str = ""  # a code worded when shown: "exit:137", "oom", "removed" (node_cause)
    down_at: datetime = Field(default_factory=utcnow)
    up_at: datetime | None = None  # None: still down (or down when the lab ended)
    credited_seconds: int = 0  # time given back to the candidate for it
    credited_by: str = ""


class SittingState(StrEnum):
    planned = "planned"  # editable; no lab yet
    started = "started"  # its sessions exist: each follows its own states from there
    cancelled = "cancelled"


class StartMode(StrEnum):
    scheduled = "scheduled"  # every clock starts at the sitting's time
    first_sign_in = "first_sign_in"  # each at the candidate's first sign-in, within the window


class Sitting(SQLModel, table=True):
    """An exam day: one subject, one room, a start time, its candidates (SittingCandidate)."""

    id: str = Field(primary_key=True)
    scenario: str
    scenario_version: str = ""
    room: str = ""
    starts_at: datetime
    minutes: int
    start_mode: StartMode = StartMode.scheduled
    window_minutes: int = 0  # first_sign_in: how long after `starts_at` a first sign-in opens
    state: SittingState = Field(default=SittingState.planned, index=True)
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    cancelled_at: datetime | None = None


class SittingCandidate(SQLModel, table=True):
    """One candidate of a sitting, their exam code made with the sitting (slips are printed
    before any lab exists), their session once it is made."""

    __tablename__ = "sitting_candidate"
    __table_args__ = (UniqueConstraint("sitting_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    sitting_id: str = Field(index=True, foreign_key="sitting.id")
    last_name: str
    first_name: str
    number: str
    email: str = ""
    exam_code: str = ""  # a secret, shown to staff and printed on the slip
    exam_code_hash: str = Field(default="", index=True)
    session_id: str | None = Field(default=None, foreign_key="lab_session.id")


# ---- API shapes ------------------------------------------------------------------------------
class SessionCreate(BaseModel):
    scenario: str
    candidate: str = Field(min_length=1, max_length=200)


class NodePublic(BaseModel):
    name: str
    address: str
    state: str
    ssh: str | None = None  # the command the candidate types


class AccessPublic(BaseModel):
    user: str
    password: str
    token: str | None = None  # only in the answer that creates the session
    exam_code: str | None = None  # likewise: the code the candidate types at /exam


class IncidentPublic(BaseModel):
    id: int
    node: str
    cause: str
    down_at: datetime
    up_at: datetime | None
    credited_seconds: int
    lost_seconds: int  # the outage so far, measured by the platform


class SessionPublic(BaseModel):
    id: str
    scenario: str
    scenario_version: str = ""  # hash of the scenario folder when the session was created
    candidate: str
    state: State
    reason: str
    created_at: datetime
    ready_at: datetime | None
    deadline: datetime | None
    ended_at: datetime | None
    seconds_left: float | None
    nodes: list[NodePublic]
    access: AccessPublic | None
    params: dict[str, str]
    incidents: list[IncidentPublic] = []  # nodes found down, past and present
    host: str = ""  # the lab host its lab lives on (`praxis hosts`); "" until it is placed


class CriterionPublic(BaseModel):
    id: str
    title: dict[str, str | None]
    referential: str | None = None
    weight: float
    score: float  # the score that counts: an override's if any
    original_score: float  # the grader's
    override: dict[str, Any] | None
    status: str
    message: str
    evidence: list[dict[str, Any]]
    duration_ms: int


class ResultPublic(BaseModel):
    session_id: str
    scenario: str
    scenario_version: str
    candidate: str
    score: float  # percent, overrides included
    original_score: float  # percent as graded
    points: float
    max_points: float
    graded_at: datetime
    complete: bool = True  # False: some criteria could not be graded (status `error`)
    attempts: int = 1  # gradings the platform ran to get here
    integrity: list[NodeIntegrity] = []  # per node: system files changed outside packages
    criteria: list[CriterionPublic]


class OverrideCreate(BaseModel):
    criterion: str
    score: float = Field(ge=0, le=1)
    justification: str = Field(min_length=10, max_length=2000)


class ExtendCreate(BaseModel):
    minutes: int = Field(ge=1, le=240)
    reason: str = Field(min_length=3, max_length=500)


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    session_id: str | None
    detail: dict[str, Any]


class ScenarioPublic(BaseModel):
    id: str
    title: dict[str, str | None]
    duration: str
    nodes: list[str]
    criteria: int


class CandidateIn(BaseModel):
    last_name: str = Field(max_length=200)
    first_name: str = Field(max_length=200)
    number: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=300)


class SittingCreate(BaseModel):
    scenario: str
    starts_at: datetime  # with its offset (2026-12-07T09:00:00+01:00), or UTC
    minutes: int | None = Field(default=None, ge=1, le=720)  # None: the scenario's duration
    room: str = Field(default="", max_length=200)
    start_mode: StartMode = StartMode.scheduled
    window_minutes: int = Field(default=0, ge=0, le=720)
    candidates: list[CandidateIn] = Field(min_length=1, max_length=200)


class SittingEdit(BaseModel):
    starts_at: datetime | None = None
    minutes: int | None = Field(default=None, ge=1, le=720)
    room: str | None = Field(default=None, max_length=200)
    start_mode: StartMode | None = None
    window_minutes: int | None = Field(default=None, ge=0, le=720)


class SittingCandidatePublic(BaseModel):
    last_name: str
    first_name: str
    number: str
    email: str
    exam_code: str
    session_id: str | None
    state: str | None  # the session's, once made


class SittingPublic(BaseModel):
    id: str
    scenario: str
    room: str
    starts_at: datetime
    minutes: int
    start_mode: StartMode
    window_minutes: int
    state: SittingState
    created_by: str
    created_at: datetime
    started_at: datetime | None
    cancelled_at: datetime | None
    candidates: list[SittingCandidatePublic]
