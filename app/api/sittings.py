"""Exam sittings: an examiner plans one (subject, time, room, candidates), prints the codes,
edits or cancels it until it starts; the controller makes its sessions ahead of the start."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app.api.deps import CatalogDep, CurrentUser, SessionDep
from app.api.reports import cohort, download
from app.catalog import Catalog
from app.errors import Invalid, NotFound
from app.models import (
    ExtendCreate,
    LabSession,
    Role,
    Sitting,
    SittingCandidatePublic,
    SittingCreate,
    SittingEdit,
    SittingPublic,
)
from app.reports import cohort_csv, render_pdf
from app.sittings import service
from app.sittings.roster import Candidate, from_fields, read_roster
from app.sittings.sheet import MAX_BYTES
from app.sittings.slips import Slip, SlipSitting, ordered_slips, slips_pdf

router = APIRouter(prefix="/api/sittings", tags=["sittings"])


def _public(db: Session, sitting: Sitting) -> SittingPublic:
    rows = service.candidates_of(db, sitting.id)
    ids = [r.session_id for r in rows if r.session_id]
    states = {
        lab.id: lab.state.value
        for lab in db.exec(select(LabSession).where(col(LabSession.id).in_(ids)))
    }
    return SittingPublic(
        **sitting.model_dump(exclude={"scenario_version"}),
        candidates=[
            SittingCandidatePublic(
                **r.model_dump(include={"last_name", "first_name", "number", "email"}),
                exam_code=r.exam_code,
                session_id=r.session_id,
                state=states.get(r.session_id or ""),
            )
            for r in rows
        ],
    )


@router.post("", status_code=201, response_model=SittingPublic)
def create_sitting(
    body: SittingCreate, db: SessionDep, user: CurrentUser, catalog: CatalogDep
) -> SittingPublic:
    """Plan a sitting; each candidate gets an exam code now (print the slips)."""
    user.require(Role.examiner)
    candidates = from_fields(
        [(c.last_name, c.first_name, c.number, c.email) for c in body.candidates]
    )
    sitting = service.create(
        db,
        catalog,
        user.name,
        scenario=body.scenario,
        starts_at=body.starts_at,
        candidates=candidates,
        minutes=body.minutes,
        room=body.room,
        start_mode=body.start_mode,
        window_minutes=body.window_minutes,
    )
    return _public(db, sitting)


@router.get("", response_model=list[SittingPublic])
def list_sittings(db: SessionDep, user: CurrentUser) -> list[SittingPublic]:
    user.require(Role.examiner)
    query = select(Sitting).order_by(col(Sitting.starts_at).desc())
    return [_public(db, s) for s in db.exec(query)]


@router.get("/{sitting_id}", response_model=SittingPublic)
def get_sitting(sitting_id: str, db: SessionDep, user: CurrentUser) -> SittingPublic:
    user.require(Role.examiner)
    return _public(db, service.find(db, sitting_id))


@router.patch("/{sitting_id}", response_model=SittingPublic)
def edit_sitting(
    sitting_id: str, body: SittingEdit, db: SessionDep, user: CurrentUser, catalog: CatalogDep
) -> SittingPublic:
    """Change its time, duration, room or start mode, until it starts."""
    user.require(Role.examiner)
    sitting = service.edit(db, catalog, service.find(db, sitting_id), **body.model_dump())
    return _public(db, sitting)


@router.put("/{sitting_id}/candidates", response_model=SittingPublic)
async def import_candidates(
    sitting_id: str, roster: UploadFile, db: SessionDep, user: CurrentUser
) -> SittingPublic:
    """Replace the candidates with a roster file (CSV/TSV/XLSX): all of them, or none with
    every problem as `file:line: what` (422). New codes for all: print the slips again."""
    user.require(Role.examiner)
    sitting = service.find(db, sitting_id)
    data = await roster.read(MAX_BYTES + 1)  # past it: refused, said
    candidates: list[Candidate] = read_roster(data, roster.filename or "roster")
    service.replace_candidates(db, sitting, candidates)
    return _public(db, sitting)


@router.post("/{sitting_id}/cancel", response_model=SittingPublic)
def cancel_sitting(sitting_id: str, db: SessionDep, user: CurrentUser) -> SittingPublic:
    user.require(Role.examiner)
    sitting = service.find(db, sitting_id)
    service.cancel(db, sitting)
    return _public(db, sitting)


@router.get("/{sitting_id}/slips.pdf", response_class=Response)
def slips(
    sitting_id: str, request: Request, db: SessionDep, user: CurrentUser, catalog: CatalogDep
) -> Response:
    """The exam codes on paper: A4 sheets of slips, one a candidate, to cut and hand out."""
    user.require(Role.examiner)
    sitting = service.find(db, sitting_id)
    title = _title(catalog, sitting.scenario)
    heading = SlipSitting(title, sitting.starts_at, sitting.room, str(request.base_url) + "exam")
    printed = ordered_slips(
        Slip(Candidate(r.last_name, r.first_name, r.number, r.email or None), r.exam_code)
        for r in service.candidates_of(db, sitting.id)
    )
    return download(
        slips_pdf(heading, printed), "application/pdf", f"praxis-{sitting.id}-codes.pdf"
    )


class EveryoneDone(BaseModel):
    done: list[str] = Field(description="the sessions acted on")
    skipped: dict[str, str] = Field(description="session id -> why the action did not apply")


def _on_all(
    request: Request, db: Session, sitting_id: str, action: str, actor: str, **args: Any
) -> EveryoneDone:
    outcome = service.act_on_all(db, service.find(db, sitting_id), action, actor, **args)
    db.commit()
    request.app.state.controller.wake()
    return EveryoneDone(
        done=[i for i, why in outcome.items() if not why],
        skipped={i: why for i, why in outcome.items() if why},
    )


@router.post("/{sitting_id}/extend", response_model=EveryoneDone)
def extend_everyone(
    sitting_id: str, body: ExtendCreate, request: Request, db: SessionDep, user: CurrentUser
) -> EveryoneDone:
    """More time for every candidate whose clock runs (the reason is audited for each)."""
    user.require(Role.examiner)
    args = {"minutes": body.minutes, "reason": body.reason}
    return _on_all(request, db, sitting_id, "extend", user.name, **args)


@router.post("/{sitting_id}/end", response_model=EveryoneDone)
def end_everyone(
    sitting_id: str, request: Request, db: SessionDep, user: CurrentUser
) -> EveryoneDone:
    """End every candidate's session now (those still running go to grading)."""
    user.require(Role.examiner)
    return _on_all(request, db, sitting_id, "end", user.name)


