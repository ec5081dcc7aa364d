"""Jury reports: per session as HTML or PDF (optionally password-protected), per cohort as
CSV or XLSX. Built from the stored grade, overrides and audit log; nothing is re-graded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app.api.deps import CatalogDep, CurrentUser, SessionDep
from app.api.grades import graded
from app.catalog import Catalog
from app.errors import PraxisError
from app.incidents import incidents_of
from app.models import AuditEntry, LabSession, Result, Role
from app.reports import (
    Credit,
    CriterionLine,
    EvidenceItem,
    NodeIntegrity,
    Override,
    SessionReport,
    cohort_csv,
    cohort_xlsx,
    render_html,
    render_pdf,
)
from app.reports.incidents import IncidentLine
from app.results import effective_grade, overrides_of
from labs.referential import load_referential
from labs.topology import Layout, layout

router = APIRouter(tags=["reports"])
Lang = Annotated[str, Query(pattern="^(fr|en)$")]


def _title(catalog: Catalog, lab: LabSession, lang: str) -> tuple[str, str | None]:
    """The scenario's title and referential, or its id when the scenario is gone or broken."""
    try:
        scenario = catalog.get(lab.scenario)
    except PraxisError:
        return lab.scenario, None
    ref = scenario.referential
    modality = load_referential().modalities.get(ref.modality, "") if ref else ""
    return scenario.title.get(lang), f"{ref.block} — {ref.modality} {modality}" if ref else None


def scenario_topology(catalog: Catalog, scenario_id: str, lang: str) -> Layout | None:
    """The scenario's picture; None without links, or when the scenario is gone or broken."""
    try:
        return layout(catalog.get(scenario_id), lang)
    except PraxisError:
        return None


def integrity_of(stored: Mapping[str, Any]) -> list[NodeIntegrity]:
    """The stored grade's integrity scan per node; a grade from before the scan has none."""
    return [NodeIntegrity.model_validate(n) for n in stored.get("integrity") or []]


def _credits(db: Session, session_id: str) -> list[Credit]:
    """Time given back for incidents, oldest first, as the audit log keeps it."""
    query = select(AuditEntry).where(
        AuditEntry.session_id == session_id, AuditEntry.action == "credit"
    )
    return [
        Credit(
            e.at, int(e.detail["seconds"]), str(e.detail["node"]), str(e.detail["reason"]), e.actor
        )
        for e in db.exec(query.order_by(col(AuditEntry.id)))
    ]


def session_report(
    db: Session, catalog: Catalog, lab: LabSession, result: Result, lang: str
) -> SessionReport:
    grade = effective_grade(result, overrides_of(db, lab.id))
    referential = load_referential()
    criteria = [
        CriterionLine(
            id=c["id"],
            title=c["title"].get(lang) or c["title"]["fr"],
            referential=c.get("referential"),
            referential_text=referential.describe(c["referential"])
            if c.get("referential")
            else None,
            weight=c["weight"],
            score=c["score"],
            original_score=c["original_score"],
            status=c["status"],
            message=c["message"],
            evidence=[EvidenceItem(**e) for e in c["evidence"]],
            override=Override(
                c["override"]["score"],
                c["override"]["justification"],
                c["override"]["by"],
                datetime.fromisoformat(c["override"]["at"]),
            )
            if c["override"]
            else None,
        )
        for c in grade.criteria
    ]
    extensions = [
        (e.at, int(e.detail["minutes"]), str(e.detail["reason"]), e.actor)
        for e in db.exec(
            select(AuditEntry)
            .where(AuditEntry.session_id == lab.id, AuditEntry.action == "extend")
            .order_by(col(AuditEntry.id))
        )
    ]
    title, ref = _title(catalog, lab, lang)
    return SessionReport(
        session_id=lab.id,
        candidate=lab.candidate,
        scenario_id=lab.scenario,
        scenario_title=title,
        scenario_version=lab.scenario_version,
        referential=ref,
        created_at=lab.created_at,
        ready_at=lab.ready_at,
        deadline=lab.deadline,
        ended_at=lab.ended_at,
        graded_at=lab.graded_at,
        extensions=extensions,
        end_reason=lab.reason or "time is up",
        criteria=criteria,
        points=grade.points,
        max_points=grade.max_points,
        percent=grade.percent,
        original_percent=grade.original_percent,
        lang=lang,
        integrity=integrity_of(result.report),
        attempts=int(result.report.get("attempts") or 1),
        incidents=[
            IncidentLine(i.node, i.cause, i.down_at, i.up_at, i.credited_seconds)
            for i in incidents_of(db, lab.id)
        ],
        credits=_credits(db, lab.id),
        topology=scenario_topology(catalog, lab.scenario, lang),
    )


