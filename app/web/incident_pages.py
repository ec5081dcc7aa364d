"""The incident parts of the staff pages, as fragments the pages poll: the dashboard's alert
(every session with a node down) and a session's incidents with their actions."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from app.api.deps import SessionDep
from app.incidents import incidents_of, lost_seconds, open_incidents
from app.models import Incident, LabSession, State
from app.reports.incidents import cause_words
from app.reports.words import as_utc
from app.web.deps import ExaminerFragment
from app.web.i18n import LANGS, texts
from app.web.templates import templates

router = APIRouter(include_in_schema=False)
LangCookie = Annotated[str | None, Cookie(alias="lang")]


def span(seconds: int) -> str:
    """A duration as people say it: "42 s", "3 min 05 s", "1 h 02 min"."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _fragment(request: Request, name: str, lang: str | None, **context: Any) -> HTMLResponse:
    zone = ZoneInfo(request.app.state.settings.timezone)

    def clock(moment: datetime | None) -> str:
        return as_utc(moment).astimezone(zone).strftime("%H:%M:%S") if moment else "—"

    chosen = lang if lang in LANGS else "fr"
    words = {"clock": clock, "span": span, "cause": partial(cause_words, lang=chosen)}
    return templates.TemplateResponse(
        request, name, {"t": texts(chosen), "lang": chosen, **words, **context}
    )


@router.get("/staff/fragments/incidents", response_class=HTMLResponse)
def dashboard_alert(
    request: Request, db: SessionDep, _: ExaminerFragment, lang: LangCookie = None
) -> HTMLResponse:
    """Every running session with a node down, for the alert above the dashboard's table."""
    down = open_incidents(db)
    labs = {
        lab.id: lab
        for lab in db.exec(
            select(LabSession).where(
                col(LabSession.id).in_({i.session_id for i in down}),
                LabSession.state == State.ready,
            )
        )
    }
    alerts = [(labs[i.session_id], i) for i in down if i.session_id in labs]
    return _fragment(request, "_incident_alert.html", lang, alerts=alerts)


@router.get("/staff/fragments/sessions/{session_id}/incidents", response_class=HTMLResponse)
def session_incidents(
    session_id: str, request: Request, db: SessionDep, _: ExaminerFragment, lang: LangCookie = None
) -> HTMLResponse:
    """A session's incidents, past and present, with restart and time credit while it runs."""
    lab = db.get(LabSession, session_id)
    rows: list[Incident] = incidents_of(db, session_id) if lab else []
    restarting = request.app.state.controller.watch.restarting
    return _fragment(
        request,
        "_incidents.html",
        lang,
        lab=lab,
        incidents=rows,
        lost={i.id: lost_seconds(i) for i in rows},
        restarting={node for sid, node in restarting if sid == session_id},
    )