@router.post("/{sitting_id}/regrade", response_model=EveryoneDone)
def regrade_everyone(
    sitting_id: str, request: Request, db: SessionDep, user: CurrentUser
) -> EveryoneDone:
    """Grade every kept lab of the sitting again (after a grader fix, say)."""
    user.require(Role.examiner)
    return _on_all(request, db, sitting_id, "regrade", user.name)


class ZipRequest(BaseModel):
    password: str | None = Field(default=None, min_length=4, max_length=200)
    lang: str = Field(default="fr", pattern="^(fr|en)$")


@router.post("/{sitting_id}/reports.zip", response_class=Response)
def reports_zip(
    sitting_id: str, body: ZipRequest, db: SessionDep, user: CurrentUser, catalog: CatalogDep
) -> Response:
    """Every graded candidate's jury report as PDF, and the cohort as CSV, in one ZIP; each PDF
    encrypted with the password when one is given (in the body, so that no log keeps it)."""
    user.require(Role.examiner)
    sitting = service.find(db, sitting_id)
    content = results_zip(db, catalog, sitting, body.password, body.lang)
    return download(content, "application/zip", f"praxis-{sitting.id}-rapports.zip")


def results_zip(
    db: Session, catalog: Catalog, sitting: Sitting, password: str | None, lang: str
) -> bytes:
    """The graded candidates' PDF reports (encrypted with `password` if any) and the cohort."""
    reports = {r.session_id: r for r in cohort(db, catalog, lang, sitting=sitting.id)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for person in service.candidates_of(db, sitting.id):
            report = reports.get(person.session_id or "")
            if report is not None:
                name = _file_name(person.number, person.last_name, person.first_name)
                archive.writestr(f"{name}.pdf", render_pdf(report, password))
        archive.writestr("resultats.csv", cohort_csv(list(reports.values())))
    return buffer.getvalue()


def _file_name(*parts: str) -> str:
    """A file name any system accepts, the names kept readable (accents included)."""
    joined = "-".join(parts)
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in joined)[:120]


def _title(catalog: Catalog, scenario_id: str) -> str:
    try:
        return catalog.get(scenario_id).title.fr
    except (NotFound, Invalid):  # the subject left the catalogue or broke: its id names it
        return scenario_id