def _report(db: Session, catalog: Catalog, session_id: str, lang: str) -> SessionReport:
    lab, result = graded(db, session_id)
    return session_report(db, catalog, lab, result, lang)


@router.get("/api/sessions/{session_id}/report.html", response_class=HTMLResponse)
def report_html(
    session_id: str, db: SessionDep, user: CurrentUser, catalog: CatalogDep, lang: Lang = "fr"
) -> str:
    user.require(Role.examiner)
    return render_html(_report(db, catalog, session_id, lang))


class PdfRequest(BaseModel):
    password: str | None = Field(default=None, min_length=4, max_length=200)
    lang: str = Field(default="fr", pattern="^(fr|en)$")


def download(content: str | bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _pdf(report: SessionReport, password: str | None) -> Response:
    return download(
        render_pdf(report, password), "application/pdf", f"praxis-{report.session_id}.pdf"
    )


@router.get("/api/sessions/{session_id}/report.pdf", response_class=Response)
def report_pdf(
    session_id: str, db: SessionDep, user: CurrentUser, catalog: CatalogDep, lang: Lang = "fr"
) -> Response:
    user.require(Role.examiner)
    return _pdf(_report(db, catalog, session_id, lang), None)


@router.post("/api/sessions/{session_id}/report.pdf", response_class=Response)
def report_pdf_protected(
    session_id: str, body: PdfRequest, db: SessionDep, user: CurrentUser, catalog: CatalogDep
) -> Response:
    """The PDF encrypted with a password (sent in the body, so that no log keeps it)."""
    user.require(Role.examiner)
    return _pdf(_report(db, catalog, session_id, body.lang), body.password)


def cohort(
    db: Session,
    catalog: Catalog,
    lang: str,
    scenario: str | None = None,
    sitting: str | None = None,
) -> list[SessionReport]:
    """The graded sessions' reports (of a scenario, of a sitting), by candidate."""
    query = select(LabSession, Result).join(Result, col(Result.session_id) == col(LabSession.id))
    if scenario is not None:
        query = query.where(LabSession.scenario == scenario)
    if sitting is not None:
        query = query.where(LabSession.sitting_id == sitting)
    rows = db.exec(query.order_by(col(LabSession.candidate))).all()
    return [session_report(db, catalog, lab, result, lang) for lab, result in rows]


EXPORTS: dict[str, tuple[Callable[[list[SessionReport]], str | bytes], str]] = {
    "csv": (cohort_csv, "text/csv; charset=utf-8"),
    "xlsx": (cohort_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@router.get("/api/results/export.{kind}", response_class=Response)
def export(
    kind: Literal["csv", "xlsx"],
    db: SessionDep,
    user: CurrentUser,
    catalog: CatalogDep,
    scenario: str | None = None,
    sitting: str | None = None,
    lang: Lang = "fr",
) -> Response:
    """One row per graded candidate (of a scenario, of a sitting), one column per criterion
    (overrides included)."""
    user.require(Role.examiner)
    render, media_type = EXPORTS[kind]
    reports = cohort(db, catalog, lang, scenario, sitting)
    return download(render(reports), media_type, f"praxis-results.{kind}")
